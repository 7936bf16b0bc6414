"""Read a learner's pipeline file: YAML, jobs and stages, GitLab's schema, gitlab-ci-local."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import yaml

from workshop import pipeline
from workshop.checks.base import Result, failed, free_port, judge, last_lines, passed
from workshop.settings import Settings

#: Top-level keys that are keywords, not jobs.
KEYWORDS = {
    "stages",
    "variables",
    "default",
    "include",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
}
#: GitLab's stages when a file lists none, and a job's stage when it names none.
DEFAULT_STAGES = ["build", "test", "deploy"]
DEFAULT_STAGE = "test"


def read(file: Path) -> tuple[list[Result], dict | None]:
    """Parse ``file`` as YAML and validate it with GitLab's schema and gitlab-ci-local.

    Args:
        file: the learner's pipeline file.

    Returns:
        (results, document): one Result per step; the document is None when a step failed
        (the results then end with that FAIL).
    """
    name = file.name
    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "the file"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        return [
            failed(
                f"{name} is valid YAML",
                f"{problem} at {where}; check the indentation (spaces, never tabs)",
            )
        ], None
    if not isinstance(doc, dict):
        return [
            failed(f"{name} is valid YAML", "the file is not a mapping of keys to values")
        ], None
    results = [passed(f"{name} is valid YAML")]
    return results, doc


def validate(file: Path) -> list[Result]:
    """Run GitLab's schema and ``gitlab-ci-local --list`` on ``file``; stop at the first FAIL."""
    results = []
    for validator, check in (
        ("GitLab's schema", pipeline.validate_schema),
        ("gitlab-ci-local --list", pipeline.validate_jobs),
    ):
        outcome = check(file)
        results.append(
            judge(
                outcome.ok,
                f"{validator} accepts it",
                f"{last_lines(outcome.output, 2)!r}; run ./course workshop validate {file}",
            )
        )
        if not outcome.ok:
            break
    return results


def stages(doc: dict) -> list[str]:
    """Return the pipeline's stages in order."""
    listed = doc.get("stages")
    return [str(s) for s in listed] if isinstance(listed, list) else list(DEFAULT_STAGES)


def jobs(doc: dict) -> dict[str, dict]:
    """Return the pipeline's jobs (name -> definition), hidden ``.jobs`` excluded."""
    return {
        str(key): value
        for key, value in doc.items()
        if isinstance(value, dict) and key not in KEYWORDS and not str(key).startswith(".")
    }


def stage_index(doc: dict, job: dict) -> int | None:
    """Return the position of ``job``'s stage in :func:`stages`, or None when it is not listed."""
    order = stages(doc)
    stage = str(job.get("stage", DEFAULT_STAGE))
    return order.index(stage) if stage in order else None


def preflight(file: Path, structure: Callable[[dict], Result]) -> tuple[list[Result], dict | None]:
    """Judge a learner's pipeline file before it runs: it exists, parses, has the exercise's
    shape (``structure``) and passes both validators.

    Args:
        file: the learner's pipeline file.
        structure: the exercise's own shape criterion, given the parsed file.

    Returns:
        (results so far, the parsed file); the file is None when a criterion failed, and
        then nothing should run.
    """
    if not file.is_file():
        return [failed(f"{file} exists", f"no {file.name} in {file.parent}")], None
    results = [passed(f"{file} exists")]
    read_results, doc = read(file)
    results += read_results
    if doc is None:
        return results, None
    shape = structure(doc)
    results.append(shape)
    if not shape.ok:
        return results, None
    checked = validate(file)
    results += checked
    return results, (doc if all(r.ok for r in checked) else None)


def check_variables(settings: Settings, names: dict[str, str]) -> dict[str, str]:
    """Pipeline variables for a check's run: its own image and container names, a free host
    port, and the settings' label (so parallel runs never collide).

    Args:
        settings: the settings in force.
        names: the check's ``{"image": ..., "container": ...}``.

    Returns:
        The ``variables:`` for :func:`workshop.pipeline.run_pipeline`; ``HOST_PORT`` is the port.
    """
    checked = replace(
        settings,
        image_name=names["image"],
        container_name=names["container"],
        host_port=free_port(),
    )
    return pipeline.pipeline_variables(checked)
