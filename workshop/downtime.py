"""How long a redeploy keeps users waiting, measured while it happens (chapters 08 and 09).

A redeploy done the seed's way is three commands: ``docker stop``, ``docker rm``, ``docker run``.
:func:`redeploy` starts the old container, then runs exactly those commands while another
thread asks the app for its page every few milliseconds, and reports how long it took until
the NEW container answered and the longest stretch during which nothing answered at all.

With ``holder=`` it measures chapter 09's redeploy instead: the port is published by a
*network holder*, a container that does nothing but own the network namespace (as a
Kubernetes pod's "pause" container does), and each app container joins that namespace with
``--network container:HOLDER``. The redeploy is the same three commands, but the port stays
published and the app's address stays the same, so the engine sets up no network for the new
container.
"""

from __future__ import annotations

import http.client
import subprocess
import threading
import time
from dataclasses import dataclass

from workshop.http import get, wait_for_body


@dataclass(frozen=True)
class Redeploy:
    """One measured redeploy.

    Attributes:
        stop_seconds: wall time of ``docker stop`` (float, seconds).
        new_answer_seconds: from calling ``docker stop`` to the first answer of the new
            container (float, seconds): how long the new version takes to go live.
        longest_gap: the longest time without any 200 answer, old or new, during the
            redeploy (float, seconds): what a user polling the site would notice.
        old_exit_code: the old container's exit status; 137 means ``docker stop`` had to kill
            it (SIGKILL) after the grace period, 0 that it shut down by itself.
        run_returned_seconds: from calling ``docker stop`` to ``docker run`` of the new
            container returning (float, seconds): the commands' share of the downtime; the
            rest is the new container starting up and its network becoming reachable.
        longest_wait: the longest time one request sent during the redeploy waited for the
            new container's answer (float, seconds). Near a second when requests were held
            back until the host's kernel learned the new container's address (ARP).
        turned_away: how many requests sent after ``docker run`` was called, and before the
            new container's first answer, failed at once or timed out (refused, reset,
            empty reply): what a client sees while nothing listens yet.
    """

    stop_seconds: float
    new_answer_seconds: float
    longest_gap: float
    old_exit_code: int
    run_returned_seconds: float = 0.0
    longest_wait: float = 0.0
    turned_away: int = 0


#: The image and command of the network holder: the base image both of the course's
#: Dockerfiles start from, sleeping. ``--init`` puts Docker's tiny init process in front of
#: ``sleep`` so that ``docker stop`` ends it at once (PID 1 ignores SIGTERM otherwise).
HOLDER_IMAGE = "python:3.13-slim"
HOLDER_COMMAND = ("sleep", "infinity")


def _docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _run(
    image: str, name: str, port: int, label: str, env: dict[str, str], holder: str | None = None
) -> None:
    options = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    network = ["--network", f"container:{holder}"] if holder else ["-p", f"{port}:8080"]
    _docker("run", "-d", "--label", label, "--name", name, *network, *options, image)


def run_holder(name: str, port: int, label: str, image: str = HOLDER_IMAGE) -> None:
    """Start a network holder: a container that publishes ``port`` and runs nothing but sleep.

    App containers started with ``--network container:NAME`` share its network namespace: they
    listen on its 8080, which the holder publishes on the host's ``port``.

    Args:
        name: the holder's container name; must not exist yet.
        port: free host TCP port to publish the namespace's 8080 on.
        label: the workshop's label, ``key=value``.
        image: an image with ``sleep`` (default :data:`HOLDER_IMAGE`, the course's base).

    Raises:
        RuntimeError: when ``docker run`` fails (name in use, port taken, no such image).
    """
    _docker(
        "run", "-d", "--init", "--label", label, "--name", name, "-p", f"{port}:8080",
        image, *HOLDER_COMMAND,
    )  # fmt: skip


def redeploy(
    image: str,
    name: str,
    port: int,
    label: str,
    new_name: str = "Alice",
    stop_timeout: int = 10,
    timeout: float = 60.0,
    interval: float = 0.02,
    holder: str | None = None,
) -> Redeploy:
    """Deploy ``image`` as container ``name``, then redeploy it with stop, rm and run, measuring.

    The old container greets the image's default name; the new one is started with
    ``-e NAME=new_name``, so its answers can be told apart from the old one's. The new
    container (and the holder, when there is one) is removed before returning.

    Args:
        image: the app's image (listens on 8080 in the container).
        name: the container's name; must not exist yet.
        port: free host TCP port to publish on.
        label: the workshop's label, ``key=value``, put on both containers.
        new_name: ``NAME`` for the new container (str).
        stop_timeout: seconds ``docker stop`` waits before SIGKILL (``-t``; Docker's default 10).
        timeout: seconds to wait for either container's first answer.
        interval: seconds between the poller's requests.
        holder: None for the seed's redeploy, where each app container publishes ``port``
            itself; or a container name (must not exist yet) for chapter 09's: a network
            holder (:func:`run_holder`) publishes ``port`` and both app containers join its
            network namespace.

    Returns:
        A :class:`Redeploy` (all times in seconds).

    Raises:
        RuntimeError: when a docker command fails (name in use, port taken, no such image).
        TimeoutError: when a container does not answer within ``timeout``.
    """
    url = f"http://127.0.0.1:{port}/"
    new_body = f"Happy birthday {new_name}"
    if holder:
        run_holder(holder, port, label)
    try:
        _run(image, name, port, label, {}, holder)
    except RuntimeError:
        if holder:  # ours; the name that made docker run fail is not
            subprocess.run(["docker", "rm", "-f", holder], capture_output=True, check=False)
        raise
    try:
        wait_for_body(url, timeout=timeout)
        # (sent, ended, body of a 200 answer or None): one entry per request.
        requests: list[tuple[float, float, str | None]] = []
        done = threading.Event()

        def ask() -> None:
            sent = time.monotonic()
            try:
                status, body = get(url, timeout=2.0)
            except (OSError, http.client.HTTPException):
                # refused, reset, timed out, or cut short: none of them is a 200
                status, body = 0, ""
            requests.append((sent, time.monotonic(), body if status == 200 else None))

        def poll() -> None:
            # A new request every ``interval``, each in its own thread: while the new
            # container starts, a connection can hang until the app listens, and waiting
            # for it would stop the polling and report the answer late.
            while not done.is_set():
                threading.Thread(target=ask, daemon=True).start()
                time.sleep(interval)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        time.sleep(0.3)  # a few answers from the old container before the redeploy starts
        started = time.monotonic()
        _docker("stop", "-t", str(stop_timeout), name)
        stopped = time.monotonic()
        exit_code = int(_docker("inspect", "-f", "{{.State.ExitCode}}", name))
        _docker("rm", name)
        run_called = time.monotonic()
        _run(image, name, port, label, {"NAME": new_name}, holder)
        returned = time.monotonic()
        deadline = time.monotonic() + timeout
        while not any(body == new_body for _, _, body in requests):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the new container did not answer {new_body!r} at {url}")
            time.sleep(interval)
        done.set()
        poller.join()
    finally:
        subprocess.run(
            ["docker", "rm", "-f", name, *([holder] if holder else [])],
            capture_output=True, check=False,
        )  # fmt: skip
    answers = sorted((ended, body) for _, ended, body in requests if body is not None)
    first_new = next(t for t, body in answers if body == new_body)
    times = [t for t, _ in answers if t <= first_new]
    before = [t for t in times if t <= started]
    points = [before[-1] if before else started] + [t for t in times if t > started]
    gap = max((b - a for a, b in zip(points, points[1:], strict=False)), default=0.0)
    waits = [end - sent for sent, end, body in requests if body == new_body and sent <= first_new]
    failed = [s for s, _, body in requests if body is None and run_called <= s <= first_new]
    return Redeploy(
        stop_seconds=stopped - started,
        new_answer_seconds=first_new - started,
        longest_gap=gap,
        old_exit_code=exit_code,
        run_returned_seconds=returned - started,
        longest_wait=max(waits, default=0.0),
        turned_away=len(failed),
    )
