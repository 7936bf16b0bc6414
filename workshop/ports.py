"""Who holds a TCP port: a Docker container publishing it, or a process on the host.

Chapter 06 uses this before a deploy, so a port conflict fails loudly and names the holder
instead of surfacing as Docker's ``port is already allocated`` or ``address already in use``.

Command line (exit status 0 when the port is free for us, 1 when it is held, 2 on bad input)::

    python -m workshop.ports check 8080 --allow pyappcontainer
"""

from __future__ import annotations

import argparse
import errno
import random
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

#: One process in ``ss -p`` output: ``users:(("python3",pid=15743,fd=3))``.
_SS_USER = re.compile(r'\("([^"]+)",pid=(\d+),fd=\d+\)')


@dataclass(frozen=True)
class Holder:
    """Something that holds a TCP port.

    Attributes:
        kind: ``"container"`` (a Docker container publishes the port) or ``"process"``
            (a program on the host listens on it).
        name: the container's name, or the process's command name (``"?"`` when the
            process cannot be seen, e.g. it belongs to another user and we are not root).
        pid: the process id (int) for a process; None for a container or an unseen process.
        detail: the container's image and status, or the listening address.
    """

    kind: str
    name: str
    pid: int | None
    detail: str

    def describe(self) -> str:
        """One line naming the holder and how to free the port."""
        if self.kind == "container":
            return (
                f"container {self.name!r} ({self.detail}) publishes it; "
                f"free it with: docker rm -f {self.name}"
            )
        if self.pid is None:
            return (
                f"a process we cannot see listens on {self.detail}; run `sudo ss -ltnp` to name it"
            )
        return (
            f"process {self.name!r} (pid {self.pid}) listens on {self.detail}; "
            f"stop it with: kill {self.pid}"
        )


#: The lowest port :func:`free_port` picks: above the well-known and commonly configured ports.
FREE_PORT_LOW = 20000
#: Where Linux keeps the range of ports it hands out to outgoing connections by itself.
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (32768 when it cannot be read)."""
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _unused(port: int) -> bool:
    """True when no socket uses ``port`` on any IPv4 or IPv6 address (a test bind succeeds)."""
    families = [(socket.AF_INET, "")]
    if socket.has_ipv6:
        families.append((socket.AF_INET6, "::"))
    for family, address in families:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((address, port))
        except OSError as error:
            if family == socket.AF_INET6 and error.errno == errno.EADDRNOTAVAIL:
                continue  # no IPv6 on this machine
            return False
    return True


def free_port(attempts: int = 200) -> int:
    """Return a TCP port that nothing uses now and that the kernel never hands out by itself.

    A port the kernel chose (bind to port 0) lies in its ephemeral range, the range it also
    takes source ports of outgoing connections from: between choosing such a port and using
    it, any connection on the machine (a Jupyter kernel's, a test's HTTP client's) may be
    given it, and the server that wanted it then fails with "Address already in use". So the
    port is drawn at random from below that range (``ip_local_port_range`` in
    ``/proc/sys/net/ipv4``; 32768-60999 by default on Linux), from :data:`FREE_PORT_LOW` up,
    and kept only if binding it on every address works right now.

    Args:
        attempts: random ports to try before falling back to one the kernel chooses.

    Returns:
        A TCP port number (int); from the ephemeral range only when no port below it was free
        or the range starts too low to leave room.
    """
    high = _ephemeral_low()
    if high - FREE_PORT_LOW > attempts:
        for _ in range(attempts):
            port = random.randrange(FREE_PORT_LOW, high)
            if _unused(port):
                return port
    with socket.socket() as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


def containers_publishing(client: docker.DockerClient, port: int) -> list[Holder]:
    """Return the running containers that publish host ``port`` (``docker ps --filter publish=``).

    Args:
        client: a connected docker SDK client.
        port: a host TCP port (1-65535).

    Returns:
        One Holder per container, in the engine's order; empty when none publishes the port.

    Raises:
        docker.errors.DockerException: when the engine cannot be reached.
    """
    found = []
    for container in client.containers.list(filters={"publish": str(port)}):
        image = container.attrs.get("Config", {}).get("Image", "?")
        found.append(
            Holder("container", container.name, None, f"image {image}, {container.status}")
        )
    return found


def listening_processes(port: int) -> list[Holder]:
    """Return the host processes listening on TCP ``port``, as ``ss -ltnp`` shows them.

    Docker's own ``docker-proxy`` processes are included; :func:`holders` folds them into
    the container they serve. Without root, ``ss`` cannot name another user's process, which
    comes back as a Holder with ``pid`` None.

    Args:
        port: a host TCP port (1-65535).

    Returns:
        One Holder per listening process (an unseen one once per socket); empty when ``ss``
        is not installed or nothing listens.
    """
    if shutil.which("ss") is None:
        return []
    result = subprocess.run(
        ["ss", "-H", "-ltnp", f"sport = :{port}"], capture_output=True, text=True, check=False
    )
    found = []
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        address = fields[3]
        users = _SS_USER.findall(line)
        if not users:
            found.append(Holder("process", "?", None, address))
        for name, pid in users:
            found.append(Holder("process", name, int(pid), address))
    return found


def holders(port: int, client: docker.DockerClient | None = None) -> list[Holder]:
    """Return everything holding TCP ``port``: publishing containers first, then other processes.

    ``docker-proxy`` processes are left out when a container accounts for the port: the
    container is what you remove.

    Args:
        port: a host TCP port (1-65535).
        client: a docker SDK client; None connects with ``docker.from_env()``.

    Returns:
        The holders (list of Holder); empty when the port is free.

    Raises:
        docker.errors.DockerException: when the engine cannot be reached.
    """
    client = client or docker.from_env()
    found = containers_publishing(client, port)
    processes = listening_processes(port)
    if found:
        processes = [p for p in processes if p.name != "docker-proxy"]
    return found + processes


def check(
    port: int, allow: str | None = None, client: docker.DockerClient | None = None
) -> list[str]:
    """Explain why ``port`` cannot be published, or return nothing when it can.

    Args:
        port: the host TCP port a deploy is about to publish.
        allow: name of a container that may hold the port (the one the deploy replaces).
        client: a docker SDK client; None connects with ``docker.from_env()``.

    Returns:
        One line per holder other than ``allow`` (list of str); empty when the port is free for us.

    Raises:
        docker.errors.DockerException: when the engine cannot be reached.
    """
    found = holders(port, client)
    if allow and any(h.kind == "container" and h.name == allow for h in found):
        found = [h for h in found if not (h.kind == "container" and h.name == allow)]
        found = [h for h in found if h.name != "docker-proxy"]
    return [h.describe() for h in found]


def main(argv: list[str] | None = None) -> int:
    """``python -m workshop.ports check PORT [--allow NAME]``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m workshop.ports")
    sub = parser.add_subparsers(dest="command", required=True)
    check_cmd = sub.add_parser("check", help="fail, naming the holder, when PORT is taken")
    check_cmd.add_argument("port", help="host TCP port, 1-65535")
    check_cmd.add_argument("--allow", help="container that may hold it (the one being replaced)")
    args = parser.parse_args(argv)
    try:
        port = int(args.port)
        if not 1 <= port <= 65535:
            raise ValueError
    except ValueError:
        print(f"FAIL: {args.port!r} is not a TCP port. Hint: give a number from 1 to 65535.")
        return 2
    try:
        problems = check(port, args.allow)
    except docker.errors.DockerException as error:
        print(f"FAIL: cannot ask the Docker engine who holds port {port}: {error}")
        print("Hint: is the engine running, and may this user use its socket (chapter 05)?")
        return 1
    if not problems:
        print(f"OK: port {port} is free" + (f" (or held by {args.allow})" if args.allow else ""))
        return 0
    print(f"FAIL: port {port} is already taken:")
    for line in problems:
        print(f"  - {line}")
    print("Hint: free the port as shown, or publish on another one (WORKSHOP_HOST_PORT=...).")
    return 1


if __name__ == "__main__":
    sys.exit(main())
