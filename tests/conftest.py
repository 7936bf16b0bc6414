"""Shared fixtures: a real Docker engine and base image, and settings that never collide.

Each test run uses its own label value, image and container names and free ports, so it can
run while a learner's workshop is deployed on port 80, and two runs (two maintainers, or a
maintainer and CI) on one engine never remove each other's containers.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import docker
import pytest

from workshop import engine, images
from workshop.ports import free_port
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


def pipeline_test_variables(
    test_settings: dict[str, str], container_suffix: str, image_suffix: str = ""
) -> dict[str, str]:
    """Pipeline variables for one test module: this run's label, its own names and a free port.

    Args:
        test_settings: the ``test_settings`` fixture's overrides.
        container_suffix: appended to the run's container name (``"-pipeline"``).
        image_suffix: appended to the run's image name ("" keeps the run's image name).

    Returns:
        ``IMAGE_NAME``, ``CONTAINER_NAME``, ``HOST_PORT`` and ``WORKSHOP_LABEL`` for
        ``workshop.pipeline.run_pipeline``.
    """
    from workshop import pipeline, settings

    conf = settings.load(
        {
            **test_settings,
            "WORKSHOP_IMAGE_NAME": test_settings["WORKSHOP_IMAGE_NAME"] + image_suffix,
            "WORKSHOP_CONTAINER_NAME": test_settings["WORKSHOP_CONTAINER_NAME"] + container_suffix,
            "WORKSHOP_HOST_PORT": str(free_port()),
        }
    )
    return pipeline.pipeline_variables(conf)


def cli_env(variables: dict[str, str], name: str, port: str) -> dict[str, str]:
    """Environment for a ``workshop`` command run with this test run's image, label and port.

    Args:
        variables: pipeline variables (:func:`pipeline_test_variables`): image name and label.
        name: the container name the command is to use.
        port: the host port (str) it is to publish on.
    """
    return {
        **os.environ,
        "WORKSHOP_IMAGE_NAME": variables["IMAGE_NAME"],
        "WORKSHOP_CONTAINER_NAME": name,
        "WORKSHOP_HOST_PORT": port,
        "WORKSHOP_LABEL": variables["WORKSHOP_LABEL"],
        "COLUMNS": "200",
    }


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
