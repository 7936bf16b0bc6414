"""Build the course's image and run it as the deployed container (the run command's last step)."""

from __future__ import annotations

import docker
import docker.errors

from workshop.http import wait_for_body
from workshop.paths import ROOT
from workshop.settings import LABEL, Settings


class DeployError(RuntimeError):
    """The app could not be deployed; the message says why and what to do."""


def remove_workshop_container(client: docker.DockerClient, name: str, label: str = LABEL) -> bool:
    """Remove the container called ``name`` if, and only if, the workshop created it.

    Args:
        client: a connected docker SDK client.
        name: the container's name.
        label: the workshop's label, ``key=value``; only a container carrying it is removed.

    Returns:
        True when a container was removed, False when none had that name.

    Raises:
        DeployError: when a container of that name exists without the workshop's label:
            it belongs to someone else and is left alone.
    """
    try:
        container = client.containers.get(name)
    except docker.errors.NotFound:
        return False
    key, _, value = label.partition("=")
    if container.labels.get(key) != value:
        raise DeployError(
            f"A container named {name!r} exists that the workshop did not create, so it is "
            "left alone. Remove or rename it, or choose another name with CONTAINER_NAME=..."
        )
    container.remove(force=True)
    return True


def deploy(settings: Settings, timeout: float = 60.0) -> str:
    """Build the image from the repository's Dockerfile and (re)start the app's container.

    Args:
        settings: names and ports (image, container, host port, label).
        timeout: seconds to wait for the app's first 200 answer.

    Returns:
        The app's HTTP body (str), e.g. ``"Happy birthday Martin"``.

    Raises:
        DeployError: when the build fails, the name belongs to a foreign container, the
            host port is taken, or the app does not answer in time.
    """
    labels = settings.labels
    client = docker.from_env()
    try:
        try:
            client.images.build(path=str(ROOT), tag=settings.image_name, labels=labels, rm=True)
        except docker.errors.BuildError as error:
            raise DeployError(f"docker build failed: {error}") from None
        remove_workshop_container(client, settings.container_name, settings.label)
        try:
            client.containers.run(
                settings.image_name,
                name=settings.container_name,
                detach=True,
                ports={"8080/tcp": settings.host_port},
                labels=labels,
            )
        except docker.errors.APIError as error:
            raise DeployError(
                f"docker run failed: {error.explanation or error}. If the port is taken, "
                "free it or choose another with HOST_PORT=..."
            ) from None
        url = f"http://localhost:{settings.host_port}/"
        try:
            return wait_for_body(url, timeout=timeout)
        except TimeoutError as error:
            raise DeployError(str(error)) from None
    finally:
        client.close()
