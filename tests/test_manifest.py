"""The course manifest (course.yml): every chapter listed once, valid, the run order's source."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from workshop import manifest, notebooks, schedule
from workshop.paths import NOTEBOOKS

ON_DISK = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


def test_every_notebook_is_in_the_manifest_and_every_entry_is_a_notebook():
    listed = manifest.listed()
    missing = sorted(set(ON_DISK) - set(listed))
    assert not missing, f"add one line per chapter to course.yml `chapters:`: {missing}"
    extra = sorted(set(listed) - set(ON_DISK))
    assert not extra, f"course.yml lists notebooks that do not exist: {extra}"
    assert len(listed) == len(set(listed)), "course.yml lists a chapter twice"


def test_manifest_is_valid_against_the_notebooks():
    course = manifest.load()
    assert [c.notebook.name for c in course.chapters] == manifest.listed()
    for chapter in course.chapters:
        assert chapter.title and chapter.objectives and chapter.key_points, chapter.number
        assert chapter.teach > 0 and chapter.practice >= 0, chapter.number
    assert {"taster", "full-day"} <= set(course.courses)
    assert course.courses["taster"].minutes == 90


def test_the_run_command_takes_its_order_from_the_manifest():
    assert [p.name for p in notebooks.course_notebooks()] == manifest.listed()


@pytest.fixture
def course_dir(tmp_path):
    """A throwaway course: chapters 01 and 02 copied, exercises from the real repository."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    for name in ("01-flask-app.ipynb", "02-dockerfile.ipynb"):
        shutil.copy(NOTEBOOKS / name, nbs / name)
    (tmp_path / "exercises").mkdir()
    return tmp_path


def write(course_dir, text):
    path = course_dir / "course.yml"
    path.write_text(text)
    return path


def load(course_dir, text):
    path = write(course_dir, text)
    return manifest.load(path, course_dir / "notebooks", course_dir / "exercises")


GOOD = """
title: T
chapters: [02-dockerfile.ipynb, 01-flask-app.ipynb]
courses:
  short: {title: Short, minutes: 40, practice: false, chapters: ["02"]}
  all: {minutes: 100, chapters: all}
"""


def test_order_follows_the_manifest_and_new_chapters_come_last(course_dir):
    path = write(course_dir, "title: T\nchapters: [02-dockerfile.ipynb]\n")
    found = list((course_dir / "notebooks").glob("*.ipynb"))
    assert [p.name for p in manifest.order(found, path)] == [
        "02-dockerfile.ipynb",
        "01-flask-app.ipynb",
    ]


def test_chapter_facts_come_from_the_notebook(course_dir):
    course = load(course_dir, GOOD)
    assert [c.number for c in course.chapters] == ["02", "01"]
    first = course.chapter("01")
    assert first.title == "The Flask app"
    assert first.heading == "01 — The Flask app"
    assert any("curl" in o for o in first.objectives)
    assert any("0.0.0.0" in k for k in first.key_points)
    assert course.courses["short"].planned_minutes(course) == course.chapter("02").teach
    assert course.courses["all"].chapters == ("02", "01")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("title: T\nchapters: [03-nope.ipynb]\ncourses: {a: {minutes: 9}}", "no such notebook"),
        (
            "title: T\nchapters: [01-flask-app.ipynb, 01-flask-app.ipynb]\n"
            "courses: {a: {minutes: 99}}",
            "listed more than once",
        ),
        (
            "title: T\nchapters: [01-flask-app.ipynb]\ncourses: {a: {minutes: 5, chapters: all}}",
            "more than its 5",
        ),
        (
            "title: T\nchapters: [01-flask-app.ipynb]\n"
            "courses: {a: {minutes: 90, chapters: ['04']}}",
            "no chapter 04",
        ),
        (
            "title: T\nchapters: [{notebook: 01-flask-app.ipynb, title: Other}]\n"
            "courses: {a: {minutes: 90}}",
            "disagrees with the notebook's 'The Flask app'",
        ),
        (
            "title: T\nchapters: [{notebook: 01-flask-app.ipynb, minutes: {teach: 1}}]\n"
            "courses: {a: {minutes: 90}}",
            "teach minutes 1 disagree",
        ),
        ("title: T\nchapters: [01-flask-app.ipynb]\n", "needs a `courses:` mapping"),
        ("chapters: [", "not valid YAML"),
    ],
)
def test_problems_are_named(course_dir, text, problem):
    with pytest.raises(manifest.ManifestError) as raised:
        load(course_dir, text)
    assert problem in str(raised.value)


def test_schedule_adds_measured_run_time(course_dir, tmp_path):
    course = load(course_dir, GOOD)
    timings_file = tmp_path / "timings.json"
    timings_file.write_text(
        json.dumps(
            [
                {"notebook": "02-dockerfile.ipynb", "seconds": 61.0, "cell_seconds": [1, 50, 10]},
                {"notebook": "01-flask-app.ipynb", "seconds": 5.0, "ok": False},
                {"notebook": "broken"},
            ]
        )
    )
    timings = schedule.read_timings(timings_file)
    assert set(timings) == {"02-dockerfile.ipynb", "01-flask-app.ipynb"}
    rows = schedule.plan(course, course.courses["all"], timings)
    two, one = course.chapter("02"), course.chapter("01")
    assert rows[0].run == 2  # 61 s, rounded up to whole minutes
    assert rows[0].slowest == (2, 50.0)
    assert rows[0].end == two.teach + 2 + two.practice
    assert rows[1].run == 1 and rows[1].failed and not rows[0].failed
    assert rows[1].start == rows[0].end
    assert rows[1].end == rows[0].end + one.teach + 1 + one.practice
    table = schedule.markdown(course, course.courses["all"], timings)
    assert "1 min (run failed)" in table and "run of chapter 01 stopped with an error" in table
    del timings["01-flask-app.ipynb"]
    table = schedule.markdown(course, course.courses["all"], timings)
    assert "not measured" in table and "Not measured yet: chapter 01" in table
    short = schedule.markdown(course, course.courses["short"], timings)
    over = two.teach + 2 - 40
    assert (f"is {over} minutes over" in short) == (over > 0)


def test_missing_timings_mean_nothing_measured(tmp_path):
    assert schedule.read_timings(tmp_path / "none.json") == {}
    (tmp_path / "bad.json").write_text("{not json")
    assert schedule.read_timings(tmp_path / "bad.json") == {}


def test_readme_chapter_table_follows_the_manifest():
    """README.md's chapter table: one row per manifest chapter, in order, linking its notebook."""
    readme = (NOTEBOOKS.parent / "README.md").read_text()
    table = readme.split("## Chapters", 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| (\d\d) \| \[(.+?)\]\((notebooks/[^)]+)\)", table, flags=re.MULTILINE)
    expected = [
        (c.number, c.title, f"notebooks/{c.notebook.name}") for c in manifest.load().chapters
    ]
    assert rows == expected
