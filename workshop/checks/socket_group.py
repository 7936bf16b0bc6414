"""Exercise 05-socket-group: an unprivileged user reaches the engine through the socket's group.

The check runs the learner's ``runner-job.sh`` with a container name of its own and the
engine's socket, and judges its output (the engine's answer, as which user) and the socket
itself, compared before and after. Should the script change the socket's owner or mode, the
check puts them back, and says so.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import docker

from workshop.checks.base import Result, failed, judge, last_lines, owned, passed, run_script
from workshop.settings import Settings

ID = "05-socket-group"
TITLE = "Let an unprivileged 'runner' user use the Docker socket with --group-add"
SCRIPT = "runner-job.sh"
WHERE = "chapter 05, 'Fix: give the process the socket's group'"


def socket_path(environ: dict[str, str] | None = None) -> Path:
    """Return the engine's socket: DOCKER_HOST's path when ``unix://``, else the default."""
    host = (os.environ if environ is None else environ).get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        return Path(host[len("unix://") :])
    return Path("/var/run/docker.sock")


def container_name(settings: Settings) -> str:
    """Return the name the learner's script gives its container, derived from the settings."""
    return f"{settings.container_name}-check-05"


def run(folder: Path, settings: Settings) -> list[Result]:
    """Grade the learner's ``runner-job.sh`` in ``folder``.

    Args:
        folder: the exercise folder (``exercises/05-socket-group`` or a copy).
        settings: names and label, passed to the script; its container is
            ``CONTAINER_NAME-check-05-runner`` and must remove itself (``--rm``).

    Returns:
        One Result per criterion, in order.
    """
    script = folder / SCRIPT
    if not script.is_file():
        return [failed(f"{folder}/{SCRIPT} exists", f"no {SCRIPT} in {folder}")]
    results = [passed(f"{folder}/{SCRIPT} exists")]
    sock = socket_path()
    before = sock.stat()
    name = container_name(settings)
    client = docker.from_env()
    try:
        code, output = run_script(
            script,
            {"CONTAINER_NAME": name, "WORKSHOP_LABEL": settings.label, "SOCK": str(sock)},
            timeout=120,
        )
        after = sock.stat()
        changed = (after.st_uid, after.st_gid, after.st_mode) != (
            before.st_uid,
            before.st_gid,
            before.st_mode,
        )
        if changed:
            os.chown(sock, before.st_uid, before.st_gid)
            os.chmod(sock, stat.S_IMODE(before.st_mode))
        reaches = "the job, as an unprivileged user, reaches the engine"
        if code != 0:
            said = last_lines(output, 2)
            hint = (
                f"the process may not open the socket ({said!r}): compare the groups `id` shows "
                f"inside the container with the socket's group (ls -ln {sock}); see {WHERE}"
                if "permission denied" in output
                else f"the container has no group of that name ({said!r}); a group id works "
                f"everywhere: ls -ln {sock} shows the socket's"
                if "Unable to find group" in output
                else f"{SCRIPT} exits with status {code}: {said!r}"
            )
            results.append(failed(reaches, hint))
        else:
            results.append(judge("answered user" in output, reaches, f"no answer: {output!r}"))
        answered_as = output.rsplit("answered user", 1)[-1].split()[:1] if code == 0 else []
        if answered_as:
            results.append(
                judge(
                    answered_as != ["0"],
                    "the job still runs as user 10001, not root",
                    "the job ran as root; keep --user 10001:10001 and give it a group instead",
                )
            )
        results.append(
            judge(
                not changed,
                "the socket's owner and permissions are unchanged",
                f"{SCRIPT} changed the socket (the check put it back): never chmod or chown "
                "the socket, it gives the engine, and so root, to every local user",
            )
        )
        left = client.containers.list(all=True, filters={"name": f"^{name}-runner$"})
        results.append(
            judge(
                not left,
                "the job's container removed itself",
                "a container was left behind; keep --rm in the options",
            )
        )
        for container in left:
            if owned(container.labels, settings):
                container.remove(force=True)
        return results
    finally:
        client.close()
