"""Exercise 02-dockerfile: the learner's Dockerfile, built and run for real.

The check builds the learner's Dockerfile with the repository's ``app/`` as context, reads the
image's configuration, runs a container on a free local port, asks it for its page, stops it
and reads its exit status. Everything it creates carries the workshop's label and a name
derived from the settings, and is removed at the end.
"""

from __future__ import annotations

import re
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
#: Every instruction the builder knows; anything else stops the build with "unknown instruction".
INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip
PARSES = "every line starts with a Dockerfile instruction"
LAYERS = "pinned dependencies from requirements.txt are installed before the code is copied"
ENV_FORM = "every ENV uses the key=value form"
BUILDS = "the Dockerfile builds"
NON_ROOT = "the image runs its command as a non-root user"
SETS_NAME = "the image sets NAME to Martin"
ANSWERS = "a container of the image answers 'Happy birthday Martin' on port 8080"
STOPS = "docker stop ends the app at once and cleanly (exit status 0)"
#: The criteria after "the Dockerfile exists", in the order they are reported. Every run
#: reports all of them; one that could not be judged is a FAIL saying why ("not checked: ...").
CRITERIA = (PARSES, LAYERS, ENV_FORM, BUILDS, NON_ROOT, SETS_NAME, ANSWERS, STOPS)
#: Terminal colour codes the legacy builder wraps a step's stderr in.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: Build-log lines that are the builder's own progress, never the cause of a failure.
PROGRESS = re.compile(
    r"^(Step \d+/\d+ :|---> |Removing intermediate container|Sending build context)"
)
#: Words that mark the line that says what went wrong.
ERRORISH = re.compile(r"error|not found|no such file|denied|cannot|could not|unable", re.IGNORECASE)


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
    criterion = LAYERS
    other_list = _other_requirements_file(instructions) if pip_run is None else None
    if other_list:
        line, name = other_list
        results.append(
            failed(
                criterion,
                f"line {line} pip-installs from {name!r}; the pinned list is requirements.txt "
                "(app/requirements.txt, copied next to it); see TODO 1",
            )
        )
    elif pip_run is None:
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
            ENV_FORM,
            f"line {legacy[0].line if legacy else 0} uses the old 'ENV key value' form; "
            f"{CHAPTER} shows the form to use",
        )
    )
    return results


def _other_requirements_file(instructions: list[dockerfile.Instruction]) -> tuple[int, str] | None:
    """Return (line, file) of a RUN that pip-installs ``-r`` a file other than requirements.txt."""
    for ins in instructions:
        if ins.keyword == "RUN" and "pip" in ins.args and "install" in ins.args:
            found = re.search(r"(?:^|\s)(?:-r|--requirement)(?:=|\s+)?(\S+)", ins.args)
            if found and Path(found.group(1)).name != "requirements.txt":
                return ins.line, found.group(1)
    return None


def unknown_instruction(instructions: list[dockerfile.Instruction]) -> Result:
    """Judge PARSES: a FAIL naming the first line whose instruction the builder does not know."""
    for ins in instructions:
        if ins.keyword not in INSTRUCTIONS:
            return failed(
                PARSES,
                f"line {ins.line}: unknown instruction {ins.keyword}; the builder stops there "
                f"(dockerfile parse error line {ins.line}: unknown instruction: {ins.keyword}). "
                "Check its spelling: FROM, WORKDIR, COPY, RUN, ENV, USER, STOPSIGNAL, EXPOSE, CMD",
            )
    return passed(PARSES)


def build_failure(log: str, error: str = "") -> str:
    """Say in one line where a legacy-builder build stopped and why.

    Args:
        log: the build's output (progress lines, the step's own output, the final error).
        error: the builder's final message, e.g. ``The command '/bin/sh -c ...' returned a
            non-zero code: 1``; used for the exit status, and as the hint when the log says nothing.

    Returns:
        ``at Step N/M : INSTRUCTION (exit status S) with: LINE | LINE``: the failing step, and
        the step's own error lines (terminal colour codes removed, at most two), preferring lines
        that say error, not found, no such file...; ``with: ERROR`` when the log has no steps.
    """
    lines = [ANSI.sub("", line).strip() for line in log.splitlines()]
    lines = [line for line in lines if line]
    steps = [i for i, line in enumerate(lines) if line.startswith("Step ")]
    if not steps:
        return "with: " + last_lines(ANSI.sub("", error or log), 2)
    step = lines[steps[-1]]
    if len(step) > 90:
        step = step[:87] + "..."
    output = [
        line
        for line in lines[steps[-1] + 1 :]
        if not PROGRESS.match(line) and "returned a non-zero code" not in line
    ]
    chosen = [line for line in output if ERRORISH.search(line)] or output
    status = re.search(r"returned a non-zero code: (\d+)", error or log)
    where = f"at {step}" + (f" (exit status {status.group(1)})" if status else "")
    if not chosen:
        return f"{where}: {error}" if error else where
    return f"{where} with: " + " | ".join(chosen[-2:])


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
                chunk.get("stream", "") for chunk in error.build_log if isinstance(chunk, dict)
            )
            return build_failure(log, str(error.msg or error))
        except docker.errors.APIError as error:
            return str(error.explanation or error)
    return None


def _serve(client: docker.DockerClient, tag: str, name: str, labels: dict) -> list[Result]:
    """Run the image, ask it for its page, stop it: the runtime criteria."""
    results = []
    port = free_port()
    answers = ANSWERS
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
            STOPS,
            f"exit status 137: docker stop waited {STOP_GRACE} s, then killed it; Python as "
            f"PID 1 ignores SIGTERM, see TODO 5 and the docker stop measurement in {CHAPTER}"
            if code == 137
            else f"exit status {code}: the app failed as it stopped; read docker logs",
        )
    )
    return results


def not_checked(results: list[Result], reason: str) -> list[Result]:
    """Return ``results`` completed with a FAIL ``not checked: reason`` for every criterion of
    :data:`CRITERIA` not judged yet, so that every run reports the same criteria."""
    judged = {r.criterion for r in results}
    return results + [
        failed(criterion, f"not checked: {reason}")
        for criterion in CRITERIA
        if criterion not in judged
    ]


def run(folder: Path, settings: Settings) -> list[Result]:
    """Grade the learner's ``Dockerfile`` in ``folder``.

    Args:
        folder: the exercise folder (``exercises/02-dockerfile`` or a copy).
        settings: names and label; the image is ``IMAGE_NAME-check-02``, the container
            ``CONTAINER_NAME-check-02``, both labelled, both removed before returning.

    Returns:
        One Result for "the Dockerfile exists", then one per :data:`CRITERIA`, in order, always
        all of them: after a blocking failure (no file, an unknown instruction, no build) the
        criteria that could not be judged are FAILs that say so.
    """
    file = folder / "Dockerfile"
    if not file.is_file():
        return not_checked(
            [
                failed(
                    f"{folder}/Dockerfile exists",
                    f"no Dockerfile in {folder}; start from exercises/{ID}/Dockerfile",
                )
            ],
            "there is no Dockerfile",
        )
    results = [passed(f"{folder}/Dockerfile exists")]
    instructions = dockerfile.parse(file.read_text(encoding="utf-8", errors="replace"))
    parses = unknown_instruction(instructions)
    results.append(parses)
    if not parses.ok:
        return not_checked(results, "the Dockerfile does not parse, so the image did not build")
    results += _layers(instructions)
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        results.append(
            failed(BUILDS, f"no Docker engine answers ({error}); run ./course workshop engine")
        )
        return not_checked(results, "the image did not build")
    tag, name = names(settings)
    try:
        remove_container(client, name, settings)
        remove_image(client, tag, settings)
        error = _build(client, file, tag, settings.labels)
        if error:
            results.append(failed(BUILDS, f"the build stops {error}; fix the instruction it names"))
            return not_checked(results, "the image did not build")
        results.append(passed(BUILDS))
        image = client.images.get(tag)
        user = (image.attrs["Config"].get("User") or "").strip()
        results.append(
            judge(
                user not in ROOT_USERS,
                NON_ROOT,
                "the image runs its command as root; see TODO 4, and how "
                f"{CHAPTER} finds out who runs the app in a container",
            )
        )
        env = image.attrs["Config"].get("Env") or []
        results.append(
            judge(
                f"NAME={EXPECTED_BODY.split()[-1]}" in env,
                SETS_NAME,
                "the image's environment has no NAME=Martin; see TODO 3",
            )
        )
        results += _serve(client, tag, name, settings.labels)
        return not_checked(results, "no container of the image kept running")
    finally:
        remove_container(client, name, settings)
        remove_image(client, tag, settings)
        client.close()
