"""Name a failure from its error text: ``python -m workshop explain [TEXT | FILE | -]``.

The catalogue is data (``workshop/data/errors.yaml``): one entry per failure, its patterns,
a short explanation, the fix, the chapter that teaches it, and the real error text that
proves the entry. Matching is by regular expression, most specific entry first; text that
matches nothing is reported as unknown rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from workshop.paths import NOTEBOOKS

CATALOGUE = Path(__file__).resolve().parent / "data" / "errors.yaml"


@dataclass(frozen=True)
class Entry:
    """One failure in the catalogue.

    Attributes:
        id: stable identifier, e.g. ``"port-allocated"``.
        name: the failure's name (one line).
        patterns: compiled regular expressions; any match recognises the failure.
        explanation: two or three sentences.
        fix: what to do.
        chapter: the chapter that teaches it, ``"NN"``.
        examples: ``(source, text)`` pairs of real error text.
    """

    id: str
    name: str
    patterns: tuple[re.Pattern[str], ...]
    explanation: str
    fix: str
    chapter: str
    examples: tuple[tuple[str, str], ...]

    def matches(self, text: str) -> bool:
        """Return True when any of the entry's patterns occurs in ``text``."""
        return any(pattern.search(text) for pattern in self.patterns)


@lru_cache(maxsize=4)
def load(path: Path = CATALOGUE) -> tuple[Entry, ...]:
    """Read the catalogue.

    Args:
        path: the YAML file.

    Returns:
        The entries, in the file's order (most specific first).

    Raises:
        OSError: when the file cannot be read.
        ValueError: when an entry lacks a field or a pattern is not a valid regular expression.
    """
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = []
    for item in raw:
        try:
            patterns = tuple(re.compile(p, re.IGNORECASE) for p in item["patterns"])
            entries.append(
                Entry(
                    id=item["id"],
                    name=item["name"],
                    patterns=patterns,
                    explanation=" ".join(item["explanation"].split()),
                    fix=" ".join(item["fix"].split()),
                    chapter=str(item["chapter"]),
                    examples=tuple((e["source"], e["text"]) for e in item.get("examples", [])),
                )
            )
        except (KeyError, TypeError, re.error) as error:
            raise ValueError(f"bad catalogue entry {item!r}: {error}") from None
    return tuple(entries)


def diagnose(text: str, entries: tuple[Entry, ...] | None = None) -> list[Entry]:
    """Return every catalogue entry whose patterns occur in ``text``, most specific first.

    Args:
        text: an error message or a whole job log.
        entries: the catalogue; None means :func:`load`.

    Returns:
        Matching entries in catalogue order; empty when nothing is recognised.
    """
    # Lines wrapped by a terminal or a log viewer: match across line breaks too.
    flat = " ".join(text.split())
    return [e for e in entries or load() if e.matches(text) or e.matches(flat)]


def chapter_file(chapter: str) -> str:
    """Return the notebook path of chapter ``NN`` (``notebooks/NN-....ipynb``), or a placeholder."""
    found = sorted(NOTEBOOKS.glob(f"{chapter}-*.ipynb"))
    return f"notebooks/{found[0].name}" if found else f"notebooks/{chapter}-*.ipynb"


def render(matches: list[Entry]) -> str:
    """Format a diagnosis for the learner.

    Args:
        matches: the result of :func:`diagnose`.

    Returns:
        Several lines: the failure's name first, then what happened, the fix and the chapter;
        for no match, a first line starting with ``Unknown error``.
    """
    if not matches:
        return (
            "Unknown error: this text matches nothing in the workshop's catalogue.\n"
            "Look for the first line that says 'error' or 'denied'; ./course workshop doctor\n"
            "checks the machine, and README.md's chapter list shows where each failure is taught."
        )
    first = matches[0]
    lines = [
        first.name,
        "",
        f"What happened: {first.explanation}",
        f"Fix: {first.fix}",
        f"Taught in: chapter {first.chapter} ({chapter_file(first.chapter)})",
    ]
    if len(matches) > 1:
        lines.append("Also seen in this text: " + "; ".join(m.name for m in matches[1:]))
    return "\n".join(lines)


def read_input(source: str | None, stdin_text: str | None = None) -> str:
    """Return the text to explain from an argument, a file name, or standard input.

    Args:
        source: the error text itself, a path to a log file, ``"-"`` or None for standard input.
        stdin_text: standard input's content when ``source`` asks for it.

    Returns:
        The text (str).
    """
    if source is None or source == "-":
        return stdin_text or ""
    path = Path(source)
    if len(source) < 4096 and "\n" not in source:
        try:
            if path.is_file():
                return path.read_text(errors="replace")
        except OSError:
            pass
    return source
