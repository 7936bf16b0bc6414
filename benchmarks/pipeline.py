"""Benchmark: the pipeline's first deploy and redeploy, with the seed's image and with ours.

Runs the real ``.gitlab-ci.yml`` with gitlab-ci-local (``--shell-isolation``) in throwaway
clones, twice per image: a first deploy (no container yet) and a redeploy (the old container
must be stopped first). The seed's variant differs only in its build line, which builds
``notebooks/seed/Dockerfile``; its Python runs as PID 1 and ignores ``docker stop``'s SIGTERM,
so each redeploy waits out the 10 s grace period. Prints a table of wall times (seconds).

Run from the repository's top folder inside the workshop's virtual environment::

    .venv/bin/python benchmarks/pipeline.py [--repeat N]

It uses its own label, names and a free port, and removes its containers and images at the
end, so it never touches a deployed workshop. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import docker  # noqa: E402 - after the path is set

from workshop import pipeline  # noqa: E402
from workshop.ports import free_port  # noqa: E402
from workshop.settings import LABEL  # noqa: E402

OURS_BUILD = 'docker build --label "$WORKSHOP_LABEL" -t "$IMAGE_NAME" .'
SEED_BUILD = OURS_BUILD.replace(" .", " -f notebooks/seed/Dockerfile app")


def measure(variant: str, clone: Path, variables: dict[str, str]) -> dict[str, float]:
    """Run first deploy and redeploy; return their pipeline and deploy-job seconds."""
    times = {}
    for phase in ("first", "redeploy"):
        result = pipeline.run_pipeline(clone, variables)
        if not result.ok:
            raise SystemExit(f"{variant} {phase} deploy failed:\n{result.output[-3000:]}")
        times[f"{phase} pipeline"] = result.seconds
        times[f"{phase} deploy job"] = result.job_seconds.get("deploy", float("nan"))
    return times


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per image (median shown)")
    args = parser.parse_args(argv)

    pipeline.gitlab_ci_local_command()  # fails early with a hint when it is not installed
    run = f"bench{os.getpid()}"
    label = f"{LABEL}-{run}"
    client = docker.from_env()
    rows: dict[str, list[dict[str, float]]] = {"seed": [], "ours": []}
    try:
        with tempfile.TemporaryDirectory(prefix="workshop-bench-") as tmp:
            for variant, build_line in (("seed", SEED_BUILD), ("ours", OURS_BUILD)):
                clone = pipeline.throwaway_clone(Path(tmp) / variant)
                ci = clone / ".gitlab-ci.yml"
                ci.write_text(ci.read_text().replace(OURS_BUILD, build_line))
                for index in range(args.repeat):
                    variables = {
                        "IMAGE_NAME": f"pyapp-{run}-{variant}",
                        "CONTAINER_NAME": f"pyappcontainer-{run}-{variant}-{index}",
                        "HOST_PORT": str(free_port()),
                        "WORKSHOP_LABEL": label,
                    }
                    print(f"{variant}: run {index + 1}/{args.repeat} ...", flush=True)
                    rows[variant].append(measure(variant, clone, variables))
                    for c in client.containers.list(all=True, filters={"label": label}):
                        c.remove(force=True)
    finally:
        for c in client.containers.list(all=True, filters={"label": label}):
            c.remove(force=True)
        for image in client.images.list(filters={"label": label}):
            client.images.remove(image.id, force=True)
        client.close()

    columns = ["first pipeline", "first deploy job", "redeploy pipeline", "redeploy deploy job"]
    print(f"\nPipeline wall times in seconds (median of {args.repeat}), gitlab-ci-local 4.73.0")
    print(f"| image | {' | '.join(columns)} |")
    print(f"|---|{'---:|' * len(columns)}")
    for variant, runs in rows.items():
        cells = [f"{statistics.median(r[c] for r in runs):.1f}" for c in columns]
        print(f"| {variant} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
