"""What kind of machine this is, and installing Debian packages where we may."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def is_root() -> bool:
    """Return True when this process runs as root (effective user id 0)."""
    return os.geteuid() == 0


def os_release(path: Path = Path("/etc/os-release")) -> dict[str, str]:
    """Parse ``/etc/os-release`` into a dict (empty when the file is missing)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    return values


def is_debian_like() -> bool:
    """Return True on Debian, Ubuntu and their derivatives that have apt-get."""
    release = os_release()
    ids = {release.get("ID", "")} | set(release.get("ID_LIKE", "").split())
    return bool(ids & {"debian", "ubuntu"}) and shutil.which("apt-get") is not None


def can_apt_install() -> bool:
    """Return True when this process may install Debian packages (root with apt-get)."""
    return is_root() and is_debian_like()


_apt_updated = False


def apt_install(packages: list[str]) -> None:
    """Install Debian packages with apt-get, running ``apt-get update`` once per process.

    Args:
        packages: Debian package names.

    Raises:
        PermissionError: when not root on a Debian-like system.
        subprocess.CalledProcessError: when apt-get fails; its output went to the terminal.
    """
    global _apt_updated
    if not can_apt_install():
        raise PermissionError("installing packages needs root on Debian or Ubuntu")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _apt_updated:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        _apt_updated = True
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        check=True,
        env=env,
    )


def ensure_commands(commands: dict[str, str]) -> list[str]:
    """Make sure commands exist, installing their Debian packages when we may.

    Args:
        commands: command name -> Debian package that provides it.

    Returns:
        The command names still missing afterwards (empty when all are there).
    """
    missing = {cmd: pkg for cmd, pkg in commands.items() if shutil.which(cmd) is None}
    if missing and can_apt_install():
        apt_install(sorted(set(missing.values())))
    return [cmd for cmd in commands if shutil.which(cmd) is None]
