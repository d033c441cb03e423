"""The pages in a real browser: Debian's headless chromium, driven by Selenium through
chromedriver, loading them from `aggregator serve` run as a real process.

Accessibility is checked with axe-core, run in that browser on every page. `.ci/run`
installs chromium, chromedriver and axe-core; without them these tests are skipped,
except in CI (`CI=true`), where they fail. Screenshots of the front page and a topic
page at 360 px and 1280 px are written to `build/screenshots/` (or to
`$AGGREGATOR_SCREENSHOTS`).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, SHIPPED_SEEDS

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
AXE = Path(os.environ.get("AGGREGATOR_AXE_JS", REPO / "build/axe/node_modules/axe-core/axe.min.js"))
SCREENSHOTS = Path(os.environ.get("AGGREGATOR_SCREENSHOTS", REPO / "build/screenshots"))
DEADLINE = 30.0


def _require_browser() -> None:
    missing = [name for name, found in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER),
                                        ("axe-core", AXE.is_file())) if not found]
    if missing:
        message = f"not installed: {', '.join(missing)} (.ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


class Served:
    """`aggregator serve` of one published site, as a real process."""

    def __init__(self, feeds: Path, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "serve", "--bind", "127.0.0.1:0", "--feeds", str(feeds), "-v"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace", cwd=cwd)
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(lines,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self._port(lines)}/"

    def _read(self, lines: queue.Queue[str | None]) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            lines.put(line)
        lines.put(None)

    @staticmethod
    def _port(lines: queue.Queue[str | None]) -> int:
        while (line := lines.get(timeout=DEADLINE)) is not None:
            if match := re.search(r"serving .* on http://127\.0\.0\.1:(\d+)/", line):
                return int(match.group(1))
        raise AssertionError("aggregator serve did not say where it serves")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=DEADLINE)


def _publish(root: Path, thumbnails: bool) -> Path:
    config = root / "site.yaml"
    config.write_text(f"site:\n  thumbnails: {str(thumbnails).lower()}\n", encoding="utf-8")
    feeds = root / "feeds"
    subprocess.run([sys.executable, "-m", "aggregator", "publish", "--config", str(config), "--seeds",
                    str(SHIPPED_SEEDS), "--feeds", str(feeds), "--state", str(root / "state.sqlite")],
                   check=True, capture_output=True, cwd=root)
    return feeds


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Served]]:
    """The shipped seeds published twice, with thumbnails and without, each served."""
    _require_browser()
    served = {}
    for name, thumbnails in (("thumbnails", True), ("plain", False)):
        root = tmp_path_factory.mktemp(name)
        served[name] = Served(_publish(root, thumbnails), root)
    yield served
    for server in served.values():
        server.stop()


@pytest.fixture(scope="module")
def browser(sites: dict[str, Served]) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(DEADLINE)
    yield driver
    driver.quit()


def visit(driver: Any, url: str, width: int = 1280, dark: bool = False) -> tuple[list[str], list[dict[str, Any]]]:
    """Load `url` at a viewport `width` px wide; returns the pages's requests (URLs) and
    its console messages. The logs are emptied first, after leaving the page before: its
    images still loading would otherwise report their failures into this page's log."""
    driver.get("about:blank")
    driver.get_log("performance")
    driver.get_log("browser")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [
        {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})
    driver.get(url)
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")  # lazy images come in
    requests = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    return requests, driver.get_log("browser")


def test_the_front_page_in_a_browser_shows_cards_coverage_and_navigation(
        sites: dict[str, Served], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    requests, console = visit(browser, sites["thumbnails"].url + "index.html")
    cards = browser.find_elements(By.CSS_SELECTOR, "main article.story")
    assert len(cards) >= 10
    headlines = [card.find_element(By.CSS_SELECTOR, "h3 a").get_attribute("href") for card in cards]
    assert all(href.startswith("https://") for href in headlines)
    assert browser.find_elements(By.CSS_SELECTOR, "article.story details.related li a")
    navigation = browser.find_elements(By.CSS_SELECTOR, "nav.feeds h2")
    assert [h.text for h in navigation] == ["Topics", "Outlets"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "nav.feeds li a")) >= 50
    thumbnails = browser.find_elements(By.CSS_SELECTOR, "img.thumb")
    assert thumbnails and all(img.get_attribute("loading") == "lazy" and img.get_attribute("alt") for img in thumbnails)
    own = sites["thumbnails"].url
    assert any(not url.startswith(own) for url in requests)  # the outlets' images, and nothing else of theirs
    assert all(url.startswith(own) or _is_image(url) for url in requests)
    # No network here: only the outlets' images may fail to load.
    assert [m["message"] for m in console if m["level"] == "SEVERE" and "net::" not in m["message"]] == []


def _is_image(url: str) -> bool:
    return re.search(r"\.(jpe?g|png|webp|gif|avif)\b|/image|/media|/img|resizer", url, re.I) is not None


def test_with_thumbnails_off_no_request_leaves_the_site_and_nothing_fails(
        sites: dict[str, Served], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    site = sites["plain"].url
    for rel in ("index.html", "topics/ai.html", "all.html"):
        requests, console = visit(browser, site + rel)
        assert requests and all(url.startswith(site) for url in requests), (rel, requests)
        assert [m for m in console if m["level"] in ("SEVERE", "WARNING")] == [], rel
        assert browser.execute_script("return document.styleSheets.length") == 1, rel
        assert browser.find_elements(By.CSS_SELECTOR, "main article.story h3 a"), rel
        assert not browser.find_elements(By.TAG_NAME, "img"), rel
    visit(browser, site + "topics/ai.html")  # the topic page: its stories, their coverage, its feeds
    assert browser.find_elements(By.CSS_SELECTOR, "article.story details.related li a")
    assert {a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "section.subscribe a")} == {
        f"http://localhost:8000/topics/ai{suffix}" for suffix in (".rss.xml", ".atom.xml", ".json")}


@pytest.mark.parametrize("width", [360, 1280])
def test_pages_fit_the_screen_and_are_kept_as_screenshots(sites: dict[str, Served], browser: Any, width: int) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for rel, name in (("index.html", "front"), ("topics/ai.html", "topic-ai")):
        visit(browser, sites["thumbnails"].url + rel, width)
        browser.execute_script("window.scrollTo(0, 0)")
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (rel, width, overflow)
        height = browser.execute_script("return Math.min(document.documentElement.scrollHeight, 4000)")
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
        assert browser.save_screenshot(str(SCREENSHOTS / f"{name}-{width}.png"))


def test_dark_mode_follows_the_system(sites: dict[str, Served], browser: Any) -> None:
    colours = []
    for dark in (False, True):
        visit(browser, sites["plain"].url + "index.html", dark=dark)
        colours.append(browser.execute_script("return getComputedStyle(document.body).backgroundColor"))
    assert colours[0] != colours[1]


def test_every_page_passes_axe_core_light_and_dark(sites: dict[str, Served], browser: Any) -> None:
    site = sites["plain"].url
    folder = _feeds_of(sites["plain"])
    pages = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.html"))
    assert len(pages) > 50
    script = AXE.read_text(encoding="utf-8")
    found = {}
    for rel in pages:
        for dark in (False, True) if rel in ("index.html", "topics/ai.html") else (False,):
            visit(browser, site + rel, dark=dark)
            if violations := _axe(browser, script):
                found[rel + (" (dark)" if dark else "")] = violations
    assert found == {}
    # The check itself: an image without alt text on the last page is found.
    browser.execute_script("document.querySelector('main').append(Object.assign(new Image(1, 1), {src: 'x.png'}))")
    assert "image-alt" in [v[0] for v in _axe(browser, script)]


def _axe(browser: Any, script: str) -> list[list[Any]]:
    """axe-core's violations on the page loaded: [rule, impact, how many elements]."""
    browser.execute_script(script)
    violations: list[list[Any]] = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then("
        "  r => done(r.violations.map(v => [v.id, v.impact, v.nodes.length])),"
        "  e => done([['error', String(e), 0]]));")
    return violations


def _feeds_of(server: Served) -> Path:
    args = server.proc.args
    assert isinstance(args, list)
    return Path(args[args.index("--feeds") + 1])
