"""The engine helper: stale pid files, an engine that answers, one that does not."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from workshop import engine


def test_pidfile_of_a_dead_process_is_stale(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    pidfile = tmp_path / "docker.pid"
    pidfile.write_text(done.stdout.decode())
    assert engine.remove_stale_pidfile(pidfile, "dockerd") is True
    assert not pidfile.exists()


def started(command: list[str]) -> subprocess.Popen:
    """Start ``command`` and wait until its process has exec'd (its name is the program's)."""
    process = subprocess.Popen(command)
    for _ in range(100):
        found = engine._process(process.pid)
        if found and found[1] == command[0]:
            return process
        time.sleep(0.01)
    process.kill()
    raise AssertionError(f"{command[0]} did not start")


def test_pidfile_naming_another_program_is_stale(tmp_path):
    """After a reboot or a kill, the recorded pid can belong to an unrelated process."""
    with started(["sleep", "30"]) as other:
        pidfile = tmp_path / "containerd.pid"
        pidfile.write_text(f"{other.pid}\n")
        try:
            assert engine.remove_stale_pidfile(pidfile, "containerd") is True
        finally:
            other.kill()


def test_pidfile_of_the_live_daemon_is_kept(tmp_path):
    with started(["sleep", "30"]) as live:
        pidfile = tmp_path / "sleep.pid"
        pidfile.write_text(f"{live.pid}\n")
        try:
            assert engine.remove_stale_pidfile(pidfile, "sleep") is False
            assert pidfile.exists()
        finally:
            live.kill()


def test_pidfile_of_a_zombie_is_stale(tmp_path):
    """A killed daemon stays a zombie until its parent reaps it; its pid file is stale already."""
    zombie = started(["sleep", "30"])
    zombie.kill()
    for _ in range(100):
        if engine._process(zombie.pid)[0] == "Z":
            break
        time.sleep(0.01)
    pidfile = tmp_path / "sleep.pid"
    pidfile.write_text(f"{zombie.pid}\n")
    assert engine._process(zombie.pid)[0] == "Z"
    assert engine.remove_stale_pidfile(pidfile, "sleep") is True
    zombie.wait()


def test_missing_pidfile_is_nothing_to_do(tmp_path):
    assert engine.remove_stale_pidfile(tmp_path / "absent.pid", "dockerd") is False


@pytest.mark.docker
def test_running_engine_is_used_as_it_is(docker_client):
    status = engine.ensure_engine()
    assert status.started is False
    assert status.version == docker_client.version()["Version"]


def test_unreachable_engine_gives_instructions(tmp_path, monkeypatch):
    """DOCKER_HOST names a socket where no daemon listens: no start attempt, clear advice."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nobody.sock")
    assert engine.ping(timeout=1) is None
    with pytest.raises(engine.EngineUnavailable, match="DOCKER_HOST is set"):
        engine.ensure_engine(timeout=1)


def test_cli_reports_unreachable_engine_without_traceback(tmp_path):
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/nobody.sock")
    done = subprocess.run(
        [sys.executable, "-m", "workshop", "engine"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 1
    assert "FAIL" in done.stdout and "Traceback" not in done.stdout + done.stderr
