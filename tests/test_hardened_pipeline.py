"""Chapter 09's hardened pipeline, deploying for real: the network holder outlives redeploys.

Chapter 09 itself runs this pipeline only with a broken commit (the smoke test stops it before
deploy); these tests run the path that deploys. Each run uses this test run's label, names and
a free host port, and everything it makes is removed at the end, by name and label.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import free_port
from workshop import pipeline, settings
from workshop.http import wait_for_body

pytestmark = pytest.mark.docker

FILE = "notebooks/ci/hardened.gitlab-ci.yml"


@pytest.fixture(scope="module")
def variables(test_settings) -> dict[str, str]:
    conf = settings.load(
        {
            **test_settings,
            "WORKSHOP_IMAGE_NAME": test_settings["WORKSHOP_IMAGE_NAME"] + "-hardened",
            "WORKSHOP_CONTAINER_NAME": test_settings["WORKSHOP_CONTAINER_NAME"] + "-hardened",
            "WORKSHOP_HOST_PORT": str(free_port()),
        }
    )
    return pipeline.pipeline_variables(conf)


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
    """Two pipeline runs, on two commits: a first deploy and a redeploy.

    Yields (results, snapshots): each snapshot is the holder's and the app container's id and
    the app's image after that run.
    """
    name, holder = variables["CONTAINER_NAME"], variables["CONTAINER_NAME"] + "-net"
    results, snapshots = [], []
    try:
        for run in range(2):
            sha = commit(clone, f"release {run}")
            result = pipeline.run_pipeline(clone, variables, file=FILE)
            results.append(result)
            if not result.ok:
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
        yield results, snapshots
    finally:
        key, _, value = variables["WORKSHOP_LABEL"].partition("=")
        for container in docker_client.containers.list(all=True, filters={"label": key}):
            if container.name in (name, holder) and container.labels.get(key) == value:
                container.remove(force=True)
        for image in docker_client.images.list(variables["IMAGE_NAME"]):
            if (image.labels or {}).get(key) == value:
                docker_client.images.remove(image.id, force=True)


def test_first_deploy_starts_the_holder_and_the_app_behind_it(deploys, docker_client, variables):
    results, snapshots = deploys
    assert results[0].ok, results[0].output[-3000:]
    assert results[0].jobs == {"build": "PASS", "smoke_test": "PASS", "deploy": "PASS"}
    first = snapshots[0]
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
    results, snapshots = deploys
    assert len(results) == 2 and results[1].ok, results[-1].output[-3000:]
    first, second = snapshots
    assert second["holder"] == first["holder"]
    assert second["app"] != first["app"]
    assert second["image"] == f"{variables['IMAGE_NAME']}:{second['sha']}"
    assert wait_for_body(f"http://localhost:{variables['HOST_PORT']}/", timeout=10) == (
        "Happy birthday Martin"
    )


def test_a_holder_on_another_port_stops_the_deploy(deploys, docker_client, variables, clone):
    results, snapshots = deploys
    assert len(snapshots) == 2, "the deploys before this test failed"
    moved = {**variables, "HOST_PORT": str(free_port())}
    result = pipeline.run_pipeline(clone, moved, jobs=["deploy"], file=FILE)
    assert not result.ok
    assert f"not port {moved['HOST_PORT']}" in result.logs["deploy"]
    # It failed before touching anything: the same holder and app, still answering.
    assert docker_client.containers.get(snapshots[-1]["holder"]).status == "running"
    assert docker_client.containers.get(variables["CONTAINER_NAME"]).id == snapshots[-1]["app"]
    assert wait_for_body(f"http://localhost:{variables['HOST_PORT']}/", timeout=10) == (
        "Happy birthday Martin"
    )
