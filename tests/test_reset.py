"""``workshop reset``: removes exactly what carries this run's label, and nothing else.

A container the workshop did not create (no workshop label, or a label value that only starts
like ours) is checked after every kind of reset. Every reset here uses this test run's own
label (tests/conftest.py), so it never touches a learner's workshop or another test run.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import docker
import pytest

from tests.conftest import CONTAINER_PREFIX, RUN, TEST_LABEL
from workshop import reset, settings
from workshop.paths import ROOT

BASE = "python:3.13-slim"
KEY, VALUE = TEST_LABEL.split("=", 1)
#: Marks the objects this module creates without the workshop's label, to clean them up.
FOREIGN = {"workshop-test-foreign": RUN}


@pytest.fixture(scope="module")
def foreign(docker_client):
    """Two containers the workshop did not create: one unlabelled, one whose label value only
    starts like this run's. Both must survive every reset."""
    made = [
        docker_client.containers.create(
            BASE,
            ["true"],
            name=f"foreign-{RUN}-{uuid.uuid4().hex[:6]}",
            labels=FOREIGN,
        ),
        docker_client.containers.create(
            BASE,
            ["true"],
            name=f"{CONTAINER_PREFIX}-lookalike-{uuid.uuid4().hex[:6]}",
            labels={**FOREIGN, KEY: VALUE + "-other"},
        ),
    ]
    yield made
    for container in made:
        container.remove(force=True)


def assert_survived(client: docker.DockerClient, containers: list) -> None:
    for container in containers:
        client.containers.get(container.id)  # raises NotFound if a reset removed it
    client.images.get(BASE)  # the base image is never removed


def conf(test_settings) -> settings.Settings:
    return settings.load(test_settings)


def build_image(client: docker.DockerClient, tag: str, base: str, labels: dict) -> None:
    """Build a one-line image from ``base`` with ``labels`` (no network needed)."""
    dockerfile = f"FROM {base}\nLABEL step={tag.replace(':', '-')}\n".encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    buf.seek(0)
    client.images.build(fileobj=buf, custom_context=True, tag=tag, labels=labels, rm=True)


def test_reset_removes_labelled_objects_and_nothing_else(docker_client, test_settings, foreign):
    ours = dict([TEST_LABEL.split("=", 1)])
    parent, child = f"{test_settings['WORKSHOP_IMAGE_NAME']}-parent", None
    build_image(docker_client, parent, BASE, ours)
    child = f"{test_settings['WORKSHOP_IMAGE_NAME']}-child"
    build_image(docker_client, child, parent, ours)
    container = docker_client.containers.create(
        child, ["true"], name=f"{CONTAINER_PREFIX}-reset", labels=ours
    )
    network = docker_client.networks.create(f"{CONTAINER_PREFIX}-net", labels=ours)

    report = reset.reset(conf(test_settings), root=ROOT, client=docker_client)

    assert f"container {container.name}" in report.removed
    assert f"network {network.name}" in report.removed
    assert not docker_client.containers.list(all=True, filters={"label": TEST_LABEL})
    assert not docker_client.images.list(filters={"label": TEST_LABEL})
    assert not docker_client.networks.list(filters={"label": TEST_LABEL})
    assert_survived(docker_client, foreign)


def test_image_used_by_a_foreign_container_is_kept(docker_client, test_settings, foreign):
    # The foreign container inherits the image's workshop label; its name tells it apart.
    tag = f"{test_settings['WORKSHOP_IMAGE_NAME']}-shared"
    build_image(docker_client, tag, BASE, dict([TEST_LABEL.split("=", 1)]))
    user = docker_client.containers.create(
        tag, ["true"], name=f"foreign-{RUN}-user-{uuid.uuid4().hex[:6]}", labels=FOREIGN
    )
    try:
        report = reset.reset(conf(test_settings), root=ROOT, client=docker_client)
        assert any(line.startswith(f"image {tag}") for line in report.kept), report
        assert any(line.startswith(f"container {user.name}") for line in report.kept), report
        docker_client.containers.get(user.id)
        docker_client.images.get(tag)
    finally:
        user.remove(force=True)
        docker_client.images.remove(tag, force=True)
    assert_survived(docker_client, foreign)


def _start(tmp_path: Path, label: str, name: str) -> subprocess.Popen:
    """Start a host process the way a chapter does: its environment carries WORKSHOP_LABEL."""
    process = subprocess.Popen(
        ["sleep", "120"], env=dict(os.environ, WORKSHOP_LABEL=label), start_new_session=True
    )
    (tmp_path / "build/run").mkdir(parents=True, exist_ok=True)
    (tmp_path / f"build/run/{name}.pid").write_text(f"{process.pid}\n")
    return process


def test_stops_only_processes_started_with_this_label(tmp_path, test_settings):
    ours = _start(tmp_path, TEST_LABEL, "app-01")
    theirs = _start(tmp_path, TEST_LABEL + "-other", "app-other")
    stale = tmp_path / "build/run/gone.pid"
    stale.write_text("999999999\n")
    try:
        report = reset.Report()
        reset.stop_processes(tmp_path / "build/run", TEST_LABEL, report)
        assert ours.wait(timeout=10) == -signal.SIGTERM
        assert theirs.poll() is None, "a process with another label was stopped"
        assert not (tmp_path / "build/run/app-01.pid").exists()
        assert (tmp_path / "build/run/app-other.pid").exists()
        assert not stale.exists()
    finally:
        for process in (ours, theirs):
            if process.poll() is None:
                process.kill()
                process.wait()


def test_artifacts_go_only_for_the_courses_own_label(tmp_path, test_settings, docker_client):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "tracked.tar").write_text("a tar the repository keeps\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "tracked.tar"], check=True)
    (tmp_path / "build/notebooks").mkdir(parents=True)
    (tmp_path / "build/notebooks/01-flask-app.ipynb").write_text("{}")
    (tmp_path / "pyapp.tar").write_text("an image artifact\n")

    reset.reset(conf(test_settings), root=tmp_path, client=docker_client)
    assert (tmp_path / "build/notebooks/01-flask-app.ipynb").exists(), "a test run's reset"

    report = reset.Report()
    reset.remove_artifacts(tmp_path, report)
    assert not (tmp_path / "build/notebooks").exists()
    assert not (tmp_path / "pyapp.tar").exists()
    assert (tmp_path / "tracked.tar").exists(), "a tracked file was deleted"


def run_cli(test_settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workshop", "reset", *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, **test_settings),
        cwd=ROOT,
        timeout=600,
    )


def test_cli_reset(docker_client, test_settings, foreign):
    labels = dict([TEST_LABEL.split("=", 1)])
    made = docker_client.containers.create(
        BASE, ["true"], name=f"{CONTAINER_PREFIX}-cli-{uuid.uuid4().hex[:6]}", labels=labels
    )
    result = run_cli(test_settings)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"removed container {made.name}" in result.stdout
    assert_survived(docker_client, foreign)


def test_cli_reset_to_a_chapter(docker_client, test_settings, foreign):
    labels = dict([TEST_LABEL.split("=", 1)])
    made = docker_client.containers.create(
        BASE, ["true"], name=f"{CONTAINER_PREFIX}-to-{uuid.uuid4().hex[:6]}", labels=labels
    )
    result = run_cli(test_settings, "--to", "02")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"removed container {made.name}" in result.stdout
    # Chapter 01 leaves nothing behind (its metadata says so), so nothing has to run for 02.
    assert "01-flask-app.ipynb leaves nothing behind" in result.stdout
    assert "Ready for chapter 02." in result.stdout
    assert_survived(docker_client, foreign)


def test_cli_reset_to_an_unknown_chapter_is_a_fail_line(test_settings):
    result = run_cli(test_settings, "--to", "99")
    assert result.returncode == 2
    assert "FAIL" in result.stdout and "no chapter '99'" in result.stdout
    assert "Traceback" not in result.stderr


def test_chapters_before():
    assert [p.name[:2] for p in reset.chapters_before("02")] == ["01"]
    assert reset.chapters_before("1") == []


def test_artifacts_keep_pid_files_of_live_processes(tmp_path):
    live = subprocess.Popen(["sleep", "60"])
    try:
        run = tmp_path / "build/run"
        run.mkdir(parents=True)
        (run / "other.pid").write_text(f"{live.pid}\n")
        (run / "app-01.log").write_text("old log\n")
        reset.remove_artifacts(tmp_path, reset.Report())
        assert (run / "other.pid").exists()
        assert not (run / "app-01.log").exists()
    finally:
        live.kill()
        live.wait()


def test_artifacts_report_says_folder_for_a_folder(tmp_path):
    (tmp_path / "build/notebooks").mkdir(parents=True)
    (tmp_path / "build/notebooks/01-flask-app.ipynb").write_text("{}")
    (tmp_path / "pyapp.tar").write_text("an image artifact\n")
    report = reset.Report()
    reset.remove_artifacts(tmp_path, report)
    assert "folder build/notebooks" in report.removed, report.removed
    assert "file pyapp.tar" in report.removed, report.removed
    assert not any(line.startswith("file build/notebooks") for line in report.removed)


def test_reset_removes_an_image_with_several_tags(docker_client, test_settings):
    """Identical builds under two names are one image with two tags; both go."""
    ours = dict([TEST_LABEL.split("=", 1)])
    first = f"{test_settings['WORKSHOP_IMAGE_NAME']}-twin"
    build_image(docker_client, first, BASE, ours)
    second = f"{test_settings['WORKSHOP_IMAGE_NAME']}-twin-again"
    docker_client.images.get(first).tag(second)

    report = reset.reset(conf(test_settings), root=ROOT, client=docker_client)

    assert not [i for i in docker_client.images.list(filters={"label": TEST_LABEL}) if i.tags]
    assert any(first in line for line in report.removed)
