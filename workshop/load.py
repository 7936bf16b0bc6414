"""A bounded load test on loopback with ``wrk``: requests per second and p99 latency.

``wrk`` comes from Debian's packages; :func:`ensure_wrk` installs it when it is missing and
this process may (root on Debian/Ubuntu). Only ``127.0.0.1`` is ever targeted, for at most
:data:`MAX_SECONDS` seconds, so a typo cannot turn the benchmark on someone else's server.
"""

from __future__ import annotations

import re
import subprocess
import urllib.parse
from dataclasses import dataclass

from workshop import system

#: The load generator and the Debian package that provides it.
WRK = {"wrk": "wrk"}
#: The longest load test this module runs (seconds).
MAX_SECONDS = 30.0
#: wrk's latency units, in seconds.
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


class LoadError(RuntimeError):
    """The load test could not run or its output could not be read; the message says why."""


@dataclass(frozen=True)
class LoadResult:
    """What one wrk run measured.

    Attributes:
        requests_per_s: completed requests per second (float).
        p99_latency_s: 99th percentile of the request latency (float, seconds).
        requests: requests completed (int).
        errors: socket errors plus non-2xx/3xx answers (int); a fair comparison needs 0.
    """

    requests_per_s: float
    p99_latency_s: float
    requests: int
    errors: int


def ensure_wrk() -> list[str]:
    """Make sure ``wrk`` exists, installing Debian's package when we may.

    Returns:
        The missing command names afterwards: ``[]`` when wrk is there, ``["wrk"]`` when it
        is missing and cannot be installed here (not root, or not Debian/Ubuntu).

    Raises:
        subprocess.CalledProcessError: when apt-get was tried and failed.
    """
    return system.ensure_commands(WRK)


def _seconds(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse_wrk(output: str) -> LoadResult:
    """Read requests/s, p99 latency, request and error counts from ``wrk --latency`` output.

    Args:
        output: wrk's standard output, run with ``--latency``.

    Returns:
        A :class:`LoadResult`.

    Raises:
        LoadError: when a needed line (``Requests/sec``, the ``99%`` latency, the request
            count) is missing, e.g. wrk was run without ``--latency``.
    """
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    count = re.search(r"^\s*(\d+) requests in ", output, re.MULTILINE)
    if not (rate and p99 and count):
        raise LoadError(f"could not read wrk's output (was --latency given?):\n{output[-1000:]}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors += int(bad.group(1)) if bad else 0
    return LoadResult(
        requests_per_s=float(rate.group(1)),
        p99_latency_s=_seconds(p99.group(1), p99.group(2)),
        requests=int(count.group(1)),
        errors=errors,
    )


def check_loopback(url: str) -> None:
    """Refuse any target but ``http://127.0.0.1:PORT/...``.

    Raises:
        ValueError: when ``url`` is not plain HTTP on 127.0.0.1.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1":
        raise ValueError(f"load tests only target http://127.0.0.1, not {url!r}")


def run_wrk(url: str, seconds: float = 3.0, connections: int = 8, threads: int = 2) -> LoadResult:
    """Load ``url`` with wrk for a bounded time and return what it measured.

    Args:
        url: ``http://127.0.0.1:PORT/``; nothing else is accepted.
        seconds: duration of the test (float, 1 to :data:`MAX_SECONDS`).
        connections: HTTP connections kept open (int).
        threads: wrk threads (int); one per core is usual.

    Returns:
        A :class:`LoadResult`.

    Raises:
        ValueError: when ``url`` is not on 127.0.0.1 or ``seconds`` is out of bounds.
        LoadError: when wrk is missing, fails, or prints something unreadable.
    """
    check_loopback(url)
    if not 1.0 <= seconds <= MAX_SECONDS:
        raise ValueError(f"a load test lasts 1 to {MAX_SECONDS:g} s, not {seconds:g}")
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s",
        "--timeout", "5s", "--latency", url,
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 30, check=False
        )
    except FileNotFoundError:
        raise LoadError("wrk is not installed: run `apt-get install wrk` as root") from None
    if done.returncode != 0:
        raise LoadError(f"wrk failed (exit status {done.returncode}): {done.stderr.strip()}")
    return parse_wrk(done.stdout)
