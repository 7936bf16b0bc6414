"""build/timings.json: a partial run updates its chapters and keeps the others."""

import json
from pathlib import Path

from workshop.notebooks import Result, write_timings


def result(name: str, seconds: float, error: str | None = None) -> Result:
    return Result(Path(name), Path("/dev/null"), seconds, [seconds], error)


def test_partial_run_keeps_other_chapters(tmp_path):
    target = tmp_path / "timings.json"
    write_timings([result("01-a.ipynb", 10), result("02-b.ipynb", 20)], target)
    write_timings([result("02-b.ipynb", 25, error="boom")], target)
    data = {e["notebook"]: e for e in json.loads(target.read_text())}
    assert data["01-a.ipynb"]["seconds"] == 10
    assert data["02-b.ipynb"]["seconds"] == 25
    assert data["02-b.ipynb"]["ok"] is False


def test_unreadable_file_is_replaced(tmp_path):
    target = tmp_path / "timings.json"
    target.write_text("not json")
    write_timings([result("01-a.ipynb", 1)], target)
    assert [e["notebook"] for e in json.loads(target.read_text())] == ["01-a.ipynb"]
