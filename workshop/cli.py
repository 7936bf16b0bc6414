"""The ``workshop`` command line: ``python -m workshop COMMAND``."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from workshop import engine, images, settings, system
from workshop.paths import ROOT

# soft_wrap: long lines (paths, URLs, the app's answer) are not broken at the terminal width.
console = Console(highlight=False, soft_wrap=True)


def cmd_check(args: argparse.Namespace) -> int:
    """Grade an exercise (PASS/FAIL per criterion), or list the exercise ids."""
    from workshop import checks

    if args.list:
        for exercise in checks.exercise_ids():
            print(exercise)
        return 0
    if not args.exercise:
        console.print("[red]FAIL[/red] name an exercise, e.g. 01-greeting (see --list)")
        return 2
    if args.exercise not in checks.EXERCISES:
        console.print(
            f"[red]FAIL[/red] no exercise called {args.exercise!r}; "
            f"one of: {', '.join(checks.exercise_ids())}"
        )
        return 2
    return 0 if checks.check(args.exercise, args.from_dir) else 1


def cmd_exercises(args: argparse.Namespace) -> int:
    """Regenerate exercises/ from solutions/, or only report drift with --check."""
    from workshop import exercises

    try:
        changes = exercises.drift() if args.check else exercises.generate()
    except exercises.MarkerError as error:
        console.print(f"[red]FAIL[/red] {error}")
        return 1
    for change in changes:
        console.print(f"{'drift' if args.check else 'fixed'} {change}")
    if args.check and changes:
        console.print("[red]FAIL[/red] run: ./course workshop exercises")
        return 1
    console.print(f"[green]ok[/green] exercises/ {'is' if args.check else 'now'} in sync")
    return 0


#: Commands the notebooks run, and the Debian packages that provide them.
LEARNER_TOOLS = {"curl": "curl", "ss": "iproute2", "hostname": "hostname", "docker": "docker.io"}


def cmd_engine(args: argparse.Namespace) -> int:
    """Find or start a Docker engine."""
    try:
        status = engine.ensure_engine(timeout=args.timeout)
    except engine.EngineUnavailable as error:
        console.print("[red]FAIL[/red] no Docker engine answers.")
        console.print(str(error))
        return 1
    console.print(f"[green]ok[/green] {status.detail}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    """Engine, learner tools and base images: everything the chapters need."""
    if cmd_engine(args):
        return 1
    missing = system.ensure_commands(LEARNER_TOOLS)
    if missing:
        console.print(
            f"[red]FAIL[/red] missing commands: {', '.join(missing)}; install them first."
        )
        return 1
    if getattr(args, "load", None) and cmd_bundle_load(args.load):
        return 1
    try:
        prepared = images.prepare()
    except Exception as error:  # noqa: BLE001 - shown to the learner with a hint
        console.print(f"[red]FAIL[/red] could not prepare the base images: {error}")
        console.print(
            "Hint: check that the Docker engine runs and the package mirror is reachable."
        )
        return 1
    for item in prepared:
        note = " (local stand-in, built from Debian packages)" if item.standin else ""
        console.print(f"[green]ok[/green] {item.image}: {item.how}{note}")
    if prepare_pipeline_tools():
        return 1
    return cmd_bundle_save(args.save) if getattr(args, "save", None) else 0


def cmd_bundle_load(path: str) -> int:
    """Load an offline classroom bundle (images, wheelhouse, gitlab-ci-local) into this machine."""
    from pathlib import Path

    from workshop import bundle

    try:
        with console.status(f"Loading the bundle {path} ..."):
            manifest = bundle.load(Path(path))
    except bundle.BundleError as error:
        console.print(f"[red]FAIL[/red] {error}")
        return 1
    console.print(
        f"[green]ok[/green] loaded {', '.join(manifest.images)} and {len(manifest.wheels)} wheels "
        f"from {path}; docker build now installs the app's dependencies offline"
    )
    return 0


def cmd_bundle_save(path: str) -> int:
    """Write the offline classroom bundle (after prepare made every image present)."""
    from pathlib import Path

    from workshop import bundle

    try:
        with console.status(f"Writing the bundle {path} ..."):
            manifest = bundle.save(Path(path))
    except bundle.BundleError as error:
        console.print(f"[red]FAIL[/red] {error}")
        return 1
    console.print(
        f"[green]ok[/green] wrote {path}: {', '.join(manifest.images)}, "
        f"{len(manifest.wheels)} wheels; on the offline machine run: "
        f"./course workshop prepare --load {path}"
    )
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Preflight checks: one ok / warning / FAIL line each, with the fix."""
    from workshop import doctor

    return doctor.doctor(image=args.image, print_fn=console.out)


def cmd_explain(args: argparse.Namespace) -> int:
    """Name a failure from its error text, explain it, give the fix and the chapter."""
    from workshop import explain

    if args.text in (None, "-") and sys.stdin.isatty():
        print("Paste the error text or job log, then press Ctrl-D:", file=sys.stderr)
    stdin = sys.stdin.read() if args.text in (None, "-") else None
    text = explain.read_input(args.text, stdin)
    if not text.strip():
        console.print(
            "[red]FAIL[/red] no error text given. Hint: paste it as an argument, "
            "give a log file, or pipe it in: ... 2>&1 | ./course workshop explain -"
        )
        return 2
    matches = explain.diagnose(text)
    console.out(explain.render(matches))
    return 0 if matches else 1


def cmd_reset(args: argparse.Namespace) -> int:
    """Remove what the workshop created (by its label), or prepare the start of a chapter."""
    from workshop import reset

    if args.to:
        reset.chapters_before(args.to)  # a ValueError (no such chapter) becomes a FAIL line
        if cmd_prepare(args):
            return 1
        return reset.to_chapter(args.to, print_fn=console.out)
    report = reset.reset()
    for line in report.removed:
        console.out(f"removed {line}")
    for line in report.kept:
        console.out(f"kept    {line}")
    console.out(f"ok      reset done: {len(report.removed)} removed, {len(report.kept)} kept")
    return 0


def prepare_pipeline_tools() -> int:
    """Install the pinned gitlab-ci-local (chapters 03 and 04 run the pipeline with it)."""
    from workshop import pipeline

    try:
        with console.status("Installing gitlab-ci-local ..."):
            done = pipeline.ensure_gitlab_ci_local()
    except pipeline.ToolMissing as error:
        console.print(f"[red]FAIL[/red] {error}")
        return 1
    console.print(f"[green]ok[/green] {done}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Prepare, execute every chapter headlessly, then deploy the app on the host port."""
    from workshop import doctor, notebooks

    # The doctor first: it names what blocks the course; what prepare can fix is a warning.
    if doctor.doctor(before_prepare=True, print_fn=console.out):
        return 1
    if cmd_prepare(args):
        return 1
    chosen = notebooks.course_notebooks()
    if args.chapters:
        chosen = [p for p in chosen if any(p.name.startswith(c) for c in args.chapters)]
    results = []
    for path in chosen:
        with console.status(f"Running {path.name} ..."):
            result = notebooks.execute(path)
        results.append(result)
        rel = result.executed.relative_to(ROOT)
        if result.error:
            console.print(f"[red]FAIL[/red] {path.name} ({result.seconds:.0f} s); see {rel}")
            console.print(result.error[-3000:])
            notebooks.write_timings(results)
            return 1
        console.print(f"[green]ok[/green] {path.name} ({result.seconds:.0f} s) -> {rel}")
    timings = notebooks.write_timings(results)
    console.print(f"Timings: {timings.relative_to(ROOT)}")
    return cmd_deploy(args)


def cmd_deploy(args: argparse.Namespace) -> int:
    """Deploy the app on HOST_PORT by running the real pipeline (.gitlab-ci.yml) locally."""
    from workshop import deploy

    conf = settings.load()
    with console.status(f"Pipeline: deploying {conf.container_name} on port {conf.host_port} ..."):
        try:
            body = deploy.deploy_with_pipeline(conf)
        except deploy.DeployError as error:
            console.print(f"[red]FAIL[/red] {error}")
            return 1
    console.print(
        f"[green]ok[/green] container {conf.container_name} answers at "
        f"http://localhost:{conf.host_port}/ : {body}"
    )
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Check pipeline files with GitLab's schema and with ``gitlab-ci-local --list``."""
    from pathlib import Path

    from workshop import pipeline

    files = [Path(f) for f in args.files] or [pipeline.PIPELINE_FILE]
    failed = False
    for path in files:
        if not path.is_file():
            console.print(f"[red]FAIL[/red] {path}: no such file")
            failed = True
            continue
        try:
            checks = pipeline.validate(path)
        except pipeline.ToolMissing as error:
            console.print(f"[red]FAIL[/red] {error}")
            return 1
        for validator, check in checks.items():
            if check.ok:
                console.print(f"[green]ok[/green] {path}: {validator}")
            else:
                failed = True
                console.print(f"[red]FAIL[/red] {path}: {validator} rejects it:")
                console.print(check.output, markup=False)
    return 1 if failed else 0


def cmd_pipeline(args: argparse.Namespace) -> int:
    """Run a pipeline file with gitlab-ci-local in a throwaway clone, build/pipeline/CONTAINER."""
    from pathlib import Path

    from workshop import deploy, pipeline

    conf = settings.load()
    file = Path(args.file)
    if file.is_absolute() or not (ROOT / file).is_file():
        console.print(
            f"[red]FAIL[/red] {args.file}: no such pipeline file in the repository. Hint: give "
            "a path relative to the repository's top folder, e.g. "
            "notebooks/ci/hardened.gitlab-ci.yml"
        )
        return 1
    try:
        deploy.refuse_foreign_container(conf)
        if file == Path(".gitlab-ci.yml"):
            deploy.refuse_behind_a_holder(conf)
        clone = pipeline.throwaway_clone(pipeline.clone_folder(conf))
        result = pipeline.run_pipeline(
            clone,
            pipeline.pipeline_variables(conf, args.name),
            jobs=args.job,
            file=str(file),
            echo=True,
        )
    except (pipeline.ToolMissing, RuntimeError, ValueError) as error:  # DeployError: RuntimeError
        console.print(f"[red]FAIL[/red] {error}")
        return 1
    logs = (clone / ".gitlab-ci-local" / "output").relative_to(ROOT)
    if not result.ok:
        console.print(f"[red]FAIL[/red] the pipeline failed; job logs: {logs}/")
        return 1
    console.print(f"[green]ok[/green] pipeline passed in {result.seconds:.1f} s; job logs: {logs}/")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure the seed's image against the course's and print the table (a benchmark)."""
    import subprocess

    import docker

    from workshop import bench, bench_record, load

    if args.record_last:
        return _record_bench()
    # The same set-up as the chapters' (fast when everything is there already), so that the
    # benchmark runs in a new shell, after a reboot, or straight after cloning.
    if cmd_prepare(argparse.Namespace(timeout=args.timeout, load=None, save=None)):
        return 1
    conf = settings.load()
    try:
        client = docker.from_env()
        try:
            engine = client.version().get("Version", "unknown")
        finally:
            client.close()
        result = bench.run_bench(
            conf, repeat=args.repeat, skip=args.skip or (), say=lambda line: console.print(line)
        )
    except (ValueError, RuntimeError, OSError, subprocess.CalledProcessError) as error:
        console.print(f"[red]FAIL[/red] the benchmark stopped: {error}")
        if isinstance(error, subprocess.CalledProcessError) and error.stderr:
            console.out(bench.tail(error.stderr))
        if isinstance(error, load.LoadError):
            console.print("Hint: `--skip load` measures everything else.")
        return 1
    except docker.errors.DockerException as error:
        console.print(f"[red]FAIL[/red] no Docker engine answers: {error}")
        console.print("Hint: `./course workshop engine` starts one.")
        return 1
    rows = bench.make_rows(result.samples)
    verdicts = bench.check_targets(rows)
    facts = bench_record.run_facts(engine, args.repeat, list(args.skip or ()))
    written = bench.write_results(rows, samples=result.samples, facts=facts)
    console.out(bench.render_markdown(rows, verdicts))
    for kind, path in written.items():
        console.print(f"{kind}: {path.relative_to(ROOT)}")
    if "plot" not in written:
        console.print("No plot: matplotlib is missing (`./course workshop bench` installs it).")
    return _record_bench() if args.record else 0


def _record_bench() -> int:
    """Record the last benchmark run in benchmarks/results.json and README.md's table."""
    from workshop import bench_record

    try:
        bench_record.record_last_run()
    except bench_record.RecordError as error:
        console.print(f"[red]FAIL[/red] {error}")
        return 1
    console.print(
        f"recorded: {bench_record.RECORD.relative_to(ROOT)} and the table in README.md; commit both"
    )
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    """Build the website of the executed course (build/site) from build/notebooks."""
    from pathlib import Path

    from workshop import manifest, site

    try:
        course = manifest.load()
        with console.status("Building the site ..."):
            report = site.build(course, Path(args.executed), Path(args.out))
    except (manifest.ManifestError, site.SiteError) as error:
        console.print(f"[red]FAIL[/red] {error}")
        return 1
    for label, numbers in (
        ("not run yet, shown without outputs", report.missing),
        ("run before the chapter last changed", report.stale),
        ("stopped with an error", report.failed),
    ):
        if numbers:
            console.print(f"[yellow]warning[/yellow] chapter {', '.join(numbers)}: {label}")
    if report.missing or report.stale:
        console.print("Hint: ./course run executes every chapter; then build the site again.")
    if report.broken:
        console.print("[red]FAIL[/red] broken links:\n  " + "\n  ".join(report.broken))
        return 1
    index = report.out / "index.html"
    console.print(f"[green]ok[/green] {len(report.pages)} pages; open {index}")
    console.print(f"Serve it to a room: python -m http.server --directory {report.out} 8000")
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    """Print each course length's schedule: manifest minutes plus measured run time."""
    from workshop import manifest, schedule

    try:
        course = manifest.load()
    except manifest.ManifestError as error:
        console.print(f"[red]FAIL[/red] {error}")
        return 1
    chosen = [args.course] if args.course else list(course.courses)
    unknown = [c for c in chosen if c not in course.courses]
    if unknown:
        console.print(
            f"[red]FAIL[/red] no course {unknown[0]!r}. Hint: one of {', '.join(course.courses)}"
        )
        return 2
    timings = schedule.read_timings()
    for course_id in chosen:
        console.out(schedule.markdown(course, course.courses[course_id], timings))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="workshop",
        description="The workshop's tools: ship a Flask app with Docker and GitLab CI/CD.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:  # noqa: ANN001
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        p.add_argument(
            "--timeout", type=float, default=60.0, help="seconds to wait for a daemon we start"
        )
        return p

    check = add("check", cmd_check, "Grade an exercise: PASS or FAIL with a hint per criterion.")
    check.add_argument("exercise", nargs="?", help="the exercise id, e.g. 02-dockerfile")
    check.add_argument(
        "--from",
        dest="from_dir",
        metavar="DIR",
        help="folder holding the exercise's folder (default: exercises; 'solutions' grades those)",
    )
    check.add_argument("--list", action="store_true", help="print the exercise ids, one a line")
    regen = add("exercises", cmd_exercises, "Regenerate exercises/ from solutions/.")
    regen.add_argument(
        "--check", action="store_true", help="only report drift; exit 1 when there is some"
    )
    add(
        "engine",
        cmd_engine,
        "Find a running Docker engine, or install and start one (root on Debian).",
    )
    prep = add(
        "prepare", cmd_prepare, "Engine, tools and base images (builds a local stand-in offline)."
    )
    prep.add_argument(
        "--save",
        metavar="BUNDLE",
        help="then write an offline classroom bundle to folder BUNDLE (images, wheelhouse)",
    )
    prep.add_argument(
        "--load",
        metavar="BUNDLE",
        help="first load an offline bundle, so the course (docker build too) runs without internet",
    )
    doc = add(
        "doctor", cmd_doctor, "Preflight checks: ok, warning or FAIL per check, with the fix."
    )
    doc.add_argument(
        "--image", help="base image to check (default: python:3.13-slim)", default=None
    )
    exp = add(
        "explain",
        cmd_explain,
        "Name a failure from its error text or job log: what happened, the fix, the chapter.",
    )
    exp.add_argument(
        "text", nargs="?", help="the error text, a log file, or - (default) for standard input"
    )
    res = add(
        "reset",
        cmd_reset,
        "Remove only what the workshop created (by its label); --to N: the start of chapter N.",
    )
    res.add_argument(
        "--to", metavar="CHAPTER", help="then recreate what chapters before CHAPTER leave behind"
    )
    run = add("run", cmd_run, "Prepare, execute every chapter headlessly into build/, then deploy.")
    run.add_argument(
        "chapters", nargs="*", help="chapter numbers to run, e.g. 01 02 (default: all)"
    )
    add("deploy", cmd_deploy, "Deploy the app on HOST_PORT by running .gitlab-ci.yml locally.")
    validate = add(
        "validate",
        cmd_validate,
        "Check pipeline files with GitLab's schema and gitlab-ci-local --list.",
    )
    validate.add_argument("files", nargs="*", help="pipeline files (default: .gitlab-ci.yml)")
    pipe = add(
        "pipeline",
        cmd_pipeline,
        "Run .gitlab-ci.yml with gitlab-ci-local in a throwaway clone (build/pipeline/CONTAINER).",
    )
    pipe.add_argument("--name", help="pass NAME to the container (default: the image's Martin)")
    pipe.add_argument("--job", nargs="+", help="run only these jobs, e.g. --job build")
    pipe.add_argument(
        "--file", default=".gitlab-ci.yml",
        help="the pipeline file, relative to the repository (chapter 09's: "
        "notebooks/ci/hardened.gitlab-ci.yml)",
    )  # fmt: skip
    web = add("site", cmd_site, "Build the course website (build/site) from the executed chapters.")
    web.add_argument("--executed", default="build/notebooks", help="executed copies' folder")
    web.add_argument("--out", default="build/site", help="the site's folder (rebuilt each time)")
    plan = add("schedule", cmd_schedule, "Each course length's schedule, with measured run times.")
    plan.add_argument("--course", help="one course id from course.yml (default: all)")
    ben = add("bench", cmd_bench, "Benchmark the seed's image against the course's (a table).")
    ben.add_argument("--repeat", type=int, default=3, help="samples per metric and image")
    ben.add_argument(
        "--skip", nargs="+", choices=["build", "stop", "redeploy", "load", "pipeline"],
        help="leave out these groups of metrics",
    )  # fmt: skip
    ben.add_argument(
        "--record", action="store_true",
        help="after measuring, write benchmarks/results.json and README.md's table from this run",
    )  # fmt: skip
    ben.add_argument(
        "--record-last", action="store_true",
        help="do not measure: record the last run in build/bench/ (as --record does)",
    )  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: arguments without the program name; None means ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 1 when a step failed, 2 for a usage error.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as error:  # bad settings such as HOST_PORT=abc
        console.print(f"[red]FAIL[/red] {error}")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
