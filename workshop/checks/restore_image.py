"""Exercise 04-restore-image: turn the build job's artifact back into the image, on another engine.

The check builds the course's image as ``IMAGE_NAME-check-04`` (labelled), saves it to a tar
as the build job does, removes the image (the deploy runner's engine has never seen it), runs
the learner's ``restore.sh``, inspects what it made and runs a container of it. Everything is
removed at the end: the container, and the restored image (by its tag, which derives from the
settings, if it appeared during the check).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import docker
import docker.errors

from workshop import http
from workshop.checks.base import (
    Result,
    failed,
    free_port,
    judge,
    last_lines,
    passed,
    remove_container,
    run_script,
)
from workshop.paths import ROOT
from workshop.settings import Settings

ID = "04-restore-image"
TITLE = "Restore the image from the build job's artifact on another runner"
SCRIPT = "restore.sh"
WHERE = "chapter 04, 'docker load is not docker import'"


def names(settings: Settings) -> dict[str, str]:
    """Return the image tag and container name this check uses, derived from the settings."""
    return {
        "image": f"{settings.image_name}-check-04",
        "container": f"{settings.container_name}-check-04",
    }


def _drop_image(client: docker.DockerClient, tag: str) -> None:
    """Untag ``tag`` (the check's own name), removing the image when no other tag holds it."""
    try:
        client.images.remove(tag)
    except docker.errors.ImageNotFound:
        pass


def run(folder: Path, settings: Settings) -> list[Result]:
    """Grade the learner's ``restore.sh`` in ``folder``.

    Args:
        folder: the exercise folder (``exercises/04-restore-image`` or a copy).
        settings: names and label; see :func:`names`.

    Returns:
        One Result per criterion, in order; stops after a blocking failure.
    """
    script = folder / SCRIPT
    if not script.is_file():
        return [failed(f"{folder}/{SCRIPT} exists", f"no {SCRIPT} in {folder}")]
    results = [passed(f"{folder}/{SCRIPT} exists")]
    n = names(settings)
    client = docker.from_env()
    remove_container(client, n["container"], settings)
    try:
        with tempfile.TemporaryDirectory(prefix="workshop-check-04-") as tmp:
            artifact = Path(tmp) / f"{n['image']}.tar"
            image, _ = client.images.build(
                path=str(ROOT), tag=n["image"], labels=settings.labels, rm=True
            )
            built = image.attrs["Config"]
            with artifact.open("wb") as out:
                for chunk in image.save(named=True):
                    out.write(chunk)
            _drop_image(client, n["image"])
            code, output = run_script(
                script,
                {
                    "IMAGE_NAME": n["image"],
                    "ARTIFACT": str(artifact),
                    "WORKSHOP_LABEL": settings.label,
                },
                timeout=120,
            )
        runs = f"{SCRIPT} succeeds"
        if code != 0:
            return results + [
                failed(runs, f"it exits with status {code}: {last_lines(output, 2)!r}")
            ]
        results.append(passed(runs))
        try:
            restored = client.images.get(n["image"]).attrs["Config"]
        except docker.errors.ImageNotFound:
            return results + [
                failed(
                    "the image $IMAGE_NAME exists afterwards",
                    "no image of that name; which command reads what docker save wrote?",
                )
            ]
        results.append(passed("the image $IMAGE_NAME exists afterwards"))
        same = all(restored.get(k) == built.get(k) for k in ("Cmd", "User", "Env", "Labels"))
        results.append(
            judge(
                same,
                "it has the configuration it was built with (CMD, USER, ENV, labels)",
                f"its CMD is {restored.get('Cmd')}, built with {built.get('Cmd')}: the tar was "
                f"read as a flat filesystem and its configuration thrown away; see {WHERE}",
            )
        )
        port = free_port()
        answers = "a container of it answers 'Happy birthday Martin'"
        try:
            client.containers.run(
                n["image"],
                name=n["container"],
                detach=True,
                labels=settings.labels,
                ports={"8080/tcp": ("127.0.0.1", port)},
            )
        except docker.errors.APIError as error:
            return results + [
                failed(answers, f"docker run fails: {error.explanation or error}; see {WHERE}")
            ]
        try:
            body = http.wait_for_body(f"http://127.0.0.1:{port}/", timeout=20)
        except TimeoutError:
            body = None
        results.append(
            judge(body == "Happy birthday Martin", answers, f"it answered {body!r}; see {WHERE}")
        )
        return results
    finally:
        remove_container(client, n["container"], settings)
        _drop_image(client, n["image"])
        client.close()
