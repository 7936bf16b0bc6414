"""``workshop explain``: every catalogue entry recognises real error text.

Two kinds of proof. Each entry's ``examples`` (real text, captured here or quoted from public
reports with their source) must be diagnosed as that entry. And every failure that can be
produced on this machine is produced here, for real, by the engine, the docker CLI, curl or
pip, and the captured output is fed to the command line.
"""

from __future__ import annotations

import http.server
import os
import re
import shlex
import socket
import ssl
import subprocess
import sys
import tarfile
import threading
import time
import uuid

import nbformat
import pytest

from tests.conftest import CONTAINER_PREFIX, TEST_LABEL, free_port
from workshop import explain

CATALOGUE = explain.load()
IDS = [e.id for e in CATALOGUE]
BASE = "python:3.13-slim"

#: The failures the issue asks the catalogue to cover.
REQUIRED = {
    "socket-permission",
    "daemon-not-running",
    "dind-unreachable",
    "dind-tls",
    "docker-command-not-found",
    "job-stuck-tags",
    "stage-not-declared",
    "artifacts-too-large",
    "port-allocated",
    "address-in-use",
    "name-in-use",
    "no-such-container",
    "image-not-found",
    "pull-access-denied",
    "registry-unreachable",
    "container-exited",
    "connection-reset",
    "connection-refused",
    "pip-certificate",
    "no-command-specified",
}


def run_cli(text: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``python -m workshop explain`` with ``text`` on standard input."""
    return subprocess.run(
        [sys.executable, "-m", "workshop", "explain", *args],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )


def assert_explained(output: str, entry_id: str) -> None:
    """The CLI names ``entry_id`` on its first line, with the fix and the chapter, exit 0."""
    entry = next(e for e in CATALOGUE if e.id == entry_id)
    result = run_cli(output)
    assert result.returncode == 0, (output, result.stdout)
    lines = result.stdout.splitlines()
    assert lines[0] == entry.name, (output, result.stdout)
    assert f"chapter {entry.chapter}" in result.stdout
    assert "Fix: " in result.stdout and "What happened: " in result.stdout


def sh(*command: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, capture_output=True, text=True, check=False, env=env, timeout=timeout
    )


# ---- the catalogue itself -------------------------------------------------------------------


def test_catalogue_covers_every_failure_the_course_teaches():
    assert REQUIRED <= set(IDS), REQUIRED - set(IDS)
    assert len(IDS) == len(set(IDS)), "duplicate ids"


@pytest.mark.parametrize("entry", CATALOGUE, ids=IDS)
def test_entry_is_complete(entry):
    assert entry.examples, "every entry is proven by real text"
    sentences = [s for s in entry.explanation.replace("e.g.", "eg").split(". ") if s]
    assert 2 <= len(sentences) <= 3, entry.explanation
    assert entry.fix and len(entry.chapter) == 2 and entry.chapter.isdigit()
    for source, _ in entry.examples:
        assert source.startswith(("captured here:", "https://", "GitLab")), source


EXAMPLES = [(e.id, source, text) for e in CATALOGUE for source, text in e.examples]


@pytest.mark.parametrize(
    ("entry_id", "source", "text"),
    EXAMPLES,
    ids=[f"{i}-{n}" for n, (i, _, _) in enumerate(EXAMPLES)],
)
def test_example_text_is_diagnosed_as_its_entry(entry_id, source, text):
    matches = explain.diagnose(text)
    assert matches and matches[0].id == entry_id, (source, [m.id for m in matches])


#: A pipe whose left side is a docker command: its failure is lost unless pipefail is set.
DOCKER_PIPE = re.compile(r"docker\b[^|;]*[^|]\|[^|]")


@pytest.mark.parametrize("entry", CATALOGUE, ids=IDS)
def test_no_fix_hides_a_docker_failure_behind_a_pipe(entry):
    # Under bash -e (a CI job) a pipe's status is its last command's: "docker ... | grep -v X"
    # passes a real docker error and fails when grep selects nothing.
    if DOCKER_PIPE.search(entry.fix):
        assert "pipefail" in entry.fix, entry.fix


def test_workshop_commands_in_the_advice_run_in_a_plain_terminal():
    # "python -m workshop" works only with .venv active; ./course works in any terminal.
    advice = [e.fix for e in CATALOGUE] + [e.explanation for e in CATALOGUE] + [explain.render([])]
    for text in advice:
        assert not re.search(r"(?<![/\w])python3? -m workshop", text), text
    assert "./course workshop doctor" in explain.render([])


def test_unknown_text_says_so_and_exits_1():
    result = run_cli("the flux capacitor needs 1.21 gigawatts\n")
    assert result.returncode == 1
    assert result.stdout.startswith("Unknown error")


def test_a_whole_job_log_names_the_first_failure_and_lists_the_others(tmp_path):
    log = tmp_path / "job.log"
    log.write_text(
        "$ docker rm -f pyappcontainer || true\n"
        "Error response from daemon: No such container: pyappcontainer\n"
        "$ docker run -d -p 80:8080 --name pyappcontainer pyapp\n"
        "docker: Error response from daemon: driver failed programming external connectivity on "
        "endpoint pyappcontainer (0a1b): Bind for 0.0.0.0:80 failed: port is already allocated.\n"
        "ERROR: Job failed: exit status 1\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "workshop", "explain", str(log)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == "Port already allocated by another container"
    assert "Also seen in this text: No such container" in result.stdout


def test_text_as_an_argument():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "workshop",
            "explain",
            "docker: Error response from daemon: No command specified.",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("No command specified")


def test_no_text_is_a_usage_error():
    result = run_cli("")
    assert result.returncode == 2
    assert "FAIL" in result.stdout and "Hint" in result.stdout


# ---- real failures, produced here ----------------------------------------------------------


def name(suffix: str) -> str:
    return f"{CONTAINER_PREFIX}-explain-{suffix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def cleanup(docker_client):
    """Names of containers and images a test created; removed afterwards (all carry TEST_LABEL)."""
    made: dict[str, list[str]] = {"containers": [], "images": []}
    yield made
    for container in made["containers"]:
        sh("docker", "rm", "-f", container)
    for image in made["images"]:
        sh("docker", "rmi", "-f", image)


def test_live_socket_permission_denied(docker_client, tmp_path):
    tmp_path.chmod(0o777)
    out = sh(
        "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
        "env", f"HOME={tmp_path}", f"DOCKER_CONFIG={tmp_path}", "docker", "ps",
        env={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert out.returncode != 0
    assert_explained(out.stderr, "socket-permission")


def test_live_daemon_not_running(tmp_path):
    out = sh("docker", "ps", env=dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/none.sock"))
    assert out.returncode != 0
    assert_explained(out.stderr, "daemon-not-running")


def test_live_dind_tls_variables_on_a_shell_runner(tmp_path):
    """The seed's dind variables without the dind service: the client looks for certificates."""
    env = dict(
        os.environ,
        DOCKER_HOST="tcp://docker:2376",
        DOCKER_TLS_VERIFY="1",
        DOCKER_CERT_PATH=str(tmp_path / "certs" / "client"),
    )
    out = sh("docker", "ps", env=env)
    assert out.returncode != 0
    assert "unable to resolve docker endpoint" in out.stderr
    assert_explained(out.stderr, "dind-tls")


def test_live_no_dind_service_at_docker_2375():
    out = sh("docker", "ps", env=dict(os.environ, DOCKER_HOST="tcp://docker:2375"), timeout=90)
    assert out.returncode != 0
    assert_explained(out.stderr, "dind-unreachable")


def test_live_docker_command_not_found():
    out = sh("/bin/bash", "-c", "docker ps", env={"PATH": "/nonexistent"})
    assert out.returncode == 127
    assert_explained(out.stderr, "docker-command-not-found")


def test_live_port_already_allocated(docker_client, cleanup):
    port = free_port()
    first, second = name("a"), name("b")
    cleanup["containers"] += [first, second]
    run = ["docker", "run", "-d", "--label", TEST_LABEL, "-p", f"{port}:8000"]
    assert sh(*run, "--name", first, BASE, "sleep", "60").returncode == 0
    out = sh(*run, "--name", second, BASE, "sleep", "60")
    assert out.returncode != 0
    assert_explained(out.stderr, "port-allocated")


def test_live_address_already_in_use(docker_client, cleanup):
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        container = name("addr")
        cleanup["containers"].append(container)
        out = sh(
            "docker", "run", "-d", "--label", TEST_LABEL, "--name", container,
            "-p", f"{port}:8000", BASE, "sleep", "60",
        )  # fmt: skip
    assert out.returncode != 0
    assert_explained(out.stderr, "address-in-use")


def test_live_container_name_in_use(docker_client, cleanup):
    container = name("dup")
    cleanup["containers"].append(container)
    create = ["docker", "create", "--label", TEST_LABEL, "--name", container, BASE, "true"]
    assert sh(*create).returncode == 0
    out = sh(*create)
    assert out.returncode != 0
    assert_explained(out.stderr, "name-in-use")


def test_live_no_such_container(docker_client):
    out = sh("docker", "rm", name("never-created"))
    assert out.returncode != 0
    assert_explained(out.stderr, "no-such-container")


def cleanup_line(container: str) -> str:
    """The script line the no-such-container fix suggests, for ``container``."""
    fix = next(e for e in CATALOGUE if e.id == "no-such-container").fix
    found = re.search(r"out=\$\(docker rm -f NAME 2>&1\).*?\besac\b", fix)
    assert found, f"the fix gives no runnable cleanup line: {fix}"
    return found.group(0).replace("NAME", shlex.quote(container))


def run_cleanup(container: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The suggested cleanup line, then a deploy step, in a ``bash -e`` job script."""
    return sh("bash", "-e", "-c", f"{cleanup_line(container)}\necho deploying", env=env)


def test_live_suggested_cleanup_passes_a_first_deploy(docker_client):
    out = run_cleanup(name("first-deploy"))
    assert out.returncode == 0, out
    assert "deploying" in out.stdout


def test_live_suggested_cleanup_removes_an_existing_container(docker_client, cleanup):
    container = name("old")
    cleanup["containers"].append(container)
    create = ["docker", "create", "--label", TEST_LABEL, "--name", container, BASE, "true"]
    assert sh(*create).returncode == 0
    out = run_cleanup(container)
    assert out.returncode == 0, out
    assert "deploying" in out.stdout
    assert sh("docker", "container", "inspect", container).returncode != 0, "not removed"


def test_live_suggested_cleanup_fails_on_an_unreachable_engine():
    out = run_cleanup(name("unreachable"), env=dict(os.environ, DOCKER_HOST="unix:///nonexistent"))
    assert out.returncode != 0, out
    assert "Cannot connect to the Docker daemon" in out.stderr, out
    assert "deploying" not in out.stdout


def test_live_no_such_image(docker_client):
    out = sh("docker", "image", "inspect", name("absent-image"))
    assert out.returncode != 0
    assert_explained(out.stderr, "image-not-found")


def test_live_pull_of_an_absent_image(docker_client):
    out = sh("docker", "pull", f"{name('absent')}:none", timeout=120)
    assert out.returncode != 0
    # Offline, the registry is unreachable; online, it answers that there is no such repository.
    expected = (
        "pull-access-denied" if "pull access denied" in out.stderr else "registry-unreachable"
    )
    assert_explained(out.stderr, expected)


def test_live_no_command_specified_after_docker_import(docker_client, cleanup, tmp_path):
    (tmp_path / "hello.txt").write_text("a filesystem with no configuration\n")
    with tarfile.open(tmp_path / "fs.tar", "w") as tar:
        tar.add(tmp_path / "hello.txt", arcname="hello.txt")
    image = name("imported")
    cleanup["images"].append(image)
    imported = sh(
        "docker", "import", "--change", f"LABEL {TEST_LABEL}", str(tmp_path / "fs.tar"), image
    )
    assert imported.returncode == 0, imported.stderr
    container = name("imported")
    cleanup["containers"].append(container)
    out = sh("docker", "run", "--label", TEST_LABEL, "--name", container, image)
    assert out.returncode != 0
    assert_explained(out.stderr, "no-command-specified")


def test_live_container_exits_at_once(docker_client, cleanup):
    container = name("exits")
    cleanup["containers"].append(container)
    started = sh(
        "docker",
        "run",
        "-d",
        "--label",
        TEST_LABEL,
        "--name",
        container,
        BASE,
        "sh",
        "-c",
        "exit 3",
    )
    assert started.returncode == 0, started.stderr
    sh("docker", "wait", container)
    status = sh(
        "docker",
        "ps",
        "-a",
        "--filter",
        f"name=^{container}$",
        "--format",
        "{{.Names}}: {{.Status}}",
    )
    assert "Exited (3)" in status.stdout
    assert_explained(status.stdout, "container-exited")
    out = sh("docker", "exec", container, "true")
    assert out.returncode != 0
    assert_explained(out.stderr, "container-exited")


def test_live_reset_from_an_app_bound_to_127_0_0_1(docker_client, cleanup):
    port = free_port()
    container = name("loopback")
    cleanup["containers"].append(container)
    started = sh(
        "docker", "run", "-d", "--label", TEST_LABEL, "--name", container, "-p", f"{port}:8000",
        BASE, "python", "-u", "-m", "http.server", "--bind", "127.0.0.1", "8000",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    deadline = time.monotonic() + 30
    while "Serving HTTP" not in sh("docker", "logs", container).stdout:
        assert time.monotonic() < deadline, "the server in the container did not start"
        time.sleep(0.2)
    out = sh("curl", "-sS", "--max-time", "10", f"http://localhost:{port}/")
    assert out.returncode in (52, 56), out
    assert_explained(out.stderr, "connection-reset")


def test_live_connection_refused_where_nothing_listens():
    port = free_port()  # nothing is started on it
    out = sh("curl", "-sS", "--max-time", "10", f"http://127.0.0.1:{port}/")
    assert out.returncode == 7, out
    assert f"port {port}" in out.stderr, out
    assert_explained(out.stderr, "connection-refused")


@pytest.mark.parametrize(
    ("entry_id", "error"),
    [("connection-refused", "Couldn't connect to server"), ("connection-reset", "reset by peer")],
)
def test_the_chapter_an_entry_names_reproduces_that_failure(entry_id, error):
    # The chapter runs a step that must fail and, right after it, names the error it produced
    # (a chapter that only mentions the error and points elsewhere does not count).
    entry = next(e for e in CATALOGUE if e.id == entry_id)
    cells = nbformat.read(explain.NOTEBOOKS.parent / explain.chapter_file(entry.chapter), 4).cells
    assert any(
        step.cell_type == "code"
        and step.source.startswith("%%bash_fails")
        and prose.cell_type == "markdown"
        and error in prose.source[:160]
        for step, prose in zip(cells, cells[1:], strict=False)
    ), f"chapter {entry.chapter} does not reproduce {error!r}"


class _Index(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):  # keep the test's output quiet
        pass


def test_live_pip_certificate_verify_failed(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = sh(
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    server = http.server.HTTPServer(("127.0.0.1", 0), _Index)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        out = sh(
            sys.executable, "-m", "pip", "--isolated", "download", "--no-deps", "--retries", "0",
            "--timeout", "10", "--index-url", f"https://localhost:{port}/simple",
            "-d", str(tmp_path / "dl"), "flask",
            timeout=120,
        )  # fmt: skip
    finally:
        server.shutdown()
    assert out.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in out.stdout + out.stderr
    assert_explained(out.stdout + out.stderr, "pip-certificate")


def test_live_stage_not_declared_in_gitlab_ci_local(tmp_path):
    from workshop.doctor import gitlab_ci_local

    tool = gitlab_ci_local()
    if tool is None:
        pytest.skip("gitlab-ci-local is not installed (python -m workshop prepare installs it)")
    (tmp_path / ".gitlab-ci.yml").write_text(
        "stages:\n  - build_stage\n\ndeploy:\n  stage: deploy_stage\n  script:\n    - echo hi\n"
    )
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run([*git, "add", ".gitlab-ci.yml"], check=True)
    subprocess.run([*git, "commit", "-qm", "pipeline"], check=True)
    out = subprocess.run(
        [tool, "--list"], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120
    )
    assert out.returncode != 0
    assert_explained(out.stdout + out.stderr, "stage-not-declared")


def _tls_files(folder) -> tuple:
    """A client CA, client certificate and key (what DOCKER_CERT_PATH holds), and a server
    certificate for localhost signed by nobody the client trusts."""

    def openssl(*args: str) -> None:
        made = sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *args)
        assert made.returncode == 0, made.stderr

    openssl(
        "-subj", "/CN=ca", "-keyout", str(folder / "ca-key.pem"), "-out", str(folder / "ca.pem")
    )
    openssl("-subj", "/CN=c", "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"))
    server = folder / "server"
    server.mkdir()
    openssl(
        "-subj", "/CN=docker", "-addext", "subjectAltName=DNS:localhost",
        "-keyout", str(server / "key.pem"), "-out", str(server / "cert.pem"),
    )  # fmt: skip
    return server / "cert.pem", server / "key.pem"


def _serve(tls: tuple | None) -> http.server.HTTPServer:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Index)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("daemon_speaks_tls", [True, False], ids=["unknown-ca", "plain-http"])
def test_live_tls_mismatch_between_client_and_daemon(tmp_path, daemon_speaks_tls):
    # The DinD situation: a client set up for TLS (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) meets a
    # daemon whose certificate it cannot verify, or a daemon with TLS switched off.
    tls = _tls_files(tmp_path)
    server = _serve(tls if daemon_speaks_tls else None)
    try:
        env = dict(
            os.environ,
            DOCKER_HOST=f"tcp://{'localhost' if daemon_speaks_tls else '127.0.0.1'}:"
            f"{server.server_address[1]}",
            DOCKER_TLS_VERIFY="1",
            DOCKER_CERT_PATH=str(tmp_path),
        )
        out = sh("docker", "ps", env=env)
    finally:
        server.shutdown()
    assert out.returncode != 0
    assert_explained(out.stderr, "dind-tls")
