"""Build the course as a static website from the executed notebooks: ``workshop site``.

Why nbconvert: it is Jupyter's own converter, already installed with the notebook tools (pinned in
pyproject.toml), and it works with no network. Jupyter Book 2 / MyST needs Node and fetches its
theme from the internet at build time, and Jupyter Book 1 brings a whole Sphinx stack for what is
here a handful of pages. nbconvert renders each executed chapter with its real outputs; this module
adds what a website needs around them: the manifest's navigation on every page, an index, a
troubleshooting page generated from the error catalogue of ``workshop explain``
(``workshop/data/errors.yaml``), the schedule, pages for the repository files the chapters link
to, and a check that no internal link or anchor is broken.

The pages load nothing from the internet (the lab template's require.js, MathJax and Mermaid are
left out), so the site works from a USB stick or a classroom without network.
"""

from __future__ import annotations

import html
import os
import re
import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from workshop import explain, schedule
from workshop.manifest import Chapter, Manifest
from workshop.paths import BUILD, ROOT

SITE = BUILD / "site"
EXECUTED = BUILD / "notebooks"
TEMPLATES = Path(__file__).resolve().parent / "data" / "site_templates"
#: Present in every folder this module built; it only ever deletes a folder that has it.
MARKER = ".workshop-site"
#: Repository files a page may link to are included up to this size (bytes).
MAX_FILE_BYTES = 200_000
_SKIP_PARTS = {".git", ".venv", "build", "node_modules", "__pycache__"}

CSS = """
nav.course-nav { display: flex; flex-wrap: wrap; gap: .3em 1.2em; padding: .6em 1em;
  margin: 0 0 1em; background: #24364b; font: 15px/1.4 system-ui, sans-serif; }
nav.course-nav a { color: #fff; text-decoration: none; }
nav.course-nav a[aria-current="page"] { text-decoration: underline; font-weight: bold; }
nav.chapter-nav { font: 15px/1.4 system-ui, sans-serif; margin: 1.5em 1em; display: flex;
  justify-content: space-between; }
.site-banner { margin: 0 1em 1em; padding: .6em 1em; background: #fff3cd;
  border: 1px solid #e0c060; font: 15px/1.4 system-ui, sans-serif; }
body.site-page { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1b1b1b; }
body.site-page main { max-width: 60em; margin: 0 auto; padding: 0 1em 2em; }
body.site-page pre { background: #f4f4f4; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
body.site-page table { border-collapse: collapse; }
body.site-page td, body.site-page th { border: 1px solid #ccc; padding: .2em .6em; }
"""


class SiteError(Exception):
    """The site cannot be built where asked (the output folder holds files we did not write)."""


@dataclass
class Report:
    """What :func:`build` did.

    Attributes:
        out: the site's folder; ``out / "index.html"`` is its front page.
        pages: every HTML page written, relative to ``out``.
        missing: chapters with no executed copy (their page shows the source, without outputs).
        stale: chapters whose executed copy is older than the notebook.
        failed: chapters whose executed copy holds an error output.
        broken: broken internal links (``page: link``), from :func:`broken_links`.
    """

    out: Path
    pages: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)


def chapter_page(chapter: Chapter) -> str:
    """The site path of a chapter's page, e.g. ``"01-flask-app.html"``."""
    return f"{chapter.slug}.html"


def file_page(rel: str) -> str:
    """The site path of a repository file's page, e.g. ``"files/README.md.html"``."""
    return f"files/{rel}.html"


def _rel(from_page: str, to_page: str) -> str:
    """Relative URL from one site path to another (both relative to the site root)."""
    start = os.path.dirname(from_page) or "."
    return os.path.relpath(to_page, start).replace(os.sep, "/")


def _inline(text: str) -> str:
    """Render one line of Markdown without the surrounding paragraph."""
    rendered = markdown2html_mistune(text).strip()
    return re.sub(r"^<p>(.*)</p>$", r"\1", rendered, flags=re.DOTALL)


class _Builder:
    """Holds the state of one build: the manifest, the output folder, pages still to write."""

    def __init__(self, manifest: Manifest, out: Path) -> None:
        self.manifest = manifest
        self.out = out
        self.pages: list[str] = []
        self.queued: dict[str, Path] = {}  # site path -> repository file to render
        self.by_notebook = {c.notebook.resolve(): c for c in manifest.chapters}

    # -- navigation and page shell ---------------------------------------------------------

    def nav(self, page: str) -> str:
        links = [("index.html", "Home")]
        links += [(chapter_page(c), c.heading) for c in self.manifest.chapters]
        links += [("troubleshooting.html", "Troubleshooting"), ("schedule.html", "Schedule")]
        items = []
        for target, label in links:
            current = ' aria-current="page"' if target == page else ""
            items.append(f'<a href="{_rel(page, target)}"{current}>{html.escape(label)}</a>')
        return '<nav class="course-nav" aria-label="Course">' + "\n".join(items) + "</nav>"

    def chapter_nav(self, chapter: Chapter) -> str:
        chapters = list(self.manifest.chapters)
        i = chapters.index(chapter)
        here = chapter_page(chapter)
        prev = (
            f'<a rel="prev" href="{_rel(here, chapter_page(chapters[i - 1]))}">← '
            f"{html.escape(chapters[i - 1].heading)}</a>"
            if i > 0
            else "<span></span>"
        )
        nxt = (
            f'<a rel="next" href="{_rel(here, chapter_page(chapters[i + 1]))}">'
            f"{html.escape(chapters[i + 1].heading)} →</a>"
            if i + 1 < len(chapters)
            else '<a href="troubleshooting.html">Troubleshooting →</a>'
        )
        return f'<nav class="chapter-nav" aria-label="Chapters">{prev}{nxt}</nav>'

    def write(self, page: str, text: str) -> None:
        target = self.out / page
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        self.pages.append(page)

    def shell(self, page: str, title: str, body: str) -> str:
        """A whole HTML page for the site's own pages (not notebooks)."""
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)} · {html.escape(self.manifest.title)}</title>\n"
            f"<style>{CSS}</style>\n</head>\n"
            f'<body class="site-page">\n{self.nav(page)}\n<main>\n{body}\n</main>\n'
            "</body>\n</html>\n"
        )

    # -- links ------------------------------------------------------------------------------

    def link_target(self, page: str, source_dir: Path, href: str) -> str | None:
        """The site URL for a link found in a page whose source lives in ``source_dir``."""
        if href.startswith(("#", "//")) or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href):
            return None
        path, sep, fragment = href.partition("#")
        if not path:
            return None
        target = (source_dir / unquote(path)).resolve()
        chapter = self.by_notebook.get(target)
        if chapter is not None:
            site_path = chapter_page(chapter)
        else:
            try:
                rel = target.relative_to(ROOT)
            except ValueError:
                return None
            if _SKIP_PARTS & set(rel.parts):
                return None
            if target.is_dir() and (target / "README.md").is_file():
                target, rel = target / "README.md", rel / "README.md"
            if not target.is_file() or target.stat().st_size > MAX_FILE_BYTES:
                return None
            site_path = file_page(rel.as_posix())
            self.queued.setdefault(site_path, target)
        return _rel(page, site_path) + (sep + fragment if sep else "")

    def rewrite_links(self, page: str, source_dir: Path, text: str) -> str:
        """Point links to chapters and repository files at their pages on the site."""

        def replace(match: re.Match[str]) -> str:
            attr, href = match.group(1), html.unescape(match.group(2))
            if attr == "src":
                new = self.embedded_file(page, source_dir, href)
            else:
                new = self.link_target(page, source_dir, href)
            return match.group(0) if new is None else f'{attr}="{html.escape(new)}"'

        return re.sub(r'\b(href|src)="([^"]*)"', replace, text)

    def embedded_file(self, page: str, source_dir: Path, src: str) -> str | None:
        """Copy a repository file a page shows (an image) into the site; return its URL."""
        if not src or re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|//|#)", src):
            return None
        target = (source_dir / unquote(src.partition("#")[0])).resolve()
        try:
            rel = target.relative_to(ROOT).as_posix()
        except ValueError:
            return None
        if not target.is_file() or target.stat().st_size > MAX_FILE_BYTES * 10:
            return None
        copy = self.out / "files" / rel
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, copy)
        return _rel(page, f"files/{rel}")

    # -- pages --------------------------------------------------------------------------------

    def chapter(self, chapter: Chapter, executed_dir: Path, report: Report) -> None:
        page = chapter_page(chapter)
        executed = executed_dir / chapter.notebook.name
        banner = ""
        if executed.is_file():
            nb = nbformat.read(executed, as_version=4)
            if executed.stat().st_mtime < chapter.notebook.stat().st_mtime:
                report.stale.append(chapter.number)
                banner = (
                    "This page shows an earlier run: the chapter changed since. "
                    "Run <code>./course run</code> and build the site again."
                )
            errors = [
                o
                for c in nb.cells
                if c.cell_type == "code"
                for o in c.get("outputs", [])
                if o.get("output_type") == "error"
            ]
            if errors:
                report.failed.append(chapter.number)
                banner = "This run of the chapter stopped with an error: see the last output."
        else:
            nb = nbformat.read(chapter.notebook, as_version=4)
            report.missing.append(chapter.number)
            banner = (
                "This chapter has not been run on this machine yet, so its outputs are missing. "
                "Run <code>./course run</code>, then build the site again."
            )
        exporter = HTMLExporter(
            template_name="workshop_site", extra_template_basedirs=[str(TEMPLATES)]
        )
        body, _ = exporter.from_notebook_node(
            nb,
            resources={
                "metadata": {"name": f"{chapter.heading} · {self.manifest.title}"},
                "site_css": CSS,
                "site_nav": self.nav(page),
                "site_banner": f'<div class="site-banner">{banner}</div>' if banner else "",
                "site_footer": self.chapter_nav(chapter),
            },
        )
        self.write(page, self.rewrite_links(page, chapter.notebook.parent, body))

    def index(self) -> None:
        page = "index.html"
        parts = [f"<h1>{html.escape(self.manifest.title)}</h1>"]
        parts.append(
            "<p>The whole course as it ran: every output on these pages was printed by a real "
            "command against a real Docker engine when the chapters were executed. When something "
            'fails on your machine, see <a href="troubleshooting.html">Troubleshooting</a>.</p>'
        )
        parts.append("<h2>Chapters</h2>")
        for chapter in self.manifest.chapters:
            href = chapter_page(chapter)
            parts.append(
                f'<h3 id="chapter-{chapter.number}"><a href="{href}">'
                f"{html.escape(chapter.heading)}</a></h3>"
            )
            parts.append(
                f"<p>Teaching {chapter.teach} minutes · practice {chapter.practice} minutes</p>"
            )
            parts.append("<p>You will be able to:</p><ul>")
            parts += [f"<li>{_inline(o)}</li>" for o in chapter.objectives]
            parts.append("</ul>")
            if chapter.exercise:
                link = self.link_target(page, ROOT, chapter.exercise)
                if link:
                    parts.append(f'<p>Exercise: <a href="{link}">{chapter.exercise}</a></p>')
        parts.append("<h2>Course lengths</h2><ul>")
        for course in self.manifest.courses.values():
            chapters = ", ".join(course.chapters)
            parts.append(
                f'<li><a href="schedule.html#{course.id}">{html.escape(course.title)}</a>: '
                f"chapters {chapters}</li>"
            )
        parts.append("</ul>")
        self.write(page, self.shell(page, "Home", "\n".join(parts)))

    def troubleshooting(self, entries: tuple[explain.Entry, ...]) -> None:
        page = "troubleshooting.html"
        numbers = {c.number: c for c in self.manifest.chapters}
        order = {c.number: i for i, c in enumerate(self.manifest.chapters)}
        ordered = sorted(entries, key=lambda e: (order.get(e.chapter, len(order)), e.chapter))
        parts = [
            "<h1>Troubleshooting</h1>",
            "<p>Every failure the course teaches, with what it means and the fix. Paste an error "
            'into <code>./course workshop explain "the error text"</code> (or pipe a whole log '
            "into <code>./course workshop explain -</code>) and it names the failure for you. "
            "This page is generated from the same catalogue "
            "(<code>workshop/data/errors.yaml</code>).</p>",
            '<ul class="toc">',
        ]
        parts += [
            f'<li><a href="#{e.id}">{html.escape(e.name)}</a> (chapter {e.chapter})</li>'
            for e in ordered
        ]
        parts.append("</ul>")
        for entry in ordered:
            chapter = numbers.get(entry.chapter)
            taught = (
                f'<a href="{chapter_page(chapter)}">{html.escape(chapter.heading)}</a>'
                if chapter
                else f"chapter {html.escape(entry.chapter)}"
            )
            parts.append(f'<section class="error-entry" id="{html.escape(entry.id)}">')
            parts.append(f"<h2>{html.escape(entry.name)}</h2>")
            parts.append(f"<p><strong>What happened:</strong> {html.escape(entry.explanation)}</p>")
            parts.append(f"<p><strong>Fix:</strong> {html.escape(entry.fix)}</p>")
            parts.append(f"<p><strong>Taught in:</strong> {taught}</p>")
            if entry.examples:
                parts.append("<p><strong>What it looks like:</strong></p>")
                for source, text in entry.examples:
                    where = (
                        f'<a href="{html.escape(source)}">{html.escape(source)}</a>'
                        if source.startswith("https://")
                        else html.escape(source)
                    )
                    parts.append(f"<pre>{html.escape(text)}</pre><p><small>{where}</small></p>")
            parts.append("</section>")
        self.write(page, self.shell(page, "Troubleshooting", "\n".join(parts)))

    def schedule(self, timings: dict[str, schedule.Timing]) -> None:
        page = "schedule.html"
        parts = [
            "<h1>Schedule</h1>",
            "<p>Teaching and practice minutes come from the course manifest; the run time of each "
            "chapter's steps is measured (<code>build/timings.json</code>, written by "
            "<code>./course run</code>), not guessed.</p>",
        ]
        for course in self.manifest.courses.values():
            table = markdown2html_mistune(schedule.markdown(self.manifest, course, timings))
            parts.append(f'<section id="{html.escape(course.id)}">{table}</section>')
        self.write(page, self.shell(page, "Schedule", "\n".join(parts)))

    def repository_files(self) -> None:
        done: set[str] = set()
        while set(self.queued) - done:
            page = sorted(set(self.queued) - done)[0]
            done.add(page)
            source = self.queued[page]
            rel = source.relative_to(ROOT).as_posix()
            text = source.read_text(encoding="utf-8", errors="replace")
            if source.suffix == ".md":
                body = markdown2html_mistune(text)
                body = self.rewrite_links(page, source.parent, body)
            else:
                body = f"<h1><code>{html.escape(rel)}</code></h1>\n<pre>{html.escape(text)}</pre>"
            self.write(page, self.shell(page, rel, body))


def _prepare_out(out: Path) -> None:
    if out.exists():
        if not (out / MARKER).is_file() and any(out.iterdir()):
            raise SiteError(
                f"{out} exists and was not built by `workshop site`; "
                "choose another folder with --out or remove it yourself"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("Built by `workshop site`; rebuilt (deleted) on every build.\n")


def build(
    manifest: Manifest,
    executed_dir: Path = EXECUTED,
    out: Path = SITE,
    entries: tuple[explain.Entry, ...] | None = None,
    timings: dict[str, schedule.Timing] | None = None,
) -> Report:
    """Build the website.

    Args:
        manifest: the loaded course manifest (navigation and order).
        executed_dir: folder of executed copies (``NN-slug.ipynb``), as ``./course run`` writes.
        out: the site's folder; replaced entirely when it was built by this function before.
        entries: the error catalogue; None means :func:`workshop.explain.load`.
        timings: measured run times; None means :func:`workshop.schedule.read_timings`.

    Returns:
        A Report; ``broken`` lists broken internal links (the build still completes).

    Raises:
        SiteError: when ``out`` holds files this function did not write.
        OSError: when a notebook cannot be read or a page cannot be written.
    """
    _prepare_out(out)
    builder = _Builder(manifest, out)
    report = Report(out)
    for chapter in manifest.chapters:
        builder.chapter(chapter, executed_dir, report)
    builder.index()
    builder.troubleshooting(explain.load() if entries is None else entries)
    builder.schedule(schedule.read_timings() if timings is None else timings)
    builder.repository_files()
    report.pages = builder.pages
    report.broken = broken_links(out)
    return report


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (attribute, URL)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name") and (name == "id" or tag == "a"):
                self.ids.add(value)
            elif name == "src" or (tag == "link" and name == "href"):
                self.links.append(("src", value))  # loaded by the page itself
            elif name == "href":
                self.links.append(("href", value))


def broken_links(out: Path) -> list[str]:
    """Check every internal link and anchor of a built site.

    Args:
        out: the site's folder.

    Returns:
        ``"page: link (why)"`` for each link to a missing page or a missing ``#anchor``, and for
        any link that would load from the internet a script or image the page needs (empty when
        all is well). Links to other websites (``https:``, ``mailto:``) are not followed.
    """
    parsed: dict[Path, _Links] = {}

    def parse(path: Path) -> _Links:
        if path not in parsed:
            parser = _Links()
            parser.feed(path.read_text(encoding="utf-8", errors="replace"))
            parsed[path] = parser
        return parsed[path]

    problems = []
    for page in sorted(out.rglob("*.html")):
        name = page.relative_to(out).as_posix()
        for attr, link in parse(page).links:
            if link.startswith(("data:", "mailto:")):
                continue
            if re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|//)", link):
                if attr == "src":
                    problems.append(f"{name}: {link} (loads from the internet)")
                continue
            path, _, fragment = link.partition("#")
            target = (page.parent / unquote(path)).resolve() if path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{name}: {link} (no such page)")
            elif fragment and target.suffix == ".html":
                # Browsers try the fragment as written, then percent-decoded (HTML standard).
                if not {fragment, unquote(fragment)} & parse(target).ids:
                    problems.append(f"{name}: {link} (no such anchor)")
    return problems
