"""The learner's interfaces in a real browser: Debian's Chromium, driven by Selenium.

Chromium and chromedriver come from Debian (``chromium``, ``chromium-driver``: one version, made
for each other), installed here when missing and we are root. The tests start the servers they
need on free ports (the website with ``python -m http.server``, JupyterLab with the README's own
``./course lab``) and stop them at the end. Screenshots go to ``build/screenshots/``.

The website is built from executed chapters: the copies ``./course run`` left in
``build/notebooks/`` when they show the app's answer, else chapters 01 and 02 executed here with
this test run's own names and ports.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from tests.conftest import free_port
from workshop import manifest, notebooks, site, system
from workshop.paths import BUILD, NOTEBOOKS, ROOT

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.browser

SHOTS = BUILD / "screenshots"
MARTIN = "Happy birthday Martin"
#: The network here is closed: without these, Chromium waits on background connections
#: (updates, sync, field trials) and a page load can hang.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium with a fresh profile, quit at the end of the module."""
    missing = system.ensure_commands({"chromium": "chromium", "chromedriver": "chromium-driver"})
    if missing:
        if system.can_apt_install():
            pytest.fail(f"apt-get could not install {missing}")
        pytest.skip(f"needs {missing}: sudo apt-get install chromium chromium-driver")
    profile = tmp_path_factory.mktemp("chromium-profile")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    service = webdriver.ChromeService(
        executable_path=shutil.which("chromedriver"),
        log_output=str(profile.parent / "chromedriver.log"),
    )
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def serving(cmd: list[str], port: int, log: Path, timeout: float, **popen) -> Iterator[None]:
    """Run a server in its own process group until ``port`` answers; stop the whole group after."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **popen
        )
    try:
        deadline = time.monotonic() + timeout
        while not _answers(port):
            if proc.poll() is not None:
                pytest.fail(f"{cmd[0]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"nothing answered on port {port}:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _shows(path: Path, text: str) -> bool:
    """True when an executed notebook's outputs contain ``text``."""
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return False
    return any(text in notebooks.outputs_text(nb, i) for i in range(len(nb.cells)))


@pytest.fixture(scope="module")
def course():
    return manifest.load()


@pytest.fixture(scope="module")
def executed(request, tmp_path_factory, executed_chapters) -> Path:
    """A folder of executed chapters in which chapter 02 shows the app's answer.

    The chapters this test session executed (the chapter tests run first), else the last
    ``./course run``'s, else chapters 01 and 02 executed here.
    """
    for copies in (executed_chapters, BUILD / "notebooks"):
        if _shows(copies / "02-dockerfile.ipynb", MARTIN):
            return copies
    settings = request.getfixturevalue("test_settings")  # starts the engine only when needed
    out = tmp_path_factory.mktemp("executed")
    for name in ("01-flask-app.ipynb", "02-dockerfile.ipynb"):
        result = notebooks.execute(NOTEBOOKS / name, out_dir=out, env=settings)
        assert result.error is None, f"{name} failed:\n{result.error}"
    return out


@pytest.fixture(scope="module")
def site_url(course, executed, tmp_path_factory) -> Iterator[str]:
    """The website built from the executed chapters, served on a free port."""
    out = tmp_path_factory.mktemp("site") / "site"
    report = site.build(course, executed_dir=executed, out=out)
    assert report.broken == []
    port = free_port()
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    with serving(cmd + ["--directory", str(out)], port, out.parent / "http.log", timeout=30):
        yield f"http://127.0.0.1:{port}/"


def _wait_for_page(driver, page: str) -> None:
    WebDriverWait(driver, 30).until(lambda d: d.current_url.split("#")[0].endswith(page))
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _click_nav(driver, label: str, href: str) -> None:
    link = driver.find_element(By.CSS_SELECTOR, f'nav.course-nav a[href="{href}"]')
    assert link.text == label
    link.click()
    _wait_for_page(driver, href)


def test_site_opens_and_its_navigation_reaches_every_chapter(browser, site_url, course):
    browser.get(site_url)
    _wait_for_page(browser, "/")
    assert course.title in browser.find_element(By.TAG_NAME, "h1").text
    browser.save_screenshot(str(SHOTS / "site-index.png"))
    for chapter in course.chapters:  # from page to page, through the navigation bar only
        _click_nav(browser, chapter.heading, site.chapter_page(chapter))
        assert browser.find_element(By.TAG_NAME, "h1").text.startswith(chapter.heading)
        current = browser.find_element(By.CSS_SELECTOR, 'nav.course-nav a[aria-current="page"]')
        assert current.text == chapter.heading
        if chapter == course.chapters[0]:
            browser.save_screenshot(str(SHOTS / f"site-{chapter.slug}.png"))
    _click_nav(browser, "Home", "index.html")


def test_a_chapter_page_shows_the_apps_answer(browser, site_url, course):
    chapter = course.chapter("02")
    browser.get(site_url)
    _click_nav(browser, chapter.heading, site.chapter_page(chapter))
    outputs = browser.find_elements(
        By.XPATH, f"//div[contains(@class, 'jp-OutputArea-output')][contains(., '{MARTIN}')]"
    )
    assert outputs, f"no output of {chapter.heading} shows {MARTIN!r}"
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", outputs[0])
    assert outputs[0].is_displayed()
    browser.save_screenshot(str(SHOTS / "site-chapter-02-martin.png"))


def test_troubleshooting_page_links_each_failure_to_its_chapter(browser, site_url, course):
    browser.get(site_url)
    _click_nav(browser, "Troubleshooting", "troubleshooting.html")
    entries = browser.find_elements(By.CSS_SELECTOR, "section.error-entry")
    assert entries
    numbers = {site.chapter_page(c): c for c in course.chapters}
    taught = browser.find_elements(By.CSS_SELECTOR, "section.error-entry p a")
    to_chapters = [a for a in taught if a.get_attribute("href").rsplit("/", 1)[-1] in numbers]
    assert to_chapters, "no troubleshooting entry links to a chapter of this course"
    page = to_chapters[0].get_attribute("href").rsplit("/", 1)[-1]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", to_chapters[0])
    browser.save_screenshot(str(SHOTS / "site-troubleshooting.png"))
    to_chapters[0].click()
    _wait_for_page(browser, page)
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(numbers[page].heading)


def test_the_readme_lab_command_opens_chapter_01_in_jupyterlab(browser, tmp_path):
    readme = (ROOT / "README.md").read_text()
    assert "./course lab" in readme, "the README no longer shows ./course lab"
    port, token = free_port(), secrets.token_hex(16)
    # Fresh user settings: nobody's theme or open tabs, and no news prompt over the screenshot.
    news = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    cmd = [
        str(ROOT / "course"),
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    ]
    chapter = NOTEBOOKS / "01-flask-app.ipynb"
    before = chapter.read_bytes()
    with serving(cmd, port, tmp_path / "lab.log", timeout=600, cwd=ROOT, env=env):
        # `jupyter lab FILE` serves FILE's folder (notebooks/) and opens FILE: the same URL here.
        browser.get(f"http://127.0.0.1:{port}/lab/tree/01-flask-app.ipynb?token={token}")
        heading = WebDriverWait(browser, 90).until(
            EC.visibility_of_element_located(
                (
                    By.XPATH,
                    "//div[contains(@class, 'jp-RenderedMarkdown')]"
                    "//h1[contains(., '01 — The Flask app')]",
                )
            )
        )
        tab = browser.find_element(By.CSS_SELECTOR, "li.lm-TabBar-tab.jp-mod-current")
        assert "01-flask-app.ipynb" in tab.text
        assert heading.is_displayed()
        # the notebook's kernel started and answers: the status bar says it is idle
        WebDriverWait(browser, 90).until(
            lambda d: "| Idle" in d.find_element(By.CSS_SELECTOR, "#jp-main-statusbar").text
        )
        browser.save_screenshot(str(SHOTS / "jupyterlab-chapter-01.png"))
    assert chapter.read_bytes() == before, "opening chapter 01 in JupyterLab rewrote it"
