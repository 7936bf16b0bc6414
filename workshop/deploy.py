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


def _carries_label(name: str, label: str) -> bool | None:
    """Whether container ``name`` carries ``label`` (``key=value``); None when there is none."""
    client = docker.from_env()
    try:
        container = client.containers.get(name)
    except docker.errors.NotFound:
        return None
    finally:
        client.close()
    key, _, value = label.partition("=")
    return container.labels.get(key) == value


def refuse_foreign_container(settings: Settings) -> None:
    """Stop a pipeline run before its clean-up could remove a container the workshop did not make.

    The pipeline's deploy job stops and removes whatever container has the settings' name.
    Call this first: a container of that name without the workshop's label (one left from
    the seed tutorial, say) belongs to someone else.

    Args:
        settings: the container name and the workshop's label in force.

    Raises:
        DeployError: when such a foreign container exists; the message says what to do.
    """
    if _carries_label(settings.container_name, settings.label) is False:
        raise DeployError(
            f"A container named {settings.container_name!r} exists that the workshop did not "
            "create, so it is left alone. Remove or rename it, or choose another name with "
            "WORKSHOP_CONTAINER_NAME=..."
        )


def refuse_behind_a_holder(settings: Settings) -> None:
    """Stop the plain pipeline where chapter 09's hardened pipeline has deployed.

    The hardened pipeline publishes the port from a network holder, ``CONTAINER_NAME-net``,
    that outlives its deploys. The plain pipeline (``.gitlab-ci.yml``) would stop and remove
    the app behind it and then fail with "port is already allocated", leaving nothing that
    answers; this check says so before anything is touched.

    Args:
        settings: the container name and the workshop's label in force.

    Raises:
        DeployError: when a holder of that name with the workshop's label exists; the message
            gives both ways on.
    """
    holder = f"{settings.container_name}-net"
    if _carries_label(holder, settings.label):
        raise DeployError(
            f"{holder} exists: chapter 09's hardened pipeline deployed {settings.container_name} "
            "behind this network holder, which keeps the port. The plain pipeline would stop the "
            "app, then fail with 'port is already allocated'. Either run the hardened pipeline "
            "(./course workshop pipeline --file notebooks/ci/hardened.gitlab-ci.yml) or remove "
            f"both first: docker rm -f {settings.container_name} {holder}"
        )


def deploy_with_pipeline(settings: Settings, timeout: float = 60.0) -> str:
    """Deploy by running the course's real pipeline, ``.gitlab-ci.yml``, on this machine.

    The pipeline runs with gitlab-ci-local in a throwaway clone
    (``build/pipeline/CONTAINER_NAME/``, see :func:`workshop.pipeline.clone_folder`) with the
    settings' names, port and label, exactly as chapter 03 runs it: build, save the image as
    an artifact, stop and remove the previous container, load, run, smoke-check. Before that,
    a container of that name that the workshop did not create stops the deploy, so the
    pipeline's clean-up never removes it.

    Args:
        settings: names and ports (image, container, host port, label).
        timeout: seconds to wait for the app's first 200 answer after the pipeline passed.

    Returns:
        The app's HTTP body (str), e.g. ``"Happy birthday Martin"``.

    Raises:
        DeployError: when the name belongs to a foreign container, chapter 09's network holder
            for that name exists (:func:`refuse_behind_a_holder`), gitlab-ci-local is missing,
            a job fails (the message quotes the end of its log), or the app does not answer.
    """
    from workshop import pipeline

    refuse_foreign_container(settings)
    refuse_behind_a_holder(settings)
    try:
        clone = pipeline.throwaway_clone(pipeline.clone_folder(settings))
        result = pipeline.run_pipeline(clone, pipeline.pipeline_variables(settings))
    except (pipeline.ToolMissing, RuntimeError, ValueError) as error:
        raise DeployError(str(error)) from None
    if not result.ok:
        failed = [job for job, status in result.jobs.items() if status == "FAIL"] or ["?"]
        log = result.logs.get(failed[0], result.output)
        tail = "\n".join(log.strip().splitlines()[-6:])
        raise DeployError(
            f"the pipeline's {failed[0]} job failed:\n{tail}\n"
            f"Full logs: {(clone / '.gitlab-ci-local' / 'output').relative_to(ROOT)}/. "
            "If the port is taken, free it or choose another with WORKSHOP_HOST_PORT=..."
        )
    try:
        return wait_for_body(f"http://localhost:{settings.host_port}/", timeout=timeout)
    except TimeoutError as error:
        raise DeployError(str(error)) from None
