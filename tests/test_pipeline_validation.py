"""Both pipeline files validate, and each validator rejects the broken copy it is there for.

GitLab's schema (check-jsonschema) catches misspelled keys; ``gitlab-ci-local --list``
catches what the schema cannot see: a job in an undeclared stage, a job without a script.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workshop import pipeline, settings
from workshop.paths import ROOT

FILES = [
    pipeline.PIPELINE_FILE,
    pipeline.DOCKER_EXECUTOR_FILE,
    ROOT / "notebooks" / "ci" / "hardened.gitlab-ci.yml",
]


def broken_copy(tmp_path: Path, old: str, new: str, source: Path = pipeline.PIPELINE_FILE) -> Path:
    """Write ``source`` with ``old`` replaced once by ``new``, and return the copy's path."""
    text = source.read_text()
    assert text.count(old) >= 1, f"{old!r} not in {source.name}"
    path = tmp_path / "broken.gitlab-ci.yml"
    path.write_text(text.replace(old, new, 1))
    return path


def without_deploy_script(tmp_path: Path) -> Path:
    text = pipeline.PIPELINE_FILE.read_text()
    start = text.index("deploy:\n")
    path = tmp_path / "noscript.gitlab-ci.yml"
    path.write_text(text[: text.index("  script:", start)])
    return path


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_pipeline_files_pass_both_validators(path):
    schema = pipeline.validate_schema(path)
    assert schema.ok, schema.output
    jobs = pipeline.validate_jobs(path)
    assert jobs.ok, jobs.output
    assert "build_stage" in jobs.output and "deploy_stage" in jobs.output


def test_schema_rejects_a_misspelled_key(tmp_path):
    path = broken_copy(tmp_path, "  artifacts:", "  artefacts:")
    check = pipeline.validate_schema(path)
    assert not check.ok
    assert "'artefacts' was unexpected" in check.output


def test_list_rejects_a_job_in_an_undeclared_stage(tmp_path):
    path = broken_copy(tmp_path, "stage: deploy_stage", "stage: deploy")
    assert pipeline.validate_schema(path).ok  # the schema cannot know which stages exist
    check = pipeline.validate_jobs(path)
    assert not check.ok
    assert "stage:deploy not found for deploy" in check.output


def test_list_rejects_a_job_without_script(tmp_path):
    path = without_deploy_script(tmp_path)
    assert pipeline.validate_schema(path).ok  # a job without script is valid to the schema
    check = pipeline.validate_jobs(path)
    assert not check.ok
    assert "deploy must have script specified" in check.output


def test_validate_command_says_which_validator_failed(tmp_path):
    good = pipeline.PIPELINE_FILE
    bad = broken_copy(tmp_path, "stage: deploy_stage", "stage: deploy")
    done = subprocess.run(
        [sys.executable, "-m", "workshop", "validate", str(good), str(bad)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 1
    assert f"ok {good}: gitlab-ci-local --list" in done.stdout
    assert "gitlab-ci-local --list rejects it" in done.stdout
    assert "stage:deploy not found for deploy" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_validate_command_missing_file_is_a_fail_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "workshop", "validate", str(tmp_path / "nope.yml")],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 1
    assert "no such file" in done.stdout
    assert "Traceback" not in done.stderr


def test_gitlab_ci_local_is_the_pinned_release():
    assert pipeline.installed_version() == pipeline.GITLAB_CI_LOCAL_VERSION
    lock = (pipeline.TOOLS_DIR / "package-lock.json").read_text()
    assert f'"version": "{pipeline.GITLAB_CI_LOCAL_VERSION}"' in lock


def test_throwaway_clone_carries_uncommitted_edits(tmp_path):
    """The pipeline runs what the learner sees: committed files plus edits not yet committed."""
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    (repo / "kept.txt").write_text("committed\n")
    (repo / "edited.txt").write_text("old\n")
    (repo / "gone.txt").write_text("soon deleted\n")
    (repo / ".gitignore").write_text("ignored.txt\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "x")
    (repo / "edited.txt").write_text("new\n")
    (repo / "gone.txt").unlink()
    (repo / "added.txt").write_text("untracked\n")
    (repo / "ignored.txt").write_text("build product\n")

    clone = pipeline.throwaway_clone(tmp_path / "clone", source=repo)
    assert (clone / "kept.txt").read_text() == "committed\n"
    assert (clone / "edited.txt").read_text() == "new\n"
    assert (clone / "added.txt").read_text() == "untracked\n"
    assert not (clone / "gone.txt").exists()
    assert not (clone / "ignored.txt").exists()
    assert (clone / ".git").is_dir()
    # A second call starts afresh.
    (clone / "scratch.txt").write_text("left by a job\n")
    assert not (pipeline.throwaway_clone(clone, source=repo) / "scratch.txt").exists()


def test_throwaway_clone_looks_like_a_runner_checkout(tmp_path):
    """With a GitLab-style origin, gitlab-ci-local derives CI_PROJECT_* without its warning.

    A local path as origin made every run print "git remote get-url origin didn't provide
    valid matches", which learners took for an error.
    """
    clone = pipeline.throwaway_clone(tmp_path / "clone")
    (clone / "vars.gitlab-ci.yml").write_text(
        "show:\n  script:\n"
        '    - echo "project=$CI_PROJECT_PATH host=$CI_SERVER_HOST url=$CI_PROJECT_URL"\n'
    )
    result = pipeline.run_pipeline(clone, file="vars.gitlab-ci.yml", timeout=120)
    assert result.ok, result.output[-2000:]
    assert "didn't provide valid matches" not in result.output
    assert (
        "project=workshop/birthday-app host=gitlab.example.com "
        "url=https://gitlab.example.com/workshop/birthday-app"
    ) in result.logs["show"]


def test_gitlab_ci_local_in_shell_cells_prints_no_colour_codes(tmp_path, monkeypatch):
    """Jupyter's kernel exports FORCE_COLOR=1; after use_gitlab_ci_local() the output is plain."""
    for key in ("PATH", "FORCE_COLOR", "NO_COLOR"):
        monkeypatch.setenv(key, os.environ.get(key, ""))
    monkeypatch.setenv("FORCE_COLOR", "1")  # as ipykernel sets it
    clone = pipeline.throwaway_clone(tmp_path / "clone")
    pipeline.use_gitlab_ci_local()
    listed = subprocess.run(
        ["gitlab-ci-local", "--list"], cwd=clone, capture_output=True, text=True, check=True
    )
    validated = subprocess.run(
        [sys.executable, "-m", "workshop", "validate", str(clone / ".gitlab-ci.yml")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "deploy_stage" in listed.stdout
    assert "ok " in validated.stdout
    assert "\x1b[" not in listed.stdout + listed.stderr + validated.stdout


def test_runs_with_different_settings_get_their_own_clone():
    """Two ``workshop pipeline``/``deploy`` runs at once must not wipe each other's clone."""
    one = pipeline.clone_folder(settings.load({"WORKSHOP_CONTAINER_NAME": "alice-app"}))
    two = pipeline.clone_folder(settings.load({"WORKSHOP_CONTAINER_NAME": "bob-app"}))
    assert one != two
    # Both stay under build/pipeline, which `workshop reset` removes.
    assert one.parent == two.parent == pipeline.ROOT / "build" / "pipeline"


@pytest.mark.parametrize("name", ["..", "../..", "a/b", "-x"])
def test_a_container_name_that_leaves_the_folder_is_refused(name):
    """The clone is wiped before each run: ``..`` must never point it at the repository."""
    with pytest.raises(ValueError, match="not a valid container name"):
        pipeline.clone_folder(settings.load({"WORKSHOP_CONTAINER_NAME": name}))


@pytest.mark.parametrize("file", ["nope.gitlab-ci.yml", "/etc/passwd"])
def test_pipeline_command_refuses_a_file_outside_the_repository(file):
    done = subprocess.run(
        [sys.executable, "-m", "workshop", "pipeline", "--file", file],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert f"FAIL {file}: no such pipeline file in the repository" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
