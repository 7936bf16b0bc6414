"""The benchmark's committed record, and README.md's results table rendered from it.

``./course workshop bench --record`` measures, then copies the run's results and the facts of
the machine it ran on into :data:`RECORD` (``benchmarks/results.json``, committed) and rewrites
the table in README.md between :data:`START` and :data:`END` from that record. A test renders
the record again and compares it with README.md, so the numbers README quotes are the
benchmark's, never typed in. ``--record-last`` records the last run in ``build/bench/`` without
measuring again.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from pathlib import Path

from workshop import bench
from workshop.paths import ROOT

#: The committed record of the run README.md quotes.
RECORD = ROOT / "benchmarks" / "results.json"
#: README.md, whose block between START and END is rendered from RECORD.
README = ROOT / "README.md"
START = "<!-- bench-results:start (written by `./course workshop bench --record`; do not edit) -->"
END = "<!-- bench-results:end -->"


class RecordError(RuntimeError):
    """Nothing to record, or README.md has no place for the table; the message says which."""


def run_facts(engine_version: str, repeat: int, skipped: list[str]) -> dict:
    """What to know about a benchmark run besides its numbers.

    Args:
        engine_version: the Docker engine's version (``docker version``'s Server.Version).
        repeat: samples per metric and side.
        skipped: the metric groups left out.

    Returns:
        A JSON-ready dict: ``measured_at`` (UTC, ISO 8601, minutes), ``engine``, ``cpus``
        (``os.cpu_count()``), ``kernel`` (``platform.release()``), ``repeat``, ``skipped``.
    """
    now = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
    return {
        "measured_at": now.isoformat().replace("+00:00", "Z"),
        "engine": engine_version,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "repeat": repeat,
        "skipped": sorted(skipped),
    }


def render_text(run: dict) -> str:
    """A run as text: one line saying where and how it was measured, then its table.

    Args:
        run: a dict with ``facts`` (see :func:`run_facts`) and ``results`` (results.json's
            list of objects), as :func:`last_run` and :func:`recorded_run` return.

    Returns:
        Markdown text ending in a newline.
    """
    facts = run["facts"]
    rows = bench.rows_from_json(run["results"])
    skipped = ", ".join(facts["skipped"]) or "none"
    return (
        f"Measured {facts['measured_at']} on {facts['cpus']} cores, Linux {facts['kernel']}, "
        f"Docker engine {facts['engine']}; samples per metric and side: {facts['repeat']} "
        f"(the load test: at least {bench.LOAD_SAMPLES}); "
        f"groups skipped: {skipped}.\n\n" + bench.render_markdown(rows, bench.check_targets(rows))
    )


def render_block(run: dict) -> str:
    """README.md's results block for ``run``: :func:`render_text` between START and END."""
    return f"{START}\n{render_text(run)}{END}\n"


def last_run(out_dir: Path = bench.OUT_DIR) -> dict | None:
    """The last run in ``out_dir`` as ``{"facts": ..., "results": [...]}``; None if there is none.

    A run written before facts were recorded has none: it counts as no run.
    """
    try:
        results = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
        facts = json.loads((out_dir / "facts.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return {"facts": facts, "results": results}


def recorded_run(record: Path = RECORD) -> dict:
    """The committed record README.md quotes, as :func:`last_run` returns a run.

    Raises:
        FileNotFoundError: when the record is missing.
    """
    return json.loads(record.read_text(encoding="utf-8"))


def replace_block(text: str, block: str) -> str:
    """Return ``text`` with its results block (START to END, inclusive) replaced by ``block``.

    Raises:
        RecordError: when ``text`` lacks either marker, or has them in the wrong order.
    """
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise RecordError(f"README.md needs the lines {START!r} and {END!r}, in that order")
    return text[:start] + block + text[end + len(END) :].lstrip("\n")


def readme_block(text: str) -> str | None:
    """The results block in README text (START to END plus a newline), or None if absent."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        return None
    return text[start : end + len(END)] + "\n"


def record_last_run(
    out_dir: Path = bench.OUT_DIR, record: Path = RECORD, readme: Path = README
) -> dict:
    """Copy the last run in ``out_dir`` into ``record`` and rewrite README's table from it.

    Args:
        out_dir: where the run wrote ``results.json`` and ``facts.json``.
        record: the committed record to write.
        readme: the README to rewrite between :data:`START` and :data:`END`.

    Returns:
        The record written: ``{"facts": ..., "results": [...]}``.

    Raises:
        RecordError: when the run's files are missing (no run yet) or README lacks the markers;
            nothing is written then.
    """
    data = last_run(out_dir)
    if data is None:
        raise RecordError(
            f"no benchmark run to record in {out_dir}: run `./course workshop bench --record`"
        )
    text = replace_block(readme.read_text(encoding="utf-8"), render_block(data))
    record.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    readme.write_text(text, encoding="utf-8")
    return data
