"""Shared fixtures: a real Docker engine and base image, and settings that never collide.

The test run uses its own image and container names and free ports, so it can run while a
learner's workshop is deployed on the default port 80.
"""

from __future__ import annotations

import socket

import docker
import pytest

from workshop import engine, images
from workshop.settings import LABEL_KEY, LABEL_VALUE


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
        "WORKSHOP_IMAGE_NAME": "pyapp-test",
        "WORKSHOP_CONTAINER_NAME": "pyappcontainer-test",
        "WORKSHOP_HOST_PORT": str(free_port()),
        "WORKSHOP_APP_PORT": str(free_port()),
    }
    remove_test_containers(docker_client, overrides["WORKSHOP_CONTAINER_NAME"])
    yield overrides
    remove_test_containers(docker_client, overrides["WORKSHOP_CONTAINER_NAME"])


def workshop_containers(client: docker.DockerClient, prefix: str) -> list:
    """Containers carrying the workshop's label whose name starts with ``prefix``."""
    found = client.containers.list(all=True, filters={"label": f"{LABEL_KEY}={LABEL_VALUE}"})
    return [c for c in found if c.name.startswith(prefix)]


def remove_test_containers(client: docker.DockerClient, prefix: str) -> None:
    """Remove what an earlier, interrupted test run left behind (labelled, test-named only)."""
    for container in workshop_containers(client, prefix):
        container.remove(force=True)
