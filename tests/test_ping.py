"""Publisher pings to external WebSub hubs, against fake hubs on loopback: one that takes
them, one that fails for a while, one that refuses, and one that is down."""

from __future__ import annotations

import http.server
import queue
import re
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aggregator import render
from aggregator.ping import Pinger
from tests.conftest import BASE_URL, Site, seed_text
from tests.test_daemon import DEADLINE, Daemon


class FakeHub:
    """Records each ping's form; answers `statuses` in turn, then 204."""

    def __init__(self, statuses: tuple[int, ...] = ()) -> None:
        self.pings: queue.Queue[dict[str, list[str]]] = queue.Queue()
        self.statuses = list(statuses)
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hub.pings.put(urllib.parse.parse_qs(body.decode()))
                self.send_response(hub.statuses.pop(0) if hub.statuses else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def urls(self) -> list[str]:
        """Every feed URL pinged so far."""
        found: list[str] = []
        while not self.pings.empty():
            form = self.pings.get()
            assert form["hub.mode"] == ["publish"]
            found += form["hub.url"]
        return found


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    running = FakeHub()
    yield running
    running.server.shutdown()


def down_hub() -> str:
    """The URL of a port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def config(tmp_path: Path, *hubs: str, wait: int = 2) -> str:
    path = tmp_path / "ping.yaml"
    path.write_text(yaml.safe_dump({"websub": {"hubs": list(hubs), "ping_wait_seconds": wait}}))
    return str(path)


def test_a_publish_pings_each_hub_with_the_changed_feeds_and_a_down_hub_is_said_once(
        site: Site, tmp_path: Path, hub: FakeHub) -> None:
    site.write_seed("a.md", seed_text(url="https://example.com/a", topics=("Space",)))
    down = down_hub()
    result = site.publish("--config", config(tmp_path, hub.url, down))
    assert result.exit_code == 0, result.output
    feeds = sorted(BASE_URL + p for p in site.feed_files() if render.subscribable(p))
    assert sorted(hub.urls()) == feeds and len(feeds) == 9  # all, topic, provider; 3 formats each
    assert "websub: 1 of 2 hubs pinged for 9 feed URLs" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "not pinged" in line]
    assert len(warnings) == 1
    assert re.fullmatch(rf"warning: WebSub hub {re.escape(down)} was not pinged for 9 feed URLs: connection refused"
                        r" \(after \d+ attempts?; gave up when the publish ended\)", warnings[0])
    assert "Traceback" not in result.output

    again = site.publish("--config", config(tmp_path, hub.url, down))  # nothing changed: no ping
    assert again.exit_code == 0 and "websub" not in again.output and hub.urls() == []

    site.write_seed("a.md", seed_text(url="https://example.com/a", title="Edited", topics=("Space",)))
    edited = site.publish("--config", config(tmp_path, hub.url))
    assert edited.exit_code == 0
    assert sorted(hub.urls()) == feeds


def test_a_failing_hub_is_retried_and_a_refusing_one_is_not() -> None:
    flaky, refusing = FakeHub((503, 502)), FakeHub((400,))
    reports: list[str] = []
    pinger = Pinger((flaky.url, refusing.url), timeout=5, report=reports.append)
    pinger.ping(["https://example.org/all.atom.xml"])
    pinger.close(wait=10)
    assert len(flaky.urls()) == 3  # two failures, then taken
    assert pinger.pinged == {flaky.url: 1, refusing.url: 0}
    assert len(refusing.urls()) == 1  # a 400 is not worth trying again
    assert reports == [f"WebSub hub {refusing.url} was not pinged for 1 feed URL: HTTP 400 Bad Request"
                       " (after 1 attempt; gave up for now; the next publish tries again)"]


def test_the_daemon_pings_after_each_change(site: Site, tmp_path: Path, hub: FakeHub) -> None:
    site.write_seed("first.md", seed_text(url="https://example.com/first", topics=("Space",)))
    daemon = Daemon(site, "--config", config(tmp_path, hub.url))
    try:
        first = hub.pings.get(timeout=DEADLINE)["hub.url"]
        assert daemon.base + "topics/space.atom.xml" in first
        site.write_seed("first.md", seed_text(url="https://example.com/first", title="New", topics=("Space",)))
        after = hub.pings.get(timeout=DEADLINE)["hub.url"]
        assert daemon.base + "topics/space.rss.xml" in after
        assert daemon.stop() == 0
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()


def test_a_hub_that_never_answers_is_reported_when_the_wait_ends() -> None:
    with socket.socket() as silent:  # takes connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        reports: list[str] = []
        pinger = Pinger((url,), timeout=30, report=reports.append)
        pinger.ping(["https://example.org/all.atom.xml", "https://example.org/all.json"])
        pinger.close(wait=1)
    assert pinger.pinged == {url: 0}
    assert reports == [f"WebSub hub {url} was not pinged for 2 feed URLs: no answer in time"
                       " (after 1 attempt; gave up when the publish ended)"]
