"""Shared fixtures: a real Docker engine and base image, and settings that never collide.

Each test run uses its own label value, image and container names and free ports, so it can
run while a learner's workshop is deployed on port 80, and two runs (two maintainers, or a
maintainer and CI) on one engine never remove each other's containers.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import docker
import pytest

from workshop import engine, images
from workshop.settings import LABEL

#: Names of this run's Docker objects start with these; the pid keeps parallel runs apart.
RUN = f"t{os.getpid()}"
TEST_LABEL = f"{LABEL}-test-{RUN}"
CONTAINER_PREFIX = f"pyappcontainer-{RUN}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last, so that they can render the chapters the suite executed."""
    items.sort(key=lambda item: item.path.name == "test_browser.py")


@pytest.fixture(scope="session")
def executed_chapters(tmp_path_factory) -> Path:
    """A folder for executed copies of the chapters that passed in this session (may be empty).

    The chapter tests copy each passing chapter here; the browser tests build the website
    from these copies instead of executing chapters again.
    """
    return tmp_path_factory.mktemp("executed-chapters")


def keep_executed(copy: Path, folder: Path) -> None:
    """Copy an executed chapter into ``folder`` (see :func:`executed_chapters`)."""
    shutil.copy2(copy, folder / copy.name)


def free_port() -> int:
    """Return a TCP port that nothing listens on right now (chosen by the kernel)."""
    with socket.socket() as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    """A client for a running engine, started if needed, with the base images prepared."""
    engine.ensure_engine()
    images.prepare()
    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="session")
def test_settings(docker_client) -> dict[str, str]:
    """``WORKSHOP_*`` overrides for notebooks and commands run by the tests."""
    overrides = {
        "WORKSHOP_IMAGE_NAME": f"pyapp-{RUN}",
        "WORKSHOP_CONTAINER_NAME": CONTAINER_PREFIX,
        "WORKSHOP_HOST_PORT": str(free_port()),
        "WORKSHOP_APP_PORT": str(free_port()),
        "WORKSHOP_LABEL": TEST_LABEL,
    }
    yield overrides
    for container in workshop_containers(docker_client):
        container.remove(force=True)
    for image in docker_client.images.list(filters={"label": TEST_LABEL}):
        docker_client.images.remove(image.id, force=True)


def workshop_containers(client: docker.DockerClient, label: str = TEST_LABEL) -> list:
    """Containers carrying ``label`` (by default this test run's)."""
    return client.containers.list(all=True, filters={"label": label})
