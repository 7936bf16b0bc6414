"""The course's pipeline, run for real by gitlab-ci-local in throwaway clones.

Every run uses this test run's own image and container names, label and a free host port,
so it never touches a learner's deployed ``pyappcontainer`` on port 80. Assertions are on
the jobs' pass/fail, their logs' error text and the HTTP body of the deployed container.
"""

from __future__ import annotations

import subprocess
import sys

import docker.errors
import pytest

from tests.conftest import cli_env, free_port, pipeline_test_variables
from workshop import pipeline, settings
from workshop.http import get, wait_for_body

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def variables(test_settings) -> dict[str, str]:
    """Pipeline variables for this module: the run's label and names, a port of its own."""
    return pipeline_test_variables(test_settings, "-pipeline")


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    return pipeline.throwaway_clone(tmp_path_factory.mktemp("pipeline") / "repo")


@pytest.fixture(scope="module")
def first_deploy(docker_client, variables, clone):
    """Run the whole pipeline once, with no container of that name beforehand."""
    name = variables["CONTAINER_NAME"]
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(name)
    result = pipeline.run_pipeline(clone, variables)
    container = docker_client.containers.get(name) if result.ok else None
    yield result, container
    for leftover in docker_client.containers.list(all=True, filters={"name": f"^{name}$"}):
        if leftover.labels.get(settings.LABEL_KEY) == variables["WORKSHOP_LABEL"].split("=")[1]:
            leftover.remove(force=True)


def url(variables: dict[str, str]) -> str:
    return f"http://localhost:{variables['HOST_PORT']}/"


def test_first_deploy_builds_passes_the_artifact_and_answers(first_deploy, variables, clone):
    result, container = first_deploy
    assert result.ok, result.output[-3000:]
    assert result.jobs == {"build": "PASS", "deploy": "PASS"}
    # The clone's origin is GitLab-style, so gitlab-ci-local has nothing to warn about.
    assert "didn't provide valid matches" not in result.output
    # The artifact was saved by build and handed to deploy's own folder (shell isolation).
    tar = f"{variables['IMAGE_NAME']}.tar"
    assert (clone / ".gitlab-ci-local" / "builds" / "deploy" / tar).stat().st_size > 1_000_000
    assert f"Loaded image: {variables['IMAGE_NAME']}:latest" in result.logs["deploy"]
    # First deploy: nothing to clean up, and `|| true` let the job go on.
    assert "No such container" in result.logs["deploy"]
    assert wait_for_body(url(variables), timeout=10) == "Happy birthday Martin"
    key, _, value = variables["WORKSHOP_LABEL"].partition("=")
    assert container.labels.get(key) == value


def test_redeploy_replaces_the_running_container(first_deploy, docker_client, variables, clone):
    _, before = first_deploy
    assert before is not None, "the first deploy failed"
    result = pipeline.run_pipeline(clone, variables)
    assert result.ok, result.output[-3000:]
    assert result.jobs == {"build": "PASS", "deploy": "PASS"}
    after = docker_client.containers.get(variables["CONTAINER_NAME"])
    assert after.id != before.id
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(before.id)
    assert "No such container" not in result.logs["deploy"]
    assert get(url(variables)) == (200, "Happy birthday Martin")


def test_name_variable_reaches_the_container(first_deploy, variables, clone):
    result = pipeline.run_pipeline(clone, {**variables, "NAME": "Alice"}, jobs=["deploy"])
    assert result.ok, result.output[-3000:]
    assert result.jobs == {"deploy": "PASS"}
    assert wait_for_body(url(variables), timeout=10) == "Happy birthday Alice"


def test_name_from_the_callers_environment_does_not_leak(
    first_deploy, variables, clone, monkeypatch
):
    monkeypatch.setenv("NAME", "Mallory")
    result = pipeline.run_pipeline(clone, variables, jobs=["deploy"])
    assert result.ok, result.output[-3000:]
    assert wait_for_body(url(variables), timeout=10) == "Happy birthday Martin"


def test_without_or_true_the_first_deploy_fails_at_cleanup(docker_client, variables, tmp_path):
    """The seed's `|| true` is what lets the very first deploy get past the clean-up."""
    repo = pipeline.throwaway_clone(tmp_path / "repo")
    ci = repo / ".gitlab-ci.yml"
    text = ci.read_text()
    assert text.count(" || true") == 2
    ci.write_text(text.replace(" || true", ""))
    fresh = {
        **variables,
        "CONTAINER_NAME": variables["CONTAINER_NAME"] + "-strict",
        "HOST_PORT": str(free_port()),
    }
    result = pipeline.run_pipeline(repo, fresh)
    assert not result.ok
    assert result.jobs == {"build": "PASS", "deploy": "FAIL"}
    assert f"No such container: {fresh['CONTAINER_NAME']}" in result.logs["deploy"]
    assert "docker load" not in result.logs["deploy"]  # the job stopped at the clean-up
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(fresh["CONTAINER_NAME"])


def test_deploy_command_deploys_through_the_pipeline(docker_client, variables):
    """``python -m workshop deploy`` (the end of ``./course run``) runs the real pipeline."""
    name = variables["CONTAINER_NAME"] + "-cli"
    port = str(free_port())
    env = cli_env(variables, name, port)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "workshop", "deploy"], capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"answers at http://localhost:{port}/ : Happy birthday Martin" in done.stdout
        # The clone is named after the container, so runs with other settings keep theirs.
        clone = pipeline.ROOT / "build" / "pipeline" / name
        log = clone / ".gitlab-ci-local" / "output" / "deploy.log"
        assert "Loaded image:" in log.read_text()
        key, _, value = variables["WORKSHOP_LABEL"].partition("=")
        assert docker_client.containers.get(name).labels.get(key) == value
    finally:
        mine = {"name": f"^{name}$", "label": variables["WORKSHOP_LABEL"]}
        for leftover in docker_client.containers.list(all=True, filters=mine):
            leftover.remove(force=True)


def test_pipeline_command_passes_name_to_the_container(docker_client, variables):
    """``python -m workshop pipeline --name Bob`` runs both jobs and the app greets Bob."""
    name = variables["CONTAINER_NAME"] + "-cmd"
    port = str(free_port())
    env = cli_env(variables, name, port)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "workshop", "pipeline", "--name", "Bob"],
            capture_output=True,
            text=True,
            env=env,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "PASS  deploy" in done.stdout
        assert "ok pipeline passed" in done.stdout
        assert f"job logs: build/pipeline/{name}/.gitlab-ci-local/output/" in done.stdout
        assert get(f"http://localhost:{port}/") == (200, "Happy birthday Bob")
    finally:
        mine = {"name": f"^{name}$", "label": variables["WORKSHOP_LABEL"]}
        for leftover in docker_client.containers.list(all=True, filters=mine):
            leftover.remove(force=True)
