"""Exercise 07-cleanup: a cleanup that ignores only "No such container".

The check runs the learner's ``cleanup.sh`` four times, with a container name of its own:
against a running container, a stopped one, no container, and an engine that cannot be reached
(``DOCKER_HOST`` pointing at a socket that does not exist). The containers it starts carry the
workshop's label, run the base image with ``--init`` (so a ``docker stop`` ends them at once),
and are removed at the end.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import docker
import docker.errors

from workshop.checks.base import (
    Result,
    failed,
    judge,
    last_lines,
    passed,
    remove_container,
    run_script,
)
from workshop.images import BASE_IMAGES
from workshop.settings import Settings

ID = "07-cleanup"
TITLE = "Replace the blanket '|| true' with a cleanup that ignores only a missing container"
SCRIPT = "cleanup.sh"
WHERE = "chapter 07, 'What || true hides'"


def container_name(settings: Settings) -> str:
    """Return the name of the container this check starts, derived from the settings."""
    return f"{settings.container_name}-check-07"


def _exists(client: docker.DockerClient, name: str) -> bool:
    try:
        client.containers.get(name)
        return True
    except docker.errors.NotFound:
        return False


def _start(client: docker.DockerClient, name: str, settings: Settings, stopped: bool) -> None:
    container = client.containers.run(
        BASE_IMAGES[0],
        ["python", "-c", "import time; time.sleep(600)"],
        name=name,
        detach=True,
        init=True,
        labels=settings.labels,
    )
    if stopped:
        container.stop(timeout=5)


def run(folder: Path, settings: Settings) -> list[Result]:
    """Grade the learner's ``cleanup.sh`` in ``folder``.

    Args:
        folder: the exercise folder (``exercises/07-cleanup`` or a copy).
        settings: names and label; the container is ``CONTAINER_NAME-check-07``, labelled,
            and removed before returning.

    Returns:
        One Result per criterion, in order.
    """
    script = folder / SCRIPT
    if not script.is_file():
        return [failed(f"{folder}/{SCRIPT} exists", f"no {SCRIPT} in {folder}")]
    results = [passed(f"{folder}/{SCRIPT} exists")]
    name = container_name(settings)
    variables = {"CONTAINER_NAME": name}
    client = docker.from_env()
    try:
        for state in ("running", "stopped"):
            remove_container(client, name, settings)
            _start(client, name, settings, stopped=state == "stopped")
            code, output = run_script(script, variables, timeout=60)
            criterion = f"a {state} container of that name is removed, and the script succeeds"
            if code != 0:
                results.append(
                    failed(
                        criterion,
                        f"{SCRIPT} exits with status {code}: {last_lines(output, 2)!r}",
                    )
                )
            else:
                results.append(
                    judge(
                        not _exists(client, name),
                        criterion,
                        f"the {state} container is still there; which command removes a "
                        f"{state} container?",
                    )
                )
        remove_container(client, name, settings)
        code, output = run_script(script, variables, timeout=60)
        results.append(
            judge(
                code == 0,
                "with no container of that name (a first deploy) the script succeeds",
                f"it exits with status {code}: {last_lines(output, 2)!r}; on a first deploy "
                "there is nothing to remove, and that must not fail the job",
            )
        )
        with tempfile.TemporaryDirectory(prefix="workshop-check-07-") as tmp:
            dead = {**variables, "DOCKER_HOST": f"unix://{tmp}/no-engine-here.sock"}
            code, output = run_script(script, dead, timeout=60)
        results.append(
            judge(
                code not in (0, None),
                "with an engine it cannot reach, the script fails",
                f"it exits with status 0 although the engine is unreachable, so it hides every "
                f"error, not only 'No such container'; see {WHERE}",
            )
        )
        results.append(
            judge(
                "Cannot connect" in output or "no-engine-here.sock" in output,
                "... and shows the engine's error",
                f"its output does not show docker's error ({last_lines(output, 1)!r}); "
                "print what docker said before failing",
            )
        )
        return results
    finally:
        remove_container(client, name, settings)
        client.close()
