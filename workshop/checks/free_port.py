"""Exercise 06-free-port: a redeploy that frees a port held by a forgotten container.

The check builds the course's image under its own tag, starts a forgotten container of the
workshop on a free host port and a bystander on another, runs the learner's ``redeploy.sh``
twice with the check's own names, and asks the app for its page. Everything it creates carries
the workshop's label and a name derived from the settings, and is removed at the end.
"""

from __future__ import annotations

import time
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
    remove_image,
    run_script,
)
from workshop.paths import ROOT
from workshop.settings import Settings

ID = "06-free-port"
TITLE = "Free a port held by a forgotten container, then deploy"
SCRIPT = "redeploy.sh"
WHERE = "chapter 06, 'Who holds the port?'"


def names(settings: Settings) -> dict[str, str]:
    """Return the image tag and container names this check uses, derived from the settings."""
    base = f"{settings.container_name}-check-06"
    return {
        "image": f"{settings.image_name}-check-06",
        "app": base,
        "stray": f"{base}-stray",
        "bystander": f"{base}-bystander",
    }


def _answer(port: int, timeout: float = 20.0) -> str | None:
    """Return the body the app on ``port`` answers with, or None when nothing answers 200."""
    try:
        return http.wait_for_body(f"http://127.0.0.1:{port}/", timeout=timeout)
    except TimeoutError:
        return None


def _running(client: docker.DockerClient, name: str) -> bool:
    try:
        return client.containers.get(name).status == "running"
    except docker.errors.NotFound:
        return False


def _deploy_once(
    script: Path, variables: dict[str, str], port: int, criterion: str
) -> tuple[Result, str | None]:
    """Run the script once; return its Result and what the app then answers."""
    code, output = run_script(script, variables)
    if code != 0:
        said = last_lines(output, 2)
        if "port is already allocated" in output:
            hint = (
                f"docker run says the port is taken ({said!r}): find who publishes it, see {WHERE}"
            )
        elif code is None:
            hint = f"{SCRIPT} did not finish within 120 s; its output ends: {said!r}"
        else:
            hint = f"{SCRIPT} exits with status {code}; its output ends: {said!r}"
        return failed(criterion, hint), None
    return passed(criterion), _answer(port)


def run(folder: Path, settings: Settings) -> list[Result]:
    """Grade the learner's ``redeploy.sh`` in ``folder``.

    Args:
        folder: the exercise folder (``exercises/06-free-port`` or a copy).
        settings: names and label; every container and the image are named from them
            (see :func:`names`), labelled, and removed before returning.

    Returns:
        One Result per criterion, in order; stops after a blocking failure.
    """
    script = folder / SCRIPT
    if not script.is_file():
        return [failed(f"{folder}/{SCRIPT} exists", f"no {SCRIPT} in {folder}")]
    results = [passed(f"{folder}/{SCRIPT} exists")]
    n = names(settings)
    client = docker.from_env()
    try:
        for name in ("app", "stray", "bystander"):
            remove_container(client, n[name], settings)
        client.images.build(path=str(ROOT), tag=n["image"], labels=settings.labels, rm=True)
        port, other = free_port(), free_port()
        while other == port:
            other = free_port()
        for name, host_port in (("stray", port), ("bystander", other)):
            client.containers.run(
                n["image"],
                name=n[name],
                detach=True,
                labels=settings.labels,
                environment={"NAME": name.capitalize()},
                ports={"8080/tcp": host_port},
            )
        _answer(port)  # the stray answers: the scene is set
        variables = {
            "IMAGE_NAME": n["image"],
            "CONTAINER_NAME": n["app"],
            "HOST_PORT": str(port),
            "WORKSHOP_LABEL": settings.label,
        }
        first, body = _deploy_once(
            script, variables, port, f"{SCRIPT} succeeds while a forgotten container holds the port"
        )
        results.append(first)
        if not first.ok:
            return results
        results.append(
            judge(
                not _running(client, n["stray"]),
                "the forgotten container no longer holds the port",
                f"it still runs; look for it by the port it publishes, not by its name ({WHERE})",
            )
        )
        answers = "the deployed app answers 'Happy birthday Martin' on HOST_PORT"
        results.append(
            judge(
                body == "Happy birthday Martin",
                answers,
                f"it answered {body!r}; is the container on HOST_PORT the one {SCRIPT} started?",
            )
        )
        results.append(
            judge(
                _running(client, n["bystander"]),
                "a workshop container on another port is left running",
                f"{SCRIPT} removed a container that did not hold HOST_PORT; "
                "narrow what it removes to the containers that publish HOST_PORT",
            )
        )
        time.sleep(0.5)
        again, body = _deploy_once(
            script, variables, port, f"running {SCRIPT} again, with the app deployed, succeeds"
        )
        results.append(again)
        if again.ok:
            results.append(
                judge(
                    body == "Happy birthday Martin",
                    "after the second run the app answers again",
                    f"it answered {body!r}; read the output of a second run of {SCRIPT}",
                )
            )
        return results
    finally:
        for name in ("app", "stray", "bystander"):
            remove_container(client, n[name], settings)
        remove_image(client, n["image"], settings)
        client.close()
