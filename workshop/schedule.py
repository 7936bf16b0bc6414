"""The instructor's schedule: the manifest's teaching and practice minutes plus measured run time.

How long the steps take to run is not guessed: ``./course run`` and the test suite's chapter
runs record each notebook's wall time and per-cell times in ``build/timings.json``
(:func:`workshop.notebooks.write_timings`). The schedule adds that time, rounded up to whole
minutes, to each chapter's teaching time, and names each chapter's slowest step so the
instructor can start it before talking over it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from workshop.manifest import Course, Manifest
from workshop.paths import BUILD

TIMINGS = BUILD / "timings.json"


@dataclass(frozen=True)
class Timing:
    """Measured execution of one notebook (seconds, floats)."""

    seconds: float
    cell_seconds: tuple[float, ...]
    ok: bool

    @property
    def slowest(self) -> tuple[int, float]:
        """``(n, seconds)`` of the slowest code cell, ``n`` counting code cells from 1."""
        if not self.cell_seconds:
            return (0, 0.0)
        index = max(range(len(self.cell_seconds)), key=self.cell_seconds.__getitem__)
        return (index + 1, self.cell_seconds[index])


@dataclass(frozen=True)
class Row:
    """One chapter in a course's schedule (minutes from the session's start).

    Attributes:
        number, title: the chapter.
        teach, practice: minutes from the manifest (practice 0 when the course has none).
        run: measured minutes to execute the steps, rounded up; None when never measured.
        start, end: minutes from the start of the session.
        slowest: ``(code cell n, seconds)`` of its slowest step, or None.
        failed: True when the measured run stopped with an error (its time is too short).
    """

    number: str
    title: str
    teach: int
    practice: int
    run: int | None
    start: int
    end: int
    slowest: tuple[int, float] | None
    failed: bool = False


def read_timings(path: Path = TIMINGS) -> dict[str, Timing]:
    """Read ``build/timings.json``.

    Args:
        path: the file written by :func:`workshop.notebooks.write_timings`.

    Returns:
        Notebook file name -> Timing; empty when the file is missing or not valid JSON (the
        course has not been run on this machine yet).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    timings = {}
    for item in data if isinstance(data, list) else []:
        try:
            timings[item["notebook"]] = Timing(
                float(item["seconds"]),
                tuple(float(s) for s in item.get("cell_seconds", [])),
                bool(item.get("ok", True)),
            )
        except (KeyError, TypeError, ValueError):
            continue
    return timings


def plan(manifest: Manifest, course: Course, timings: dict[str, Timing]) -> list[Row]:
    """Lay out a course's chapters on the clock.

    Args:
        manifest: the loaded manifest.
        course: one of ``manifest.courses``.
        timings: from :func:`read_timings`.

    Returns:
        One Row per chapter, in course order; a chapter without a measurement counts 0 run
        minutes (its ``run`` is None so the table can say so).
    """
    rows, clock = [], 0
    for number in course.chapters:
        chapter = manifest.chapter(number)
        timing = timings.get(chapter.notebook.name)
        run = math.ceil(timing.seconds / 60) if timing else None
        practice = chapter.practice if course.practice else 0
        length = chapter.teach + (run or 0) + practice
        rows.append(
            Row(
                number=number,
                title=chapter.title,
                teach=chapter.teach,
                practice=practice,
                run=run,
                start=clock,
                end=clock + length,
                slowest=timing.slowest if timing else None,
                failed=bool(timing and not timing.ok),
            )
        )
        clock += length
    return rows


def clock(minutes: int) -> str:
    """Format minutes from the start as ``H:MM`` (e.g. 95 -> ``"1:35"``)."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def markdown(manifest: Manifest, course: Course, timings: dict[str, Timing]) -> str:
    """Return a course's schedule as a Markdown table with a verdict line under it.

    Args:
        manifest: the loaded manifest.
        course: the course length to lay out.
        timings: from :func:`read_timings`.

    Returns:
        The table (str): chapter, teach, measured run, practice, from-to, slowest step; then the
        total against the course's minutes, and which chapters were never measured.
    """
    rows = plan(manifest, course, timings)
    lines = [
        f"### {course.title} ({course.minutes} minutes)",
        "",
        "| Chapter | Teach | Run (measured) | Practice | From–to | Slowest step |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        run = f"{row.run} min" if row.run is not None else "not measured"
        run += " (run failed)" if row.failed else ""
        slow = f"code cell {row.slowest[0]}: {row.slowest[1]:.0f} s" if row.slowest else "–"
        lines.append(
            f"| {row.number} — {row.title} | {row.teach} min | {run} | {row.practice} min "
            f"| {clock(row.start)}–{clock(row.end)} | {slow} |"
        )
    total = rows[-1].end if rows else 0
    verdict = "fits" if total <= course.minutes else f"is {total - course.minutes} minutes over"
    lines += ["", f"Total {total} minutes: the plan {verdict} the {course.minutes} minutes."]
    failed = [r.number for r in rows if r.failed]
    if failed:
        lines.append(
            f"The measured run of chapter {', '.join(failed)} stopped with an error, so its "
            "time is too short: fix it and run `./course run` again."
        )
    unmeasured = [r.number for r in rows if r.run is None]
    if unmeasured:
        lines.append(
            f"Not measured yet: chapter {', '.join(unmeasured)} (run `./course run` to measure; "
            "each counts 0 run minutes until then)."
        )
    return "\n".join(lines) + "\n"
