"""`aggregator run` as a real process, observed through its HTTP server and its files.

Every wait is a poll with a deadline, never a fixed long sleep.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import watchfiles
from lxml import etree, html

import aggregator.daemon
from aggregator.daemon import event_scope
from aggregator.load import Scope
from aggregator.publish import publish_locked
from aggregator.store import Store
from tests.conftest import Site, read_feed, seed_text

DEADLINE = 30.0  # generous: shared CI machines stall at times; typical latency is well under 1 s


class Daemon:
    """A running `aggregator run` subprocess with its log lines collected."""

    def __init__(self, site: Site, *extra: str) -> None:
        self.site = site
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "run", *site.args("--serve", "127.0.0.1:0", *extra)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=site.root,
        )
        threading.Thread(target=self._read, daemon=True).start()
        line = self.wait_log(r"serving .* on (http://127\.0\.0\.1:\d+/)", since=0)
        self.base = re.search(r"(http://127\.0\.0\.1:\d+/)", line).group(1)  # type: ignore[union-attr]
        self.wait_log(r"cycle trigger=start", since=0)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def _take(self, timeout: float) -> bool:
        """Move one line from the reader's queue into the log; False if none came in time."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return False
        self.log.append(line)
        return True

    def drain(self, quiet: float = 0.2) -> None:
        """Move all queued output into the log, until none has come for `quiet` seconds."""
        while self._take(quiet):
            pass

    def mark(self) -> int:
        """Where the log stands before an action: `wait_log(..., since=mark)` sees only what follows."""
        self.drain()
        return len(self.log)

    def wait_log(self, pattern: str, *, since: int, deadline: float = DEADLINE) -> str:
        """The first log line from index `since` on that matches `pattern`, waiting for it if need be."""
        end = time.monotonic() + deadline
        checked = since
        while True:
            for line in self.log[checked:]:
                if re.search(pattern, line):
                    return line
            checked = max(checked, len(self.log))
            if time.monotonic() >= end:
                break
            self._take(0.1)
        raise AssertionError(f"no log line matching {pattern!r} after line {since}; log:\n" + "\n".join(self.log))

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), b""

    def feed(self, path: str) -> Any:
        status, _, body = self.get(path)
        return read_feed(body, path) if status == 200 else None

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout=DEADLINE)  # a few seconds; generous for a loaded machine
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


@pytest.fixture
def daemon(site: Site) -> Iterator[Daemon]:
    site.write_seed("first.md", seed_text(url="https://example.com/first", topics=("Space",)))
    running = Daemon(site)
    yield running
    if running.proc.poll() is None:
        running.proc.kill()
        running.proc.wait()


def eventually(check: Callable[[], Any], deadline: float = DEADLINE) -> Any:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met before the deadline")


def cycle(files: str = r"[1-9]\d*", stories: str = r"\+\d+ ~\d+ -\d+") -> str:
    """A log pattern: a finished cycle that read or removed `files` seeds, with nothing left pending."""
    return rf"cycle trigger=\S+ files_changed={files} stories {stories} feeds_written=\d+ feeds_removed=\d+ pending=0 "


def links(daemon: Daemon, path: str) -> list[str]:
    feed = daemon.feed(path)
    return [e.link for e in feed.entries] if feed else []


def test_new_edited_and_deleted_seeds_show_in_the_served_feeds(daemon: Daemon, site: Site) -> None:
    mark = daemon.mark()
    site.write_seed("new.md", seed_text(url="https://news.example.org/new", title="Fresh", topics=("Health",),
                                        provider=("Example Org", "news.example.org")))
    daemon.wait_log(cycle(files="1", stories=r"\+1 ~0 -0"), since=mark)
    eventually(lambda: "https://news.example.org/new" in links(daemon, "topics/health.atom.xml"))
    assert links(daemon, "providers/news.example.org.rss.xml") == ["https://news.example.org/new"]
    [before] = daemon.feed("topics/health.atom.xml").entries

    mark = daemon.mark()
    site.write_seed("new.md", seed_text(url="https://news.example.org/new", title="Edited", topics=("Health",),
                                        provider=("Example Org", "news.example.org")))
    daemon.wait_log(cycle(files="1", stories=r"\+0 ~1 -0"), since=mark)
    eventually(lambda: [e.title for e in daemon.feed("topics/health.atom.xml").entries] == ["Edited"])
    [after] = daemon.feed("topics/health.atom.xml").entries
    assert after.id == before.id

    mark = daemon.mark()
    os.rename(site.seeds / "new.md", site.seeds / "renamed.md")
    daemon.wait_log(cycle(files="2"), since=mark)  # renamed.md read and new.md gone, in one cycle
    assert [e.id for e in daemon.feed("topics/health.atom.xml").entries] == [before.id]

    mark = daemon.mark()
    (site.seeds / "renamed.md").unlink()
    daemon.wait_log(cycle(files="1", stories=r"\+0 ~0 -1"), since=mark)
    eventually(lambda: daemon.get("topics/health.atom.xml")[0] == 404)
    assert "https://news.example.org/new" not in links(daemon, "all.atom.xml")


def test_folder_with_a_dot_in_its_name_moved_in_is_published(daemon: Daemon, site: Site) -> None:
    """A moved folder is one event on the folder itself; a name like "2024.06" must not hide it."""
    outside = site.root / "incoming" / "2024.06"
    outside.mkdir(parents=True)
    (outside / "june.md").write_text(seed_text(url="https://example.com/june", title="June"), encoding="utf-8")
    mark = daemon.mark()
    os.rename(outside, site.seeds / "2024.06")
    daemon.wait_log(cycle(files="1", stories=r"\+1 ~0 -0"), since=mark)
    assert "https://example.com/june" in links(daemon, "all.atom.xml")


def test_slowly_written_file_never_publishes_half(daemon: Daemon, site: Site) -> None:
    text = seed_text(url="https://example.com/slow", title="Slow", topics=("Slow",),
                     related="".join(
                         f'  - title: "Cover {i}"\n    publishedDateTime: 2024-05-02T09:00:00Z\n'
                         f'    webUrl: "https://other.example.net/{i}"\n' for i in range(12)))
    data = text.encode()
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            feed = daemon.feed("topics/slow.atom.xml")
            if feed:
                content = html.fragment_fromstring(feed.entries[0].content[0].value, create_parent="div")
                seen.append(len(content.findall(".//li")))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    mark = daemon.mark()
    watcher.start()
    try:
        with open(site.seeds / "slow.md", "wb") as handle:
            for start in range(0, len(data), 120):
                handle.write(data[start : start + 120])
                handle.flush()
                time.sleep(0.06)  # a slow copy: many small writes, each an event
        daemon.wait_log(cycle(stories=r"\+1 ~0 -0"), since=mark)  # the cycle that published slow.md
        eventually(lambda: seen)
    finally:
        stop.set()
        watcher.join()
    assert set(seen) == {12}, seen
    daemon.drain()
    assert not [line for line in daemon.log if "slow.md" in line and "ERROR" in line]


def test_future_story_appears_when_its_time_comes(daemon: Daemon, site: Site) -> None:
    release = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    mark = daemon.mark()
    site.write_seed("later.md", seed_text(url="https://example.com/later", topics=("Later",),
                                          published=release.isoformat().replace("+00:00", "Z")))
    daemon.wait_log(cycle(files="1"), since=mark)  # later.md read, and held back
    status = daemon.get("topics/later.atom.xml")[0]
    if datetime.now(UTC) < release:  # a loaded machine may only get here after the release
        assert status == 404
    daemon.wait_log(r"cycle trigger=\S*release", since=mark)
    assert datetime.now(UTC) >= release
    assert links(daemon, "topics/later.atom.xml") == ["https://example.com/later"]


def test_conditional_get_content_types_and_gzip(daemon: Daemon) -> None:
    status, headers, _ = daemon.get("all.rss.xml")
    assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
    assert "max-age" in headers["Cache-Control"] and headers["Last-Modified"]
    etag = headers["ETag"]
    assert daemon.get("all.rss.xml", {"If-None-Match": etag})[0] == 304
    assert daemon.get("all.rss.xml", {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert daemon.get("all.rss.xml", {"If-None-Match": '"other"'})[0] == 200
    assert daemon.get("all.atom.xml")[1]["Content-Type"].startswith("application/atom+xml")
    assert daemon.get("feeds.opml")[1]["Content-Type"].startswith("text/x-opml")
    assert daemon.get("")[1]["Content-Type"].startswith("text/html")
    gz_status, gz_headers, _ = daemon.get("all.atom.xml", {"Accept-Encoding": "gzip"})
    assert gz_status == 200 and gz_headers.get("Content-Encoding") == "gzip"
    for path in ("../state/state.sqlite", "%2e%2e/state/state.sqlite", "topics/", ".hidden", "x/../../etc/passwd"):
        assert daemon.get(path)[0] == 404, path


def test_publish_is_refused_while_the_daemon_runs(daemon: Daemon, site: Site) -> None:
    result = site.publish()
    assert result.exit_code == 3
    assert "aggregator run" in result.output and "another aggregator process" in result.output


def test_sighup_reloads_config_and_keeps_the_old_one_when_bad(site: Site, tmp_path: Path) -> None:
    config = tmp_path / "aggregator.yaml"
    config.write_text('site:\n  title: "First"\n')
    site.write_seed("a.md", seed_text())
    running = Daemon(site, "--config", str(config))
    try:
        assert running.feed("all.atom.xml").feed.title.startswith("First")
        mark = running.mark()
        config.write_text("site:\n  title: [\n")
        running.proc.send_signal(signal.SIGHUP)
        running.wait_log(r"configuration not reloaded, keeping the old one", since=mark)
        running.wait_log(r"cycle trigger=\S*reload", since=mark)  # the cycle after the bad reload
        assert running.feed("all.atom.xml").feed.title.startswith("First")  # the old config still applies
        mark = running.mark()
        config.write_text('site:\n  title: "Second"\n')
        running.proc.send_signal(signal.SIGHUP)
        running.wait_log(r"configuration reloaded", since=mark)
        running.wait_log(r"cycle trigger=\S*reload", since=mark)
        eventually(lambda: running.feed("all.atom.xml").feed.title.startswith("Second"))
    finally:
        assert running.stop() == 0


def test_sigterm_exits_zero_with_every_feed_well_formed(daemon: Daemon, site: Site) -> None:
    for i in range(20):
        site.write_seed(f"burst-{i}.md", seed_text(url=f"https://example.com/burst/{i}"))
    assert daemon.stop(signal.SIGTERM) == 0
    for path in site.feeds.rglob("*.xml"):
        etree.parse(str(path))
        read_feed(path.read_bytes(), str(path))
    assert not [p for p in site.feeds.rglob("*") if "aggregator-tmp" in p.name]
    assert site.publish().exit_code == 0  # the lock was released


def test_sigint_exits_zero(daemon: Daemon) -> None:
    assert daemon.stop(signal.SIGINT) == 0


# --- an operator's slips and the machine's faults: the daemon heals by itself ----------------


def test_links_follow_the_served_address_unless_a_base_url_is_given(site: Site) -> None:
    site.write_seed("a.md", seed_text())
    running = Daemon(site)
    try:
        feed = running.feed("all.atom.xml")
        assert [link.href for link in feed.feed.links if link.rel == "self"] == [running.base + "all.atom.xml"]
    finally:
        assert running.stop() == 0
    running = Daemon(site, "--base-url", "https://news.example.org/feeds/")
    try:
        feed = running.feed("all.atom.xml")
        assert [link.href for link in feed.feed.links if link.rel == "self"] == [
            "https://news.example.org/feeds/all.atom.xml"]
    finally:
        assert running.stop() == 0


def test_seeds_folder_moved_away_and_copied_back_is_watched_again(daemon: Daemon, site: Site) -> None:
    mark = daemon.mark()
    os.rename(site.seeds, site.root / "seeds.old")
    subprocess.run(["cp", "-r", str(site.root / "seeds.old"), str(site.seeds)], check=True)
    daemon.wait_log(r"watching it again", since=mark)
    mark = daemon.mark()
    site.write_seed("after.md", seed_text(url="https://example.com/after", title="After", topics=("Space",)))
    # Published by the file event (or the settle that follows it), never by the 300 s rescan.
    line = daemon.wait_log(cycle(files="1", stories=r"\+1 ~0 -0"), since=mark)
    assert re.search(r"trigger=(files|settle)(,(files|settle))* ", line), line
    assert "https://example.com/after" in links(daemon, "topics/space.atom.xml")


def test_seeds_folder_deleted_is_waited_for_and_said_once(site: Site) -> None:
    site.write_seed("first.md", seed_text(url="https://example.com/first", topics=("Space",)))
    daemon = Daemon(site, "-v")  # debug lines show each attempt
    try:
        mark = daemon.mark()
        shutil.rmtree(site.seeds)
        daemon.wait_log(r"ERROR cycle failed: seeds folder not found", since=mark)
        assert daemon.get("all.atom.xml")[0] == 200  # the feeds stay as they were
        daemon.wait_log(r"DEBUG cycle failed again \(attempt 2\)", since=mark)  # tried again, not said again
        site.write_seed("back.md", seed_text(url="https://example.com/back", title="Back", topics=("Space",)))
        daemon.wait_log(r"cycle works again after \d+ failed attempts", since=mark)
        eventually(lambda: links(daemon, "all.atom.xml") == ["https://example.com/back"])
        errors = [line for line in daemon.log[mark:] if " ERROR " in line]
        assert len(errors) == 1 and "Traceback" not in "\n".join(daemon.log), errors
    finally:
        assert daemon.stop() == 0


def test_state_folder_deleted_keeps_the_lock_and_is_rebuilt(daemon: Daemon, site: Site) -> None:
    shutil.rmtree(site.state.parent)
    result = site.publish()
    assert result.exit_code == 3, result.output  # the daemon still holds the lock
    mark = daemon.mark()
    site.write_seed("new.md", seed_text(url="https://example.com/new", title="New", topics=("Space",)))
    daemon.wait_log(r"state .* was deleted or replaced; rebuilding it", since=mark)
    daemon.wait_log(cycle(), since=mark)
    assert site.state.is_file()
    assert sorted(links(daemon, "topics/space.atom.xml")) == ["https://example.com/first", "https://example.com/new"]
    assert site.publish().exit_code == 3


def test_failed_cycle_is_retried_until_the_disk_is_writable(site: Site, mounts: Callable[..., Any]) -> None:
    disk = mounts(site.feeds, 8192)
    site.write_seed("first.md", seed_text(url="https://example.com/first", topics=("Space",)))
    running = Daemon(site, "-v")
    try:
        disk.remount("ro")
        mark = running.mark()
        site.write_seed("new.md", seed_text(url="https://example.com/new", title="New", topics=("Space",)))
        running.wait_log(r"ERROR cycle failed: cannot write .*Read-only file system", since=mark)
        running.wait_log(r"cycle failed again \(attempt 3\)", since=mark)
        disk.remount("rw")  # no seed changes from here on: only the retry can publish the edit
        running.wait_log(r"cycle works again after [3-9]\d* failed attempts", since=mark, deadline=60)
        assert "https://example.com/new" in links(running, "topics/space.atom.xml")
        errors = [line for line in running.log[mark:] if " ERROR " in line]
        assert len(errors) == 1, errors  # said once, however often it was tried
    finally:
        assert running.stop() == 0


def test_busy_port_is_exit_2_in_one_line(site: Site) -> None:
    site.write_seed("a.md", seed_text())
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "aggregator", "run", *site.args("--serve", f"127.0.0.1:{port}")],
                              cwd=site.root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"cannot serve on 127.0.0.1:{port}: address already in use" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not site.feeds.exists() or not any(site.feeds.iterdir())  # nothing published


# --- which folders a cycle lists -------------------------------------------------------------


def test_file_events_name_the_folders_to_list(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    (seeds / "2024" / "05").mkdir(parents=True)
    (seeds / "2024" / "05" / "a.md").write_text("x")
    (seeds / "top.md").write_text("x")
    (seeds / "new").mkdir()
    (seeds / "link").symlink_to(seeds / "2024")
    scope = event_scope(seeds, [str(seeds / "2024" / "05" / "a.md"), str(seeds / "top.md"),
                                str(seeds / "new"), str(seeds / "gone" / "b.md"), str(seeds / "gone"),
                                str(seeds / "link")], pending=["2024/x.md"])
    # Whatever is not a folder now may have been one: what the state has below it is looked at.
    assert scope == Scope(folders=frozenset({"2024/05/", "", "gone/", "2024/"}),
                          trees=frozenset({"2024/05/a.md/", "top.md/", "new/", "gone/b.md/", "gone/", "link/"}))
    assert scope.holds("gone/deeper/") and not scope.holds("2024/05/older/")
    assert event_scope(seeds, [str(seeds)]) is None  # the folder itself: everything
    assert event_scope(seeds, [str(tmp_path / "elsewhere.md")]) is None
    assert event_scope(Path(os.path.relpath(seeds)), [str(seeds / "top.md")]) == Scope(frozenset({""}),
                                                                                       frozenset({"top.md/"}))


def test_a_publish_for_some_folders_sees_only_them_until_the_whole_folder_is_listed(site: Site) -> None:
    for folder in ("a", "b", "c"):
        site.write_seed(f"{folder}/one.md", seed_text(url=f"https://example.com/{folder}", topics=(folder.upper(),)))
    config = site.config()
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def cycle(scope: Scope | None) -> Any:
        store = Store(site.state)
        try:
            return publish_locked(store, config, now, scope=scope)
        finally:
            store.close()

    assert cycle(None).stories_published == 3
    site.write_seed("a/one.md", seed_text(url="https://example.com/a", title="Edited", topics=("A",)))
    site.write_seed("b/two.md", seed_text(url="https://example.com/b2", topics=("B",)))
    shutil.rmtree(site.seeds / "c")
    result = cycle(Scope(frozenset({"a/"}), frozenset({"c/"})))  # the events named a/one.md and c/
    assert (result.scoped, result.updated, result.added, result.deleted) == (True, 1, 0, 1)
    assert result.files_seen == 2 and result.stories_published == 2  # b/two.md is not known yet
    assert b"Edited" in (site.feeds / "topics" / "a.atom.xml").read_bytes()
    assert not (site.feeds / "topics" / "c.atom.xml").exists()
    result = cycle(None)  # the rescan finds what no event named
    assert (result.scoped, result.added, result.stories_published, result.files_seen) == (False, 1, 3, 3)


def test_a_seed_that_is_a_link_follows_its_target_edited_elsewhere(site: Site) -> None:
    site.write_seed("b/x.md", seed_text(url="https://example.com/linked", title="Before", topics=("Space",)))
    (site.seeds / "a").mkdir()
    (site.seeds / "a" / "link.md").symlink_to(site.seeds / "b" / "x.md")  # the same story, listed first
    daemon = Daemon(site)
    try:
        assert eventually(lambda: (feed := daemon.feed("topics/space.atom.xml")) and feed.entries[0].title == "Before")
        mark = daemon.mark()
        site.write_seed("b/x.md", seed_text(url="https://example.com/linked", title="After", topics=("Space",)))
        daemon.wait_log(cycle(), since=mark)  # the event names b/ only; a/ holds a link, so it is listed too
        assert eventually(lambda: daemon.feed("topics/space.atom.xml").entries[0].title == "After")
    finally:
        daemon.stop()


def test_a_change_made_before_the_watcher_watches_is_published_once_it_does(site: Site,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The first cycle lists the seeds once the watcher watches; a watcher slower than
    the daemon's wait makes a full cycle when it begins, so what changed between the two
    (and so made no file event) is published then, not at the next interval rescan."""
    site.write_seed("first.md", seed_text(url="https://example.com/first", title="Before", topics=("Space",)))
    real_watch = watchfiles.watch
    begin = threading.Event()

    def late_watch(*args: Any, **kwargs: Any) -> Iterator[set[tuple[watchfiles.Change, str]]]:
        begin.wait(DEADLINE)  # a watcher that takes a while to set itself up
        yield from real_watch(*args, **kwargs)

    monkeypatch.setattr(aggregator.daemon.watchfiles, "watch", late_watch)
    monkeypatch.setattr(aggregator.daemon, "WATCH_READY_SECONDS", 0.05)
    feed = site.feeds / "topics" / "space.atom.xml"
    running = aggregator.daemon.Daemon(site.config)  # rescans every 300 s: that is not what publishes it
    thread = threading.Thread(target=running.run)
    thread.start()
    try:
        eventually(lambda: feed.exists() and read_feed(feed.read_bytes()).entries[0].title == "Before")
        site.write_seed("first.md", seed_text(url="https://example.com/first", title="After", topics=("Space",)))
        begin.set()  # it watches only now: the edit made no event
        eventually(lambda: read_feed(feed.read_bytes()).entries[0].title == "After")
    finally:
        begin.set()
        running.stop.set()
        running.triggers.put(aggregator.daemon.Trigger.STOP)
        thread.join(DEADLINE)
    assert not thread.is_alive()
