"""Exercise 08-smoke-stage: a smoke-test stage that keeps a broken image from being deployed.

The check validates the learner's ``gitlab-ci.yml``, then runs the pipeline with gitlab-ci-local
in a throwaway clone twice: with the app as it is (everything passes and deploys), then with an
``app.py`` that crashes at start (the smoke test must fail, ``deploy`` must not run, and the app
deployed by the first run must keep answering). Its own names, label and a free port are used;
the clone, the containers and the image are removed at the end.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import docker
import docker.errors

from workshop import http, pipeline
from workshop.checks import pipeline_file
from workshop.checks.base import (
    Result,
    failed,
    judge,
    last_lines,
    owned,
    remove_image,
)
from workshop.paths import BUILD
from workshop.settings import Settings

ID = "08-smoke-stage"
TITLE = "Add a smoke-test stage between build and deploy"
FILE = "gitlab-ci.yml"
WHERE = "chapter 08"
#: What the check puts at the top of app.py for the broken run.
CRASH = 'raise SystemExit("crashed on purpose by the 08-smoke-stage check")\n'


def names(settings: Settings) -> dict[str, str]:
    """Return the image tag, container name and clone folder this check uses."""
    return {
        "image": f"{settings.image_name}-check-08",
        "container": f"{settings.container_name}-check-08",
        "clone": f"check-08-{settings.container_name}",
    }


def _structure(doc: dict) -> Result:
    """A job with a script runs in a stage strictly between build's and deploy's."""
    criterion = "a job with a script runs in a stage between build and deploy"
    all_jobs = pipeline_file.jobs(doc)
    build = pipeline_file.stage_index(doc, all_jobs.get("build", {}))
    deploy = pipeline_file.stage_index(doc, all_jobs.get("deploy", {}))
    if build is None or deploy is None:
        return failed(criterion, "keep the build and deploy jobs and their stages")
    between = [
        name
        for name, job in all_jobs.items()
        if job.get("script") and build < (pipeline_file.stage_index(doc, job) or -1) < deploy
    ]
    return judge(
        bool(between),
        criterion,
        "no job runs between build_stage and deploy_stage: add a stage to stages: "
        f"(TODO 1) and a job in it (TODO 2); {WHERE} shows how the stages follow each other",
    )


def _leftovers(
    client: docker.DockerClient, image: str, keep: str
) -> list[docker.models.containers.Container]:
    """Containers of the check's image other than the deployed one (the smoke test's)."""
    found = []
    for container in client.containers.list(all=True, filters={"ancestor": image}):
        if container.name != keep:
            found.append(container)
    return found


def _body(port: int) -> str | None:
    try:
        return http.wait_for_body(f"http://127.0.0.1:{port}/", timeout=20)
    except TimeoutError:
        return None


def run(folder: Path, settings: Settings) -> list[Result]:
    """Grade the learner's ``gitlab-ci.yml`` in ``folder`` by running the pipeline twice.

    Args:
        folder: the exercise folder (``exercises/08-smoke-stage`` or a copy).
        settings: names and label; the pipeline runs with the names from :func:`names`,
            the settings' label and a free host port.

    Returns:
        One Result per criterion, in order; stops after a blocking failure.
    """
    file = folder / FILE
    results, doc = pipeline_file.preflight(file, _structure)
    if doc is None:
        return results
    n = names(settings)
    variables = pipeline_file.check_variables(settings, n)
    port = int(variables["HOST_PORT"])
    clone_dir = BUILD / n["clone"]
    client = docker.from_env()
    made: set[str] = set()
    _clean(client, n, settings, made)
    try:
        clone = pipeline.throwaway_clone(clone_dir)
        shutil.copyfile(file, clone / ".gitlab-ci.yml")
        good = pipeline.run_pipeline(clone, variables, timeout=600)
        criterion = "with a good image every job passes and the app is deployed"
        if not good.ok:
            bad = [job for job, status in good.jobs.items() if status == "FAIL"] or ["?"]
            log = last_lines(good.logs.get(bad[0], good.output), 2)
            return results + [failed(criterion, f"job {bad[0]} fails; its log ends: {log!r}")]
        body = _body(port)
        results.append(
            judge(
                body == "Happy birthday Martin",
                criterion,
                f"the app on $HOST_PORT answered {body!r}; keep the deploy job as it was",
            )
        )
        deployed = client.containers.get(n["container"]).id
        made.add(client.images.get(n["image"]).id)
        left = _leftovers(client, n["image"], n["container"])
        results.append(
            judge(
                not left,
                "the smoke test's container is gone when the job ends",
                f"{', '.join(c.name for c in left)} is still there; remove it in the job, "
                "also when the test fails (after_script)",
            )
        )
        app = clone / "app" / "app.py"
        app.write_text(CRASH + app.read_text(encoding="utf-8"), encoding="utf-8")
        broken = pipeline.run_pipeline(clone, variables, timeout=600)
        ran_deploy = broken.jobs.get("deploy") is not None
        results.append(
            judge(
                not broken.ok and not ran_deploy,
                "with an image that crashes at start, the pipeline stops before deploy",
                "the broken image reached the deploy job; the smoke test must fail when the "
                "app does not answer (read its job log)"
                if ran_deploy
                else f"the pipeline passed with a broken app; jobs: {broken.jobs}",
            )
        )
        try:
            still = client.containers.get(n["container"]).id == deployed
        except docker.errors.NotFound:
            still = False
        body = _body(port) if still else None
        results.append(
            judge(
                still and body == "Happy birthday Martin",
                "... and the app deployed before keeps answering",
                "the running app was replaced or removed by the broken pipeline; "
                "only the deploy stage may touch $CONTAINER_NAME",
            )
        )
        left = _leftovers(client, n["image"], n["container"])
        results.append(
            judge(
                not left,
                "the failed smoke test's container is gone too",
                f"{', '.join(c.name for c in left)} is still there; a job's script stops at "
                "its first failing line, so clean up in after_script",
            )
        )
        return results
    finally:
        _clean(client, n, settings, made)
        client.close()
        shutil.rmtree(clone_dir, ignore_errors=True)


def _clean(
    client: docker.DockerClient, n: dict[str, str], settings: Settings, made: set[str]
) -> None:
    """Remove what the pipeline runs made: containers of its images, then the images.

    Args:
        client: a connected docker SDK client.
        n: the names from :func:`names`.
        settings: the label; only labelled images are removed.
        made: ids of images the runs built (an image loses its tag when a later run
            builds another under the same tag, so the tag alone does not find it).
    """
    try:
        made.add(client.images.get(n["image"]).id)
    except docker.errors.ImageNotFound:
        pass
    for container in client.containers.list(all=True):
        if container.attrs.get("Image") in made or (
            container.name == n["container"] and owned(container.labels, settings)
        ):
            container.remove(force=True)
    remove_image(client, n["image"], settings)
    for image_id in made:
        try:
            image = client.images.get(image_id)
        except docker.errors.ImageNotFound:
            continue
        if owned(image.labels, settings) and not image.tags:
            client.images.remove(image_id)
