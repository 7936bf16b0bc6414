"""Exercise 01-greeting: the greeting's words come from GREETING, with its own default.

The learner's ``app.py`` is loaded in a fresh Python process per case (so an app that reads
its variables at import time is judged fairly) and asked for ``/`` with Flask's test client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from workshop.checks.base import Result, failed, judge, last_lines, passed
from workshop.settings import Settings

ID = "01-greeting"
TITLE = "Make the greeting read a second variable, GREETING, with its own default"

#: Runs in a child process: load app.py from a path, request "/", print one JSON line.
_PROBE = r"""
import importlib.util, json, sys, traceback
path = sys.argv[1]
def say(**kw):
    print("\n" + json.dumps(kw))
    sys.exit(0)
try:
    spec = importlib.util.spec_from_file_location("learner_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
except BaseException as error:
    line = getattr(error, "lineno", None)
    if line is None:
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == path]
        line = frames[-1].lineno if frames else None
    say(stage="load", error=f"{type(error).__name__}: {error}", line=line)
app = getattr(module, "app", None)
if app is None or not hasattr(app, "test_client"):
    say(stage="app", error="no Flask object called app")
app.config["PROPAGATE_EXCEPTIONS"] = True
try:
    response = app.test_client().get("/")
except BaseException as error:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == path]
    say(stage="request", error=f"{type(error).__name__}: {error}",
        line=frames[-1].lineno if frames else None)
say(stage="ok", status=response.status_code, body=response.get_data(as_text=True),
    type=response.content_type)
"""

#: (criterion, variables set for the request, expected body)
CASES = [
    (
        "with neither NAME nor GREETING set it answers 'Happy birthday John'",
        {},
        "Happy birthday John",
    ),
    ("NAME=Ana alone answers 'Happy birthday Ana'", {"NAME": "Ana"}, "Happy birthday Ana"),
    (
        "GREETING='Bonne fête' with NAME=Ana answers 'Bonne fête Ana'",
        {"GREETING": "Bonne fête", "NAME": "Ana"},
        "Bonne fête Ana",
    ),
    ("GREETING=Hello alone answers 'Hello John'", {"GREETING": "Hello"}, "Hello John"),
]


def probe(app_file: Path, variables: dict[str, str], timeout: float = 30.0) -> dict:
    """Load ``app_file`` in a fresh Python with ``variables`` set and request ``/``.

    NAME and GREETING are removed from the inherited environment first, so only
    ``variables`` decide them.

    Args:
        app_file: the learner's ``app.py``.
        variables: environment variables for this run, e.g. ``{"NAME": "Ana"}``.
        timeout: seconds before the child process is stopped.

    Returns:
        A dict with ``stage``: ``"ok"`` (with ``status``, ``body``, ``type``), or ``"load"``,
        ``"app"``, ``"request"``, ``"crash"`` (with ``error`` and maybe ``line``).
    """
    env = {k: v for k, v in os.environ.items() if k not in ("NAME", "GREETING")}
    env.update(variables, PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
    try:
        result = subprocess.run(
            [sys.executable, "-c", _PROBE, str(app_file.resolve())],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            cwd=app_file.parent,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"stage": "crash", "error": f"loading app.py took longer than {timeout:g} s"}
    lines = result.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return {"stage": "crash", "error": last_lines(result.stderr) or "no output"}


def _where(answer: dict) -> str:
    line = answer.get("line")
    return f"app.py line {line}" if line else "app.py"


def run(folder: Path, settings: Settings) -> list[Result]:
    """Grade the learner's ``app.py`` in ``folder``.

    Args:
        folder: the exercise folder (``exercises/01-greeting`` or a copy).
        settings: the workshop's settings (unused: this check starts no Docker object).

    Returns:
        One Result per criterion, in order; stops after the first blocking failure.
    """
    app_file = folder / "app.py"
    if not app_file.is_file():
        return [
            failed(
                f"{folder}/app.py exists",
                f"no app.py in {folder}; start from exercises/{ID}/app.py "
                "(git checkout exercises/ restores it)",
            )
        ]
    results = [passed(f"{folder}/app.py exists")]
    first = probe(app_file, {})
    loads = "app.py loads and defines the Flask app called app"
    if first["stage"] in ("load", "crash"):
        return results + [
            failed(loads, f"Python stops with {first['error']} at {_where(first)}; fix that line")
        ]
    if first["stage"] == "app":
        return results + [failed(loads, "keep the line app = Flask(__name__) in app.py")]
    results.append(passed(loads))
    for criterion, variables, expected in CASES:
        answer = first if not variables else probe(app_file, variables)
        if answer["stage"] != "ok":
            results.append(
                failed(
                    criterion,
                    f"the request raised {answer['error']} at {_where(answer)}; "
                    "run the app with flask and read the traceback",
                )
            )
            continue
        body = answer["body"]
        if body == expected:
            results.append(passed(criterion))
        elif "GREETING" in variables:
            results.append(
                failed(
                    criterion,
                    f"it answered {body!r}: the words before the name must come from the "
                    "GREETING variable; look at how wish() reads NAME with os.getenv",
                )
            )
        else:
            results.append(
                failed(
                    criterion,
                    f"it answered {body!r}: when GREETING is unset, the default must keep "
                    "the old words; look at the second argument of os.getenv",
                )
            )
    plain = "the answer is still plain text (text/plain)"
    results.append(
        judge(
            first.get("type", "").startswith("text/plain"),
            plain,
            "keep the Content-Type header that wish() returns with the message",
        )
    )
    return results
