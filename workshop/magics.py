"""The ``%%bash_fails`` cell magic: run a shell step that must fail with a known error.

Load it in a notebook with ``%load_ext workshop.magics``, then write::

    %%bash_fails "port is already allocated"
    docker run -d -p 8080:8080 pyapp

The learner sees the command's real output. The cell raises (and so fails the
notebook and its test) when the command succeeds, or fails without printing the
expected text: a demonstrated failure is proven, not merely tolerated.
"""

from __future__ import annotations

import shlex
import subprocess
import sys


class FailureNotReproduced(AssertionError):
    """The command did not fail the way the lesson says it does."""


def run_expecting_failure(script: str, expected: str, timeout: float = 300.0) -> str:
    """Run ``script`` with bash and check that it fails and prints ``expected``.

    Args:
        script: bash source, run with ``bash -c`` in the current environment.
        expected: text that must appear in the combined stdout and stderr.
        timeout: seconds to wait for the script before giving up.

    Returns:
        The script's combined output (str), already printed to stdout.

    Raises:
        FailureNotReproduced: when the exit status is 0, or when ``expected`` is
            not in the output.
        subprocess.TimeoutExpired: when the script runs longer than ``timeout``.
    """
    result = subprocess.run(
        ["bash", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    output = result.stdout
    sys.stdout.write(output)
    print(f"[exit status {result.returncode}]")
    if result.returncode == 0:
        raise FailureNotReproduced(
            f"This step should have failed with {expected!r}, but it succeeded (exit status 0)."
        )
    if expected not in output:
        raise FailureNotReproduced(
            f"This step failed (exit status {result.returncode}) but its output lacks {expected!r}."
        )
    return output


def bash_fails(line: str, cell: str) -> None:
    """Cell magic body: ``line`` holds the expected error text, shell-quoted."""
    words = shlex.split(line)
    if len(words) != 1:
        raise ValueError('usage: %%bash_fails "expected error text"')
    run_expecting_failure(cell, words[0])


def load_ipython_extension(ipython) -> None:  # noqa: ANN001 - IPython's own type
    """Register ``%%bash_fails`` with IPython (called by ``%load_ext workshop.magics``)."""
    ipython.register_magic_function(bash_fails, magic_kind="cell", magic_name="bash_fails")
