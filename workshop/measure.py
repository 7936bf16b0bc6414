"""Measurements the chapters show and the benchmark repeats: image size, build, rebuild and stop
times (redeploy downtime is workshop.downtime's)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker

from workshop.settings import LABEL


def added_bytes(client: docker.DockerClient, image: str, base: str) -> int:
    """Return how many bytes ``image`` adds over ``base`` (``docker image inspect`` Size).

    Raises:
        docker.errors.ImageNotFound: when either image is missing.
    """
    return client.images.get(image).attrs["Size"] - client.images.get(base).attrs["Size"]


def rebuild_seconds(
    dockerfile: Path,
    context: Path,
    tag: str,
    edit: str,
    include: list[str] | None = None,
    label: str = LABEL,
) -> float:
    """Time a ``docker build`` after a one-line edit of a file in the build context.

    The context is copied to a temporary folder first, so the repository is untouched; the
    appended line carries a timestamp, so the edit is new on every call and the build
    cache cannot hide it. Layers before the edited file's ``COPY`` still come from the cache.

    Args:
        dockerfile: the Dockerfile to build.
        context: the build context folder (files in ``.dockerignore`` are skipped as usual).
        tag: tag for the rebuilt image (labelled as the workshop's); removed afterwards.
        edit: path of the file to edit, relative to ``context``.
        include: paths relative to ``context`` to copy; None copies the whole folder.
        label: the workshop's label, ``key=value``, put on the image.

    Returns:
        Wall time of the rebuild (float, seconds).

    Raises:
        subprocess.CalledProcessError: when the build fails.
    """
    with tempfile.TemporaryDirectory(prefix="workshop-rebuild-") as tmp:
        copy = Path(tmp) / "context"
        skip = shutil.ignore_patterns("__pycache__")
        if include is None:
            shutil.copytree(context, copy, ignore=skip)
        for name in include or []:
            source, target = context / name, copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, ignore=skip)
            else:
                shutil.copy2(source, target)
        with (copy / edit).open("a") as handle:
            handle.write(f"# edited at {time.time_ns()}\n")
        command = [
            "docker", "build", "-q", "--label", label,
            "-t", tag, "-f", str(dockerfile), str(copy),
        ]  # fmt: skip
        started = time.monotonic()
        # stderr is captured (the legacy builder's deprecation notice); on failure it is in
        # the CalledProcessError.
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seconds = time.monotonic() - started
    subprocess.run(["docker", "rmi", tag], check=True, stdout=subprocess.DEVNULL)
    return seconds


@dataclass(frozen=True)
class Stop:
    """Outcome of stopping a container.

    Attributes:
        seconds: wall time of ``docker stop`` (float, seconds).
        exit_code: the container's exit status; 137 means it was killed (SIGKILL) after the
            grace period, 0 that it shut down by itself.
    """

    seconds: float
    exit_code: int


def wait_for_log(container, text: str, timeout: float = 30.0) -> bool:  # noqa: ANN001
    """Wait until ``text`` appears in a container's output (stdout and stderr).

    Args:
        container: a docker SDK container.
        text: what to look for, e.g. Flask's ``Running on``.
        timeout: seconds to wait.

    Returns:
        True when the text appeared, False when ``timeout`` passed first or the container exited.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in container.logs().decode("utf-8", "replace"):
            return True
        container.reload()
        if container.status == "exited":
            return False
        time.sleep(0.05)
    return False


def stop_seconds(
    client: docker.DockerClient,
    image: str,
    name: str,
    grace: int = 10,
    label: str = LABEL,
    ready_log: str = "Running on",
) -> Stop:
    """Start ``image`` as container ``name``, wait until the app serves, then time ``docker stop``.

    Stopping a process that is still starting measures something else: a signal that
    arrives during Python's imports ends it before the server's handler is in place (exit
    status 130 for SIGINT instead of 0). So the stop starts only once the app's log says
    it serves, as a deployed one would.

    Args:
        client: a connected docker SDK client.
        image: the image to run (its default command).
        name: the container's name; removed afterwards.
        grace: seconds ``docker stop`` waits before SIGKILL (Docker's default is 10).
        label: the workshop's label, ``key=value``, put on the container.
        ready_log: text the app prints once it serves (Flask's development server prints
            ``Running on``); the stop waits for it, at most 30 s.

    Returns:
        Stop with the stop's wall time and the container's exit status.
    """
    container = client.containers.run(
        image, name=name, detach=True, labels=dict([label.split("=", 1)])
    )
    try:
        wait_for_log(container, ready_log)
        started = time.monotonic()
        container.stop(timeout=grace)
        seconds = time.monotonic() - started
        container.reload()
        return Stop(seconds, container.attrs["State"]["ExitCode"])
    finally:
        container.remove(force=True)


def cold_build_seconds(
    dockerfile: Path, context: Path, tag: str, label: str = LABEL, build_args: list[str] = ()
) -> float:
    """Time a ``docker build --no-cache``: every layer of the image is built afresh.

    The base image stays (it is not rebuilt, only reused), so this is the time a first
    build takes on a machine that already has the base.

    Args:
        dockerfile: the Dockerfile to build.
        context: the build context folder.
        tag: tag for the built image (labelled as the workshop's); it is kept, so a
            following :func:`rebuild_seconds` finds its layers in the cache.
        label: the workshop's label, ``key=value``, put on the image.
        build_args: extra ``docker build`` arguments, e.g. ``["--build-arg", "X=1"]``.

    Returns:
        Wall time of the build (float, seconds).

    Raises:
        subprocess.CalledProcessError: when the build fails.
    """
    command = [
        "docker", "build", "--no-cache", "-q", "--label", label, *build_args,
        "-t", tag, "-f", str(dockerfile), str(context),
    ]  # fmt: skip
    started = time.monotonic()
    # stderr is captured (the legacy builder's deprecation notice); on failure it is in
    # the CalledProcessError.
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.monotonic() - started
