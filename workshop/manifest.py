"""The course manifest (``course.yml``): chapter order, what each chapter teaches, course lengths.

A chapter in the manifest is normally one line, its notebook's file name; its title, objectives,
key points, minutes and exercise are read from the notebook (first heading, **Objectives** list,
``## Key points`` cell, ``metadata.workshop.minutes``) and from ``exercises/NN-*/``, so each fact
is written once. :func:`load` reads and validates everything; :func:`order` is the cheap part the
run command needs (just the order).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from workshop.paths import NOTEBOOKS, ROOT

MANIFEST = ROOT / "course.yml"
EXERCISES = ROOT / "exercises"

_TITLE = re.compile(r"^#\s+(\d\d)\s+—\s+(.+?)\s*$", re.MULTILINE)


class ManifestError(ValueError):
    """The manifest is unreadable or disagrees with the notebooks; ``problems`` lists why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("course.yml: " + "; ".join(problems))


@dataclass(frozen=True)
class Chapter:
    """One chapter of the course.

    Attributes:
        number: ``"NN"``, from the notebook's file name.
        notebook: path of the source notebook.
        title: the title without the number, e.g. ``"The Flask app"``.
        objectives: what the learner will be able to do (Markdown, one item each).
        key_points: what to remember (Markdown, one item each).
        exercise: the exercise folder in the repository (``exercises/01-greeting``), or None.
        teach: minutes of teaching (talk and demonstration), from the notebook's metadata.
        practice: minutes the learners practise on their own.
    """

    number: str
    notebook: Path
    title: str
    objectives: tuple[str, ...]
    key_points: tuple[str, ...]
    exercise: str | None
    teach: int
    practice: int

    @property
    def slug(self) -> str:
        """The notebook's stem, e.g. ``"01-flask-app"`` (also the website page's name)."""
        return self.notebook.stem

    @property
    def heading(self) -> str:
        """``"NN — Title"``, as the notebook's first line shows it."""
        return f"{self.number} — {self.title}"


@dataclass(frozen=True)
class Course:
    """One course length built from the chapters.

    Attributes:
        id: the key in ``courses:``, e.g. ``"taster"``.
        title: e.g. ``"90-minute taster"``.
        minutes: minutes on the clock the session has.
        practice: False when the practice blocks are left out (a demonstration).
        chapters: chapter numbers, in course order.
    """

    id: str
    title: str
    minutes: int
    practice: bool
    chapters: tuple[str, ...]

    def planned_minutes(self, manifest: Manifest) -> int:
        """Teaching (+ practice) minutes of this course's chapters, before measured run time."""
        total = 0
        for number in self.chapters:
            chapter = manifest.chapter(number)
            total += chapter.teach + (chapter.practice if self.practice else 0)
        return total


@dataclass(frozen=True)
class Manifest:
    """The whole course: title, chapters in order, and course lengths."""

    title: str
    chapters: tuple[Chapter, ...]
    courses: dict[str, Course]

    def chapter(self, number: str) -> Chapter:
        """Return chapter ``"NN"``; raise KeyError when the manifest has no such chapter."""
        for chapter in self.chapters:
            if chapter.number == number:
                return chapter
        raise KeyError(number)


def _raw(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ManifestError([f"cannot read {path}: {error}"]) from None
    except yaml.YAMLError as error:
        raise ManifestError([f"not valid YAML: {error}"]) from None
    if not isinstance(data, dict) or not isinstance(data.get("chapters"), list):
        raise ManifestError(["needs a `chapters:` list"])
    return data


def _entry_name(entry: object) -> str:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and isinstance(entry.get("notebook"), str):
        return entry["notebook"]
    raise ManifestError([f"chapter entry {entry!r} is neither a file name nor has `notebook:`"])


def listed(path: Path = MANIFEST) -> list[str]:
    """Return the notebook file names the manifest lists, in course order.

    Raises:
        ManifestError: when the file cannot be read or has no ``chapters:`` list.
    """
    return [_entry_name(entry) for entry in _raw(path)["chapters"]]


def order(found: list[Path], path: Path = MANIFEST) -> list[Path]:
    """Put notebooks in the manifest's order.

    Args:
        found: notebook files that exist.
        path: the manifest.

    Returns:
        The listed notebooks that exist, in the manifest's order, followed by any the manifest
        does not list yet, by name (so a new chapter still runs and is tested; the manifest
        test then asks for its line).

    Raises:
        ManifestError: when the manifest cannot be read.
    """
    by_name = {p.name: p for p in found}
    names = listed(path)
    ordered = [by_name[name] for name in names if name in by_name]
    return ordered + sorted(p for p in found if p.name not in names)


def _bullets(text: str) -> tuple[str, ...]:
    """Markdown list items of ``text`` (continuation lines joined), in order."""
    items: list[str] = []
    for line in text.splitlines():
        if line.startswith("- "):
            items.append(line[2:].strip())
        elif items and line.startswith("  ") and line.strip():
            items[-1] += " " + line.strip()
        elif line.strip() and items:
            break
    return tuple(items)


def read_notebook(path: Path) -> dict:
    """Read what the manifest takes from a chapter notebook.

    Args:
        path: ``notebooks/NN-slug.ipynb``.

    Returns:
        A dict with ``number``, ``title``, ``objectives``, ``key_points``, ``teach`` and
        ``practice``; a field the notebook lacks is missing or empty.

    Raises:
        OSError: when the notebook cannot be read.
    """
    nb = nbformat.read(path, as_version=4)
    found: dict = {}
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    if markdown:
        match = _TITLE.search(markdown[0])
        if match:
            found["number"], found["title"] = match.group(1), match.group(2)
        _, sep, rest = markdown[0].partition("**Objectives**")
        found["objectives"] = _bullets(rest.lstrip("\n")) if sep else ()
    found["key_points"] = ()
    for source in markdown:
        _, sep, rest = source.partition("## Key points")
        if sep:
            found["key_points"] = _bullets(rest.lstrip("\n"))
            break
    minutes = nb.metadata.get("workshop", {}).get("minutes", {})
    for key in ("teach", "practice"):
        if isinstance(minutes.get(key), int):
            found[key] = minutes[key]
    return found


def _exercise(number: str, exercises: Path) -> str | None:
    folders = sorted(p for p in exercises.glob(f"{number}-*") if p.is_dir())
    return folders[0].relative_to(exercises.parent).as_posix() if folders else None


def _chapter(
    entry: object, notebooks: Path, exercises: Path, problems: list[str]
) -> Chapter | None:
    name = _entry_name(entry)
    overrides = entry if isinstance(entry, dict) else {}
    path = notebooks / name
    if not path.is_file():
        problems.append(f"{name}: no such notebook in {notebooks.name}/")
        return None
    try:
        found = read_notebook(path)
    except Exception as error:  # noqa: BLE001 - reported with the other problems
        problems.append(f"{name}: cannot read it: {error}")
        return None
    before = len(problems)
    number = name[:2]
    if found.get("number") != number or "title" not in found:
        problems.append(f"{name}: its first cell must start with '# {number} — Title'")
    if "title" in overrides and overrides["title"] != found.get("title"):
        problems.append(
            f"{name}: title {overrides['title']!r} disagrees with the notebook's "
            f"{found.get('title')!r}"
        )
    minutes = overrides.get("minutes", {})
    for key in ("teach", "practice"):
        if key not in found:
            problems.append(f"{name}: metadata.workshop.minutes.{key} is missing")
        elif key in minutes and minutes[key] != found[key]:
            problems.append(
                f"{name}: {key} minutes {minutes[key]} disagree with the notebook's {found[key]}"
            )
    objectives = tuple(overrides.get("objectives", found.get("objectives", ())))
    key_points = tuple(overrides.get("key_points", found.get("key_points", ())))
    if not objectives:
        problems.append(f"{name}: no objectives (a '**Objectives**' list in the first cell)")
    if not key_points:
        problems.append(f"{name}: no key points (a '## Key points' cell with a list)")
    exercise = overrides.get("exercise", _exercise(number, exercises))
    if exercise and not (exercises.parent / exercise).exists():
        problems.append(f"{name}: exercise {exercise} does not exist")
    if len(problems) > before:
        return None
    return Chapter(
        number=number,
        notebook=path,
        title=found["title"],
        objectives=objectives,
        key_points=key_points,
        exercise=exercise,
        teach=found["teach"],
        practice=found["practice"],
    )


def _courses(raw: object, chapters: dict[str, Chapter], problems: list[str]) -> dict[str, Course]:
    courses: dict[str, Course] = {}
    if not isinstance(raw, dict) or not raw:
        problems.append("needs a `courses:` mapping with at least one course length")
        return courses
    for course_id, spec in raw.items():
        if not isinstance(spec, dict):
            problems.append(f"course {course_id}: must be a mapping")
            continue
        wanted = spec.get("chapters", "all")
        numbers = tuple(chapters) if wanted == "all" else tuple(str(n) for n in wanted or ())
        unknown = [n for n in numbers if n not in chapters]
        if unknown:
            problems.append(f"course {course_id}: no chapter {', '.join(unknown)} in `chapters:`")
            continue
        minutes = spec.get("minutes")
        if not isinstance(minutes, int) or minutes <= 0:
            problems.append(f"course {course_id}: `minutes` must be a positive whole number")
            continue
        courses[str(course_id)] = Course(
            id=str(course_id),
            title=str(spec.get("title", course_id)),
            minutes=minutes,
            practice=bool(spec.get("practice", True)),
            chapters=numbers,
        )
    return courses


def load(
    path: Path = MANIFEST, notebooks: Path = NOTEBOOKS, exercises: Path = EXERCISES
) -> Manifest:
    """Read and validate the manifest against the notebooks.

    Args:
        path: the manifest file.
        notebooks: the folder of chapter notebooks.
        exercises: the folder of exercises (``NN-slug/`` per chapter).

    Returns:
        The Manifest, every chapter filled in from its notebook.

    Raises:
        ManifestError: listing every problem found: unreadable YAML, a listed notebook that does
            not exist or lacks a title, objectives, key points or minutes, a chapter listed twice,
            a course naming an unknown chapter, or a course whose teaching and practice minutes
            do not fit in its ``minutes``.
    """
    data = _raw(path)
    problems: list[str] = []
    names = [_entry_name(e) for e in data["chapters"]]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        problems.append(f"listed more than once: {', '.join(twice)}")
    chapters: dict[str, Chapter] = {}
    for entry in data["chapters"]:
        chapter = _chapter(entry, notebooks, exercises, problems)
        if chapter is not None:
            chapters.setdefault(chapter.number, chapter)
    courses = _courses(data.get("courses"), chapters, problems)
    manifest = Manifest(str(data.get("title", "")), tuple(chapters.values()), courses)
    for course in courses.values():
        planned = course.planned_minutes(manifest)
        if planned > course.minutes:
            problems.append(
                f"course {course.id}: its chapters need {planned} minutes of teaching"
                f"{' and practice' if course.practice else ''}, more than its {course.minutes}"
            )
    if not manifest.title:
        problems.append("needs a `title:`")
    if problems:
        raise ManifestError(problems)
    return manifest
