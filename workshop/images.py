"""The images the course needs: find them, pull them, or build a local stand-in."""

from __future__ import annotations

from dataclasses import dataclass

import docker
import docker.errors

from workshop import standin

#: Base images the course builds on.
BASE_IMAGES = ["python:3.13-slim"]


@dataclass(frozen=True)
class Prepared:
    """How one base image was made available.

    Attributes:
        image: the reference, e.g. ``python:3.13-slim``.
        how: ``"present"``, ``"pulled"`` or ``"stand-in built"``.
        standin: True when the image is the workshop's local stand-in.
    """

    image: str
    how: str
    standin: bool


def is_standin(client: docker.DockerClient, image: str) -> bool:
    """Return True when ``image`` is present and is the workshop's stand-in (by its label)."""
    try:
        labels = client.images.get(image).labels or {}
    except docker.errors.ImageNotFound:
        return False
    return standin.STANDIN_LABEL_KEY in labels


def prepare_image(client: docker.DockerClient, image: str) -> Prepared:
    """Make ``image`` available: keep it if present, else pull it, else build the stand-in.

    Args:
        client: a connected docker SDK client.
        image: a reference such as ``python:3.13-slim``.

    Returns:
        Prepared, saying which of the three happened.

    Raises:
        standin.StandinError: when the pull failed and no stand-in can be built here.
        subprocess.CalledProcessError: when building the stand-in failed.
    """
    try:
        client.images.get(image)
        return Prepared(image, "present", is_standin(client, image))
    except docker.errors.ImageNotFound:
        pass
    repository, _, tag = image.partition(":")
    try:
        client.images.pull(repository, tag=tag or "latest")
        return Prepared(image, "pulled", False)
    except docker.errors.APIError:
        pass
    standin.build_standin(image)
    return Prepared(image, "stand-in built", True)


def prepare(images: list[str] | None = None) -> list[Prepared]:
    """Make every base image the course needs available (idempotent: fast when present).

    Args:
        images: references to prepare; None means BASE_IMAGES.

    Returns:
        One Prepared per image, in order.

    Raises:
        docker.errors.DockerException: when the engine does not answer.
        standin.StandinError: as :func:`prepare_image`.
    """
    client = docker.from_env()
    try:
        return [prepare_image(client, image) for image in images or BASE_IMAGES]
    finally:
        client.close()
