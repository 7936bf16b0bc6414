"""Finding who holds a port, against real sockets and real containers."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.conftest import TEST_LABEL
from workshop import ports


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workshop.ports", *args], capture_output=True, text=True
    )


@pytest.fixture
def listening():
    """A socket of this process listening on a free port."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_free_port_is_free():
    port = ports.free_port()
    assert ports.listening_processes(port) == []


def test_a_host_process_is_named_with_its_pid(listening):
    import os

    found = ports.listening_processes(listening)
    assert [(h.kind, h.pid) for h in found] == [("process", os.getpid())]
    assert f"kill {os.getpid()}" in found[0].describe()


def test_cli_fails_naming_the_process_and_passes_on_a_free_port(listening):
    held = run_cli("check", str(listening))
    assert held.returncode == 1
    assert "FAIL: port" in held.stdout and "pid" in held.stdout
    free = run_cli("check", str(ports.free_port()))
    assert free.returncode == 0, free.stdout


def test_cli_rejects_a_non_port_with_a_hint():
    result = run_cli("check", "eighty")
    assert result.returncode == 2
    assert result.stdout.startswith("FAIL:") and "Hint:" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.docker
def test_a_publishing_container_is_named_and_can_be_allowed(docker_client, test_settings):
    port = ports.free_port()
    name = f"{test_settings['WORKSHOP_CONTAINER_NAME']}-portholder"
    key, _, value = TEST_LABEL.partition("=")
    container = docker_client.containers.run(
        "python:3.13-slim", ["sleep", "60"], name=name, detach=True,
        ports={"8080/tcp": port}, labels={key: value},
    )  # fmt: skip
    try:
        found = ports.holders(port, docker_client)
        assert [(h.kind, h.name) for h in found] == [("container", name)]
        assert f"docker rm -f {name}" in ports.check(port, client=docker_client)[0]
        assert ports.check(port, allow=name, client=docker_client) == []
        assert run_cli("check", str(port)).returncode == 1
    finally:
        container.remove(force=True)
    assert ports.check(port, client=docker_client) == []


def test_free_port_is_below_the_kernels_ephemeral_range_and_bindable():
    low = ports._ephemeral_low()
    for _ in range(20):
        port = ports.free_port()
        assert ports.FREE_PORT_LOW <= port < low
        with socket.socket() as sock:
            sock.bind(("", port))  # nothing uses it


def test_free_port_skips_a_port_in_use(monkeypatch):
    with socket.socket() as held:
        held.bind(("", ports.free_port()))
        held.listen()
        taken = held.getsockname()[1]
        other = ports.free_port()
        draws = iter([taken, other])
        monkeypatch.setattr(ports.random, "randrange", lambda a, b: next(draws))
        assert ports.free_port() == other


def test_free_port_falls_back_to_the_kernel_when_there_is_no_room(monkeypatch):
    monkeypatch.setattr(ports, "_ephemeral_low", lambda: ports.FREE_PORT_LOW + 10)
    port = ports.free_port()
    with socket.socket() as sock:
        sock.bind(("", port))
