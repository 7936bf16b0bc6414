"""Read a Dockerfile into its instructions, the way the builder sees them."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction.

    Attributes:
        keyword: the instruction in upper case (``COPY``, ``RUN``...).
        args: everything after the keyword, continuation lines joined (str).
        line: the line number where the instruction starts (1-based).
    """

    keyword: str
    args: str
    line: int

    def words(self) -> list[str]:
        """Return ``args`` split like a shell would; a plain split when quoting is unbalanced."""
        try:
            return shlex.split(self.args)
        except ValueError:
            return self.args.split()


def parse(text: str) -> list[Instruction]:
    """Split a Dockerfile into instructions.

    Comment lines are dropped, lines ending in a backslash are joined with the next one.
    Heredocs and a changed escape character are not supported (the chapters use neither).

    Args:
        text: the Dockerfile's content.

    Returns:
        The instructions in order (list of Instruction).
    """
    found: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1].strip())
            continue
        pending.append(line)
        joined = " ".join(part for part in pending if part)
        pending = []
        keyword, _, args = joined.partition(" ")
        found.append(Instruction(keyword.upper(), args.strip(), start))
    if pending:
        joined = " ".join(part for part in pending if part)
        keyword, _, args = joined.partition(" ")
        found.append(Instruction(keyword.upper(), args.strip(), start))
    return found


def copy_sources(instruction: Instruction) -> list[str]:
    """Return the source paths of a COPY or ADD (options such as ``--chown`` skipped).

    Both forms are read: ``COPY a b dest`` and the JSON form ``COPY ["a", "b", "dest"]``.
    """
    rest = instruction.args.strip()
    while rest.startswith("--"):
        _, _, rest = rest.partition(" ")
        rest = rest.strip()
    if rest.startswith("["):
        try:
            words = [str(w) for w in json.loads(rest)]
        except ValueError:
            words = [w.strip('[]", ') for w in rest.split(",")]
    else:
        words = Instruction(instruction.keyword, rest, instruction.line).words()
    return words[:-1]
