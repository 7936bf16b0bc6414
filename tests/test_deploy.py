"""The run command's deploy step, against the real engine; it never touches foreign containers."""

from __future__ import annotations

import os
import subprocess
import sys

import docker.errors
import pytest

from workshop import deploy, settings
from workshop.http import get

pytestmark = pytest.mark.docker


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workshop", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )


def test_deploy_answers_and_redeploy_replaces_the_container(docker_client, test_settings):
    conf = settings.load(test_settings)
    body = deploy.deploy(conf)
    first = docker_client.containers.get(conf.container_name).id
    assert body == "Happy birthday Martin"
    assert deploy.deploy(conf) == "Happy birthday Martin"
    second = docker_client.containers.get(conf.container_name)
    assert second.id != first
    assert get(f"http://localhost:{conf.host_port}/") == (200, "Happy birthday Martin")
    second.remove(force=True)


@pytest.mark.parametrize("command", ["deploy", "pipeline"])
def test_foreign_container_with_the_same_name_survives(docker_client, test_settings, command):
    """A container the workshop did not create is never removed, and the learner is told why.

    Both commands run the pipeline, whose deploy job removes any container of that name.
    """
    name = test_settings["WORKSHOP_CONTAINER_NAME"] + "-foreign"
    foreign = docker_client.containers.create("python:3.13-slim", name=name)
    try:
        done = run_cli(command, env={**test_settings, "WORKSHOP_CONTAINER_NAME": name})
        assert done.returncode == 1
        assert "did not create" in done.stdout
        assert "Traceback" not in done.stdout + done.stderr
        assert docker_client.containers.get(name).id == foreign.id
    finally:
        foreign.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(name)


def test_bad_port_setting_is_a_clear_message(test_settings):
    done = run_cli("deploy", env={**test_settings, "WORKSHOP_HOST_PORT": "eighty"})
    assert done.returncode == 2
    assert "WORKSHOP_HOST_PORT must be a TCP port number" in done.stdout
    assert "Traceback" not in done.stderr
