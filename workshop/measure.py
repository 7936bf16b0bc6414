"""Measurements the chapters show and the benchmark repeats: image size, build, rebuild, stop and
redeploy times."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import docker

from workshop.http import get as http_get
from workshop.http import wait_for_body
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


def stop_seconds(
    client: docker.DockerClient, image: str, name: str, grace: int = 10, label: str = LABEL
) -> Stop:
    """Start ``image`` as container ``name``, let it settle, then time ``docker stop``.

    Args:
        client: a connected docker SDK client.
        image: the image to run (its default command).
        name: the container's name; removed afterwards.
        grace: seconds ``docker stop`` waits before SIGKILL (Docker's default is 10).
        label: the workshop's label, ``key=value``, put on the container.

    Returns:
        Stop with the stop's wall time and the container's exit status.
    """
    container = client.containers.run(
        image, name=name, detach=True, labels=dict([label.split("=", 1)])
    )
    try:
        time.sleep(1.0)  # let the app finish starting, as a deployed one would have
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


@dataclass(frozen=True)
class Redeploy:
    """Outcome of replacing a running container with a new one on the same port.

    Attributes:
        downtime_s: from the moment ``docker stop`` is sent to the old container to the
            new container's first 200 answer (float, seconds).
        unanswered_s: the longest stretch in that window with no 200 answer at all, from
            the old container's last 200 to the new one's first (float, seconds). It is
            shorter than ``downtime_s`` when the old container keeps answering while it
            is being stopped.
        polls: requests sent during the window (int).
    """

    downtime_s: float
    unanswered_s: float
    polls: int


class _Poller(threading.Thread):
    """Requests a URL every ``interval`` seconds and records when each 200 came back."""

    def __init__(self, url: str, interval: float) -> None:
        super().__init__(daemon=True)
        self.url, self.interval = url, interval
        self.answers: list[tuple[float, float]] = []  # (sent, answered) of every 200
        self.polls = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            sent = time.monotonic()
            self.polls += 1
            try:
                status, _ = http_get(self.url, timeout=1.0)
            except Exception:  # noqa: BLE001 - refused, reset, cut short: all mean "no answer"
                status = 0
            if status == 200:
                self.answers.append((sent, time.monotonic()))
            time.sleep(max(0.0, self.interval - (time.monotonic() - sent)))


def redeploy_downtime(
    client: docker.DockerClient,
    image: str,
    name: str,
    port: int,
    label: str = LABEL,
    interval: float = 0.01,
    timeout: float = 60.0,
) -> Redeploy:
    """Deploy ``image`` as ``name`` on ``127.0.0.1:port``, then redeploy it the seed's way.

    The redeploy is what the pipeline's deploy job does: ``docker stop``, ``docker rm``,
    ``docker run`` of the new container on the same port. A poller requests the page every
    ``interval`` seconds throughout.

    Args:
        client: a connected docker SDK client.
        image: the image for the old and the new container.
        name: the container's name; removed afterwards.
        port: free host port to publish on, on 127.0.0.1 only.
        label: the workshop's label, ``key=value``, put on both containers.
        interval: seconds between polls (0.01 = every 10 ms).
        timeout: seconds to wait for the first and for the new container's first 200.

    Returns:
        Redeploy with the downtime, the longest unanswered stretch and the poll count.

    Raises:
        TimeoutError: when a container does not answer 200 within ``timeout``.
    """
    labels = dict([label.split("=", 1)])
    url = f"http://127.0.0.1:{port}/"

    def start() -> docker.models.containers.Container:
        return client.containers.run(
            image, name=name, detach=True, labels=labels, ports={"8080/tcp": ("127.0.0.1", port)}
        )

    poller = _Poller(url, interval)
    container = start()
    try:
        wait_for_body(url, timeout=timeout, interval=interval)
        poller.start()
        time.sleep(0.2)  # a few answers from the old container first
        stopping = time.monotonic()
        container.stop()
        container.remove()
        replaced = time.monotonic()  # any 200 to a request sent from now on is the new one's
        container = start()
        deadline = time.monotonic() + timeout
        while not (poller.answers and poller.answers[-1][0] > replaced):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer 200 within {timeout:g} s of the redeploy")
            time.sleep(interval)
        poller.done.set()
        poller.join()
        answers = poller.answers
        index = next(i for i, (sent, _) in enumerate(answers) if sent > replaced)
        first_new = answers[index][1]
        last_old = answers[index - 1][1] if index else stopping
        return Redeploy(first_new - stopping, first_new - max(last_old, stopping), poller.polls)
    finally:
        poller.done.set()
        container.remove(force=True)
