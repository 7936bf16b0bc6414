"""Execute the course's notebooks headlessly with nbclient and keep executed copies."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from workshop.paths import BUILD, NOTEBOOKS

#: Seconds one cell may run before it counts as hung (image builds are the slowest steps).
CELL_TIMEOUT_S = 600


@dataclass
class Result:
    """One notebook's execution.

    Attributes:
        path: the source notebook.
        executed: where the executed copy was written.
        seconds: wall time of the whole notebook (float, seconds).
        cell_seconds: wall time of each code cell, in order (floats, seconds).
        error: None when every cell ran; else the error nbclient reported.
        notebook: the executed notebook, outputs included.
    """

    path: Path
    executed: Path
    seconds: float
    cell_seconds: list[float] = field(default_factory=list)
    error: str | None = None
    notebook: nbformat.NotebookNode | None = None


def course_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """Return the chapters (``NN-slug.ipynb``) in ``folder``, in course order.

    The order is the manifest's (``course.yml``, see :mod:`workshop.manifest`); chapters it does
    not list yet follow by name. Raises ``manifest.ManifestError`` when it cannot be read.
    """
    from workshop import manifest

    return manifest.order(list(folder.glob("[0-9][0-9]-*.ipynb")))


def _cell_seconds(nb: nbformat.NotebookNode) -> list[float]:

    seconds = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        timing = cell.get("metadata", {}).get("execution", {})
        start = timing.get("iopub.execute_input") or timing.get("shell.execute_reply.started")
        end = timing.get("shell.execute_reply")
        if start and end:
            delta = datetime.fromisoformat(end.replace("Z", "+00:00")) - datetime.fromisoformat(
                start.replace("Z", "+00:00")
            )
            seconds.append(delta.total_seconds())
        else:
            seconds.append(0.0)
    return seconds


def execute(
    path: Path,
    out_dir: Path = BUILD / "notebooks",
    env: dict[str, str] | None = None,
    cell_timeout: int = CELL_TIMEOUT_S,
) -> Result:
    """Run every cell of ``path`` in a fresh kernel and write the executed copy.

    The kernel starts in the notebook's folder with ``os.environ`` plus ``env``.

    Args:
        path: a notebook file.
        out_dir: folder for the executed copy (created if missing).
        env: extra environment variables for the kernel (settings overrides).
        cell_timeout: seconds one cell may run.

    Returns:
        Result; ``error`` is set instead of raising when a cell fails, and the
        executed copy then shows the failing cell's output.

    Raises:
        OSError: when the notebook cannot be read or the copy cannot be written.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=cell_timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=True,
        # One stream output per cell and name: chunked output would split words and ANSI
        # colour codes when the executed copy is rendered (site, GitHub, nbviewer).
        coalesce_streams=True,
    )
    error = None
    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    # The kernel's own messages (start-up notices, crashes) go to a log, not the learner's terminal.
    with (out_dir / f"{path.stem}.kernel.log").open("w") as kernel_log:
        try:
            client.execute(env={**os.environ, **(env or {})}, stderr=kernel_log)
        except CellExecutionError as exc:
            error = str(exc)
    seconds = time.monotonic() - started
    executed = out_dir / path.name
    nbformat.write(nb, executed)
    return Result(path, executed, seconds, _cell_seconds(nb), error, nb)


def write_timings(results: list[Result], target: Path = BUILD / "timings.json") -> Path:
    """Record each notebook's wall time and per-cell times (seconds) in a JSON list.

    Entries for notebooks that ``results`` does not cover are kept, so a partial run
    (``./course run 01 02``) updates those chapters without forgetting the others.

    Args:
        results: executions to record.
        target: the JSON file; created if missing, rewritten otherwise.

    Returns:
        ``target``.

    Raises:
        OSError: when the file cannot be written.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        kept = {entry["notebook"]: entry for entry in json.loads(target.read_text())}
    except (OSError, ValueError, TypeError, KeyError):
        kept = {}
    for r in results:
        kept[r.path.name] = {
            "notebook": r.path.name,
            "seconds": round(r.seconds, 3),
            "cell_seconds": [round(s, 3) for s in r.cell_seconds],
            "ok": r.error is None,
        }
    target.write_text(
        json.dumps(sorted(kept.values(), key=lambda e: e["notebook"]), indent=2) + "\n"
    )
    return target


def outputs_text(nb: nbformat.NotebookNode, cell_index: int) -> str:
    """Return everything cell ``cell_index`` printed (streams, results, errors) as one str."""
    parts = []
    for output in nb.cells[cell_index].get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.get("data", {}).get("text/plain", ""))
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
    return "".join(parts)
