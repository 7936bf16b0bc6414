"""The instructor kit keeps step with the course: a section per chapter, real commands, links."""

from __future__ import annotations

import re

import pytest

from workshop import cli, manifest
from workshop.paths import ROOT

KIT = ROOT / "instructors"
DOCS = sorted(KIT.glob("*.md"))
COURSE_COMMANDS = {"run", "test", "lab", "workshop"}  # the cases of ./course


def sections(text: str) -> list[str]:
    return re.findall(r"^## (.+)$", text, flags=re.MULTILINE)


def test_the_kit_exists():
    assert {p.name for p in DOCS} >= {"README.md", "room-checklist.md", "chapters.md"}


def test_every_chapter_has_notes_in_course_order():
    text = (KIT / "chapters.md").read_text()
    expected = [c.heading for c in manifest.load().chapters]
    assert sections(text) == expected, "instructors/chapters.md: one '## NN — Title' per chapter"
    for block in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        heading = block.splitlines()[0]
        for part in ("**Stress:**", "**Where learners get stuck:**", "**Trigger live:**"):
            assert part in block, f"{heading}: add {part}"


@pytest.mark.parametrize("doc", DOCS, ids=[p.name for p in DOCS])
def test_commands_in_the_kit_exist(doc):
    subcommands = set(cli.build_parser()._subparsers._group_actions[0].choices)
    text = doc.read_text()
    for command in re.findall(r"\./course (\w+)", text):
        assert command in COURSE_COMMANDS, f"{doc.name}: ./course has no {command!r}"
    for command in re.findall(r"\./course workshop (\w+)", text):
        assert command in subcommands, f"{doc.name}: workshop has no {command!r} command"


@pytest.mark.parametrize("doc", DOCS, ids=[p.name for p in DOCS])
def test_links_in_the_kit_resolve(doc):
    for link in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", doc.read_text()):
        if not re.match(r"^[a-z]+:", link):
            assert (doc.parent / link).exists(), f"{doc.name}: {link} does not exist"
