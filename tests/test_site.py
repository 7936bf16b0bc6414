"""The website builds from the manifest and the executed copies, with no broken internal links."""

from __future__ import annotations

import re

import pytest

from workshop import explain, manifest, site
from workshop.paths import NOTEBOOKS, ROOT


@pytest.fixture(scope="module")
def course():
    return manifest.load()


@pytest.fixture(scope="module")
def built(course, tmp_path_factory):
    """The site built from the sources alone (no executed copies): fast, and every page exists."""
    out = tmp_path_factory.mktemp("site") / "site"
    empty = tmp_path_factory.mktemp("executed")
    return site.build(course, executed_dir=empty, out=out)


def test_no_broken_internal_links(built):
    assert built.broken == []


def test_every_chapter_has_a_page_reached_from_every_page(course, built):
    pages = [built.out / site.chapter_page(c) for c in course.chapters]
    assert all(p.is_file() for p in pages)
    for page in built.out.glob("*.html"):
        text = page.read_text()
        for chapter in course.chapters:
            assert f'href="{site.chapter_page(chapter)}"' in text, (page.name, chapter.number)


def test_pages_load_nothing_from_the_internet(built):
    for page in built.out.rglob("*.html"):
        assert not re.search(r'<script[^>]+src="https?:', page.read_text()), page.name


def test_chapters_without_an_executed_copy_say_so(course, built):
    assert built.missing == [c.number for c in course.chapters]
    first = (built.out / site.chapter_page(course.chapters[0])).read_text()
    assert "has not been run on this machine yet" in first
    assert course.chapters[0].heading in first


def test_troubleshooting_page_holds_the_whole_error_catalogue(built):
    page = (built.out / "troubleshooting.html").read_text()
    for entry in explain.load():
        assert f'id="{entry.id}"' in page
        assert f'href="#{entry.id}"' in page


def test_links_to_repository_files_become_pages(course, built):
    with_exercise = [c for c in course.chapters if c.exercise]
    assert with_exercise
    for chapter in with_exercise:
        page = built.out / site.file_page(f"{chapter.exercise}/README.md")
        assert page.is_file(), chapter.exercise
        # the exercise's link back to its chapter points at the chapter's page
        assert site.chapter_page(chapter) in page.read_text()


def test_the_link_check_finds_broken_links_and_anchors(tmp_path):
    (tmp_path / "a.html").write_text(
        '<a id="here" href="#here">ok</a><a href="b.html#there">ok</a>'
        '<a href="missing.html">bad</a><a href="b.html#nowhere">bad</a>'
        '<a href="https://example.org/">external, not followed</a>'
        '<script src="https://cdn.example.org/x.js"></script>'
    )
    (tmp_path / "b.html").write_text('<h1 id="there">B</h1>')
    assert site.broken_links(tmp_path) == [
        "a.html: missing.html (no such page)",
        "a.html: b.html#nowhere (no such anchor)",
        "a.html: https://cdn.example.org/x.js (loads from the internet)",
    ]


def test_a_folder_we_did_not_build_is_never_deleted(course, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(site.SiteError):
        site.build(course, executed_dir=tmp_path, out=out)
    assert (out / "notes.txt").read_text() == "keep me"


def test_links_and_images_are_pointed_at_the_site(course, tmp_path):
    builder = site._Builder(course, tmp_path)
    html = builder.rewrite_links(
        "01-flask-app.html",
        NOTEBOOKS,
        '<a href="../app/app.py">the app</a><img src="../app/app.py">'
        '<a href="02-dockerfile.ipynb#Settings">next</a><a href="https://example.org/">web</a>',
    )
    assert 'href="files/app/app.py.html"' in html and "files/app/app.py.html" in builder.queued
    assert 'src="files/app/app.py"' in html
    assert (tmp_path / "files/app/app.py").read_bytes() == (ROOT / "app/app.py").read_bytes()
    assert 'href="02-dockerfile.html#Settings"' in html
    assert 'href="https://example.org/"' in html
