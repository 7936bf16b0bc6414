"""Preflight checks before the course: ``python -m workshop doctor``.

Each check gives one line, ``ok``, ``warning`` or ``FAIL``, and for anything not ok the fix
for this operating system. A FAIL blocks the course (the command exits 1); a warning says
what will not work (for example the local pipeline without ``gitlab-ci-local``) or what
``prepare`` will do about it.
"""

from __future__ import annotations

import grp
import importlib.metadata
import os
import platform
import pwd
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors

from workshop import images, settings, standin, system
from workshop.paths import ROOT

OK, WARNING, FAIL = "ok", "warning", "FAIL"
#: The port the app listens on inside its container; the seed also uses it on the host.
APP_CONTAINER_PORT = 8080
#: Free disk below which images cannot be built (FAIL), and below which it gets tight (warning).
DISK_FAIL_BYTES = 1 * 1024**3
DISK_WARN_BYTES = 3 * 1024**3
#: The user a GitLab runner's shell jobs run as.
RUNNER_USER = "gitlab-runner"
DEFAULT_SOCKET = Path("/var/run/docker.sock")


@dataclass(frozen=True)
class Check:
    """The outcome of one check.

    Attributes:
        name: what was checked, e.g. ``"Docker daemon"``.
        status: ``"ok"``, ``"warning"`` or ``"FAIL"`` (FAIL blocks the course).
        detail: what was found (one line).
        fix: what to do about it, for this operating system ("" when ok).
    """

    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass
class Context:
    """What the checks share: settings, the base image to look for, and the engine's answer.

    Attributes:
        conf: the course's settings (ports, label).
        image: the base image to check (default ``python:3.13-slim``).
        before_prepare: True when ``prepare`` runs next and can install or start what is missing
            (as in ``workshop run``), so those findings are warnings, not failures.
        runner_user: the runner's user name to judge socket access for.
        version: the engine's version once the daemon check reached it.
        client: a connected docker SDK client, or None.
    """

    conf: settings.Settings
    image: str = images.BASE_IMAGES[0]
    before_prepare: bool = False
    runner_user: str = RUNNER_USER
    version: str | None = None
    client: docker.DockerClient | None = None
    error: str = ""
    extra: dict = field(default_factory=dict)


def _is_linux() -> bool:
    return platform.system() == "Linux"


def _install_hint(debian_package: str, other: str) -> str:
    if system.is_debian_like():
        return f"sudo apt-get install {debian_package}"
    if platform.system() == "Darwin":
        return other
    return f"install {debian_package} with your distribution's package manager"


def docker_host() -> str:
    """Return where the docker CLI and SDK connect: ``DOCKER_HOST`` or the local socket URL."""
    return os.environ.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"


def socket_path(host: str | None = None) -> Path | None:
    """Return the unix socket a ``DOCKER_HOST`` value names, or None for ``tcp://`` and others."""
    host = host or docker_host()
    if host.startswith("unix://"):
        return Path(host[len("unix://") :])
    return None


def check_cli(ctx: Context) -> Check:
    """The docker command is installed."""
    path = shutil.which("docker")
    if path:
        out = subprocess.run(["docker", "--version"], capture_output=True, text=True, check=False)
        return Check("docker CLI", OK, out.stdout.strip() or path)
    fix = _install_hint("docker.io", "install Docker Desktop")
    if ctx.before_prepare and system.can_apt_install():
        return Check("docker CLI", WARNING, "not installed", "prepare installs docker.io next")
    return Check("docker CLI", FAIL, "the docker command is not installed", fix)


def check_daemon(ctx: Context) -> Check:
    """A Docker engine answers at DOCKER_HOST (or the local socket)."""
    host = docker_host()
    try:
        client = docker.from_env(timeout=5)
        ctx.version = client.version().get("Version", "unknown")
        ctx.client = client
        return Check("Docker daemon", OK, f"engine {ctx.version} answers at {host}")
    except (docker.errors.DockerException, OSError) as error:
        ctx.error = str(error)
    path = socket_path(host)
    if "ermission denied" in ctx.error:
        return Check(
            "Docker daemon",
            FAIL,
            f"the engine at {host} refuses this user (permission denied on the socket)",
            "see the socket check below",
        )
    if host.startswith("tcp://docker:"):
        return Check(
            "Docker daemon",
            FAIL,
            f"DOCKER_HOST={host}: that name exists only inside a CI job with a docker:dind service",
            "unset DOCKER_HOST (the course uses this machine's engine; see chapter 03)",
        )
    if os.environ.get("DOCKER_HOST"):
        missing = path is not None and not path.exists()
        return Check(
            "Docker daemon",
            FAIL,
            f"no Docker daemon answers at DOCKER_HOST={host}",
            "start the engine that DOCKER_HOST names, or unset DOCKER_HOST to use the local one "
            "(unset DOCKER_HOST)" + ("; the socket file does not exist" if missing else ""),
        )
    if ctx.before_prepare and system.can_apt_install():
        return Check(
            "Docker daemon", WARNING, f"not running at {host}", "prepare starts dockerd next"
        )
    if platform.system() == "Darwin" or platform.system() == "Windows":
        fix = "start Docker Desktop and wait until it says 'Engine running'"
    else:
        fix = "sudo systemctl start docker (or run python -m workshop engine as root)"
    return Check("Docker daemon", FAIL, f"no Docker daemon answers at {host}", fix)


def socket_access(path: Path, uid: int, gids: set[int]) -> bool:
    """Return True when a user with ``uid`` and groups ``gids`` may read and write the socket.

    Judged from the file's owner, group and mode, as the kernel does for ``connect()``.

    Args:
        path: the socket file.
        uid: the user's id (0 is root, who may always).
        gids: every group id the user would have (primary and supplementary).

    Raises:
        OSError: when the socket cannot be examined.
    """
    if uid == 0:
        return True
    info = path.stat()
    need = stat.S_IRUSR | stat.S_IWUSR
    if info.st_uid == uid:
        return info.st_mode & need == need
    need = stat.S_IRGRP | stat.S_IWGRP
    if info.st_gid in gids:
        return info.st_mode & need == need
    return info.st_mode & (stat.S_IROTH | stat.S_IWOTH) == stat.S_IROTH | stat.S_IWOTH


def user_groups(name: str) -> tuple[int, set[int]]:
    """Return (uid, group ids) a login of user ``name`` would get, from the account databases.

    Raises:
        KeyError: when there is no such user.
    """
    entry = pwd.getpwnam(name)
    return entry.pw_uid, set(os.getgrouplist(name, entry.pw_gid))


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _socket_fix(user: str, group: str, restart: str) -> str:
    return (
        f"sudo usermod -aG {group} {user}, then {restart} (group changes reach only processes "
        f"started afterwards). The {group} group is root-equivalent; rootless Docker avoids that. "
        "Never chmod 666 the socket."
    )


def check_socket(ctx: Context) -> Check:
    """The current user may use the engine's unix socket."""
    path = socket_path()
    if path is None:
        return Check("Docker socket", OK, f"DOCKER_HOST={docker_host()} is not a unix socket")
    if not path.exists():
        return Check(
            "Docker socket",
            WARNING if ctx.version is None else OK,
            f"{path} does not exist (no local engine has created it)",
            "start the engine (see the daemon check)" if ctx.version is None else "",
        )
    info = path.stat()
    owner = (
        f"{_user_name(info.st_uid)}:{_group_name(info.st_gid)} mode {stat.filemode(info.st_mode)}"
    )
    uid, gids = os.geteuid(), set(os.getgroups()) | {os.getegid()}
    me = _user_name(uid)
    if socket_access(path, uid, gids):
        return Check("Docker socket", OK, f"{path} ({owner}) is usable by {me}")
    return Check(
        "Docker socket",
        FAIL,
        f"permission denied: user {me} (uid {uid}) may not use {path} ({owner})",
        _socket_fix(me, _group_name(info.st_gid), "log out and in again (or run newgrp docker)"),
    )


def check_runner_socket(ctx: Context) -> Check | None:
    """A ``gitlab-runner`` user, when one exists, may use the socket (judged by its groups)."""
    path = socket_path()
    try:
        uid, gids = user_groups(ctx.runner_user)
    except KeyError:
        return None
    name = f"Docker socket for {ctx.runner_user}"
    if path is None or not path.exists():
        return Check(name, OK, "no local socket to judge")
    info = path.stat()
    if socket_access(path, uid, gids):
        return Check(name, OK, f"{ctx.runner_user} may use {path}")
    group = _group_name(info.st_gid)
    return Check(
        name,
        WARNING,
        f"{ctx.runner_user} is not in group {group}: its shell jobs will get permission denied",
        _socket_fix(ctx.runner_user, group, "sudo systemctl restart gitlab-runner"),
    )


def _holders(port: int, client: docker.DockerClient | None, label: str = "") -> list[str]:
    """Who holds ``port``: lines from workshop.ports when available, else from a bind test.

    A host process started with the workshop's ``label`` in its environment (a chapter's app,
    which that chapter stops itself) does not count.
    """
    from workshop.reset import process_label

    try:
        from workshop import ports  # chapter 06's helper: names containers and processes
    except ImportError:  # pragma: no cover - older checkouts
        ports = None
    if ports is not None:
        try:
            if client is not None:
                found = ports.holders(port, client)
            elif shutil.which("ss"):
                found = ports.listening_processes(port)
            else:
                found = None
            if found is not None:
                return [
                    h.describe()
                    for h in found
                    if not (label and h.pid is not None and process_label(h.pid) == label)
                ]
        except docker.errors.DockerException:
            pass
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("", port))
        except PermissionError:
            return []  # a privileged port; the engine publishes it, so only holders matter
        except OSError:
            return [f"something listens on port {port} (run: ss -ltnp 'sport = :{port}')"]
    return []


def _own_container(ctx: Context, port: int) -> str | None:
    """The name of the workshop's own container (by label and name) publishing ``port``, if any."""
    if ctx.client is None:
        return None
    key, _, value = ctx.conf.label.partition("=")
    try:
        for container in ctx.client.containers.list(filters={"publish": str(port)}):
            if container.labels.get(key) == value and container.name == ctx.conf.container_name:
                return container.name
    except docker.errors.DockerException:
        return None
    return None


def check_port(ctx: Context, port: int, setting: str, blocking: bool) -> Check:
    """``port`` is free, or held by the workshop's own deployed container (deploy replaces it)."""
    name = f"port {port} ({setting})"
    own = _own_container(ctx, port)
    if own:
        return Check(name, OK, f"held by the workshop's container {own}; deploy replaces it")
    found = _holders(port, ctx.client, ctx.conf.label)
    if not found:
        return Check(name, OK, "free")
    variable = settings.override_name(setting) if setting in settings.DEFAULTS else ""
    fix = "free it as shown"
    if variable:
        fix += f", or choose another port: {variable}=<port>"
    return Check(name, FAIL if blocking else WARNING, "in use: " + "; ".join(found), fix)


def check_disk(ctx: Context, path: Path | None = None, need: int = DISK_FAIL_BYTES) -> Check:
    """Enough free disk where the engine keeps its images.

    Args:
        ctx: the shared context (its client tells the engine's data folder).
        path: the folder to measure; None asks the engine (DockerRootDir), else ``/``.
        need: bytes below which the check fails.
    """
    if path is None:
        path = Path("/")
        if ctx.client is not None:
            try:
                root = Path(ctx.client.info().get("DockerRootDir", "/"))
                path = root if root.exists() else path
            except (docker.errors.DockerException, OSError):
                pass
    free = shutil.disk_usage(path).free
    detail = f"{free / 1024**3:.1f} GB free on {path}"
    if free < need:
        return Check(
            "free disk", FAIL, detail, f"free at least {need / 1024**3:.1f} GB: docker system prune"
        )
    if free < max(DISK_WARN_BYTES, need):
        return Check("free disk", WARNING, detail, "images need about 1 GB; docker image prune")
    return Check("free disk", OK, detail)


def check_image(ctx: Context) -> Check:
    """The base image is present (real or stand-in), pullable, or can be built as a stand-in."""
    name = f"base image {ctx.image}"
    if ctx.client is None:
        return Check(name, WARNING, "not checked: no engine answers")
    try:
        image = ctx.client.images.get(ctx.image)
        labels = image.labels or {}
        if "workshop.offline" in labels:
            return Check(
                name,
                OK,
                "present: classroom image from an offline bundle (pip installs from its wheels)",
            )
        if standin.STANDIN_LABEL_KEY in labels:
            return Check(name, OK, "present: the workshop's local stand-in, built from Debian")
        return Check(name, OK, f"present ({image.short_id})")
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.DockerException as error:
        return Check(name, WARNING, f"could not inspect it: {error}")
    try:
        ctx.client.api.inspect_distribution(ctx.image)
        return Check(name, OK, "absent, but the registry has it: prepare pulls it")
    except docker.errors.DockerException as error:
        reason = getattr(error, "explanation", None) or str(error)
    fix = (
        "run python -m workshop prepare (pulls it, or builds a local stand-in from Debian "
        "packages as root), or load a classroom bundle: python -m workshop prepare --load BUNDLE"
    )
    if ctx.image in images.BASE_IMAGES and system.can_apt_install() and ctx.before_prepare:
        return Check(name, WARNING, "absent and not pullable: prepare builds a stand-in", "")
    if ctx.image not in images.BASE_IMAGES:
        fix = (
            f"build or pull it (docker pull {ctx.image}), or load it from a classroom bundle: "
            "python -m workshop prepare --load BUNDLE"
        )
    return Check(name, FAIL, f"absent, and the registry does not give it ({reason[:160]})", fix)


def check_python(ctx: Context) -> Check:
    """Python is 3.10 or newer."""
    version = platform.python_version()
    if sys.version_info < (3, 10):  # noqa: UP036 - the doctor may run under any python3
        return Check(
            "Python", FAIL, f"{version} is too old", _install_hint("python3", "brew install python")
        )
    return Check("Python", OK, f"{version} ({sys.executable})")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_jupyter(ctx: Context) -> Check:
    """The notebook machinery is installed (and JupyterLab, to work through chapters by hand)."""
    found = {p: _version(p) for p in ("nbclient", "ipykernel", "jupyterlab")}
    detail = ", ".join(f"{p} {v}" for p, v in found.items() if v)
    missing = [p for p in ("nbclient", "ipykernel") if not found[p]]
    if missing:
        return Check(
            "Jupyter", FAIL, f"missing {', '.join(missing)}", "./course run sets up .venv with them"
        )
    if not found["jupyterlab"]:
        return Check(
            "Jupyter", WARNING, detail + "; no JupyterLab", "./course lab installs JupyterLab"
        )
    return Check("Jupyter", OK, detail)


def gitlab_ci_local() -> str | None:
    """Return the path of ``gitlab-ci-local``: the project's pinned copy, node_modules, or PATH."""
    try:
        from workshop.pipeline import GITLAB_CI_LOCAL as pinned  # installed by prepare
    except ImportError:  # pragma: no cover - checkouts without the pipeline chapters
        pinned = ROOT / "tools/gitlab-ci-local/node_modules/.bin/gitlab-ci-local"
    for candidate in (
        pinned,
        ROOT / "node_modules/.bin/gitlab-ci-local",
    ):
        if candidate.exists():
            return str(candidate)
    return shutil.which("gitlab-ci-local")


def check_tool(ctx: Context, tool: str) -> Check:
    """A command the local pipeline needs (node, gitlab-ci-local, rsync); missing is a warning."""
    path = gitlab_ci_local() if tool == "gitlab-ci-local" else shutil.which(tool)
    if path:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
        version = (out.stdout or out.stderr).strip().splitlines()
        return Check(tool, OK, f"{version[0] if version else ''} ({path})".strip())
    fixes = {
        "node": _install_hint("nodejs npm", "brew install node"),
        "rsync": _install_hint("rsync", "brew install rsync"),
        "gitlab-ci-local": "python -m workshop prepare installs the pinned copy (needs node, npm)",
    }
    return Check(
        tool,
        WARNING,
        "not found: the local pipeline (chapters 03, 04, 08 and 09) needs it",
        fixes[tool],
    )


def run_checks(ctx: Context) -> list[Check]:
    """Run every check in order.

    Args:
        ctx: settings and options; filled in as the checks learn about the engine.

    Returns:
        One Check per check (the runner-user check only when that user exists).
    """
    steps: list[Callable[[], Check | None]] = [
        lambda: check_cli(ctx),
        lambda: check_daemon(ctx),
        lambda: check_socket(ctx),
        lambda: check_runner_socket(ctx),
        lambda: check_port(ctx, ctx.conf.host_port, "HOST_PORT", blocking=True),
        lambda: check_port(ctx, ctx.conf.app_port, "APP_PORT", blocking=True),
        lambda: check_disk(ctx),
        lambda: check_image(ctx),
        lambda: check_python(ctx),
        lambda: check_jupyter(ctx),
        lambda: check_tool(ctx, "node"),
        lambda: check_tool(ctx, "gitlab-ci-local"),
        lambda: check_tool(ctx, "rsync"),
    ]
    if APP_CONTAINER_PORT not in (ctx.conf.host_port, ctx.conf.app_port):
        steps.insert(6, lambda: check_port(ctx, APP_CONTAINER_PORT, "the app's port", False))
    results = []
    try:
        for step in steps:
            result = step()
            if result is not None:
                results.append(result)
    finally:
        if ctx.client is not None:
            ctx.client.close()
            ctx.client = None
    return results


def format_check(check: Check) -> str:
    """Return the check as text: ``STATUS  name: detail`` and, when not ok, an indented fix line."""
    line = f"{check.status:<8}{check.name}: {check.detail}"
    if check.fix and check.status != OK:
        line += f"\n{'':<8}fix: {check.fix}"
    return line


def blocking(checks: list[Check]) -> list[Check]:
    """Return the checks that block the course (status FAIL)."""
    return [c for c in checks if c.status == FAIL]


def doctor(
    image: str | None = None, before_prepare: bool = False, print_fn: Callable = print
) -> int:
    """Run the checks, print one line each, and return the exit status.

    Args:
        image: base image to check instead of ``python:3.13-slim``.
        before_prepare: True when ``prepare`` runs right after (see :class:`Context`).
        print_fn: where lines go (``print`` by default).

    Returns:
        0 when nothing blocks the course, 1 when a check failed.

    Raises:
        ValueError: when a port setting is not a port number.
    """
    ctx = Context(conf=settings.load(), before_prepare=before_prepare)
    if image:
        ctx.image = image
    checks = run_checks(ctx)
    for check in checks:
        print_fn(format_check(check))
    failed = blocking(checks)
    if failed:
        print_fn(
            f"FAIL: {len(failed)} check(s) block the course: {', '.join(c.name for c in failed)}"
        )
        return 1
    warned = [c.name for c in checks if c.status == WARNING]
    print_fn("Ready." + (f" Warnings: {', '.join(warned)}." if warned else ""))
    return 0


def main() -> None:
    """Entry point for the chapter 01 cell: run the doctor and raise when something blocks."""
    if doctor():
        raise SystemExit("The doctor found a problem that blocks the course; see the FAIL lines.")
