"""The notebook runner: executed copies and build/timings.json."""

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


def test_executed_copy_has_one_stream_output_per_cell(tmp_path):
    """Chunked stream outputs split words and colour codes in the rendered site."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from workshop.notebooks import execute

    code = "import time\nfor i in range(3):\n    print('part', i, flush=True)\n    time.sleep(0.2)"
    nb = new_notebook(cells=[new_code_cell(code)])
    source = tmp_path / "00-probe.ipynb"
    nbformat.write(nb, source)
    result = execute(source, out_dir=tmp_path / "out")
    assert result.error is None
    outputs = result.notebook.cells[0].outputs
    assert len(outputs) == 1
    assert outputs[0].text == "part 0\npart 1\npart 2\n"
