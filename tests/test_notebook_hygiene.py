"""Notebooks are sources: committed without outputs, with proven shell steps and a settings cell."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from workshop.paths import ROOT

SOURCES = sorted(
    p for folder in ("notebooks", "exercises", "solutions") for p in (ROOT / folder).glob("*.ipynb")
)


def test_there_are_notebooks():
    assert SOURCES


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_no_shell_escapes(path):
    """``!cmd`` ignores the exit status, so a failing step would pass silently."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            bad = [line for line in cell.source.splitlines() if line.lstrip().startswith("!")]
            assert not bad, f"{path.name} cell {i}: use %%bash, not {bad[0]!r}"


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_chapter_shape(path):
    """Title ``NN — topic``, minutes in the metadata, settings cell before any shell step."""
    nb = nbformat.read(path, as_version=4)
    assert re.match(r"# \d\d — \S", nb.cells[0].source), (
        f"{path.name}: first cell must be '# NN — title'"
    )
    minutes = nb.metadata.get("workshop", {}).get("minutes", {})
    assert {"teach", "practice"} <= set(minutes), f"{path.name}: metadata.workshop.minutes missing"
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert "start()" in code[0], f"{path.name}: the first code cell must be the settings cell"


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_python_cells_keep_subprocess_output_out_of_the_terminal(path):
    """A subprocess's stdout not captured bypasses the cell: it lands in the terminal.

    The kernel's own stdout is the terminal that runs the notebook (``./course run``), so
    ``subprocess.run(["docker", "rm", "-f", name])`` printed a stray name there, between
    two chapters' lines, and nothing in the cell. Capture it or send it to DEVNULL.
    """
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.source.startswith("%%"):
            continue
        python = "\n".join(
            "" if line.lstrip().startswith("%") else line for line in cell.source.splitlines()
        )
        for node in ast.walk(ast.parse(python)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "subprocess"
                and node.func.attr in {"run", "call", "check_call", "Popen"}
            ):
                keywords = {k.arg for k in node.keywords}
                assert keywords & {"capture_output", "stdout"}, (
                    f"{path.name} cell {i} line {node.lineno}: pass capture_output=True "
                    "or stdout=subprocess.DEVNULL"
                )
