"""Exercises come from their solutions, and every check can both pass and fail.

- drift: the committed exercises are exactly what the generator makes from the solutions;
- the generator strips marked regions in files and notebook code cells, and refuses bad markers;
- every check passes every criterion on its solution, and fails the untouched exercise with
  the hint the learner needs (this is what proves a check can fail);
- a learner's broken input is a FAIL with a hint, never a traceback.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from workshop import checks, cli, exercises
from workshop.checks import dockerfile, dockerfile_app
from workshop.paths import NOTEBOOKS
from workshop.settings import load

#: For each exercise: text the hint of the untouched exercise must contain.
UNTOUCHED_HINTS = {
    "01-greeting": "must come from the GREETING variable",
    "02-dockerfile": "no RUN pip-installs the pinned list",
    "03-deploy-job": "no job runs after build_stage",
    "04-restore-image": "read as a flat filesystem",
    "05-socket-group": "may not open the socket",
    "06-free-port": "find who publishes it",
    "07-cleanup": "hides every error",
    "08-smoke-stage": "no job runs between build_stage and deploy_stage",
}
#: Exercises whose check builds or runs containers.
NEEDS_DOCKER = {
    "02-dockerfile",
    "03-deploy-job",
    "04-restore-image",
    "05-socket-group",
    "06-free-port",
    "07-cleanup",
    "08-smoke-stage",
}


def params(ids):
    return [
        pytest.param(i, marks=pytest.mark.docker) if i in NEEDS_DOCKER else pytest.param(i)
        for i in ids
    ]


def assert_nothing_left(request) -> None:
    """After a check that used Docker: none of its ``*-check-*`` containers or images remain."""
    if not request.node.get_closest_marker("docker"):
        return
    client = request.getfixturevalue("docker_client")
    label = request.getfixturevalue("test_settings")["WORKSHOP_LABEL"]
    left = [c.name for c in client.containers.list(all=True, filters={"label": label})]
    left += [t for i in client.images.list(filters={"label": label}) for t in i.tags]
    assert not [name for name in left if "-check-" in name], left


@pytest.fixture
def conf(request):
    """Settings for a check: this test run's names and label when Docker is involved."""
    if request.node.get_closest_marker("docker"):
        return load(request.getfixturevalue("test_settings"))
    return load({})


# --- one source ---------------------------------------------------------------------------


def test_committed_exercises_equal_what_the_solutions_generate():
    problems = exercises.drift()
    assert not problems, (
        "exercises/ drifted from solutions/: "
        + ", ".join(map(str, problems))
        + "; run: python -m workshop exercises"
    )


#: Variables a chapter's settings cell exports: a plain terminal does not have them.
NOTEBOOK_ONLY = ("IMAGE_NAME", "CONTAINER_NAME", "HOST_PORT", "APP_PORT", "WORKSHOP_LABEL")


def learner_readmes() -> dict[str, str]:
    """The exercises' READMEs as generated, and exercises/README.md: {name: text}."""
    texts = {rel: text for rel, text in exercises.render().items() if rel.endswith("README.md")}
    texts["README.md"] = (exercises.EXERCISES / "README.md").read_text(encoding="utf-8")
    return texts


def by_hand_commands() -> list[tuple[str, str]]:
    """(README, line) for every command line in the READMEs' ``bash`` blocks."""
    return [
        (name, line)
        for name, text in learner_readmes().items()
        for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL)
        for line in block.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_by_hand_commands_work_in_a_plain_terminal():
    commands = by_hand_commands()
    assert commands
    for name, line in commands:
        for var in NOTEBOOK_ONLY:
            bare = re.search(rf"\$({var}\b|{{{var}}})", line)
            assert not bare or re.search(rf"(^|\s){var}=", line), (
                f"{name}: ${var} is unset in a terminal; give a default (${{{var}:-...}}) or "
                f"set it on the line: {line}"
            )
        # python, flask and pip are the workshop's only inside .venv: name it, or use ./course.
        bare_tool = re.search(r"(^|[\s;(|&])(python3?|flask|pip|pytest)\s", line)
        assert not bare_tool, f"{name}: {bare_tool.group(2)} outside .venv: {line}"


def test_readmes_that_mention_the_venv_say_how_to_use_it():
    for name, text in learner_readmes().items():
        if ".venv" in text:
            assert "source .venv/bin/activate" in text and ".venv/bin/" in text, name


def test_the_exercise_list_names_the_chapters_it_covers():
    text = (exercises.EXERCISES / "README.md").read_text(encoding="utf-8")
    covered = sorted({i[:2] for i in checks.exercise_ids()})
    chapters = sorted(p.name[:2] for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    assert "One exercise per chapter" not in text
    assert f"for each of chapters {covered[0]}–{covered[-1]}" in text
    for chapter in sorted(set(chapters) - set(covered)):
        assert f"chapter {chapter} has none" in text, chapter


def test_every_exercise_has_a_check_and_every_check_an_exercise():
    folders = {p.name for p in exercises.SOLUTIONS.iterdir() if p.is_dir()}
    assert folders == set(checks.exercise_ids())
    assert set(UNTOUCHED_HINTS) == set(checks.exercise_ids())


def test_every_exercise_has_a_readme_that_says_how_to_check_it():
    for exercise in checks.exercise_ids():
        text = (exercises.EXERCISES / exercise / "README.md").read_text(encoding="utf-8")
        assert f"check {exercise}" in text, f"{exercise}/README.md must show its check command"


def test_region_becomes_its_exercise_lines_at_the_marker_indentation():
    source = (
        "def f():\n"
        "    ### BEGIN SOLUTION\n"
        "    return 42\n"
        "    ### EXERCISE # TODO: return the answer\n"
        "    ### EXERCISE return None\n"
        "    ### END SOLUTION\n"
        "x = 1\n"
    )
    assert exercises.strip_solutions(source) == (
        "def f():\n    # TODO: return the answer\n    return None\nx = 1\n"
    )


def test_region_without_exercise_lines_leaves_a_default_todo():
    out = exercises.strip_solutions("FROM x\n### BEGIN SOLUTION\nUSER 1\n### END SOLUTION\n")
    assert out == "FROM x\n# TODO: write this part\n"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("### END SOLUTION\n", "without BEGIN"),
        ("### BEGIN SOLUTION\nx\n", "never ended"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside another"),
        ("### EXERCISE # TODO\n", "outside a solution region"),
        ("### BEGIN SOLUTION\nx\n### EXERCISE pass\n### END SOLUTION\n", "leaves no TODO"),
    ],
)
def test_bad_markers_are_refused(source, message):
    with pytest.raises(exercises.MarkerError, match=message):
        exercises.strip_solutions(source, "f")


def test_notebook_code_cells_are_stripped_and_outputs_cleared():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("### BEGIN SOLUTION stays in markdown", id="m"),
        nbformat.v4.new_code_cell(
            "%%bash\n### BEGIN SOLUTION\ndocker rm -f x\n"
            "### EXERCISE # TODO: free the port\n### END SOLUTION\necho done",
            id="c",
            execution_count=3,
            outputs=[nbformat.v4.new_output("stream", text="hi")],
        ),
    ]
    out = nbformat.reads(exercises.strip_notebook(nbformat.writes(nb)), as_version=4)
    assert out.cells[0].source == "### BEGIN SOLUTION stays in markdown"
    assert out.cells[1].source == "%%bash\n# TODO: free the port\necho done"
    assert out.cells[1].outputs == [] and out.cells[1].execution_count is None


def test_generate_writes_fixes_and_removes_stale_files(tmp_path):
    solutions, target = tmp_path / "solutions", tmp_path / "exercises"
    (solutions / "09-x").mkdir(parents=True)
    (solutions / "09-x" / "f.sh").write_text(
        "a\n### BEGIN SOLUTION\nb\n### EXERCISE # TODO: b\n### END SOLUTION\n"
    )
    (solutions / "README.md").write_text("not an exercise")
    (target / "09-x").mkdir(parents=True)
    (target / "09-x" / "stale.txt").write_text("old")
    (target / "README.md").write_text("learner's index")
    fixed = exercises.generate(solutions, target)
    assert {(d.path, d.problem) for d in fixed} == {
        ("09-x/f.sh", "missing"),
        ("09-x/stale.txt", "extra"),
    }
    assert (target / "09-x" / "f.sh").read_text() == "a\n# TODO: b\n"
    assert (target / "README.md").read_text() == "learner's index"
    assert exercises.drift(solutions, target) == []
    (target / "09-x" / "f.sh").write_text("a learner's edit\n")
    assert [str(d) for d in exercises.drift(solutions, target)] == ["changed: exercises/09-x/f.sh"]


# --- checks: solutions pass, untouched exercises fail with the hint --------------------------


@pytest.mark.parametrize("exercise", params(checks.exercise_ids()))
def test_check_passes_every_criterion_on_the_solution(exercise, conf, capsys, request):
    assert checks.check(exercise, exercises.SOLUTIONS, conf), capsys.readouterr().out
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert "PASS" in out
    assert_nothing_left(request)


@pytest.mark.parametrize("exercise", params(checks.exercise_ids()))
def test_check_fails_the_untouched_exercise_with_its_hint(exercise, conf, capsys, request):
    assert not checks.check(exercise, exercises.EXERCISES, conf)
    out = capsys.readouterr().out
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert fails, out
    assert all(" -- hint: " in line for line in fails), out
    assert any(UNTOUCHED_HINTS[exercise] in line for line in fails), out
    assert "Traceback" not in out
    assert_nothing_left(request)


def copy_exercise(exercise: str, tmp_path: Path) -> Path:
    """A learner's working copy of the solution, to break on purpose."""
    shutil.copytree(exercises.SOLUTIONS / exercise, tmp_path / exercise)
    return tmp_path / exercise


def failing_lines(exercise: str, from_dir: Path, conf) -> list[str]:
    results = checks.run(exercise, from_dir, conf)
    return [r.line() for r in results if not r.ok]


def test_missing_folder_is_a_fail_with_a_hint(tmp_path):
    lines = failing_lines("01-greeting", tmp_path, load({}))
    assert len(lines) == 1 and "--from" in lines[0]


def test_missing_file_is_a_fail_with_a_hint(tmp_path):
    folder = copy_exercise("01-greeting", tmp_path)
    (folder / "app.py").unlink()
    lines = failing_lines("01-greeting", tmp_path, load({}))
    assert len(lines) == 1 and "no app.py" in lines[0]


def test_app_with_a_syntax_error_is_a_fail_naming_the_line(tmp_path):
    folder = copy_exercise("01-greeting", tmp_path)
    text = (folder / "app.py").read_text().replace('os.getenv("GREETING"', 'os.getenv("GREETING"(')
    (folder / "app.py").write_text(text)
    lines = failing_lines("01-greeting", tmp_path, load({}))
    assert len(lines) == 1 and "SyntaxError" in lines[0] and "app.py line 14" in lines[0]


def test_app_that_raises_on_request_is_a_fail_not_a_traceback(tmp_path):
    folder = copy_exercise("01-greeting", tmp_path)
    text = (
        (folder / "app.py")
        .read_text()
        .replace('os.getenv("GREETING", "Happy birthday")', 'os.environ["GREETING"]')
    )
    (folder / "app.py").write_text(text)
    lines = failing_lines("01-greeting", tmp_path, load({}))
    assert any("KeyError" in line for line in lines), lines


def test_greeting_without_default_is_caught(tmp_path):
    folder = copy_exercise("01-greeting", tmp_path)
    text = (
        (folder / "app.py")
        .read_text()
        .replace('os.getenv("GREETING", "Happy birthday")', 'os.getenv("GREETING", "Hi")')
    )
    (folder / "app.py").write_text(text)
    lines = failing_lines("01-greeting", tmp_path, load({}))
    assert lines and all("second argument of os.getenv" in line for line in lines), lines


@pytest.mark.docker
def test_dockerfile_that_does_not_build_is_a_fail_with_the_build_error(tmp_path, test_settings):
    folder = copy_exercise("02-dockerfile", tmp_path)
    text = (folder / "Dockerfile").read_text().replace("USER ", "RUN cat /nope.txt\nUSER ")
    (folder / "Dockerfile").write_text(text)
    lines = failing_lines("02-dockerfile", tmp_path, load(test_settings))
    assert "the build stops at Step" in lines[0] and "RUN cat /nope.txt" in lines[0], lines
    assert "(exit status 1) with: cat: /nope.txt: No such file or directory" in lines[0], lines
    assert all("not checked: the image did not build" in line for line in lines[1:]), lines


def dockerfile_check(tmp_path: Path, conf, capsys) -> tuple[list[str], str]:
    """Grade a broken copy of the 02 solution: (FAIL lines, the whole printed report)."""
    assert not checks.check("02-dockerfile", tmp_path, conf)
    out = capsys.readouterr().out
    assert "Traceback" not in out and "the check could run to the end" not in out, out
    total = len(dockerfile_app.CRITERIA) + 1
    assert f" of {total} criteria pass." in out, out
    return [line for line in out.splitlines() if line.startswith("FAIL")], out


@pytest.mark.docker
def test_requirements_file_typo_shows_pips_own_error(tmp_path, test_settings, capsys):
    folder = copy_exercise("02-dockerfile", tmp_path)
    text = (folder / "Dockerfile").read_text()
    (folder / "Dockerfile").write_text(text.replace("-r requirements.txt", "-r requirement.txt"))
    fails, out = dockerfile_check(tmp_path, load(test_settings), capsys)
    assert "pip-installs from 'requirement.txt'" in fails[0], out
    build = next(line for line in fails if line.startswith(f"FAIL  {dockerfile_app.BUILDS}"))
    assert (
        "ERROR: Could not open requirements file: [Errno 2] No such file or directory: "
        "'requirement.txt'" in build
    ), build
    assert "\x1b" not in out and "Removing intermediate container" not in out, out
    assert len(build) < 400, build


@pytest.mark.docker
def test_instruction_typo_is_the_first_fail_and_names_the_line(tmp_path, test_settings, capsys):
    folder = copy_exercise("02-dockerfile", tmp_path)
    text = (folder / "Dockerfile").read_text()
    (folder / "Dockerfile").write_text(text.replace("RUN pip install", "RUNN pip install"))
    line = text[: text.index("RUN pip install")].count("\n") + 1
    fails, out = dockerfile_check(tmp_path, load(test_settings), capsys)
    assert fails[0].startswith(f"FAIL  {dockerfile_app.PARSES} -- hint: line {line}: "), out
    assert "unknown instruction RUNN" in fails[0], out
    assert all("not checked: " in f for f in fails[1:]), out


@pytest.mark.docker
def test_every_run_reports_every_criterion(tmp_path, test_settings):
    conf = load(test_settings)
    expected = list(dockerfile_app.CRITERIA)
    solution = checks.run("02-dockerfile", exercises.SOLUTIONS, conf)
    assert [r.criterion for r in solution[1:]] == expected
    assert all(r.ok for r in solution)
    untouched = checks.run("02-dockerfile", exercises.EXERCISES, conf)
    assert [r.criterion for r in untouched[1:]] == expected
    missing = tmp_path / "02-dockerfile"
    missing.mkdir()
    nothing = checks.run("02-dockerfile", tmp_path, conf)
    assert [r.criterion for r in nothing[1:]] == expected
    assert all("not checked: there is no Dockerfile" in r.hint for r in nothing[1:])


@pytest.mark.docker
def test_code_copied_before_the_dependency_layer_is_caught(tmp_path, test_settings):
    folder = copy_exercise("02-dockerfile", tmp_path)
    text = (folder / "Dockerfile").read_text()
    text = text.replace("COPY app/requirements.txt .\n", "COPY app/ .\n")
    (folder / "Dockerfile").write_text(text)
    lines = failing_lines("02-dockerfile", tmp_path, load(test_settings))
    assert len(lines) == 1 and "copies the code before pip install" in lines[0], lines


@pytest.mark.docker
def test_image_that_ignores_sigterm_fails_the_stop_criterion(tmp_path, test_settings):
    folder = copy_exercise("02-dockerfile", tmp_path)
    text = (folder / "Dockerfile").read_text().replace("STOPSIGNAL SIGINT\n", "")
    (folder / "Dockerfile").write_text(text)
    lines = failing_lines("02-dockerfile", tmp_path, load(test_settings))
    assert len(lines) == 1 and "exit status 137" in lines[0] and "TODO 5" in lines[0], lines


@pytest.mark.docker
def test_runner_job_as_root_is_caught(tmp_path, test_settings):
    folder = copy_exercise("05-socket-group", tmp_path)
    text = (folder / "runner-job.sh").read_text().replace("--user 10001:10001", "--user 0:0")
    (folder / "runner-job.sh").write_text(text)
    lines = failing_lines("05-socket-group", tmp_path, load(test_settings))
    assert len(lines) == 1 and "the job ran as root" in lines[0], lines


@pytest.mark.docker
def test_runner_job_that_changes_the_socket_is_caught_and_undone(tmp_path, test_settings):
    """``chmod o+r`` grants nothing (connecting needs write) but is a change the check must see."""
    sock = checks.socket_group.socket_path()
    mode = sock.stat().st_mode
    folder = copy_exercise("05-socket-group", tmp_path)
    text = (
        (folder / "runner-job.sh")
        .read_text()
        .replace("\n# The job:", '\nchmod o+r "$SOCK"\n# The job:')
    )
    (folder / "runner-job.sh").write_text(text)
    lines = failing_lines("05-socket-group", tmp_path, load(test_settings))
    assert sock.stat().st_mode == mode
    assert len(lines) == 1 and "changed the socket" in lines[0], lines


@pytest.mark.docker
def test_redeploy_that_removes_every_workshop_container_is_caught(tmp_path, test_settings):
    folder = copy_exercise("06-free-port", tmp_path)
    text = (folder / "redeploy.sh").read_text()
    text = text.replace('--filter "publish=$HOST_PORT" ', "")
    (folder / "redeploy.sh").write_text(text)
    lines = failing_lines("06-free-port", tmp_path, load(test_settings))
    assert len(lines) == 1 and "did not hold HOST_PORT" in lines[0], lines


@pytest.mark.docker
def test_cleanup_that_fails_on_a_first_deploy_is_caught(tmp_path, test_settings):
    folder = copy_exercise("07-cleanup", tmp_path)
    text = (folder / "cleanup.sh").read_text().replace('*"No such container"*) ;;', "")
    text = text.replace('docker rm -f "$CONTAINER_NAME"', 'docker rm "$CONTAINER_NAME"')
    (folder / "cleanup.sh").write_text(text)
    lines = failing_lines("07-cleanup", tmp_path, load(test_settings))
    assert any("there is nothing to remove" in line for line in lines), lines


def test_pipeline_that_is_not_yaml_is_a_fail_naming_the_line(tmp_path):
    folder = copy_exercise("03-deploy-job", tmp_path)
    text = (folder / "gitlab-ci.yml").read_text().replace("  tags:\n", "\ttags:\n", 1)
    (folder / "gitlab-ci.yml").write_text(text)
    lines = failing_lines("03-deploy-job", tmp_path, load({}))
    assert len(lines) == 1 and "line 17" in lines[0] and "indentation" in lines[0], lines


@pytest.mark.docker
def test_smoke_test_that_cleans_up_only_on_success_is_caught(tmp_path, test_settings):
    folder = copy_exercise("08-smoke-stage", tmp_path)
    text = (folder / "gitlab-ci.yml").read_text()
    text = text.replace('| grep "Happy birthday"\n  after_script:\n', '| grep "Happy birthday"\n')
    assert "after_script" not in text.split("smoke_test:")[1].split("deploy:")[0]
    (folder / "gitlab-ci.yml").write_text(text)
    lines = failing_lines("08-smoke-stage", tmp_path, load(test_settings))
    assert len(lines) == 1 and "clean up in after_script" in lines[0], lines


def test_dockerfile_parser_joins_continuations_and_reads_copy_sources():
    parsed = dockerfile.parse(
        "# c\nFROM x\nRUN pip install \\\n  # note\n  -r requirements.txt\n"
        'COPY --chown=1:1 ["app/a.py", "app/b.py", "./"]\nENV A B\n'
    )
    assert [(i.keyword, i.line) for i in parsed] == [
        ("FROM", 2),
        ("RUN", 3),
        ("COPY", 6),
        ("ENV", 7),
    ]
    assert parsed[1].args == "pip install -r requirements.txt"
    assert dockerfile.copy_sources(parsed[2]) == ["app/a.py", "app/b.py"]


# --- command line ---------------------------------------------------------------------------


def test_cli_lists_the_exercises(capsys):
    assert cli.main(["check", "--list"]) == 0
    assert capsys.readouterr().out.split() == checks.exercise_ids()


def test_cli_exit_status_follows_the_criteria(capsys):
    assert cli.main(["check", "01-greeting", "--from", "solutions"]) == 0
    assert cli.main(["check", "01-greeting"]) == 1
    assert cli.main(["check", "99-nope"]) == 2
    assert "01-greeting" in capsys.readouterr().out


def test_cli_exercises_check_reports_sync(capsys):
    assert cli.main(["exercises", "--check"]) == 0
    assert "in sync" in capsys.readouterr().out


def test_the_one_line_call_works_inside_a_notebook(tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            'from workshop.checks import check; check("01-greeting", "solutions")', id="a"
        ),
        nbformat.v4.new_code_cell('check("01-greeting")', id="b"),
    ]
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    first = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    second = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert "7 of 7 criteria pass" in first, first
    assert "FAIL" in second and "hint:" in second, second
    assert "Traceback" not in first + second
