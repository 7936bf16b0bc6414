"""Find a Docker engine, or start one when this machine allows it.

Rules (from the foundation issue): if a daemon answers, use it and change nothing;
else, as root on Debian or Ubuntu, install ``docker.io`` and start ``dockerd`` in the
background; else stop with instructions for this operating system. A daemon the
workshop did not start is never stopped or reconfigured.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from workshop import system

#: dockerd's default pid file; a killed daemon can leave it behind.
DOCKER_PIDFILE = Path("/var/run/docker.pid")
#: The pid file of the containerd that dockerd starts for itself; it goes stale the same way.
CONTAINERD_PIDFILE = Path("/var/run/docker/containerd/containerd.pid")
DOCKER_SOCKET = Path("/var/run/docker.sock")
#: Where the workshop records a daemon it started, and that daemon's log.
OUR_PIDFILE = Path("/var/run/workshop-dockerd.pid")
LOGFILE = Path("/var/log/workshop-dockerd.log")


class EngineUnavailable(RuntimeError):
    """No Docker engine answers and the workshop may not start one; the message says what to do."""


@dataclass(frozen=True)
class EngineStatus:
    """Outcome of :func:`ensure_engine`.

    Attributes:
        started: True when this call started dockerd, False when one already answered.
        version: the engine's version string, e.g. ``"20.10.24+dfsg1"``.
        detail: one line for the learner.
    """

    started: bool
    version: str
    detail: str


def ping(timeout: float = 5.0) -> str | None:
    """Ask the engine (``DOCKER_HOST``, else the local socket) for its version.

    Args:
        timeout: seconds for the request.

    Returns:
        The engine's version (str), or None when it does not answer.
    """
    try:
        client = docker.from_env(timeout=timeout)
        try:
            return client.version().get("Version", "unknown")
        finally:
            client.close()
    except (docker.errors.DockerException, OSError):
        return None


def _process(pid: int) -> tuple[str, str] | None:
    """Return (one-letter state, command name) of ``pid``, or None when no such process."""
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status if ":" in line)
    return fields.get("State", "?").split()[0], fields.get("Name", "").strip()


def remove_stale_pidfile(pidfile: Path, program: str) -> bool:
    """Delete ``pidfile`` when the process it names is gone, a zombie, or another program.

    A killed daemon leaves its pid file behind (and for a moment a zombie with that
    pid); later the pid may belong to an unrelated process. dockerd refuses to start,
    or waits for a containerd that is not there, until the file is removed.

    Args:
        pidfile: the file to check.
        program: the command name the live process must have (``dockerd``, ``containerd``).

    Returns:
        True when a stale file was removed; False when there was none or its daemon lives.
    """
    if not pidfile.exists():
        return False
    try:
        pid = int(pidfile.read_text().strip() or 0)
    except (OSError, ValueError):
        pid = 0
    process = _process(pid) if pid > 0 else None
    if process is not None and process[0] not in ("Z", "X") and process[1] == program:
        return False
    pidfile.unlink(missing_ok=True)
    return True


def _uses_local_socket() -> bool:
    host = os.environ.get("DOCKER_HOST", "")
    return host in ("", f"unix://{DOCKER_SOCKET}", "unix:///run/docker.sock")


def instructions() -> str:
    """Return how to get a working Docker engine on this operating system (str, several lines)."""
    system_name = platform.system()
    if system_name == "Darwin" or system_name == "Windows":
        return (
            "Install Docker Desktop and start it (wait until it says 'Engine running'),\n"
            "then run this command again. Check with: docker info"
        )
    lines = []
    if DOCKER_SOCKET.exists() and not os.access(DOCKER_SOCKET, os.R_OK | os.W_OK):
        lines += [
            f"A Docker engine is running, but your user may not use {DOCKER_SOCKET}.",
            "Add yourself to the docker group, then log out and in again (or run 'newgrp docker'):",
            '    sudo usermod -aG docker "$USER"',
            "Members of the docker group are root-equivalent on this machine; rootless Docker",
            "(dockerd-rootless-setuptool.sh install) avoids that. Never chmod 666 the socket.",
        ]
    elif system.is_debian_like():
        lines += [
            "Install and start Docker Engine (as root, or with sudo):",
            "    sudo apt-get install docker.io && sudo systemctl start docker",
            "or run this command as root and the workshop does it for you.",
        ]
    else:
        lines += [
            "Install Docker Engine with your distribution's package manager",
            "(for example 'sudo dnf install moby-engine' or 'sudo pacman -S docker'),",
            "start it ('sudo systemctl start docker'), then run this command again.",
        ]
    if not _uses_local_socket():
        lines.append(
            f"DOCKER_HOST is set to {os.environ['DOCKER_HOST']!r}: is that engine running?"
        )
    return "\n".join(lines)


def start_dockerd(timeout: float = 60.0) -> str:
    """Start ``dockerd`` in the background and wait until it answers.

    Installs ``docker.io`` first when ``dockerd`` is missing. The daemon keeps running
    after this process ends; its pid goes to OUR_PIDFILE and its output to LOGFILE.

    Args:
        timeout: seconds to wait for the daemon to answer.

    Returns:
        The engine's version (str).

    Raises:
        EngineUnavailable: when not root on Debian/Ubuntu, or the daemon exits or does not
            answer within ``timeout`` (the message quotes the end of its log).
    """
    if not system.can_apt_install():
        raise EngineUnavailable(instructions())
    if not system.ensure_commands({"dockerd": "docker.io"}) == []:
        raise EngineUnavailable("dockerd is still missing after installing docker.io")
    system.ensure_commands({"docker": "docker.io"})
    remove_stale_pidfile(DOCKER_PIDFILE, "dockerd")
    remove_stale_pidfile(CONTAINERD_PIDFILE, "containerd")
    LOGFILE.parent.mkdir(parents=True, exist_ok=True)
    with LOGFILE.open("ab") as log:
        process = subprocess.Popen(
            ["dockerd"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    OUR_PIDFILE.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        version = ping(timeout=2.0)
        if version:
            return version
        if process.poll() is not None:
            break
        time.sleep(0.25)
    tail = LOGFILE.read_text(errors="replace").splitlines()[-15:]
    raise EngineUnavailable(
        f"dockerd did not answer within {timeout:g} s (exit status {process.poll()}).\n"
        f"Last lines of {LOGFILE}:\n" + "\n".join(tail)
    )


def ensure_engine(timeout: float = 60.0) -> EngineStatus:
    """Make sure a Docker engine answers, starting one only when none does.

    Args:
        timeout: seconds to wait for a daemon this call starts.

    Returns:
        EngineStatus saying whether the engine was already there or started now.

    Raises:
        EngineUnavailable: when no engine answers and none can be started here; the
            message holds OS-specific instructions.
    """
    version = ping()
    if version:
        return EngineStatus(False, version, f"Docker engine {version} is running.")
    if not _uses_local_socket():
        raise EngineUnavailable(instructions())
    if DOCKER_SOCKET.exists() and not system.is_root() and not os.access(DOCKER_SOCKET, os.W_OK):
        raise EngineUnavailable(instructions())
    version = start_dockerd(timeout)
    return EngineStatus(True, version, f"Started Docker engine {version} (log: {LOGFILE}).")
