"""The benchmark's arithmetic and files, from given numbers: never a timing."""

from __future__ import annotations

import json

import pytest

from workshop import bench, load

WRK_OUTPUT = """Running 3s test @ http://127.0.0.1:40001/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.10ms    3.02ms  41.21ms   80.00%
    Req/Sec   565.13     60.10   670.00     70.00%
  Latency Distribution
     50%    6.50ms
     75%    8.00ms
     90%   10.20ms
     99%   18.76ms
  3381 requests in 3.00s, 560.25KB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   1107.14
Transfer/sec:    186.52KB
"""


def test_ratio_is_seed_over_course_when_lower_is_better():
    assert bench.oriented_ratio("redeploy_downtime_s", 10.0, 0.5) == pytest.approx(20.0)
    assert bench.oriented_ratio("added_bytes", 4e6, 8e6) == pytest.approx(0.5)


def test_ratio_is_course_over_seed_when_higher_is_better():
    assert bench.oriented_ratio("requests_per_s", 400.0, 1200.0) == pytest.approx(3.0)


def test_ratio_is_none_when_a_side_is_missing_or_zero():
    assert bench.oriented_ratio("stop_s", None, 1.0) is None
    assert bench.oriented_ratio("stop_s", 10.0, 0.0) is None


def test_rows_hold_medians_ranges_and_counts_in_metric_order():
    samples = {
        "requests_per_s": {"seed": [500, 400, 600], "course": [1500, 1200, 1300]},
        "stop_s": {"seed": [10.2, 10.1, 10.4], "course": [0.3, 0.2, 0.4]},
        "not_a_metric": {"seed": [1]},
    }
    rows = bench.make_rows(samples)
    assert [r.metric for r in rows] == ["stop_s", "requests_per_s"]
    stop, rate = rows
    assert stop.seed == pytest.approx(10.2) and stop.course == pytest.approx(0.3)
    assert stop.seed_range == (10.1, 10.4) and stop.course_range == (0.2, 0.4)
    assert stop.ratio == pytest.approx(34.0)
    assert rate.ratio == pytest.approx(1300 / 500)
    assert rate.samples == {"seed": 3, "course": 3}


def test_targets_are_checked_against_ratio_or_course_value():
    rows = bench.make_rows(
        {
            "redeploy_downtime_s": {"seed": [10.4], "course": [0.8]},
            "rebuild_s": {"seed": [6.0], "course": [3.0]},
            "added_bytes": {"seed": [9e6], "course": [5.5e6]},
        }
    )
    verdicts = {v.target.metric: v for v in bench.check_targets(rows)}
    assert verdicts["redeploy_downtime_s"].met is True  # 13x >= 10x
    assert verdicts["rebuild_s"].met is False  # 2x < 3x
    assert verdicts["added_bytes"].met is True  # 5.5 MB <= 6 MB
    assert verdicts["requests_per_s"].met is None  # not measured
    assert verdicts["rebuild_s"].detail == "ratio 2.0x"


def test_results_json_has_the_documented_shape(tmp_path):
    rows = bench.make_rows(
        {
            "added_bytes": {"seed": [4.8e6, 4.8e6], "course": [4.7e6, 4.7e6]},
            "p99_latency_s": {"seed": [0.03], "course": [0.01]},
        }
    )
    written = bench.write_results(rows, tmp_path, samples={"x": 1})
    items = json.loads(written["json"].read_text())
    assert [i["metric"] for i in items] == ["added_bytes", "p99_latency_s"]
    for item in items:
        assert {"metric", "unit", "seed", "course", "ratio"} <= set(item)
    assert items[0]["unit"] == "bytes" and items[1]["unit"] == "s"
    assert items[1]["ratio"] == pytest.approx(3.0)
    assert bench.read_results(written["json"])["p99_latency_s"]["course"] == pytest.approx(0.01)
    assert "| `added_bytes` |" in written["markdown"].read_text()
    again = bench.rows_from_json(items)
    assert bench.render_markdown(again) == bench.render_markdown(rows)


def test_read_results_is_none_without_a_file(tmp_path):
    assert bench.read_results(tmp_path / "results.json") is None


def test_markdown_table_shows_median_range_ratio_and_verdicts():
    rows = bench.make_rows({"rebuild_s": {"seed": [6.0, 5.0, 7.5], "course": [1.0, 1.0, 1.0]}})
    text = bench.render_markdown(rows, bench.check_targets(rows))
    assert "| `rebuild_s` | 6.00 s (5.00 s–7.50 s) | 1.00 s | 6.0x | 3/3 |" in text
    assert "| rebuild after a code edit at least 3x faster | ratio 6.0x | yes |" in text
    assert "| redeploy downtime at least 10x shorter | not measured | not measured |" in text


def test_units_are_formatted_for_people():
    assert bench.fmt(4_770_000, "bytes") == "4.77 MB"
    assert bench.fmt(0.01876, "s") == "18.8 ms"
    assert bench.fmt(1107.14, "requests/s") == "1107/s"
    assert bench.fmt(None, "s") == "–"


def test_unknown_skip_group_is_refused_before_anything_runs():
    from workshop.settings import load as load_settings

    with pytest.raises(ValueError, match="unknown group"):
        bench.run_bench(load_settings({}), skip=["nonsense"])


def test_wrk_output_is_parsed_with_units_and_errors():
    result = load.parse_wrk(WRK_OUTPUT)
    assert result.requests_per_s == pytest.approx(1107.14)
    assert result.p99_latency_s == pytest.approx(0.01876)
    assert result.requests == 3381
    assert result.errors == 2 + 1 + 4


def test_wrk_output_without_latency_is_an_error():
    without = "\n".join(line for line in WRK_OUTPUT.splitlines() if "99%" not in line)
    with pytest.raises(load.LoadError, match="--latency"):
        load.parse_wrk(without)


@pytest.mark.parametrize(
    "url", ["http://example.com/", "http://localhost:80/", "https://127.0.0.1/", "http://10.0.0.1/"]
)
def test_load_tests_only_target_loopback(url):
    with pytest.raises(ValueError, match="127.0.0.1"):
        load.run_wrk(url, seconds=1)


def test_load_test_duration_is_bounded():
    with pytest.raises(ValueError, match="1 to 30"):
        load.run_wrk("http://127.0.0.1:9/", seconds=600)


def test_plot_is_a_png_of_downtime_and_throughput(tmp_path):
    pytest.importorskip("matplotlib")
    rows = bench.make_rows(
        {
            "redeploy_downtime_s": {"seed": [11.0, 10.5], "course": [1.2, 1.0]},
            "requests_per_s": {"seed": [500], "course": [1400]},
        }
    )
    path = bench.plot_results(rows, tmp_path / "bench.png")
    assert path is not None and path.read_bytes().startswith(b"\x89PNG")


def test_no_plot_without_the_two_metrics(tmp_path):
    pytest.importorskip("matplotlib")
    rows = bench.make_rows({"stop_s": {"seed": [10.0], "course": [0.2]}})
    assert bench.plot_results(rows, tmp_path / "bench.png") is None


def test_a_median_and_its_range_share_one_unit():
    rows = bench.make_rows({"stop_s": {"seed": [0.05, 0.11, 0.22], "course": [0.01, 0.02, 0.03]}})
    text = bench.render_markdown(rows)
    assert "| 0.11 s (0.05 s–0.22 s) |" in text
    assert "| 20.0 ms (10.0 ms–30.0 ms) |" in text
