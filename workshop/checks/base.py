"""What every check returns: one result per criterion, printed as PASS or FAIL with a hint."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from workshop.ports import free_port as free_port  # the checks' port picker, re-exported
from workshop.settings import Settings


@dataclass(frozen=True)
class Result:
    """The outcome of one criterion.

    Attributes:
        ok: True when the criterion holds.
        criterion: what was checked, as a learner reads it ("the image runs as a non-root user").
        hint: for a FAIL, where to look (never the answer); "" for a PASS.
    """

    ok: bool
    criterion: str
    hint: str = ""

    def line(self) -> str:
        """Return the printed line: ``PASS criterion`` or ``FAIL criterion -- hint: ...``."""
        if self.ok:
            return f"PASS  {self.criterion}"
        return f"FAIL  {self.criterion} -- hint: {self.hint}"


def passed(criterion: str) -> Result:
    """Return a passing Result for ``criterion``."""
    return Result(True, criterion)


def failed(criterion: str, hint: str) -> Result:
    """Return a failing Result for ``criterion`` with ``hint`` (where to look)."""
    return Result(False, criterion, hint)


def judge(ok: bool, criterion: str, hint: str) -> Result:
    """Return a Result that passes when ``ok`` and otherwise fails with ``hint``."""
    return Result(ok, criterion, "" if ok else hint)


def last_lines(text: str, count: int = 3) -> str:
    """Return the last ``count`` non-empty lines of ``text`` joined by `` | `` (one-line hints)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-count:])


def run_script(
    script: Path, variables: dict[str, str], timeout: float = 120.0
) -> tuple[int | None, str]:
    """Run a learner's shell script with bash, as a CI job would.

    Args:
        script: the ``.sh`` file; it need not be executable.
        variables: environment variables added to this process's environment.
        timeout: seconds before the script is stopped.

    Returns:
        (exit status, combined stdout and stderr); the status is None when it timed out.
    """
    env = dict(os.environ, **variables)
    try:
        result = subprocess.run(
            ["bash", str(script.resolve())],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=script.parent,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as error:
        out = error.stdout or b""
        return None, out.decode("utf-8", "replace") if isinstance(out, bytes) else out
    return result.returncode, result.stdout


def owned(labels: dict[str, str] | None, settings: Settings) -> bool:
    """Return True when ``labels`` carry the workshop's label from ``settings``."""
    key, value = next(iter(settings.labels.items()))
    return (labels or {}).get(key) == value


def remove_container(client: docker.DockerClient, name: str, settings: Settings) -> None:
    """Remove the container ``name`` if it exists and carries the workshop's label."""
    try:
        container = client.containers.get(name)
    except docker.errors.NotFound:
        return
    if owned(container.labels, settings):
        container.remove(force=True)


def remove_image(client: docker.DockerClient, tag: str, settings: Settings) -> None:
    """Untag (or remove) the image ``tag`` if it exists and carries the workshop's label.

    By tag, not by id: an identical image under another tag keeps that tag.
    """
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return
    if owned(image.labels, settings):
        client.images.remove(tag)
