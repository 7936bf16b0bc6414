"""Checks that grade a learner's exercise from its real outcome, one line per criterion.

In a notebook::

    from workshop.checks import check; check("02-dockerfile")

From a terminal: ``python -m workshop check 02-dockerfile`` (``--from solutions`` grades the
solution, ``--list`` prints the exercise ids). Every criterion prints ``PASS`` or ``FAIL``
with a hint that says where to look, never the answer.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from workshop import settings as settings_module
from workshop.checks import (
    cleanup,
    deploy_job,
    dockerfile_app,
    free_port,
    greeting,
    restore_image,
    smoke_stage,
    socket_group,
)
from workshop.checks.base import Result, failed
from workshop.paths import ROOT

#: Exercise id -> the module that checks it (``ID``, ``TITLE``, ``run(folder, settings)``).
EXERCISES: dict[str, ModuleType] = {
    module.ID: module
    for module in (
        greeting,
        dockerfile_app,
        deploy_job,
        restore_image,
        socket_group,
        free_port,
        cleanup,
        smoke_stage,
    )
}


def exercise_ids() -> list[str]:
    """Return the ids of every exercise that has a check, in chapter order."""
    return sorted(EXERCISES)


def resolve(from_dir: str | Path | None) -> Path:
    """Return the folder that holds the exercise folders.

    Args:
        from_dir: None for the repository's ``exercises/``; otherwise a path, read relative
            to the current folder when it exists there, else relative to the repository.

    Returns:
        The folder (Path); it may not exist (the check then reports a FAIL).
    """
    if from_dir is None:
        return ROOT / "exercises"
    path = Path(from_dir).expanduser()
    if path.is_absolute() or path.exists():
        return path
    return ROOT / path


def run(
    exercise: str,
    from_dir: str | Path | None = None,
    settings: settings_module.Settings | None = None,
) -> list[Result]:
    """Grade one exercise and return its results, printing nothing.

    Args:
        exercise: an id from :func:`exercise_ids`, e.g. ``"01-greeting"``.
        from_dir: the folder holding ``exercise/`` (see :func:`resolve`).
        settings: names, ports and label for anything the check creates; None loads them
            from the environment like the chapters do.

    Returns:
        One Result per criterion. A failure of the check itself (no engine, a bug) comes
        back as a FAIL, never as an exception.

    Raises:
        KeyError: when ``exercise`` is not a known id.
    """
    module = EXERCISES[exercise]
    conf = settings or settings_module.load()
    folder = resolve(from_dir) / exercise
    if not folder.is_dir():
        return [
            failed(
                f"the folder {folder} exists",
                f"no folder {folder}; --from names the folder that holds {exercise}/",
            )
        ]
    try:
        return module.run(folder, conf)
    except Exception as error:  # noqa: BLE001 - shown to the learner as a FAIL, not a traceback
        return [
            failed(
                "the check could run to the end",
                f"it stopped with {type(error).__name__}: {error}; "
                "run ./course workshop prepare (engine, tools, base image), then check again",
            )
        ]


def check(
    exercise: str,
    from_dir: str | Path | None = None,
    settings: settings_module.Settings | None = None,
) -> bool:
    """Grade one exercise and print a PASS or FAIL line per criterion, then a summary.

    Args:
        exercise: an exercise id, e.g. ``"02-dockerfile"``.
        from_dir: the folder holding the exercise's folder; None means ``exercises/``.
        settings: as :func:`run`.

    Returns:
        True when every criterion passed.
    """
    if exercise not in EXERCISES:
        print(f"FAIL  no exercise called {exercise!r} -- hint: one of {', '.join(exercise_ids())}")
        return False
    print(f"Checking {exercise}: {EXERCISES[exercise].TITLE}")
    results = run(exercise, from_dir, settings)
    for result in results:
        print(result.line())
    good = sum(r.ok for r in results)
    ok = good == len(results)
    print(
        f"{good} of {len(results)} criteria pass."
        + (" Well done!" if ok else " Fix the first FAIL, then check again.")
    )
    return ok
