"""What the first code cell of every chapter does: settings, working folder, PATH."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from workshop import settings
from workshop.paths import BUILD, ROOT


def start(environ: dict[str, str] | None = None) -> settings.Settings:
    """Prepare a chapter's kernel and print its settings.

    Exports the settings as environment variables (``%%bash`` cells read ``$HOST_PORT``
    and so on), changes to the repository's top folder (where a CI job starts too), puts
    this Python's ``bin`` folder first on PATH so ``python``, ``flask`` and ``pytest``
    in shell cells are the workshop's, and creates ``build/run`` for pid and log files.

    Args:
        environ: where overrides are read from; None means ``os.environ``.

    Returns:
        The Settings in force.

    Raises:
        ValueError: when a port setting is not a port number.
    """
    conf = settings.export(environ)
    os.chdir(ROOT)
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    (BUILD / "run").mkdir(parents=True, exist_ok=True)
    print(f"Working folder: {ROOT}")
    for key, value in conf.as_env().items():
        default = settings.DEFAULTS[key]
        note = (
            ""
            if value == default
            else f"   (from {settings.override_name(key)}; default {default})"
        )
        print(f"  {key:<15} {value}{note}")
    return conf
