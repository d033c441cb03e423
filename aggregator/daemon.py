"""`aggregator run`: keep `feeds/` in step with `seeds/` until told to stop.

A thin shell around `publish_locked()`: every trigger (file events from watchfiles, the
APScheduler interval rescan, the timed release of a future-dated story, SIGHUP) goes
into one queue, and one loop runs one publish cycle at a time. It holds the writer lock
for its whole life, so a concurrent `aggregator publish` is refused.

It heals by itself: a seeds folder deleted, moved away or replaced is watched again
once it is back; a deleted state is rebuilt from the seeds; a cycle that failed (disk
full, read-only folder) is tried again with a growing delay, and each change between
failing and working is logged once.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from types import FrameType

import watchfiles
from apscheduler.schedulers.background import BackgroundScheduler

from aggregator import ping
from aggregator.config import Config, check_paths, served_base_url
from aggregator.errors import AggregatorError, ConfigError
from aggregator.hub import Hub
from aggregator.load import Scope
from aggregator.lock import write_note, writer_lock
from aggregator.model import folder_of
from aggregator.publish import PublishResult, publish_locked, writing
from aggregator.serve import Advertised, FeedServer, parse_bind
from aggregator.store import Store, identity

log = logging.getLogger("aggregator")

ConfigLoader = Callable[[], Config]
OWNER = "aggregator run"
# A failed cycle is tried again after these many seconds, then every last one.
RETRY_SECONDS = (1, 2, 4, 8, 15, 30, 60)
# How often the watcher checks that the seeds folder is still the one it watches.
WATCH_CHECK_MS = 200
# How long the first cycle waits for the watcher to be watching (it lists the seeds
# after that, so no change made meanwhile goes unseen); a watcher slower than this
# makes a second full cycle once it watches.
WATCH_READY_SECONDS = 10.0


class Trigger(Enum):
    """Why a cycle runs; several that arrive together make one cycle."""

    START = "start"
    FILES = "files"  # file-system events below the seeds folder
    RESCAN = "rescan"  # the interval safety net
    RELEASE = "release"  # a future-dated story's time has come
    SETTLE = "settle"  # a file still being written has settled
    RETRY = "retry"  # the last cycle failed
    RELOAD = "reload"  # SIGHUP
    STOP = "stop"


def event_scope(seeds: Path, events: Iterable[str], pending: Iterable[str] = ()) -> Scope | None:
    """The folders to list for these file events (absolute or seeds-relative paths) and
    seeds left to settle; None when the whole seeds folder must be listed.

    A file's event lists its folder; a folder's (created, moved in) lists it and all below.
    Any other path may have been a folder (deleted, replaced by a link or a file), so the
    folders the state has below it are looked at too: absent from the listing, they are
    gone. An event on the seeds folder itself, or outside it, lists everything.
    """
    root = os.path.abspath(seeds)
    folders, trees = {folder_of(path) for path in pending}, set()
    for event in events:
        rel = os.path.relpath(os.path.abspath(os.path.join(root, event)), root)
        if rel == "." or rel.startswith(".."):
            return None
        rel = Path(rel).as_posix()
        full = os.path.join(root, rel)
        if os.path.isdir(full) and not os.path.islink(full):
            trees.add(rel + "/")
            continue
        folders.add(folder_of(rel))
        trees.add(rel + "/")
    return Scope(frozenset(folders), frozenset(trees))


def _seed_filter(change: watchfiles.Change, path: str) -> bool:
    """Events worth a cycle: anything not hidden. A folder moved in or out is one event
    on the folder, whatever its name ("2024.06"); other files cost a cycle that only scans."""
    return not Path(path).name.startswith(".")


class Daemon:
    """Owns the queue of triggers, the watcher thread, the scheduler and the server."""

    def __init__(self, load_config: ConfigLoader) -> None:
        self.load_config = load_config
        self.config = load_config()
        check_paths(self.config)  # at start, as `publish` does: a missing seeds folder is a mistake
        if self.config.websub.builtin and not self.config.daemon.serve:
            raise ConfigError("websub.builtin", "the hub is served by the daemon's server: give --serve HOST:PORT"
                              " (or daemon.serve) too", name=self.config.origin.name("websub.builtin"))
        self.stop = threading.Event()
        self.triggers: queue.Queue[Trigger] = queue.Queue()
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.server: FeedServer | None = None
        self.hub: Hub | None = None
        self.pinger: ping.Pinger | None = None
        self.store: Store  # opened by `run`, under the lock
        self._known_errors: set[str] = set()
        # Paths file events named since the last cycle: a cycle for them alone lists only
        # their folders, not the whole seeds folder (which at 250,000 seeds takes a second).
        self._events: set[str] = set()
        self._events_lock = threading.Lock()
        self._pending: tuple[str, ...] = ()  # seeds the last cycle left to settle
        # Folders holding seeds that are links to seeds elsewhere: listed in every cycle,
        # since an event on a link's target names only the target's folder.
        self._linked: frozenset[str] = frozenset()
        self._failure: str | None = None  # the last failed cycle's error, until one succeeds
        self._failures = 0
        # A change made before a watch begins makes no event: the cycle after the watch
        # began must list everything, unless it is the first cycle (which does anyway and
        # waits for the watcher's first try, `_watch_tried`). `_began` under `_events_lock`.
        self._watch_tried = threading.Event()
        self._began = False

    # --- triggers ------------------------------------------------------------------

    def _watch(self) -> None:
        """Turn file events into triggers, for as long as the seeds folder is the one
        watched; when it is deleted, moved away or replaced, watch it again once it is
        back, and publish whatever changed meanwhile."""
        while not self.stop.is_set():
            seeds = self.config.paths.seeds
            watched = identity(seeds)
            if watched is None:  # gone: the failing cycle says so once; wait for it
                self._watch_tried.set()
                self.stop.wait(WATCH_CHECK_MS / 1000)
                continue
            try:
                ready = False
                for changes in watchfiles.watch(
                    seeds, watch_filter=_seed_filter, debounce=max(self.config.daemon.debounce_ms, 50), step=50,
                    stop_event=self.stop, raise_interrupt=False, rust_timeout=WATCH_CHECK_MS, yield_on_timeout=True,
                ):
                    if not ready:  # the first yield (at most WATCH_CHECK_MS in): it watches
                        ready = True
                        self._watch_began(seeds)
                    if changes:
                        log.debug("file events: %s", sorted(path for _, path in changes))
                        with self._events_lock:
                            self._events.update(path for _, path in changes)
                        self.triggers.put(Trigger.FILES)
                    if identity(seeds) != watched:
                        log.info("seeds folder %s was deleted, moved or replaced; watching it again once it is there",
                                 seeds)
                        break
            except Exception as exc:  # the interval rescan still runs meanwhile; the watcher comes back
                log.warning("file watcher stopped (%s); starting it again", exc)
                self._watch_tried.set()  # the first cycle waits no longer; the next watch makes a full one
                self.stop.wait(WATCH_CHECK_MS / 1000)
            if not self.stop.is_set():
                with self._events_lock:
                    self._events.add(str(seeds))  # whatever changed while nothing watched: all of it
                self.triggers.put(Trigger.FILES)

    def _watch_began(self, seeds: Path) -> None:
        with self._events_lock:
            missed = self._began  # a cycle may have listed the seeds before this watch began
            if missed:
                self._events.add(str(seeds))
            self._watch_tried.set()
        if missed:
            self.triggers.put(Trigger.FILES)

    def _schedule_rescan(self) -> None:
        # coalesce + max_instances: a late or slow rescan never piles up; with no grace
        # limit a rescan delayed by a long cycle still runs (3.x's default of 1 s skips it).
        self.scheduler.add_job(
            self.triggers.put, "interval", args=[Trigger.RESCAN], id="rescan", replace_existing=True,
            seconds=self.config.daemon.rescan_seconds, coalesce=True, max_instances=1, misfire_grace_time=None,
        )

    def _schedule_once(self, trigger: Trigger, when: datetime) -> None:
        self.scheduler.add_job(
            self.triggers.put, "date", args=[trigger], id=trigger.value, replace_existing=True,
            run_date=when, misfire_grace_time=None,
        )

    def _signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.triggers.put(Trigger.RELOAD)
        else:
            log.info("received %s: finishing the cycle in progress, then exiting", signal.Signals(signum).name)
            self.stop.set()
            self.triggers.put(Trigger.STOP)

    # --- the loop ------------------------------------------------------------------

    def run(self) -> int:
        """Run until SIGTERM/SIGINT (or `stop` is set); returns the exit code."""
        paths = self.config.paths
        with writer_lock(paths.state, paths.feeds, owner=OWNER):
            if self.config.daemon.serve:  # before the first cycle: the feeds link to where they are served
                self.hub = Hub(paths.feeds, self.config) if self.config.websub.builtin else None
                self.server = FeedServer(paths.feeds, *parse_bind(self.config.daemon.serve), hub=self.hub)
                self.server.start()
                self.config = served_base_url(self.config, self.server.url)
            self._announce()
            try:
                with writing(self.config):
                    self.store = Store(paths.state)
                if self.hub:
                    self.hub.open_state(paths.state)
                try:
                    return self._run()
                finally:
                    self.store.close()
            finally:
                if self.pinger:
                    self.pinger.close(self.config.websub.ping_wait_seconds)
                if self.server:
                    self.server.stop()

    def _run(self) -> int:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(signum, self._signal)
        watcher = threading.Thread(target=self._watch, name="seed-watcher", daemon=True)
        watcher.start()
        self._schedule_rescan()
        self.scheduler.start()
        if not self._watch_tried.wait(WATCH_READY_SECONDS):
            log.warning("the file watcher is not watching %s yet; publishing meanwhile", self.config.paths.seeds)
        with self._events_lock:
            self._began = True
        log.info("watching %s (rescan every %d s); feeds link to %s", self.config.paths.seeds,
                 self.config.daemon.rescan_seconds, self.config.site.base_url)
        self._cycle({Trigger.START})
        try:
            while not self.stop.is_set():
                try:
                    first = self.triggers.get(timeout=0.5)
                except queue.Empty:
                    continue
                triggers = {first}
                while True:  # one cycle for everything that is already queued
                    try:
                        triggers.add(self.triggers.get_nowait())
                    except queue.Empty:
                        break
                if Trigger.RELOAD in triggers:
                    self._reload()
                if self.stop.is_set():
                    break
                self._cycle(triggers - {Trigger.RELOAD} or {Trigger.RELOAD})
        finally:
            self.stop.set()
            self.scheduler.shutdown(wait=False)
            watcher.join(timeout=3)
        log.info("stopped")
        return 0

    def _announce(self) -> None:
        """Give the server, the hub and the pings the settings in force (at start, SIGHUP)."""
        config = self.config
        if self.server:
            self.server.advertised = Advertised(config.site.base_url, config.hubs)
        if self.hub:
            self.hub.configure(config)
        if self.pinger is not None and self.pinger.hubs == config.websub.hubs:
            self.pinger.timeout = config.websub.timeout_seconds
        else:
            if self.pinger is not None:
                self.pinger.close(config.websub.ping_wait_seconds)
            self.pinger = ping.Pinger(config.websub.hubs, config.websub.timeout_seconds, log.warning) \
                if config.websub.hubs else None

    def _push(self, path: str) -> None:
        """The daemon's hub pushes each changed feed as soon as the publish has it in place."""
        if self.hub:
            self.hub.changed(path)

    def _ping(self, written: tuple[str, ...]) -> None:
        """Other hubs get one ping a cycle, with every feed it changed."""
        if self.pinger and written:
            self.pinger.ping(ping.topics(self.config.site.base_url, written))

    def _reload(self) -> None:
        try:
            new = self.load_config()
        except AggregatorError as exc:
            log.error("SIGHUP: configuration not reloaded, keeping the old one: %s", exc)
            return
        if self.server is not None:
            new = served_base_url(new, self.server.url)
        # Read once at start (the watcher, the server, the open state): kept until a restart.
        old = self.config
        kept = replace(new, paths=old.paths,
                       daemon=replace(new.daemon, serve=old.daemon.serve, debounce_ms=old.daemon.debounce_ms),
                       websub=replace(new.websub, builtin=old.websub.builtin))
        if kept != new:
            log.warning("SIGHUP: changes to paths, daemon.serve, daemon.debounce_ms and websub.builtin need a"
                        " restart; other settings applied")
        self.config = kept
        self._announce()
        self._schedule_rescan()
        log.info("SIGHUP: configuration reloaded")

    def _reopen_if_replaced(self) -> None:
        """A state deleted (or replaced) behind the daemon's back is rebuilt from the seeds;
        the lock does not live in the state folder, so no other writer got in meanwhile."""
        if not self.store.replaced():
            return
        log.warning("state %s was deleted or replaced; rebuilding it from the seeds", self.config.paths.state)
        self.store.close()
        with writing(self.config):
            self.store = Store(self.config.paths.state)
        write_note(self.config.paths.state, OWNER)
        if self.hub:  # the subscriptions the hub holds go into the new state
            self.hub.open_state(self.config.paths.state)

    def _scope(self, triggers: set[Trigger]) -> Scope | None:
        """The folders a cycle must list: those the file events (and the seeds left to
        settle) name, when nothing else asks for it; None for the whole seeds folder."""
        with self._events_lock:
            events, self._events = self._events, set()
        if not triggers <= {Trigger.FILES, Trigger.SETTLE}:
            return None
        scope = event_scope(self.config.paths.seeds, events, self._pending)
        return None if scope is None else scope._replace(folders=scope.folders | self._linked)

    def _cycle(self, triggers: set[Trigger]) -> None:
        config = self.config
        settle_ns = config.daemon.settle_ms * 1_000_000
        scope = self._scope(triggers)
        try:
            self._reopen_if_replaced()
            result = publish_locked(self.store, config, datetime.now(UTC), settle_ns=settle_ns,
                                    on_feeds=self._push, scope=scope)
        except Exception as exc:  # the daemon must outlive any one cycle; a later one may succeed
            self._failed(exc)
            return
        if self._failure is not None:
            log.info("cycle works again after %d failed attempts", self._failures)
            self._failure, self._failures = None, 0
            if self.scheduler.get_job(Trigger.RETRY.value):
                self.scheduler.remove_job(Trigger.RETRY.value)
        self._pending = result.pending
        self._linked = self._linked | result.linked if result.scoped else result.linked
        self._ping(result.written)
        self._log(result, triggers)
        if result.next_release:
            self._schedule_once(Trigger.RELEASE, result.next_release)
        if result.pending_until:
            self._schedule_once(Trigger.SETTLE, result.pending_until + timedelta(milliseconds=5))

    def _failed(self, exc: Exception) -> None:
        """Log a failure once while it stays the same, and try again after a growing delay."""
        with self._events_lock:
            self._events.add(str(self.config.paths.seeds))  # the next cycle looks at everything
        delay = RETRY_SECONDS[min(self._failures, len(RETRY_SECONDS) - 1)]
        self._failures += 1
        text = str(exc) if isinstance(exc, AggregatorError) else f"{type(exc).__name__}: {exc}"
        if text == self._failure:
            log.debug("cycle failed again (attempt %d), as before; trying again in %d s", self._failures, delay)
        elif isinstance(exc, AggregatorError):
            log.error("cycle failed: %s; trying again in %d s, then less often until it works", text, delay)
        else:  # a bug: its traceback, once
            log.exception("cycle failed unexpectedly; trying again in %d s", delay)
        self._failure = text
        self._schedule_once(Trigger.RETRY, datetime.now(UTC) + timedelta(seconds=delay))

    def _log(self, result: PublishResult, triggers: set[Trigger]) -> None:
        log.info(
            "cycle trigger=%s files_changed=%d stories +%d ~%d -%d feeds_written=%d feeds_removed=%d "
            "pending=%d took=%.3fs",
            ",".join(sorted(t.value for t in triggers)), result.files_read + result.seeds_removed, result.added,
            result.updated, result.deleted, len(result.written), len(result.removed), len(result.pending),
            result.seconds,
        )
        errors = set(result.errors)
        for error in sorted(errors - self._known_errors):
            log.error("%s", error)
        # A cycle that listed some folders only knows their problems: the others stand.
        self._known_errors = errors | self._known_errors if result.scoped else errors
        for warning in result.warnings:
            log.warning("%s", warning)
        for path in result.written:
            log.debug("wrote %s", path)
        for path in result.removed:
            log.debug("removed %s", path)

