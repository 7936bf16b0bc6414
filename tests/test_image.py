"""The course's image: configured as chapter 02 teaches, built from a small context."""

from __future__ import annotations

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


def test_build_context_leaves_out_what_the_image_does_not_need():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in [".git", ".venv", "notebooks", "tests", "*.tar", "build"]:
        assert entry in ignored


def test_app_files_are_the_only_code_in_the_image(docker_client, image):
    listing = docker_client.containers.run(image.id, ["ls", "/app"], remove=True).decode().split()
    assert sorted(listing) == ["app.py", "requirements.txt"]
