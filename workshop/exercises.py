"""Generate the learner's exercises from their solutions, so the two never drift.

Solutions are the source. In ``solutions/NN-slug/`` every file is copied to ``exercises/NN-slug/``,
except that regions marked as solution (nbgrader style) are replaced by what the learner starts
from. The markers are comment lines, so they work in Python, a Dockerfile, YAML and shell
scripts, and in the code cells of a notebook::

    ### BEGIN SOLUTION
    greeting = os.getenv("GREETING", "Happy birthday")
    ### EXERCISE # TODO: read GREETING, with "Happy birthday" when it is unset
    ### END SOLUTION

In the exercise the whole region becomes its ``### EXERCISE`` lines with that prefix removed
(indented like the ``BEGIN`` marker). Every region must leave a ``TODO`` that states the task;
a region without ``### EXERCISE`` lines becomes ``# TODO: write this part``. In the solution
the ``### EXERCISE`` lines are plain comments, so solutions run as they are.

Notebooks (``.ipynb``) get the same treatment in their code cells, and their outputs cleared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from workshop.paths import ROOT

SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
EXERCISE = "### EXERCISE"
DEFAULT_TODO = "# TODO: write this part"
#: An exercise lives in a folder (and an optional notebook) named ``NN-slug``.
EXERCISE_NAME = re.compile(r"^\d\d-[a-z0-9-]+$")
#: Files never copied: caches a learner's run may leave behind.
IGNORED_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}


class MarkerError(ValueError):
    """A solution's markers are unbalanced, nested, or a region leaves no TODO."""


@dataclass(frozen=True)
class Drift:
    """One difference between the committed exercises and what the solutions generate.

    Attributes:
        path: the file, relative to the exercises folder (str, ``/``-separated).
        problem: ``"missing"``, ``"extra"`` or ``"changed"``.
    """

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.problem}: exercises/{self.path}"


def strip_solutions(text: str, origin: str = "<text>") -> str:
    """Replace every marked solution region of ``text`` with its exercise lines.

    Args:
        text: a file's or a code cell's source.
        origin: where ``text`` comes from, used in error messages (e.g. a path).

    Returns:
        The exercise's text (str). Text without markers comes back unchanged.

    Raises:
        MarkerError: on an END without BEGIN, a BEGIN inside a region, a region never ended,
            an EXERCISE line outside a region, or a region whose replacement has no ``TODO``.
    """
    out: list[str] = []
    region: list[str] | None = None
    indent = ""
    begin_line = 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if region is not None:
                raise MarkerError(f"{origin}:{number}: BEGIN SOLUTION inside another region")
            region, indent, begin_line = [], line[: len(line) - len(line.lstrip())], number
        elif stripped.startswith(END):
            if region is None:
                raise MarkerError(f"{origin}:{number}: END SOLUTION without BEGIN SOLUTION")
            replacement = region or [DEFAULT_TODO]
            if not any("TODO" in r for r in replacement):
                raise MarkerError(
                    f"{origin}:{begin_line}: the region leaves no TODO; add an "
                    f"'{EXERCISE} # TODO: ...' line that states the task"
                )
            newline = "\n" if line.endswith("\n") else ""
            out.extend(f"{indent}{r}\n" for r in replacement[:-1])
            out.append(f"{indent}{replacement[-1]}{newline}")
            region = None
        elif stripped.startswith(EXERCISE):
            if region is None:
                raise MarkerError(f"{origin}:{number}: {EXERCISE} line outside a solution region")
            region.append(stripped[len(EXERCISE) :].removeprefix(" ").rstrip())
        elif region is None:
            out.append(line)
    if region is not None:
        raise MarkerError(f"{origin}:{begin_line}: BEGIN SOLUTION is never ended")
    return "".join(out)


def strip_notebook(text: str, origin: str = "<notebook>") -> str:
    """Strip the solution regions of a notebook's code cells and clear its outputs.

    Args:
        text: the notebook's JSON.
        origin: where it comes from, used in error messages.

    Returns:
        The exercise notebook's JSON (str, nbformat 4, ending with a newline).

    Raises:
        MarkerError: as :func:`strip_solutions`, for any code cell.
    """
    nb = nbformat.reads(text, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, f"{origin} cell {index}")
            cell.outputs = []
            cell.execution_count = None
    return nbformat.writes(nb) + "\n"


def _sources(solutions: Path) -> list[Path]:
    """Every file of every exercise under ``solutions`` (folders and notebooks ``NN-slug``)."""
    files = []
    for entry in sorted(solutions.iterdir()):
        name = entry.stem if entry.suffix == ".ipynb" else entry.name
        if not EXERCISE_NAME.match(name):
            continue
        if entry.is_dir():
            files += [
                p
                for p in sorted(entry.rglob("*"))
                if p.is_file() and not IGNORED_PARTS & set(p.relative_to(solutions).parts)
            ]
        else:
            files.append(entry)
    return files


def render(solutions: Path = SOLUTIONS) -> dict[str, str]:
    """Compute every exercise file from the solutions, without writing anything.

    Args:
        solutions: the folder holding ``NN-slug/`` folders and ``NN-slug.ipynb`` notebooks.

    Returns:
        ``{relative path ("/"-separated): text}`` of the exercise files.

    Raises:
        MarkerError: as :func:`strip_solutions`.
    """
    rendered = {}
    for path in _sources(solutions):
        rel = path.relative_to(solutions).as_posix()
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            rendered[rel] = strip_notebook(text, rel)
        else:
            rendered[rel] = strip_solutions(text, rel)
    return rendered


def _committed(exercises: Path) -> set[str]:
    """Relative paths of the exercise files now in ``exercises`` (same selection as render)."""
    if not exercises.is_dir():
        return set()
    return {p.relative_to(exercises).as_posix() for p in _sources(exercises)}


def drift(solutions: Path = SOLUTIONS, exercises: Path = EXERCISES) -> list[Drift]:
    """Compare the exercises folder with what the solutions generate.

    Args:
        solutions: the source folder.
        exercises: the generated folder.

    Returns:
        One Drift per missing, extra or changed file, sorted by path (empty when in sync).

    Raises:
        MarkerError: as :func:`strip_solutions`.
    """
    wanted = render(solutions)
    found = _committed(exercises)
    problems = [Drift(rel, "missing") for rel in wanted if rel not in found]
    problems += [Drift(rel, "extra") for rel in found if rel not in wanted]
    for rel, text in wanted.items():
        if rel in found and (exercises / rel).read_text(encoding="utf-8") != text:
            problems.append(Drift(rel, "changed"))
    return sorted(problems, key=lambda d: d.path)


def generate(solutions: Path = SOLUTIONS, exercises: Path = EXERCISES) -> list[Drift]:
    """Write the exercises from the solutions: create, overwrite, and delete stale files.

    Only files inside exercise folders (``NN-slug/``) and ``NN-slug.ipynb`` notebooks are
    touched; ``exercises/README.md`` is left alone.

    Args:
        solutions: the source folder.
        exercises: the folder to write.

    Returns:
        The differences that were fixed (empty when it was already in sync).

    Raises:
        MarkerError: as :func:`strip_solutions`; nothing is written then.
    """
    wanted = render(solutions)
    fixed = drift(solutions, exercises)
    for item in fixed:
        target = exercises / item.path
        if item.problem == "extra":
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(wanted[item.path], encoding="utf-8")
    for folder in sorted(exercises.glob("*/**/"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return fixed
