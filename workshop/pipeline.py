"""Run and check the course's GitLab pipeline on this machine, with no GitLab server.

``gitlab-ci-local`` (pinned in ``tools/gitlab-ci-local/``) plays the part of a local GitLab
runner with the shell executor: it reads ``.gitlab-ci.yml``, runs each job's ``script`` with
bash on this host, and passes artifacts from job to job. With ``--shell-isolation`` each job
runs in its own copy of the repository (``.gitlab-ci-local/builds/JOB``) and gets the
artifacts the way a runner hands them over, so a job that forgot to declare its artifact
fails here as it would in GitLab.

Typical use, from Python (chapter notebooks, tests, the run command)::

    from workshop import pipeline, settings
    conf = settings.load()
    clone = pipeline.throwaway_clone(Path("/tmp/run1"))
    result = pipeline.run_pipeline(clone, pipeline.pipeline_variables(conf))
    result.ok, result.jobs, result.logs["deploy"]

Validation has two layers, because each misses what the other catches:
:func:`validate_schema` checks the file against GitLab's own JSON schema (misspelled keys,
wrong types) and :func:`validate_jobs` asks ``gitlab-ci-local --list`` to load the pipeline
(a job whose stage is not in ``stages:``, a job without ``script``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from workshop import system
from workshop.paths import BUILD, ROOT
from workshop.settings import Settings

#: The pinned gitlab-ci-local release: 4.73.0 is the last one that runs on Node.js 20.
GITLAB_CI_LOCAL_VERSION = "4.73.0"
#: Where ``npm ci`` installs it (package.json and package-lock.json are committed there).
TOOLS_DIR = ROOT / "tools" / "gitlab-ci-local"
GITLAB_CI_LOCAL = TOOLS_DIR / "node_modules" / ".bin" / "gitlab-ci-local"
#: The course's pipeline file and the seed's variant for a Docker executor.
PIPELINE_FILE = ROOT / ".gitlab-ci.yml"
DOCKER_EXECUTOR_FILE = ROOT / "notebooks" / "ci" / "docker-executor.gitlab-ci.yml"
#: Commands gitlab-ci-local needs, and the Debian packages that provide them.
TOOL_COMMANDS = {"node": "nodejs", "npm": "npm", "rsync": "rsync", "git": "git"}
#: The ``origin`` a throwaway clone gets, as a runner's checkout has its GitLab project's URL.
#: gitlab-ci-local derives ``CI_PROJECT_PATH``, ``CI_SERVER_HOST`` and friends from it (it
#: never contacts the host); a local path as origin makes it print the yellow warning
#: "git remote get-url origin didn't provide valid matches". The domain is reserved for
#: examples (RFC 2606), so it can never name a real server.
CLONE_ORIGIN_URL = "https://gitlab.example.com/workshop/birthday-app.git"
#: The pipeline's own variables; they are removed from the inherited environment so that
#: only the values passed to :func:`run_pipeline` (or the file's defaults) apply.
PIPELINE_VARIABLES = ("IMAGE_NAME", "CONTAINER_NAME", "HOST_PORT", "NAME", "WORKSHOP_LABEL")

#: Lines gitlab-ci-local prints about the scratch folder not being a GitLab checkout.
_LIST_NOISE = (
    "git ",
    "fatal: not a git repository",
    "Using fallback",
    "Unable to retrieve default remote branch",
    "parsing and downloads finished",
    "json schema validated",
)

#: Docker's rule for container names; it also keeps a name from leaving its folder.
_CONTAINER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
_STATUS_LINE = re.compile(r"^\s*(PASS|FAIL|WARN)\s+(\S+)", re.MULTILINE)
_FINISHED_LINE = re.compile(r"^(\S+)\s+finished in ([\d.]+) (ms|s|min)\b", re.MULTILINE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "min": 60.0}


class ToolMissing(RuntimeError):
    """gitlab-ci-local or check-jsonschema is not installed; the message says how to get it."""


@dataclass
class PipelineResult:
    """One pipeline run by gitlab-ci-local.

    Attributes:
        returncode: gitlab-ci-local's exit status: 0 when every job passed (int).
        output: everything gitlab-ci-local printed, job lines prefixed by the job's name (str).
        jobs: job name -> ``"PASS"``, ``"FAIL"`` or ``"WARN"`` (allowed to fail), from the
            summary; a job that never started (its stage came after a failure) is absent.
        logs: job name -> that job's own log, without prefixes
            (``.gitlab-ci-local/output/JOB.log``).
        seconds: wall time of the whole run (float, seconds).
        repo_dir: the folder the pipeline ran in.
        job_seconds: job name -> that job's own duration as gitlab-ci-local reports it
            (float, seconds; artifact copying before and after the script not included).
    """

    returncode: int
    output: str
    jobs: dict[str, str] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    repo_dir: Path | None = None
    job_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when gitlab-ci-local exited 0 (every job that had to pass, passed)."""
        return self.returncode == 0


@dataclass
class Check:
    """The verdict of one validator on one file.

    Attributes:
        ok: True when the validator accepted the file.
        output: what the validator printed (str), the reason when it rejected the file.
    """

    ok: bool
    output: str


def gitlab_ci_local_command() -> list[str]:
    """Return the command that starts the pinned gitlab-ci-local.

    Raises:
        ToolMissing: when it is not installed yet (run ``python -m workshop prepare``).
    """
    if not GITLAB_CI_LOCAL.exists():
        raise ToolMissing(
            "gitlab-ci-local is not installed; run `python -m workshop prepare` "
            f"(it runs `npm ci` in {TOOLS_DIR.relative_to(ROOT)})."
        )
    return [str(GITLAB_CI_LOCAL)]


def use_gitlab_ci_local() -> str:
    """Put the pinned gitlab-ci-local first on this process's PATH (for ``%%bash`` cells).

    Also turns colour off for the commands those cells run. Jupyter's kernel exports
    ``FORCE_COLOR=1``, so gitlab-ci-local would wrap every line in ANSI colour codes that
    garble the saved outputs and split the text a check looks for. gitlab-ci-local 4.73.0
    (chalk) honours ``FORCE_COLOR=0`` but ignores ``NO_COLOR``; rich, which prints
    ``python -m workshop validate``, reads any ``FORCE_COLOR`` as "force" but honours
    ``NO_COLOR``: so both are set.

    Returns:
        Its version (str), e.g. ``"4.73.0"``.

    Raises:
        ToolMissing: when it is not installed yet (run ``python -m workshop prepare``).
    """
    folder = str(Path(gitlab_ci_local_command()[0]).parent)
    path = os.environ.get("PATH", "").split(os.pathsep)
    if path[0] != folder:
        os.environ["PATH"] = os.pathsep.join([folder, *path])
    os.environ["FORCE_COLOR"] = "0"
    os.environ["NO_COLOR"] = "1"
    return installed_version() or "unknown"


def installed_version() -> str | None:
    """Return the installed gitlab-ci-local's version (``"4.73.0"``), or None if absent."""
    if not GITLAB_CI_LOCAL.exists():
        return None
    done = subprocess.run(
        [str(GITLAB_CI_LOCAL), "--version"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or None if done.returncode == 0 else None


def ensure_gitlab_ci_local() -> str:
    """Install the pinned gitlab-ci-local into ``tools/gitlab-ci-local`` unless it is there.

    Installs Node.js, npm and rsync from Debian packages first when they are missing and
    this process may (root on Debian/Ubuntu), then runs ``npm ci`` from the committed
    lock file. A second call returns at once.

    Returns:
        A line saying what was done (str), e.g. ``"gitlab-ci-local 4.73.0: already installed"``.

    Raises:
        ToolMissing: when a needed command is missing and cannot be installed, or ``npm ci``
            fails; the message names the fix.
    """
    missing = system.ensure_commands(TOOL_COMMANDS)
    if missing:
        raise ToolMissing(
            f"gitlab-ci-local needs {', '.join(missing)}: install Node.js 20 with npm, "
            "rsync and git, then run `python -m workshop prepare` again."
        )
    if installed_version() == GITLAB_CI_LOCAL_VERSION:
        return f"gitlab-ci-local {GITLAB_CI_LOCAL_VERSION}: already installed"
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=TOOLS_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ToolMissing(
            f"`npm ci` in {TOOLS_DIR.relative_to(ROOT)} failed:\n{done.stderr[-2000:]}\n"
            "Hint: check that the npm registry is reachable and Node.js is version 20."
        )
    version = installed_version()
    if version != GITLAB_CI_LOCAL_VERSION:
        raise ToolMissing(f"npm ci installed gitlab-ci-local {version}, expected the pinned one")
    return f"gitlab-ci-local {version}: installed with npm ci"


def pipeline_variables(settings: Settings, name: str | None = None) -> dict[str, str]:
    """Map the workshop's settings to the pipeline's ``variables:``.

    Args:
        settings: names, ports and label in force (``workshop.settings.load()``).
        name: the birthday person passed to the container as ``NAME``; None leaves it
            unset, so the image's ``Martin`` applies.

    Returns:
        ``{"IMAGE_NAME": ..., "CONTAINER_NAME": ..., "HOST_PORT": ..., "WORKSHOP_LABEL": ...}``
        plus ``NAME`` when given.
    """
    variables = {
        "IMAGE_NAME": settings.image_name,
        "CONTAINER_NAME": settings.container_name,
        "HOST_PORT": str(settings.host_port),
        "WORKSHOP_LABEL": settings.label,
    }
    if name is not None:
        variables["NAME"] = name
    return variables


def clone_folder(settings: Settings) -> Path:
    """Return the throwaway clone's folder for ``workshop pipeline`` and ``deploy``.

    ``build/pipeline/CONTAINER_NAME/``: named after the container, as the chapters name
    their files in ``build/run/``, so two runs with different settings in one working
    folder never share (and wipe) each other's clone.

    Args:
        settings: names in force; only ``container_name`` is used.

    Returns:
        The folder (Path); it need not exist yet.

    Raises:
        ValueError: when the container name is not one Docker accepts (``../x`` would
            otherwise point the clone, which is wiped first, outside ``build/pipeline``).
    """
    name = settings.container_name
    if not _CONTAINER_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a valid container name. Hint: use letters, digits and _ . - "
            "(starting with a letter or digit) in WORKSHOP_CONTAINER_NAME."
        )
    return BUILD / "pipeline" / name


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()}")
    return done.stdout


def throwaway_clone(dest: Path, source: Path = ROOT) -> Path:
    """Make ``dest`` a fresh git clone of ``source`` that also carries uncommitted edits.

    A runner checks out a commit; the clone stands for that checkout, so the pipeline's
    build products (the image's tar, ``.gitlab-ci-local/``) never land in your working
    folder. Files you changed or added but did not commit yet (not ignored by git) are
    copied over the clone, so the pipeline runs what you see in your editor. Its ``origin``
    is set to :data:`CLONE_ORIGIN_URL`, a GitLab-style URL, as in a runner's checkout.

    Args:
        dest: folder to create; removed first if it exists.
        source: the repository to clone (default: this workshop).

    Returns:
        ``dest``.

    Raises:
        RuntimeError: when git fails (``source`` is not a git repository, for instance).
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _git("clone", "--quiet", "--no-hardlinks", str(source), str(dest), cwd=dest.parent)
    _git("remote", "set-url", "origin", CLONE_ORIGIN_URL, cwd=dest)
    changed = _git("ls-files", "--modified", "--others", "--exclude-standard", "-z", cwd=source)
    deleted = set(_git("ls-files", "--deleted", "-z", cwd=source).split("\0"))
    for rel in filter(None, changed.split("\0")):
        target = dest / rel
        if rel in deleted:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, target)
    return dest


def _job_environment(variables: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PIPELINE_VARIABLES}
    env["FORCE_COLOR"] = "0"  # plain text logs, whatever the terminal
    env.pop("NODE_OPTIONS", None)
    return env


def run_pipeline(
    repo_dir: Path,
    variables: Mapping[str, str] | None = None,
    jobs: Sequence[str] | None = None,
    file: str = ".gitlab-ci.yml",
    shell_isolation: bool = True,
    timeout: float = 900.0,
    echo: bool = False,
) -> PipelineResult:
    """Run the pipeline in ``repo_dir`` with gitlab-ci-local, as a local shell runner would.

    Args:
        repo_dir: a git checkout holding the pipeline file, usually from
            :func:`throwaway_clone` (the build leaves the image's tar and
            ``.gitlab-ci-local/`` there).
        variables: pipeline variables for this run (``--variable KEY=VALUE``), overriding
            the file's ``variables:``; see :func:`pipeline_variables`. None or empty uses
            the file's defaults and any ``.gitlab-ci-local-variables.yml`` in ``repo_dir``.
            The pipeline's variable names (``PIPELINE_VARIABLES``) are removed from the
            inherited environment, so e.g. a ``NAME`` exported in your shell does not
            leak into the job.
        jobs: job names to run (``["build"]``); None runs the whole pipeline. Naming only
            ``deploy`` runs it without its ``build`` (it then needs the artifact there).
        file: the pipeline file, relative to ``repo_dir``.
        shell_isolation: run each job in its own folder and pass only artifacts between
            jobs (``--shell-isolation``), as separate runner checkouts do.
        timeout: seconds before the run is abandoned.
        echo: also print gitlab-ci-local's output while it runs (for notebooks and the CLI).

    Returns:
        A :class:`PipelineResult`; a failing job is reported there, not raised.

    Raises:
        ToolMissing: when gitlab-ci-local is not installed.
        subprocess.TimeoutExpired: when the run takes longer than ``timeout``.
    """
    command = [*gitlab_ci_local_command(), "--file", file]
    if shell_isolation:
        command.append("--shell-isolation")
    for key, value in (variables or {}).items():
        command += ["--variable", f"{key}={value}"]
    if jobs:
        command += ["--job", *jobs]
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=repo_dir,
        env=_job_environment(variables or {}),
        stdin=subprocess.DEVNULL,  # a job never waits for input, even run from a terminal
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if echo:
                sys.stdout.write(line)
                sys.stdout.flush()
            if time.monotonic() - started > timeout:
                raise subprocess.TimeoutExpired(command, timeout)
        process.wait(timeout=max(1.0, timeout - (time.monotonic() - started)))
    except BaseException:
        process.kill()
        process.wait()
        raise
    output = "".join(lines)
    return PipelineResult(
        returncode=process.returncode,
        output=output,
        jobs={name: status for status, name in _STATUS_LINE.findall(output)},
        logs=job_logs(repo_dir),
        seconds=time.monotonic() - started,
        repo_dir=repo_dir,
        job_seconds={
            job: float(value) * _UNIT_SECONDS[unit]
            for job, value, unit in _FINISHED_LINE.findall(output)
        },
    )


def job_logs(repo_dir: Path) -> dict[str, str]:
    """Return each job's log from the last run in ``repo_dir`` (job name -> text)."""
    folder = repo_dir / ".gitlab-ci-local" / "output"
    if not folder.is_dir():
        return {}
    return {p.stem: p.read_text(encoding="utf-8", errors="replace") for p in folder.glob("*.log")}


def validate_schema(path: Path) -> Check:
    """Check a pipeline file against GitLab's CI schema (shipped by check-jsonschema).

    Catches misspelled or misplaced keys (``artefacts:``, ``scirpt:``) and wrong types. It
    does not know whether a job's stage is declared or whether a job has a ``script``:
    :func:`validate_jobs` checks those.

    Args:
        path: the YAML file.

    Returns:
        A :class:`Check`; ``output`` names each schema error.

    Raises:
        ToolMissing: when check-jsonschema is not installed (``pip install -e .``).
    """
    exe = Path(sys.executable).parent / "check-jsonschema"
    command = [str(exe)] if exe.exists() else [shutil.which("check-jsonschema") or ""]
    if not command[0]:
        raise ToolMissing("check-jsonschema is missing: run `pip install -e .` in the workshop")
    done = subprocess.run(
        [*command, "--builtin-schema", "vendor.gitlab-ci", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return Check(done.returncode == 0, (done.stdout + done.stderr).strip())


def validate_jobs(path: Path) -> Check:
    """Ask ``gitlab-ci-local --list`` to load a pipeline file and list its jobs.

    Catches what the schema cannot: a job whose ``stage`` is not in ``stages:``, a job
    without ``script``, a broken ``needs:`` or ``extends:``. It also checks the schema
    itself, with its own copy.

    Args:
        path: the YAML file; it is copied to a scratch folder and checked there.

    Returns:
        A :class:`Check`; ``output`` is the job table, or the reason it was rejected.

    Raises:
        ToolMissing: when gitlab-ci-local is not installed.
    """
    command = gitlab_ci_local_command()
    with tempfile.TemporaryDirectory(prefix="workshop-validate-") as folder:
        # A scratch folder: gitlab-ci-local writes .gitlab-ci-local/ beside the file.
        shutil.copy2(path, Path(folder) / ".gitlab-ci.yml")
        done = subprocess.run(
            [*command, "--list"],
            cwd=folder,
            env=_job_environment({}),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
    lines = (done.stdout + done.stderr).splitlines()
    text = "\n".join(line for line in lines if not any(n in line for n in _LIST_NOISE))
    return Check(done.returncode == 0, text.strip())


def validate(path: Path) -> dict[str, Check]:
    """Run both validators on ``path`` at the same time (each takes a second or two).

    Args:
        path: the YAML file.

    Returns:
        ``{"GitLab's schema": Check, "gitlab-ci-local --list": Check}``, in that order.

    Raises:
        ToolMissing: when either tool is not installed.
    """
    with ThreadPoolExecutor(max_workers=2) as pool:
        schema = pool.submit(validate_schema, path)
        jobs = pool.submit(validate_jobs, path)
        return {"GitLab's schema": schema.result(), "gitlab-ci-local --list": jobs.result()}
