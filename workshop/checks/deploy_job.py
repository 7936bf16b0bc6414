"""Exercise 03-deploy-job: the learner writes the pipeline's deploy job; the pipeline really runs.

The check reads the learner's ``gitlab-ci.yml`` (YAML, then GitLab's schema and
``gitlab-ci-local --list``), then runs the whole pipeline twice with gitlab-ci-local in a
throwaway clone of the repository (a first deploy and a redeploy), with its own image and
container names, label and a free host port, and asks the deployed app for its page.
It removes the clone, the container and the image at the end.
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
    passed,
    remove_container,
    remove_image,
)
from workshop.paths import BUILD
from workshop.settings import Settings

ID = "03-deploy-job"
TITLE = "Write the pipeline's deploy job"
FILE = "gitlab-ci.yml"
WHERE = "chapter 03"


def names(settings: Settings) -> dict[str, str]:
    """Return the image tag, container name and clone folder this check uses."""
    return {
        "image": f"{settings.image_name}-check-03",
        "container": f"{settings.container_name}-check-03",
        "clone": f"check-03-{settings.container_name}",
    }


def _structure(doc: dict) -> Result:
    """A job runs in a stage after the build job's stage, with a script."""
    criterion = "a job with a script runs in a stage after build's"
    all_jobs = pipeline_file.jobs(doc)
    build = pipeline_file.stage_index(doc, all_jobs.get("build", {}))
    if build is None:
        return failed(criterion, "the build job's stage is not in stages:; keep the build job")
    later = [
        name
        for name, job in all_jobs.items()
        if (pipeline_file.stage_index(doc, job) or -1) > build and job.get("script")
    ]
    return judge(
        bool(later),
        criterion,
        f"no job runs after {pipeline_file.stages(doc)[build]}: write the deploy job where the "
        f"TODO is, with stage: and script: (see how {WHERE} reads the pipeline)",
    )


def run(folder: Path, settings: Settings) -> list[Result]:
    """Grade the learner's ``gitlab-ci.yml`` in ``folder`` by running the pipeline.

    Args:
        folder: the exercise folder (``exercises/03-deploy-job`` or a copy).
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
    remove_container(client, n["container"], settings)
    try:
        clone = pipeline.throwaway_clone(clone_dir)
        shutil.copyfile(file, clone / ".gitlab-ci.yml")
        ids = []
        for attempt, what in ((1, "first deploy"), (2, "redeploy")):
            result = pipeline.run_pipeline(clone, variables, timeout=600)
            criterion = f"the pipeline passes ({what})"
            if not result.ok:
                bad = [job for job, status in result.jobs.items() if status == "FAIL"]
                job = bad[0] if bad else "?"
                log = last_lines(result.logs.get(job, result.output), 2)
                hint = f"job {job} fails; its log ends: {log!r}"
                if attempt == 2:
                    hint += "; the previous deploy's container is still there"
                results.append(failed(criterion, hint))
                return results
            results.append(passed(criterion))
            try:
                container = client.containers.get(n["container"])
            except docker.errors.NotFound:
                results.append(
                    failed(
                        f"after the {what} the container $CONTAINER_NAME runs",
                        "no container named $CONTAINER_NAME; use the pipeline's variables, "
                        "not fixed names",
                    )
                )
                return results
            ids.append(container.id)
            if attempt == 1:
                key, value = next(iter(settings.labels.items()))
                results.append(
                    judge(
                        container.labels.get(key) == value,
                        "the deployed container carries $WORKSHOP_LABEL",
                        "it has no workshop label; look at how the build job labels the image",
                    )
                )
            try:
                body = http.wait_for_body(f"http://127.0.0.1:{port}/", timeout=20)
            except TimeoutError:
                body = None
            results.append(
                judge(
                    body == "Happy birthday Martin",
                    f"after the {what} the app answers 'Happy birthday Martin' on $HOST_PORT",
                    f"it answered {body!r}; is $HOST_PORT published on the app's port 8080?",
                )
            )
        results.append(
            judge(
                ids[0] != ids[1],
                "the redeploy replaced the container",
                "the same container still runs after the redeploy; the job must remove it "
                "and start a new one",
            )
        )
        return results
    finally:
        _remove_deployed(client, n["container"], n["image"], settings)
        remove_image(client, n["image"], settings)
        client.close()
        shutil.rmtree(clone_dir, ignore_errors=True)


def _remove_deployed(
    client: docker.DockerClient, name: str, image: str, settings: Settings
) -> None:
    """Remove the pipeline's container: when labelled, or when it runs this check's own image.

    A deploy job that forgot ``--label`` still started its container from the image this
    check built under its own tag, so that container is the check's to remove too.
    """
    try:
        container = client.containers.get(name)
    except docker.errors.NotFound:
        return
    tags = container.image.tags if container.image else []
    if image in tags or f"{image}:latest" in tags:
        container.remove(force=True)
    else:
        remove_container(client, name, settings)
