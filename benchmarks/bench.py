"""The project's benchmark: the seed's image against the course's, on this machine.

Same as ``python -m workshop bench`` (arguments are passed on), for those who look for
benchmarks here. Run it from the repository's top folder inside the workshop's virtual
environment, e.g. ``.venv/bin/python benchmarks/bench.py --repeat 5``. Results go to
``build/bench/`` (results.json, results.md, bench.png).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop.cli import main  # noqa: E402 - after the path is set

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
