"""Where the workshop's files live: the repository root and the build folder."""

from pathlib import Path

#: The repository's top folder (the one holding ``Dockerfile`` and ``notebooks/``).
ROOT = Path(__file__).resolve().parent.parent
#: Build products: executed notebooks, timings, logs. Git ignores it.
BUILD = ROOT / "build"
NOTEBOOKS = ROOT / "notebooks"
