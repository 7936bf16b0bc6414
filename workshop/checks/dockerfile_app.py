"""Exercise 02-dockerfile: the learner's Dockerfile, built and run for real.

The check builds the learner's Dockerfile with the repository's ``app/`` as context, reads the
image's configuration, runs a container on a free local port, asks it for its page, stops it
and reads its exit status. Everything it creates carries the workshop's label and a name
derived from the settings, and is removed at the end.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import docker
import docker.errors

from workshop import http
from workshop.checks import dockerfile
from workshop.checks.base import (
    Result,
    failed,
    free_port,
    judge,
    last_lines,
    passed,
    remove_container,
    remove_image,
)
from workshop.paths import ROOT
from workshop.settings import Settings

ID = "02-dockerfile"
TITLE = "Write the Dockerfile from a skeleton"
EXPECTED_BODY = "Happy birthday Martin"
ROOT_USERS = {"", "root", "0", "0:0", "root:root", "root:0", "0:root"}
#: Seconds docker stop waits before killing; a well-built image stops long before.
STOP_GRACE = 3
CHAPTER = "chapter 02"


def names(settings: Settings) -> tuple[str, str]:
    """Return (image tag, container name) this check uses, derived from the settings."""
    return f"{settings.image_name}-check-02", f"{settings.container_name}-check-02"


def _layers(instructions: list[dockerfile.Instruction]) -> list[Result]:
    """Static criteria: dependency layer before the code, ENV in key=value form."""
    results = []
    pip_run = code_copy = None
    for index, ins in enumerate(instructions):
        if ins.keyword in ("COPY", "ADD") and code_copy is None:
            sources = [s.rstrip("/") for s in dockerfile.copy_sources(ins)]
            if any(s.endswith("app.py") or s in (".", "app", "*", "") for s in sources):
                code_copy = index
        if ins.keyword == "RUN" and pip_run is None:
            if "pip" in ins.args and "install" in ins.args and "requirements.txt" in ins.args:
                pip_run = index
    criterion = "pinned dependencies from requirements.txt are installed before the code is copied"
    if pip_run is None:
        results.append(
            failed(
                criterion,
                "no RUN pip-installs the pinned list, requirements.txt; "
                f"see TODO 1 and the dependency layer in {CHAPTER}",
            )
        )
    elif code_copy is None:
        results.append(failed(criterion, "no COPY brings app/app.py into the image; see TODO 2"))
    else:
        results.append(
            judge(
                pip_run < code_copy,
                criterion,
                f"line {instructions[code_copy].line} copies the code before pip install "
                f"(line {instructions[pip_run].line}), so every code edit re-runs the "
                f"installation; see TODO 1 and why order matters in {CHAPTER}",
            )
        )
    legacy = [
        ins for ins in instructions if ins.keyword == "ENV" and "=" not in (ins.words() or [""])[0]
    ]
    results.append(
        judge(
            not legacy,
            "every ENV uses the key=value form",
            f"line {legacy[0].line if legacy else 0} uses the old 'ENV key value' form; "
            f"{CHAPTER} shows the form to use",
        )
    )
    return results


def _build(client: docker.DockerClient, file: Path, tag: str, labels: dict) -> str | None:
    """Build ``file`` with a copy of the repository's ``app/`` as context; None or the error."""
    with tempfile.TemporaryDirectory(prefix="workshop-check-02-") as tmp:
        context = Path(tmp)
        shutil.copytree(ROOT / "app", context / "app", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copyfile(file, context / "Dockerfile")
        try:
            client.images.build(
                path=str(context), tag=tag, labels=labels, rm=True, forcerm=True, pull=False
            )
        except docker.errors.BuildError as error:
            log = "".join(
                chunk.get("stream", "") + chunk.get("error", "")
                for chunk in error.build_log
                if isinstance(chunk, dict)
            )
            return last_lines(log, 2) or str(error)
        except docker.errors.APIError as error:
            return str(error.explanation or error)
    return None


def _serve(client: docker.DockerClient, tag: str, name: str, labels: dict) -> list[Result]:
    """Run the image, ask it for its page, stop it: the runtime criteria."""
    results = []
    port = free_port()
    answers = "a container of the image answers 'Happy birthday Martin' on port 8080"
    try:
        container = client.containers.run(
            tag,
            name=name,
            detach=True,
            labels=labels,
            ports={"8080/tcp": ("127.0.0.1", port)},
        )
    except docker.errors.APIError as error:
        return [
            failed(
                answers,
                f"docker run fails: {error.explanation or error}; read the instruction it names",
            )
        ]
    body, deadline = None, time.monotonic() + 30
    while time.monotonic() < deadline:
        container.reload()
        if container.status in ("exited", "dead"):
            code = container.attrs["State"]["ExitCode"]
            log = last_lines(container.logs().decode("utf-8", "replace"), 2)
            results.append(
                failed(
                    answers,
                    f"the container exited at once with status {code}; its log ends: {log!r}. "
                    "Check that the code is copied where CMD expects it",
                )
            )
            return results
        try:
            status, text = http.get(f"http://127.0.0.1:{port}/", timeout=2)
            if status == 200:
                body = text
                break
        except OSError:
            pass
        time.sleep(0.2)
    if body is None:
        results.append(
            failed(answers, "no HTTP answer within 30 s; read docker logs of your container")
        )
    else:
        results.append(
            judge(
                body == EXPECTED_BODY,
                answers,
                f"it answered {body!r}; look at how the image sets NAME (TODO 3)",
            )
        )
    container.stop(timeout=STOP_GRACE)
    container.reload()
    code = container.attrs["State"]["ExitCode"]
    results.append(
        judge(
            code == 0,
            "docker stop ends the app at once and cleanly (exit status 0)",
            f"exit status 137: docker stop waited {STOP_GRACE} s, then killed it; Python as "
            f"PID 1 ignores SIGTERM, see TODO 5 and the docker stop measurement in {CHAPTER}"
            if code == 137
            else f"exit status {code}: the app failed as it stopped; read docker logs",
        )
    )
    return results


def run(folder: Path, settings: Settings) -> list[Result]:
    """Grade the learner's ``Dockerfile`` in ``folder``.

    Args:
        folder: the exercise folder (``exercises/02-dockerfile`` or a copy).
        settings: names and label; the image is ``IMAGE_NAME-check-02``, the container
            ``CONTAINER_NAME-check-02``, both labelled, both removed before returning.

    Returns:
        One Result per criterion, in order; stops after a blocking failure (no file, no build).
    """
    file = folder / "Dockerfile"
    if not file.is_file():
        return [
            failed(
                f"{folder}/Dockerfile exists",
                f"no Dockerfile in {folder}; start from exercises/{ID}/Dockerfile",
            )
        ]
    results = [passed(f"{folder}/Dockerfile exists")]
    results += _layers(dockerfile.parse(file.read_text(encoding="utf-8", errors="replace")))
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        return results + [
            failed("a Docker engine answers", f"{error}; run ./course workshop engine")
        ]
    tag, name = names(settings)
    try:
        remove_container(client, name, settings)
        remove_image(client, tag, settings)
        error = _build(client, file, tag, settings.labels)
        builds = "the Dockerfile builds"
        if error:
            return results + [
                failed(builds, f"the build stops with: {error}; fix the instruction it names")
            ]
        results.append(passed(builds))
        image = client.images.get(tag)
        user = (image.attrs["Config"].get("User") or "").strip()
        results.append(
            judge(
                user not in ROOT_USERS,
                "the image runs its command as a non-root user",
                "the image runs its command as root; see TODO 4, and how "
                f"{CHAPTER} finds out who runs the app in a container",
            )
        )
        env = image.attrs["Config"].get("Env") or []
        results.append(
            judge(
                f"NAME={EXPECTED_BODY.split()[-1]}" in env,
                "the image sets NAME to Martin",
                "the image's environment has no NAME=Martin; see TODO 3",
            )
        )
        results += _serve(client, tag, name, settings.labels)
        return results
    finally:
        remove_container(client, name, settings)
        remove_image(client, tag, settings)
        client.close()
