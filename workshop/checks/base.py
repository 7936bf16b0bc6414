"""What every check returns: one result per criterion, printed as PASS or FAIL with a hint."""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """The outcome of one criterion.

    Attributes:
        ok: True when the criterion holds.
        criterion: what was checked, as a learner reads it ("the image runs as a non-root user").
        hint: for a FAIL, where to look (never the answer); "" for a PASS.
    """

    ok: bool
    criterion: str
    hint: str = ""

    def line(self) -> str:
        """Return the printed line: ``PASS criterion`` or ``FAIL criterion -- hint: ...``."""
        if self.ok:
            return f"PASS  {self.criterion}"
        return f"FAIL  {self.criterion} -- hint: {self.hint}"


def passed(criterion: str) -> Result:
    """Return a passing Result for ``criterion``."""
    return Result(True, criterion)


def failed(criterion: str, hint: str) -> Result:
    """Return a failing Result for ``criterion`` with ``hint`` (where to look)."""
    return Result(False, criterion, hint)


def judge(ok: bool, criterion: str, hint: str) -> Result:
    """Return a Result that passes when ``ok`` and otherwise fails with ``hint``."""
    return Result(ok, criterion, "" if ok else hint)


def free_port() -> int:
    """Return a TCP port that nothing listens on right now (chosen by the kernel)."""
    with socket.socket() as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


def last_lines(text: str, count: int = 3) -> str:
    """Return the last ``count`` non-empty lines of ``text`` joined by `` | `` (one-line hints)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-count:])
