"""The benchmark: the seed's image against the course's, measured side by side on this machine.

``python -m workshop bench`` builds both images from the same base and measures each metric
of :data:`METRICS` several times for each, then prints a table of medians with their spread
(lowest to highest) and the ratio seed/course, oriented so that a ratio above 1 always means
the course does better. It writes ``build/bench/results.json``, ``build/bench/results.md``
and, when matplotlib is installed (``pip install -e '.[bench]'``), ``build/bench/bench.png``.

This is a benchmark, not a test: the numbers depend on the machine and on whatever else runs
on it. The tests check the arithmetic and the file shapes here, never a timing.

Which image is which:

- ``seed``: ``notebooks/seed/Dockerfile`` (context ``app/``), the seed tutorial's instructions on
  the course's base; it runs Flask's development server, as ``python app.py``.
- ``course``: ``./Dockerfile`` (context ``.``). For the load test and the redeploy downtime, the
  course column is what chapter 09 recommends for production: its hardened image
  (``notebooks/hardened/Dockerfile``, gunicorn with 2 workers) and, for the redeploy, its
  deploy job's steps (the port published by a network holder that outlives the app
  containers). ``redeploy_same_steps_s`` redeploys chapter 09's image with the seed's steps,
  so the holder's share and the image's share of the gain can be told apart.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workshop.paths import BUILD, ROOT
from workshop.ports import free_port
from workshop.settings import Settings

#: Where the results go.
OUT_DIR = BUILD / "bench"
#: The base image both Dockerfiles start from.
BASE = "python:3.13-slim"
SEED, COURSE = "seed", "course"


@dataclass(frozen=True)
class Metric:
    """One measured quantity.

    Attributes:
        name: its key in results.json (``build_s``).
        unit: ``"bytes"``, ``"s"`` or ``"requests/s"``.
        lower_is_better: True for sizes and times, False for throughput.
        what: one line saying what is measured.
    """

    name: str
    unit: str
    lower_is_better: bool
    what: str


METRICS = {
    m.name: m
    for m in [
        Metric("added_bytes", "bytes", True, "bytes the image adds over its base"),
        Metric("build_s", "s", True, "cold build (docker build --no-cache; the base is present)"),
        Metric("rebuild_s", "s", True, "rebuild after a one-line edit of app.py"),
        Metric("stop_s", "s", True, "docker stop of a running container"),
        Metric(
            "redeploy_downtime_s",
            "s",
            True,
            "redeploy, from docker stop of the old container to the new one's first 200 "
            "(seed: its image, stop/rm/run; course: chapter 09's image and deploy steps)",
        ),
        Metric(
            "unanswered_s",
            "s",
            True,
            "the same redeploys: longest time with no 200 at all (old one's last to new one's "
            "first)",
        ),
        Metric(
            "redeploy_same_steps_s",
            "s",
            True,
            "redeploy with the seed's steps on both sides: what chapter 09's image buys without "
            "the network holder (the seed's samples are those of redeploy_downtime_s)",
        ),
        Metric(
            "pipeline_redeploy_s",
            "s",
            True,
            "pipeline run after a one-line edit (build + deploy jobs, gitlab-ci-local)",
        ),
        Metric(
            "requests_per_s",
            "requests/s",
            False,
            "requests/s under wrk on loopback (seed: Flask dev server; course: gunicorn x2)",
        ),
        Metric(
            "p99_latency_s",
            "s",
            True,
            "99th percentile latency under the same load (seed: dev server; course: gunicorn)",
        ),
    ]
}


@dataclass(frozen=True)
class Target:
    """A goal the benchmark checks, from the project's issue.

    Attributes:
        metric: the metric it is about.
        text: what it asks, for the table (``"redeploy downtime >= 10x shorter"``).
        ratio_at_least: met when the row's ratio is at least this (None: not a ratio goal).
        course_at_most: met when the course's median is at most this (None: no such goal).
    """

    metric: str
    text: str
    ratio_at_least: float | None = None
    course_at_most: float | None = None


TARGETS = [
    Target("redeploy_downtime_s", "redeploy downtime at least 10x shorter", ratio_at_least=10),
    Target("rebuild_s", "rebuild after a code edit at least 3x faster", ratio_at_least=3),
    Target("added_bytes", "course image adds at most 6 MB over its base", course_at_most=6e6),
    Target(
        "requests_per_s",
        "production server at least 2.5x the dev server's requests/s",
        ratio_at_least=2.5,
    ),  # fmt: skip
]


@dataclass
class Row:
    """One line of the table: a metric's medians, spreads and ratio.

    Attributes:
        metric: the metric's name.
        unit: its unit.
        seed: median of the seed's samples (None when not measured).
        course: median of the course's samples (None when not measured).
        ratio: seed/course for lower-is-better metrics, course/seed otherwise, so that
            bigger is always better for the course; None when a median is missing or 0.
        seed_range: (lowest, highest) seed sample, or None.
        course_range: (lowest, highest) course sample, or None.
        samples: how many samples each side had, ``{"seed": 3, "course": 3}``.
    """

    metric: str
    unit: str
    seed: float | None
    course: float | None
    ratio: float | None
    seed_range: tuple[float, float] | None = None
    course_range: tuple[float, float] | None = None
    samples: dict[str, int] = field(default_factory=dict)


def median_range(values: Iterable[float]) -> tuple[float, float, float] | None:
    """Return (median, lowest, highest) of ``values``, or None when there are none."""
    values = list(values)
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def oriented_ratio(metric: str, seed: float | None, course: float | None) -> float | None:
    """Return the ratio for ``metric`` oriented so that bigger is better for the course.

    Args:
        metric: a name from :data:`METRICS`.
        seed: the seed's median.
        course: the course's median.

    Returns:
        ``seed / course`` when lower is better (times, sizes), ``course / seed`` when higher
        is better (throughput); None when either is missing or the divisor is 0.

    Raises:
        KeyError: when ``metric`` is not in :data:`METRICS`.
    """
    lower = METRICS[metric].lower_is_better
    if seed is None or course is None:
        return None
    top, bottom = (seed, course) if lower else (course, seed)
    return top / bottom if bottom else None


def make_rows(samples: dict[str, dict[str, list[float]]]) -> list[Row]:
    """Summarise raw samples into table rows, in the order of :data:`METRICS`.

    Args:
        samples: metric -> {"seed": [values], "course": [values]}; metrics absent or empty
            on both sides are left out.

    Returns:
        One :class:`Row` per measured metric.
    """
    rows = []
    for name, metric in METRICS.items():
        sides = samples.get(name, {})
        if not any(sides.get(side) for side in (SEED, COURSE)):
            continue
        seed, course = median_range(sides.get(SEED, [])), median_range(sides.get(COURSE, []))
        seed_median = seed[0] if seed else None
        course_median = course[0] if course else None
        rows.append(
            Row(
                metric=name,
                unit=metric.unit,
                seed=seed_median,
                course=course_median,
                ratio=oriented_ratio(name, seed_median, course_median),
                seed_range=seed[1:] if seed else None,
                course_range=course[1:] if course else None,
                samples={side: len(sides.get(side, [])) for side in (SEED, COURSE)},
            )
        )
    return rows


@dataclass(frozen=True)
class Verdict:
    """Whether one target is met.

    Attributes:
        target: the :class:`Target`.
        met: True or False; None when its metric was not measured.
        detail: the measured value the verdict rests on (``"ratio 14.2x"``).
    """

    target: Target
    met: bool | None
    detail: str


def check_targets(rows: list[Row]) -> list[Verdict]:
    """Compare the rows with :data:`TARGETS`.

    Returns:
        One :class:`Verdict` per target, in the order of :data:`TARGETS`.
    """
    by_metric = {row.metric: row for row in rows}
    verdicts = []
    for target in TARGETS:
        row = by_metric.get(target.metric)
        if target.ratio_at_least is not None:
            value = row.ratio if row else None
            met = None if value is None else value >= target.ratio_at_least
            detail = "not measured" if value is None else f"ratio {value:.1f}x"
        else:
            value = row.course if row else None
            met = None if value is None else value <= target.course_at_most
            detail = "not measured" if value is None else f"course {fmt(value, 'bytes')}"
        verdicts.append(Verdict(target, met, detail))
    return verdicts


def fmt(value: float | None, unit: str, like: float | None = None) -> str:
    """Format a value for the table: bytes in MB, seconds with 2-3 significant figures.

    Args:
        value: the number, in ``unit``.
        unit: ``"bytes"``, ``"requests/s"`` or ``"s"``.
        like: choose milliseconds or seconds as for this value instead (the row's median), so
            that a median and its range are written in one unit.
    """
    if value is None:
        return "–"
    if unit == "bytes":
        return f"{value / 1e6:.2f} MB"
    if unit == "requests/s":
        return f"{value:.0f}/s"
    if (value if like is None else like) < 0.1:
        return f"{value * 1000:.1f} ms"
    return f"{value:.2f} s"


def _cell(median: float | None, spread: tuple[float, float] | None, unit: str) -> str:
    if median is None:
        return "–"
    if spread is None or spread[0] == spread[1]:
        return fmt(median, unit)
    low, high = fmt(spread[0], unit, like=median), fmt(spread[1], unit, like=median)
    return f"{fmt(median, unit)} ({low}–{high})"


def render_markdown(rows: list[Row], verdicts: list[Verdict] | None = None) -> str:
    """Render the rows (and the targets' verdicts) as a Markdown table.

    Each cell shows the median and, in brackets, the lowest and highest sample.

    Returns:
        Markdown text ending in a newline.
    """
    lines = [
        "| metric | seed: median (range) | course: median (range) | seed/course, bigger is better"
        " | n |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = "–" if row.ratio is None else f"{row.ratio:.1f}x"
        n = "/".join(str(row.samples.get(side, 0)) for side in (SEED, COURSE))
        lines.append(
            f"| `{row.metric}` | {_cell(row.seed, row.seed_range, row.unit)} "
            f"| {_cell(row.course, row.course_range, row.unit)} | {ratio} | {n} |"
        )
    if verdicts:
        lines += ["", "| target | measured | met |", "|---|---|---|"]
        for v in verdicts:
            met = {True: "yes", False: "**no**", None: "not measured"}[v.met]
            lines.append(f"| {v.target.text} | {v.detail} | {met} |")
    return "\n".join(lines) + "\n"


def results_json(rows: list[Row]) -> list[dict]:
    """The rows as results.json's objects: metric, unit, seed, course, ratio, and spreads."""
    out = []
    for row in rows:
        item = asdict(row)
        item["seed_range"] = list(row.seed_range) if row.seed_range else None
        item["course_range"] = list(row.course_range) if row.course_range else None
        item["lower_is_better"] = METRICS[row.metric].lower_is_better
        item["what"] = METRICS[row.metric].what
        out.append(item)
    return out


def write_results(
    rows: list[Row],
    out_dir: Path = OUT_DIR,
    samples: dict | None = None,
    facts: dict | None = None,
) -> dict[str, Path]:
    """Write results.json, results.md and (when matplotlib is there) bench.png.

    Args:
        rows: the table rows.
        out_dir: folder to write into; created if needed.
        samples: the raw samples, saved beside the summary as samples.json when given.
        facts: where and how the run was made (``workshop.bench_record.run_facts``), saved
            as facts.json when given.

    Returns:
        Kind -> path of each file written (``"json"``, ``"markdown"``, ``"samples"``,
        ``"facts"``, ``"plot"``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"json": out_dir / "results.json", "markdown": out_dir / "results.md"}
    written["json"].write_text(json.dumps(results_json(rows), indent=2) + "\n", encoding="utf-8")
    written["markdown"].write_text(render_markdown(rows, check_targets(rows)), encoding="utf-8")
    for kind, data in (("samples", samples), ("facts", facts)):
        if data is not None:
            written[kind] = out_dir / f"{kind}.json"
            written[kind].write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    plot = plot_results(rows, out_dir / "bench.png")
    if plot:
        written["plot"] = plot
    return written


def read_results(path: Path = OUT_DIR / "results.json") -> dict[str, dict] | None:
    """Read results.json back as metric -> object; None when the file does not exist."""
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return {item["metric"]: item for item in items}


def rows_from_json(items: Iterable[dict]) -> list[Row]:
    """Rebuild table rows from results.json's objects (the inverse of :func:`results_json`)."""
    rows = []
    for item in items:
        seed_range, course_range = item.get("seed_range"), item.get("course_range")
        rows.append(
            Row(
                metric=item["metric"],
                unit=item["unit"],
                seed=item["seed"],
                course=item["course"],
                ratio=item["ratio"],
                seed_range=tuple(seed_range) if seed_range else None,
                course_range=tuple(course_range) if course_range else None,
                samples=item.get("samples", {}),
            )
        )
    return rows


def plot_results(rows: list[Row], path: Path) -> Path | None:
    """Draw redeploy downtime and throughput, seed against course, as a PNG.

    Returns:
        ``path`` when drawn; None when matplotlib is missing or neither metric was measured.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    by_metric = {row.metric: row for row in rows}
    panels = [m for m in ("redeploy_downtime_s", "requests_per_s") if m in by_metric]
    if not panels:
        return None
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    titles = {
        "redeploy_downtime_s": "Redeploy downtime (s, lower is better)",
        "requests_per_s": "Requests per second (higher is better)",
    }
    labels = {
        "redeploy_downtime_s": ["seed: stop, rm, run", "chapter 09: network holder"],
        "requests_per_s": ["Flask dev server", "gunicorn, 2 workers"],
    }
    for axis, name in zip(axes[0], panels, strict=False):
        row = by_metric[name]
        values = [row.seed or 0, row.course or 0]
        spreads = [row.seed_range or (values[0],) * 2, row.course_range or (values[1],) * 2]
        errors = [
            [v - s[0] for v, s in zip(values, spreads, strict=True)],
            [s[1] - v for v, s in zip(values, spreads, strict=True)],
        ]
        axis.bar(labels[name], values, yerr=errors, capsize=6, color=["#b0b0b0", "#2a7ab0"])
        axis.set_title(titles[name], fontsize=10)
        if row.ratio:
            # Over the shorter bar, so the text never covers the taller one.
            x = 0.75 if METRICS[name].lower_is_better else 0.25
            axis.text(x, 0.92, f"{row.ratio:.1f}x better", transform=axis.transAxes, ha="center")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


# --- Measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """One side of the comparison: how to build its image and what to edit for a rebuild.

    Attributes:
        side: ``"seed"`` or ``"course"``.
        dockerfile: the Dockerfile.
        context: the build context folder.
        include: what to copy for a rebuild (relative to ``context``); None: everything.
        edit: the app's file, relative to ``context``, edited for a rebuild.
    """

    side: str
    dockerfile: Path
    context: Path
    include: list[str] | None
    edit: str


SUBJECTS = [
    Subject(SEED, ROOT / "notebooks" / "seed" / "Dockerfile", ROOT / "app", None, "app.py"),
    Subject(
        COURSE, ROOT / "Dockerfile", ROOT, ["Dockerfile", ".dockerignore", "app"], "app/app.py"
    ),
]
#: Chapter 09's image: the course's load-test side (gunicorn, 2 workers).
PRODUCTION_DOCKERFILE = ROOT / "notebooks" / "hardened" / "Dockerfile"
#: Fewest load-test samples per side, whatever ``repeat`` says: throughput varies most of all
#: the metrics on a shared two-core machine (gunicorn's two workers, wrk and Docker's port
#: proxy all want a core), and one busy moment moves a median of three.
LOAD_SAMPLES = 5
#: Metric groups that ``--skip`` accepts, and the metrics in each.
GROUPS = {
    "build": ["added_bytes", "build_s", "rebuild_s"],
    "stop": ["stop_s"],
    "redeploy": ["redeploy_downtime_s", "unanswered_s", "redeploy_same_steps_s"],
    "pipeline": ["pipeline_redeploy_s"],
    "load": ["requests_per_s", "p99_latency_s"],
}


@dataclass
class Bench:
    """One benchmark run: names, repetitions, and the samples gathered so far.

    Attributes:
        settings: the workshop's settings; the bench's names derive from them
            (``IMAGE_NAME-bench-seed``, ``CONTAINER_NAME-bench``) and carry their label.
        repeat: samples per metric and side (int, at least 1).
        load_seconds: duration of each wrk run (float, seconds).
        say: where progress lines go.
        samples: metric -> side -> values.
        created: ids of the images this run built, removed by :meth:`cleanup`.
        production_built: tags of chapter 09's image built so far in this run.
    """

    settings: Settings
    repeat: int = 3
    load_seconds: float = 3.0
    say: Callable[[str], None] = print
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    production_built: set[str] = field(default_factory=set)

    def built(self, client, tag: str) -> None:  # noqa: ANN001 - a docker.DockerClient
        """Remember the id of the image just built as ``tag``, to remove it at the end."""
        self.created.add(client.images.get(tag).id)

    def cold_build(self, dockerfile: Path, context: Path, tag: str) -> float:
        """Time a cold build, trying once more when the first attempt fails.

        A cold build downloads the app's packages, so a network hiccup can fail it; that
        failed attempt's time is not recorded.

        Raises:
            subprocess.CalledProcessError: when the second attempt fails too.
        """
        from workshop import measure

        try:
            return measure.cold_build_seconds(dockerfile, context, tag, self.settings.label)
        except subprocess.CalledProcessError as error:
            self.say(f"  build of {tag} failed, trying once more: {_last_line(error.stderr)}")
            return measure.cold_build_seconds(dockerfile, context, tag, self.settings.label)

    def image(self, side: str) -> str:
        """The bench's tag for ``side``'s image (``pyapp-bench-seed``)."""
        return f"{self.settings.image_name}-bench-{side}"

    @property
    def container(self) -> str:
        """The bench's container name."""
        return f"{self.settings.container_name}-bench"

    def add(self, metric: str, side: str, value: float) -> None:
        """Record one sample."""
        self.samples.setdefault(metric, {}).setdefault(side, []).append(value)

    def measure_builds(self, client) -> None:  # noqa: ANN001 - a docker.DockerClient
        """added_bytes, build_s (cold, --no-cache) and rebuild_s, for both sides."""
        from workshop import measure

        label = self.settings.label
        for subject in SUBJECTS:
            tag = self.image(subject.side)
            for _ in range(self.repeat):
                seconds = measure.cold_build_seconds(
                    subject.dockerfile, subject.context, tag, label
                )
                self.built(client, tag)
                self.add("build_s", subject.side, seconds)
                self.add("added_bytes", subject.side, measure.added_bytes(client, tag, BASE))
                self.say(f"  {subject.side}: cold build {seconds:.1f} s")
            for _ in range(self.repeat):
                seconds = measure.rebuild_seconds(
                    subject.dockerfile,
                    subject.context,
                    f"{tag}-rebuilt",
                    edit=subject.edit,
                    include=subject.include,
                    label=label,
                )
                self.add("rebuild_s", subject.side, seconds)
                self.say(f"  {subject.side}: rebuild after an edit {seconds:.1f} s")

    def measure_stops(self, client) -> None:  # noqa: ANN001
        """stop_s for both sides (the seed's takes Docker's 10 s grace period each time)."""
        from workshop import measure

        for side in (SEED, COURSE):
            for _ in range(self.repeat):
                stop = measure.stop_seconds(
                    client, self.image(side), self.container, label=self.settings.label
                )
                self.add("stop_s", side, stop.seconds)
                self.say(f"  {side}: docker stop {stop.seconds:.2f} s (exit {stop.exit_code})")

    def production_image(self, client) -> str:  # noqa: ANN001 - a docker.DockerClient
        """Build chapter 09's hardened image once per run (untimed) and return its tag."""
        tag = self.image("production")
        if tag not in self.production_built:
            self.cold_build(PRODUCTION_DOCKERFILE, ROOT, tag)
            self.built(client, tag)
            self.production_built.add(tag)
        return tag

    def measure_redeploys(self, client) -> None:  # noqa: ANN001
        """redeploy_downtime_s, unanswered_s and redeploy_same_steps_s, polling every 10 ms.

        Three kinds of redeploy, ``repeat`` times each: the seed's image with the seed's steps
        (stop, rm, run), which is the seed column of both downtime rows; chapter 09's image
        with chapter 09's steps (a network holder keeps the port published), the course
        column of ``redeploy_downtime_s``; and chapter 09's image with the seed's steps, the
        course column of ``redeploy_same_steps_s``.
        """
        from workshop import downtime

        runs = [
            ("seed's image, seed's steps", self.image(SEED), None, [
                ("redeploy_downtime_s", SEED), ("redeploy_same_steps_s", SEED)]),
            ("chapter 09's image and steps", self.production_image(client),
             f"{self.container}-net", [("redeploy_downtime_s", COURSE)]),
            ("chapter 09's image, seed's steps", self.production_image(client), None, [
                ("redeploy_same_steps_s", COURSE)]),
        ]  # fmt: skip
        for title, image, holder, rows in runs:
            for _ in range(self.repeat):
                result = downtime.redeploy(
                    image, self.container, free_port(), self.settings.label, interval=0.01,
                    holder=holder,
                )  # fmt: skip
                for metric, side in rows:
                    self.add(metric, side, result.new_answer_seconds)
                    if metric == "redeploy_downtime_s":
                        self.add("unanswered_s", side, result.longest_gap)
                self.say(
                    f"  {title}: new version answered after {result.new_answer_seconds:.2f} s "
                    f"(docker run returned after {result.run_returned_seconds:.2f} s; "
                    f"no answer at all for {result.longest_gap:.2f} s)"
                )

    def measure_load(self, client) -> None:  # noqa: ANN001
        """requests_per_s and p99_latency_s: the dev server (seed) against gunicorn (course).

        Each side gets ``max(repeat, LOAD_SAMPLES)`` samples of ``load_seconds``, alternating.
        """
        from workshop import load
        from workshop.http import wait_for_body

        missing = load.ensure_wrk()
        if missing:
            raise load.LoadError("wrk is missing: install Debian's wrk package (as root)")
        production = self.production_image(client)
        servers = {SEED: self.image(SEED), COURSE: production}
        labels = self.settings.labels
        containers = {}
        try:
            for side, image in servers.items():
                port = free_port()
                containers[side] = (
                    client.containers.run(
                        image,
                        name=f"{self.container}-{side}",
                        detach=True,
                        labels=labels,
                        ports={"8080/tcp": ("127.0.0.1", port)},
                    ),
                    f"http://127.0.0.1:{port}/",
                )
                wait_for_body(containers[side][1], timeout=60)
                load.run_wrk(containers[side][1], seconds=1.0)  # warm-up, not recorded
            # Alternate the two servers so a busy moment on the machine hits both alike.
            for _ in range(max(self.repeat, LOAD_SAMPLES)):
                for side, (_, url) in containers.items():
                    result = load.run_wrk(url, seconds=self.load_seconds)
                    self.add("requests_per_s", side, result.requests_per_s)
                    self.add("p99_latency_s", side, result.p99_latency_s)
                    self.say(
                        f"  {side}: {result.requests_per_s:.0f} requests/s, p99 "
                        f"{result.p99_latency_s * 1000:.1f} ms ({result.errors} errors)"
                    )
        finally:
            for container, _ in containers.values():
                container.remove(force=True)

    def measure_pipelines(self, client) -> None:  # noqa: ANN001 - a docker.DockerClient
        """pipeline_redeploy_s: the course's pipeline after a one-line edit, per Dockerfile.

        Both sides run the course's ``.gitlab-ci.yml`` (a shell runner's pipeline; the seed's
        own needs Docker-in-Docker) in a throwaway git repository: the course's is a clone of
        this one, the seed's holds the seed's layout (``app.py`` and its ``Dockerfile`` at the
        top). A first run deploys; each timed run follows a committed one-line edit.
        """
        from workshop import pipeline

        pipeline.ensure_gitlab_ci_local()
        work = OUT_DIR / "pipelines"
        for side in (SEED, COURSE):
            repo = work / side
            if side == COURSE:
                pipeline.throwaway_clone(repo)
                edit = repo / "app" / "app.py"
            else:
                _seed_repo(repo)
                edit = repo / "app.py"
            _commit_all(repo, "bench: start")
            variables = {
                "IMAGE_NAME": self.image(f"pipeline-{side}"),
                "CONTAINER_NAME": f"{self.container}-pipeline",
                "HOST_PORT": str(free_port()),
                "WORKSHOP_LABEL": self.settings.label,
            }
            try:
                for run in range(self.repeat + 1):
                    if run:
                        with edit.open("a") as handle:
                            handle.write(f"# edited at {time.time_ns()}\n")
                        _commit_all(repo, f"bench: edit {run}")
                    result = pipeline.run_pipeline(repo, variables)
                    if result.jobs.get("build") == "PASS":  # each run untags the last one
                        self.built(client, variables["IMAGE_NAME"])
                    if not result.ok:
                        raise RuntimeError(
                            f"the {side} pipeline failed; logs in {repo}/.gitlab-ci-local/output"
                        )
                    if run:  # the first run only deploys the container to be replaced
                        self.add("pipeline_redeploy_s", side, result.seconds)
                        self.say(f"  {side}: pipeline redeploy {result.seconds:.1f} s")
            finally:
                _remove_container(variables["CONTAINER_NAME"], self.settings.label)

    def cleanup(self, client) -> None:  # noqa: ANN001
        """Remove the bench's containers and images: only those with its names and label."""
        import docker.errors

        key, _, value = self.settings.label.partition("=")
        prefix_c, prefix_i = self.container, f"{self.settings.image_name}-bench-"
        for container in client.containers.list(all=True, filters={"label": self.settings.label}):
            if container.name.startswith(prefix_c):
                container.remove(force=True)
        for image in client.images.list(filters={"label": self.settings.label}):
            if any(tag.startswith(prefix_i) for tag in image.tags):
                self.created.add(image.id)
        for image_id in self.created:
            try:
                image = client.images.get(image_id)
            except docker.errors.ImageNotFound:
                continue
            if (image.labels or {}).get(key) == value:  # built by the bench, so ours to remove
                client.images.remove(image_id, force=True)


def _last_line(text: str | bytes | None) -> str:
    """The last non-empty line of a command's output (what usually names the error)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"


def _seed_repo(repo: Path) -> None:
    """Make ``repo`` a git repository laid out as the seed's: app.py and Dockerfile on top."""
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    shutil.copy2(ROOT / "app" / "app.py", repo / "app.py")
    shutil.copy2(ROOT / "notebooks" / "seed" / "Dockerfile", repo / "Dockerfile")
    shutil.copy2(ROOT / ".gitlab-ci.yml", repo / ".gitlab-ci.yml")
    # gitlab-ci-local keeps its state beside the pipeline: keep it out of the image.
    (repo / ".gitignore").write_text(".gitlab-ci-local/\n*.tar\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)


def _commit_all(repo: Path, message: str) -> None:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@localhost",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@localhost",
    )
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", message],
        check=True,
        env=env,
    )


def _remove_container(name: str, label: str) -> None:
    """Remove container ``name`` if it carries ``label`` (the pipeline's deploy made it)."""
    import docker

    from workshop.deploy import DeployError, remove_workshop_container

    client = docker.from_env()
    try:
        remove_workshop_container(client, name, label)
    except DeployError:
        pass
    finally:
        client.close()


def run_bench(
    settings: Settings,
    repeat: int = 3,
    skip: Iterable[str] = (),
    say: Callable[[str], None] = print,
) -> Bench:
    """Measure every metric group not in ``skip``, for both sides, ``repeat`` times each.

    Args:
        settings: the workshop's settings (names and label).
        repeat: samples per metric and side.
        skip: group names from :data:`GROUPS` to leave out (``"pipeline"``).
        say: where progress lines go.

    Returns:
        The :class:`Bench` with its samples; containers and images it made are removed.

    Raises:
        ValueError: for an unknown group name or ``repeat`` < 1.
        subprocess.CalledProcessError: when a build fails.
        workshop.load.LoadError: when wrk is missing or fails.
        RuntimeError: when a pipeline run fails.
    """
    import docker

    unknown = set(skip) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown group(s) {sorted(unknown)}; choose from {sorted(GROUPS)}")
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    bench = Bench(settings, repeat=repeat, say=say)
    client = docker.from_env()
    steps = [
        ("build", "Building both images (cold, then after an edit)", bench.measure_builds),
        ("stop", "Timing docker stop", bench.measure_stops),
        ("redeploy", "Redeploying, polling every 10 ms", bench.measure_redeploys),
        ("load", "Load test with wrk on 127.0.0.1", bench.measure_load),
        (
            "pipeline",
            "Pipeline redeploys with gitlab-ci-local",
            bench.measure_pipelines,
        ),
    ]
    try:
        if set(skip) & {"build"} and set(GROUPS) - set(skip) - {"build"}:
            # Later groups need the two images: build them once, untimed.
            for subject in SUBJECTS:
                bench.cold_build(subject.dockerfile, subject.context, bench.image(subject.side))
                bench.built(client, bench.image(subject.side))
        for group, title, step in steps:
            if group in skip:
                continue
            say(f"{title} ...")
            started = time.monotonic()
            step(client)
            say(f"  ({time.monotonic() - started:.0f} s)")
    finally:
        bench.cleanup(client)
        client.close()
    return bench


def tail(text: str | bytes, lines: int = 15) -> str:
    """The last ``lines`` lines of a command's output, for an error message."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])
