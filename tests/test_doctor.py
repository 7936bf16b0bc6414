"""``workshop doctor``: each fault is injected for real, and the doctor names it and its fix."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import uuid
from pathlib import Path

import pytest

from tests.conftest import CONTAINER_PREFIX, TEST_LABEL, free_port
from workshop import doctor, settings
from workshop.paths import ROOT

NOBODY = 65534


def run_doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Run ``python -m workshop doctor`` with ``env`` added to this environment."""
    return subprocess.run(
        [sys.executable, "-m", "workshop", "doctor", *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, **env),
        cwd=ROOT,
        timeout=120,
    )


def line(output: str, start: str) -> str:
    """The first line of ``output`` starting with ``start``, plus its fix line if any."""
    lines = output.splitlines()
    for i, text in enumerate(lines):
        if text.startswith(start):
            follow = lines[i + 1] if i + 1 < len(lines) and lines[i + 1].startswith(" ") else ""
            return text + "\n" + follow
    raise AssertionError(f"no line starting with {start!r} in:\n{output}")


def test_healthy_machine_passes(test_settings):
    result = run_doctor(test_settings)
    assert result.returncode == 0, result.stdout
    assert line(result.stdout, "ok      Docker daemon").count("answers")
    assert result.stdout.rstrip().splitlines()[-1].startswith("Ready.")


def test_docker_host_without_a_daemon(test_settings, tmp_path):
    # A real unix socket that nobody accepts on: connecting is refused, as with a stopped daemon.
    path = tmp_path / "docker.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    try:
        result = run_doctor(dict(test_settings, DOCKER_HOST=f"unix://{path}"))
    finally:
        sock.close()
    assert result.returncode == 1
    found = line(result.stdout, "FAIL    Docker daemon")
    assert f"no Docker daemon answers at DOCKER_HOST=unix://{path}" in found
    assert "unset DOCKER_HOST" in found
    assert "block the course: Docker daemon" in result.stdout


def _python_for_nobody() -> str | None:
    """An interpreter an unprivileged user can run, of this Python's version (for the venv's
    site-packages), or None."""
    wanted = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for folder in ("/usr/bin", "/usr/local/bin", "/bin"):
        candidate = Path(folder) / wanted
        if candidate.exists() and candidate.stat().st_mode & 0o001:
            return str(candidate)
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")
def test_user_without_access_to_the_socket(test_settings, tmp_path):
    python = _python_for_nobody()
    if python is None or shutil.which("setpriv") is None:
        pytest.skip("no setpriv, or no system interpreter an unprivileged user may run")
    socket_path = doctor.DEFAULT_SOCKET
    if not socket_path.exists() or socket_path.stat().st_mode & 0o006 == 0o006:
        pytest.skip("the engine's socket is world-writable here: every user may use it")
    tmp_path.chmod(0o777)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DOCKER_CONFIG": str(tmp_path),
        # The code and its dependencies, readable by everyone; the venv's interpreter may not be.
        "PYTHONPATH": f"{ROOT}{os.pathsep}{sysconfig.get_paths()['purelib']}",
        **test_settings,
    }
    result = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         python, "-m", "workshop", "doctor"],
        capture_output=True, text=True, check=False, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    found = line(result.stdout, "FAIL    Docker socket")
    assert f"permission denied: user nobody (uid {NOBODY}) may not use {socket_path}" in found
    assert "usermod -aG docker nobody" in found and "Never chmod 666" in found


def test_runner_user_is_judged_by_its_own_groups(docker_client):
    conf = settings.load({})
    denied = doctor.check_runner_socket(doctor.Context(conf=conf, runner_user="nobody"))
    assert denied.status == doctor.WARNING
    assert "nobody is not in group" in denied.detail
    assert "usermod -aG" in denied.fix and "restart gitlab-runner" in denied.fix
    allowed = doctor.check_runner_socket(doctor.Context(conf=conf, runner_user="root"))
    assert allowed.status == doctor.OK
    missing = doctor.Context(conf=conf, runner_user=f"no-such-user-{uuid.uuid4().hex[:8]}")
    assert doctor.check_runner_socket(missing) is None


def test_host_port_held_by_a_listening_socket(test_settings):
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_doctor(dict(test_settings, WORKSHOP_HOST_PORT=str(port)))
    assert result.returncode == 1
    found = line(result.stdout, f"FAIL    port {port} (HOST_PORT)")
    assert f"pid {os.getpid()}" in found, found  # the holder is named: this test's process
    assert "WORKSHOP_HOST_PORT=<port>" in found


def test_host_port_held_by_the_workshops_own_container_is_fine(test_settings, docker_client):
    port = free_port()
    container = docker_client.containers.run(
        "python:3.13-slim",
        ["sleep", "60"],
        name=test_settings["WORKSHOP_CONTAINER_NAME"],
        labels=dict([TEST_LABEL.split("=", 1)]),
        ports={"8000/tcp": port},
        detach=True,
    )
    try:
        result = run_doctor(dict(test_settings, WORKSHOP_HOST_PORT=str(port)))
        found = line(result.stdout, f"ok      port {port} (HOST_PORT)")
        assert f"held by the workshop's container {CONTAINER_PREFIX}" in found
    finally:
        container.remove(force=True)


def test_absent_image(test_settings):
    absent = f"workshop-absent-{uuid.uuid4().hex[:8]}:none"
    result = run_doctor(test_settings, "--image", absent)
    assert result.returncode == 1
    found = line(result.stdout, f"FAIL    base image {absent}")
    assert "absent" in found
    assert f"docker pull {absent}" in found and "prepare --load BUNDLE" in found


def test_present_base_image_says_whether_it_is_the_stand_in(test_settings, docker_client):
    result = run_doctor(test_settings)
    found = line(result.stdout, "ok      base image python:3.13-slim")
    labels = docker_client.images.get("python:3.13-slim").labels or {}
    if "workshop.standin" in labels:
        assert "stand-in" in found
    else:
        assert "present" in found


def test_too_little_disk_fails_with_the_fix(tmp_path):
    ctx = doctor.Context(conf=settings.load({}))
    free = shutil.disk_usage(tmp_path).free
    check = doctor.check_disk(ctx, path=tmp_path, need=free + 2**40)
    assert check.status == doctor.FAIL and "docker system prune" in check.fix
    assert doctor.check_disk(ctx, path=tmp_path, need=1).status in (doctor.OK, doctor.WARNING)


def test_missing_pipeline_tool_is_a_warning_not_a_block(monkeypatch, tmp_path):
    # An empty PATH is a real environment without rsync: the doctor warns and gives the fix.
    monkeypatch.setenv("PATH", str(tmp_path))
    check = doctor.check_tool(doctor.Context(conf=settings.load({})), "rsync")
    assert check.status == doctor.WARNING and "rsync" in check.fix


def _listen_in_a_process(port: int, label: str) -> subprocess.Popen:
    """A host process listening on ``port``, started the way a chapter starts its app."""
    code = (
        "import socket, sys, time\n"
        "s = socket.socket(); s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen()\n"
        "print('listening', flush=True); time.sleep(120)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(port)],
        env=dict(os.environ, WORKSHOP_LABEL=label),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "listening"
    return process


def test_port_held_by_a_chapters_own_app_is_not_a_failure(test_settings):
    # Chapter 01's app from an interrupted run: the chapter stops it itself, right after.
    port = free_port()
    ours = _listen_in_a_process(port, TEST_LABEL)
    try:
        result = run_doctor(dict(test_settings, WORKSHOP_APP_PORT=str(port)))
        assert line(result.stdout, f"ok      port {port} (APP_PORT)")
    finally:
        ours.kill()
        ours.wait()
    port = free_port()
    theirs = _listen_in_a_process(port, TEST_LABEL + "-other")
    try:
        result = run_doctor(dict(test_settings, WORKSHOP_APP_PORT=str(port)))
        assert f"pid {theirs.pid}" in line(result.stdout, f"FAIL    port {port} (APP_PORT)")
    finally:
        theirs.kill()
        theirs.wait()


def test_run_stops_at_the_doctor_before_preparing_anything(test_settings):
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "workshop", "run", "99"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **test_settings, "WORKSHOP_HOST_PORT": str(port)},
            cwd=ROOT,
            timeout=300,
        )
    assert result.returncode == 1
    assert line(result.stdout, f"FAIL    port {port} (HOST_PORT)")
    assert "Docker engine" not in result.stdout.split("block the course")[-1]  # prepare never ran


def test_docker_host_copied_from_a_dind_job(test_settings):
    result = run_doctor(dict(test_settings, DOCKER_HOST="tcp://docker:2375"))
    assert result.returncode == 1
    found = line(result.stdout, "FAIL    Docker daemon")
    assert "docker:dind" in found and "unset DOCKER_HOST" in found
