"""The committed benchmark record and README's table: the numbers README quotes are the record's."""

from __future__ import annotations

import json

import pytest

from workshop import bench, bench_record

FACTS = {
    "measured_at": "2026-11-30T02:00Z",
    "engine": "20.10.24",
    "cpus": 2,
    "kernel": "6.1.0",
    "repeat": 3,
    "skipped": [],
}


def a_run(out_dir, facts=FACTS):
    rows = bench.make_rows(
        {
            "redeploy_downtime_s": {"seed": [11.4, 11.3, 11.5], "course": [0.7, 0.71, 0.69]},
            "added_bytes": {"seed": [4.77e6], "course": [4.77e6]},
        }
    )
    bench.write_results(rows, out_dir=out_dir, facts=facts)
    return rows


def test_readme_quotes_the_committed_record():
    record = json.loads(bench_record.RECORD.read_text(encoding="utf-8"))
    block = bench_record.readme_block(bench_record.README.read_text(encoding="utf-8"))
    assert block is not None, "README.md lost its bench-results markers"
    assert block == bench_record.render_block(record), (
        "README.md's results table differs from benchmarks/results.json: "
        "run `./course workshop bench --record` (or --record-last) instead of editing it"
    )


def test_the_committed_record_meets_the_targets_it_claims():
    """Whatever the record says is met must follow from its own numbers."""
    record = json.loads(bench_record.RECORD.read_text(encoding="utf-8"))
    rows = bench.rows_from_json(record["results"])
    for row in rows:
        if row.seed is not None and row.course is not None:
            expected = bench.oriented_ratio(row.metric, row.seed, row.course)
            assert row.ratio == pytest.approx(expected)
    assert {item["metric"] for item in record["results"]} <= set(bench.METRICS)


def test_recording_writes_the_record_and_only_the_readme_block(tmp_path):
    out, record, readme = tmp_path / "bench", tmp_path / "results.json", tmp_path / "README.md"
    a_run(out)
    readme.write_text(
        f"# Title\n\nbefore\n\n{bench_record.START}\nstale numbers\n{bench_record.END}\n\nafter\n"
    )
    data = bench_record.record_last_run(out, record, readme)
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith("\nafter\n")
    assert "stale numbers" not in text
    assert "Docker engine 20.10.24" in text
    row = "| `redeploy_downtime_s` | 11.40 s (11.30 s–11.50 s) | 0.70 s (0.69 s–0.71 s) | 16.3x"
    assert row in text
    assert json.loads(record.read_text()) == data
    # Recording again gives the same text: the block is replaced, not added.
    bench_record.record_last_run(out, record, readme)
    assert readme.read_text() == text


def test_without_a_run_nothing_is_written(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"{bench_record.START}\n{bench_record.END}\n")
    with pytest.raises(bench_record.RecordError, match="no benchmark run to record"):
        bench_record.record_last_run(tmp_path / "empty", tmp_path / "results.json", readme)
    assert not (tmp_path / "results.json").exists()


def test_a_readme_without_markers_is_refused_and_left_alone(tmp_path):
    out, record, readme = tmp_path / "bench", tmp_path / "results.json", tmp_path / "README.md"
    a_run(out)
    readme.write_text("# no markers\n")
    with pytest.raises(bench_record.RecordError, match="needs the lines"):
        bench_record.record_last_run(out, record, readme)
    assert readme.read_text() == "# no markers\n"
    assert not record.exists()


def test_run_facts_describe_the_machine():
    facts = bench_record.run_facts("28.2.2", repeat=5, skipped=["pipeline", "build"])
    assert facts["engine"] == "28.2.2" and facts["repeat"] == 5
    assert facts["skipped"] == ["build", "pipeline"]
    assert facts["cpus"] >= 1 and facts["measured_at"].endswith("Z")
