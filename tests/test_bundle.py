"""The offline classroom bundle: ``prepare --save`` here, ``prepare --load`` on a machine with
no images and no network for the build.

The "machine without internet" is a second Docker engine this test starts for itself, with its
own empty image store and network namespace, no bridge network and no iptables changes (so the
machine's main engine keeps its docker0 bridge); every ``docker build`` on it
runs with ``--network none``, so a RUN step that tried to reach a package index would fail. A
control build on the same engine proves that: without the bundle's wheelhouse it does fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from tests.conftest import RUN, TEST_LABEL
from workshop import bundle
from workshop.paths import ROOT


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workshop", *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, **env),
        cwd=ROOT,
        timeout=900,
    )


def flat(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def docker_on(host: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, DOCKER_HOST=host),
        cwd=ROOT,
        timeout=600,
    )


@pytest.fixture(scope="module")
def offline_engine():
    """A private dockerd with an empty image store and no networks; yields its DOCKER_HOST."""
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        pytest.skip("starting a second Docker engine needs root and dockerd")
    base = Path(f"/var/tmp/workshop-test-engine-{RUN}")
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    host = f"unix://{base}/docker.sock"
    log = (base / "dockerd.log").open("wb")
    # Its own network namespace: a dockerd started with --bridge=none deletes the host's
    # docker0 bridge, which would cut off every container of the machine's main engine.
    process = subprocess.Popen(
        ["unshare", "--net", "--",
         "dockerd", "--data-root", str(base / "data"), "--exec-root", str(base / "exec"),
         "--pidfile", str(base / "dockerd.pid"), "-H", host,
         "--bridge=none", "--iptables=false", "--ip-masq=false"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                client = docker.DockerClient(base_url=host, timeout=5)
                client.ping()
                client.close()
                break
            except docker.errors.DockerException:
                assert process.poll() is None, (base / "dockerd.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "the private engine did not answer"
                time.sleep(0.3)
        yield host
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def saved(tmp_path_factory, test_settings):
    """A bundle written by the real command on this machine's engine."""
    path = tmp_path_factory.mktemp("bundle") / "classroom"
    result = cli(test_settings, "prepare", "--save", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"prepare --load {path}" in flat(result.stdout)
    return path


def test_save_writes_images_wheels_and_manifest(saved):
    manifest = json.loads((saved / bundle.MANIFEST).read_text())
    assert "python:3.13-slim" in manifest["images"]
    assert "Flask==3.1.3" in manifest["requirements"]
    wheels = sorted(p.name for p in (saved / bundle.WHEELS).glob("*.whl"))
    assert wheels == manifest["wheels"]
    assert any(w.startswith("flask-3.1.3-") for w in wheels)
    assert any(w.startswith("werkzeug-") for w in wheels)  # Flask's dependencies come too
    for requirement in manifest["requirements"]:  # the hardened image's gunicorn too
        project, _, version = requirement.partition("==")
        assert any(w.lower().startswith(f"{project.lower()}-{version}-") for w in wheels), (
            requirement
        )
    listed = subprocess.run(
        ["tar", "-tf", str(saved / bundle.IMAGES_TAR)], capture_output=True, text=True, check=True
    )
    assert "manifest.json" in listed.stdout.split()  # a docker save archive


def test_load_makes_the_build_work_with_no_network(saved, offline_engine, test_settings):
    image = f"{test_settings['WORKSHOP_IMAGE_NAME']}-offline"
    build = ["build", "--network", "none", "--label", TEST_LABEL, "-t", image, "."]
    assert docker_on(offline_engine, "images", "-q").stdout.strip() == "", "not an empty engine"

    # Control: the images alone are not enough, the build's pip install has no network.
    loaded = docker_on(offline_engine, "load", "-i", str(saved / bundle.IMAGES_TAR))
    assert loaded.returncode == 0, loaded.stderr
    control = docker_on(offline_engine, *build)
    assert control.returncode != 0
    assert "No matching distribution found for Flask" in control.stdout + control.stderr

    # The real command, against the offline engine.
    result = cli(dict(test_settings, DOCKER_HOST=offline_engine), "prepare", "--load", str(saved))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "wheels" in result.stdout

    built = docker_on(offline_engine, *build)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    answer = docker_on(
        offline_engine, "run", "--rm", "--network", "none", "--label", TEST_LABEL, image,
        "python", "-c", "from app import app; print(app.test_client().get('/').get_data(True))",
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == "Happy birthday Martin"

    # The doctor tells the classroom image apart.
    doctor = cli(dict(test_settings, DOCKER_HOST=offline_engine), "doctor")
    assert "classroom image from an offline bundle" in flat(doctor.stdout), doctor.stdout

    # Loading again gives the same result.
    again = cli(dict(test_settings, DOCKER_HOST=offline_engine), "prepare", "--load", str(saved))
    assert again.returncode == 0, again.stdout + again.stderr
    assert docker_on(offline_engine, *build).returncode == 0


def test_load_of_a_folder_that_is_no_bundle_is_a_fail_line(tmp_path, test_settings):
    result = cli(test_settings, "prepare", "--load", str(tmp_path))
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "is not a workshop bundle" in flat(result.stdout)
    assert "Traceback" not in result.stderr


def test_course_images_come_from_the_dockerfiles(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.13-slim AS build\nFROM build\nFROM --platform=linux/amd64 alpine:3.20\n"
    )
    assert bundle.course_images([dockerfile]) == ["python:3.13-slim", "alpine:3.20"]
