"""Chapter 09's hardened pipeline, deploying for real: the network holder outlives redeploys.

Chapter 09 itself runs this pipeline only with a broken commit (the smoke test stops it before
deploy); these tests run the path that deploys. Each run uses this test run's label, names and
a free host port, and everything it makes is removed at the end, by name and label.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import cli_env, free_port, pipeline_test_variables
from workshop import explain, pipeline, settings
from workshop.http import wait_for_body
from workshop.paths import ROOT

pytestmark = pytest.mark.docker

FILE = "notebooks/ci/hardened.gitlab-ci.yml"


@pytest.fixture(scope="module")
def variables(test_settings) -> dict[str, str]:
    return pipeline_test_variables(test_settings, "-hardened", image_suffix="-hardened")


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    return pipeline.throwaway_clone(tmp_path_factory.mktemp("hardened") / "repo")


def commit(repo, message: str) -> str:
    """Make an empty commit (a new CI_COMMIT_SHORT_SHA) and return its 8-character id."""
    git = ["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@localhost"]
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", message], check=True)
    done = subprocess.run(
        [*git, "rev-parse", "--short=8", "HEAD"], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def deploys(docker_client, variables, clone):
    """Two pipeline runs on two commits: a first deploy and a redeploy.

    The first runs in this module's clone, on a commit of its own; the second through the
    command line's ``--file``, in the command's own clone of the repository's HEAD. Yields
    (runs, snapshots): each run is ``{"ok": bool, "output": str, "jobs": dict}``, each snapshot
    the commit, the holder's and the app container's ids and the app's image after that run.
    """
    name, holder = variables["CONTAINER_NAME"], variables["CONTAINER_NAME"] + "-net"
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short=8", "HEAD"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    runs, snapshots = [], []
    try:
        for run in range(2):
            if run == 0:
                sha = commit(clone, "release 0")
                result = pipeline.run_pipeline(clone, variables, file=FILE)
                runs.append({"ok": result.ok, "output": result.output, "jobs": result.jobs})
            else:
                sha = head
                done = subprocess.run(
                    [sys.executable, "-m", "workshop", "pipeline", "--file", FILE],
                    capture_output=True, text=True, check=False,
                    env=cli_env(variables, name, variables["HOST_PORT"]),
                )  # fmt: skip
                runs.append({"ok": done.returncode == 0, "output": done.stdout + done.stderr})
            if not runs[-1]["ok"]:
                break
            app = docker_client.containers.get(name)
            snapshots.append(
                {
                    "sha": sha,
                    "holder": docker_client.containers.get(holder).id,
                    "app": app.id,
                    "image": app.attrs["Config"]["Image"],
                    "network_mode": app.attrs["HostConfig"]["NetworkMode"],
                }
            )
        yield runs, snapshots
    finally:
        key, _, value = variables["WORKSHOP_LABEL"].partition("=")
        for container in docker_client.containers.list(all=True, filters={"label": key}):
            if container.name in (name, holder) and container.labels.get(key) == value:
                container.remove(force=True)
        for image in docker_client.images.list(variables["IMAGE_NAME"]):
            if (image.labels or {}).get(key) == value:
                docker_client.images.remove(image.id, force=True)


def test_first_deploy_starts_the_holder_and_the_app_behind_it(deploys, docker_client, variables):
    runs, snapshots = deploys
    assert runs[0]["ok"], runs[0]["output"][-3000:]
    assert runs[0]["jobs"] == {"build": "PASS", "smoke_test": "PASS", "deploy": "PASS"}
    first = snapshots[0]
    # No holder yet: docker start says so, and the job makes one.
    assert f"No such container: {variables['CONTAINER_NAME']}-net" in runs[0]["output"]
    holder = docker_client.containers.get(first["holder"])
    # The holder publishes the port; the app container has none of its own and shares the
    # holder's network namespace.
    assert (
        holder.attrs["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostPort"]
        == (variables["HOST_PORT"])
    )
    assert holder.labels.get(settings.LABEL_KEY) == variables["WORKSHOP_LABEL"].partition("=")[2]
    assert first["network_mode"] == f"container:{first['holder']}"
    assert first["image"] == f"{variables['IMAGE_NAME']}:{first['sha']}"


def test_redeploy_replaces_the_app_and_keeps_the_holder(deploys, variables):
    runs, snapshots = deploys
    assert len(runs) == 2 and runs[1]["ok"], runs[-1]["output"][-3000:]
    first, second = snapshots
    assert "No such container" not in runs[1]["output"]
    assert second["holder"] == first["holder"]
    assert second["app"] != first["app"]
    assert second["image"] == f"{variables['IMAGE_NAME']}:{second['sha']}"
    assert wait_for_body(f"http://localhost:{variables['HOST_PORT']}/", timeout=10) == (
        "Happy birthday Martin"
    )


def test_the_plain_pipeline_refuses_to_deploy_behind_a_holder(deploys, docker_client, variables):
    """It would stop the app, then fail on the port the holder keeps: the command says so first."""
    runs, snapshots = deploys
    assert len(snapshots) == 2, "the deploys before this test failed"
    name, port = variables["CONTAINER_NAME"], variables["HOST_PORT"]
    done = subprocess.run(
        [sys.executable, "-m", "workshop", "pipeline"],
        capture_output=True, text=True, env=cli_env(variables, name, port), check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert f"docker rm -f {name} {name}-net" in done.stdout
    assert docker_client.containers.get(name).id == snapshots[-1]["app"]


def test_a_stopped_holder_is_started_again_by_the_next_deploy(
    deploys, docker_client, variables, clone
):
    """A stopped holder keeps its port binding: the deploy checks that, then starts it."""
    runs, snapshots = deploys
    assert len(snapshots) == 2, "the deploys before this test failed"
    holder = docker_client.containers.get(snapshots[-1]["holder"])
    holder.stop(timeout=5)
    result = pipeline.run_pipeline(clone, variables, jobs=["deploy"], file=FILE)
    assert result.ok, result.output[-3000:]
    holder.reload()
    assert holder.status == "running"
    app = docker_client.containers.get(variables["CONTAINER_NAME"])
    assert app.attrs["HostConfig"]["NetworkMode"] == f"container:{holder.id}"
    assert wait_for_body(f"http://localhost:{variables['HOST_PORT']}/", timeout=10) == (
        "Happy birthday Martin"
    )


def test_a_holder_on_another_port_stops_the_deploy(deploys, docker_client, variables, clone):
    runs, snapshots = deploys
    assert len(snapshots) == 2, "the deploys before this test failed"
    running_app = docker_client.containers.get(variables["CONTAINER_NAME"]).id
    moved = {**variables, "HOST_PORT": str(free_port())}
    result = pipeline.run_pipeline(clone, moved, jobs=["deploy"], file=FILE)
    assert not result.ok
    assert f"not port {moved['HOST_PORT']}" in result.logs["deploy"]
    assert [entry.id for entry in explain.diagnose(result.logs["deploy"])][:1] == [
        "holder-port-mismatch"
    ]
    # It failed before touching anything: the same holder and app, still answering.
    assert docker_client.containers.get(snapshots[-1]["holder"]).status == "running"
    assert docker_client.containers.get(variables["CONTAINER_NAME"]).id == running_app
    assert wait_for_body(f"http://localhost:{variables['HOST_PORT']}/", timeout=10) == (
        "Happy birthday Martin"
    )
