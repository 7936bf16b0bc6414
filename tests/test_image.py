"""The course's image: configured as chapter 02 teaches, built from a small context."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import RUN, TEST_LABEL
from workshop.paths import ROOT

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def image(docker_client):
    built, _ = docker_client.images.build(
        path=str(ROOT), tag=f"pyapp-{RUN}-image", labels=dict([TEST_LABEL.split("=", 1)]), rm=True
    )
    return built


def test_runs_as_an_unprivileged_user(image):
    assert image.attrs["Config"]["User"] not in ("", "0", "root")


def test_stops_on_sigint_and_defaults_name_to_martin(image):
    config = image.attrs["Config"]
    assert config["StopSignal"] == "SIGINT"
    assert "NAME=Martin" in config["Env"]
    assert config["Cmd"] == ["python", "app.py"]


def test_build_context_holds_only_what_the_images_copy(docker_client, tmp_path):
    """Build a probe image that copies the whole context and list what the engine received."""
    probe = tmp_path / "Dockerfile.probe"
    probe.write_text("FROM python:3.13-slim\nCOPY . /context\n")
    tag = f"pyapp-{RUN}-context-probe"
    subprocess.run(
        ["docker", "build", "-q", "--label", TEST_LABEL, "-f", str(probe), "-t", tag, str(ROOT)],
        check=True,
        capture_output=True,
    )
    try:
        listing = docker_client.containers.run(
            tag,
            ["find", "/context", "-type", "f"],
            remove=True,
            labels=dict([TEST_LABEL.split("=", 1)]),
        )
    finally:
        docker_client.images.remove(tag, force=True)
    received = sorted(line.removeprefix("/context/") for line in listing.decode().split())
    assert received == [
        "app/app.py",
        "app/requirements.txt",
        "notebooks/hardened/requirements-production.txt",
    ]


def test_app_files_are_the_only_code_in_the_image(docker_client, image):
    listing = docker_client.containers.run(image.id, ["ls", "/app"], remove=True).decode().split()
    assert sorted(listing) == ["app.py", "requirements.txt"]
