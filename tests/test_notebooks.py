"""Execute every chapter end to end against the real engine, twice, in both orders.

A chapter passes when every cell ran, every ``%%bash_fails`` step printed the error it
promises, everything listed in its ``metadata.workshop.expect`` appeared in its outputs
(HTTP bodies as ``http://localhost:{host}/ -> Happy birthday Martin``, where ``{host}``
is the host port the container is published on and ``{app}`` the app's port on the host),
and it left no container or host process behind that it did not promise to leave
(``metadata.workshop.leaves``).
"""

from __future__ import annotations

import shlex
import socket

import nbformat
import pytest

from tests.conftest import keep_executed, workshop_containers
from workshop import notebooks

CHAPTERS = notebooks.course_notebooks()

RUNS = [(path, 1) for path in CHAPTERS] + [(path, 2) for path in reversed(CHAPTERS)]


def expected_failures(nb) -> list[tuple[int, str]]:
    """(cell index, expected text) of every ``%%bash_fails`` cell."""
    found = []
    for index, cell in enumerate(nb.cells):
        first = cell.source.splitlines()[0] if cell.source else ""
        if cell.cell_type == "code" and first.startswith("%%bash_fails"):
            found.append((index, shlex.split(first)[1]))
    return found


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def expectations(nb) -> list[str]:
    return nb.metadata.get("workshop", {}).get("expect", [])


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_chapter_says_what_it_must_show(path):
    nb = nbformat.read(path, as_version=4)
    assert expectations(nb), f"{path.name}: list what it must show in metadata.workshop.expect"


@pytest.mark.docker
@pytest.mark.parametrize(("path", "run"), RUNS, ids=[f"{p.stem}-run{run}" for p, run in RUNS])
def test_chapter_runs_end_to_end(
    path, run, docker_client, test_settings, tmp_path, executed_chapters
):
    result = notebooks.execute(path, out_dir=tmp_path, env=test_settings)
    # The instructor schedule plans with these measured times (workshop schedule).
    notebooks.write_timings([result])
    assert result.error is None, f"{path.name} failed:\n{result.error}"

    nb = result.notebook
    everything = "\n".join(notebooks.outputs_text(nb, i) for i in range(len(nb.cells)))
    for index, text in expected_failures(nb):
        assert text in notebooks.outputs_text(nb, index), f"cell {index} did not show {text!r}"
    ports = {"host": test_settings["WORKSHOP_HOST_PORT"], "app": test_settings["WORKSHOP_APP_PORT"]}
    for text in expectations(nb):
        assert text.format(**ports) in everything, (
            f"{path.name} never showed {text.format(**ports)!r}"
        )

    # A clone whose origin is a local path makes gitlab-ci-local warn on every run.
    assert "didn't provide valid matches" not in everything, (
        f"{path.name}: set the clone's origin to a GitLab-style URL (pipeline.CLONE_ORIGIN_URL)"
    )

    promised = set(nb.metadata.get("workshop", {}).get("leaves", []))
    left = {c.name for c in workshop_containers(docker_client)}
    assert left <= promised, f"{path.name} left containers behind: {sorted(left - promised)}"
    assert port_is_free(int(ports["app"])), f"{path.name} left a process on port {ports['app']}"
    keep_executed(result.executed, executed_chapters)
