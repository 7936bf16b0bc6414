"""Shared fixtures: a real Docker engine and base image, and settings that never collide.

Each test run uses its own label value, image and container names and free ports, so it can
run while a learner's workshop is deployed on port 80, and two runs (two maintainers, or a
maintainer and CI) on one engine never remove each other's containers.
"""

from __future__ import annotations

import os
import socket

import docker
import pytest

from workshop import engine, images
from workshop.settings import LABEL

#: Names of this run's Docker objects start with these; the pid keeps parallel runs apart.
RUN = f"t{os.getpid()}"
TEST_LABEL = f"{LABEL}-test-{RUN}"
CONTAINER_PREFIX = f"pyappcontainer-{RUN}"


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
