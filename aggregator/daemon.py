"""`aggregator run`: keep `feeds/` in step with `seeds/` until told to stop.

A thin shell around `publish_locked()`: every trigger (file events from watchfiles, the
APScheduler interval rescan, the timed release of a future-dated story, SIGHUP) goes
into one queue, and one loop runs one publish cycle at a time. It holds the writer lock
for its whole life, so a concurrent `aggregator publish` is refused.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import watchfiles
from apscheduler.schedulers.background import BackgroundScheduler

from aggregator.config import Config
from aggregator.errors import AggregatorError
from aggregator.lock import writer_lock
from aggregator.publish import PublishResult, publish_locked
from aggregator.serve import FeedServer, parse_bind
from aggregator.store import Store

log = logging.getLogger("aggregator")

ConfigLoader = Callable[[], Config]


def _seed_filter(change: watchfiles.Change, path: str) -> bool:
    """Events worth a cycle: anything not hidden. A folder moved in or out is one event
    on the folder, whatever its name ("2024.06"); other files cost a cycle that only scans."""
    return not Path(path).name.startswith(".")


class Daemon:
    """Owns the queue of triggers, the watcher thread, the scheduler and the server."""

    def __init__(self, load_config: ConfigLoader) -> None:
        self.load_config = load_config
        self.config = load_config()
        self.stop = threading.Event()
        self.triggers: queue.Queue[str] = queue.Queue()
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.server: FeedServer | None = None
        self._known_errors: set[str] = set()

    # --- triggers ------------------------------------------------------------------

    def _watch(self) -> None:
        """Turn file events into triggers; a watcher failure is logged and retried."""
        while not self.stop.is_set():
            try:
                for changes in watchfiles.watch(
                    self.config.paths.seeds, watch_filter=_seed_filter,
                    debounce=max(self.config.daemon.debounce_ms, 50), step=50,
                    stop_event=self.stop, raise_interrupt=False, rust_timeout=500,
                ):
                    log.debug("file events: %s", sorted(path for _, path in changes))
                    self.triggers.put("files")
            except Exception:
                # The interval rescan still runs meanwhile; the watcher comes back.
                log.exception("file watcher failed; restarting it in 1 s")
                self.stop.wait(1)

    def _schedule_rescan(self) -> None:
        # coalesce + max_instances: a late or slow rescan never piles up; with no grace
        # limit a rescan delayed by a long cycle still runs (3.x's default of 1 s skips it).
        self.scheduler.add_job(
            self.triggers.put, "interval", args=["rescan"], id="rescan", replace_existing=True,
            seconds=self.config.daemon.rescan_seconds, coalesce=True, max_instances=1, misfire_grace_time=None,
        )

    def _schedule_once(self, job_id: str, when: datetime, trigger: str) -> None:
        self.scheduler.add_job(
            self.triggers.put, "date", args=[trigger], id=job_id, replace_existing=True,
            run_date=when, misfire_grace_time=None,
        )

    def _signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self.triggers.put("reload")
        else:
            log.info("received %s: finishing the cycle in progress, then exiting", signal.Signals(signum).name)
            self.stop.set()
            self.triggers.put("stop")

    # --- the loop ------------------------------------------------------------------

    def run(self) -> int:
        """Run until SIGTERM/SIGINT (or `stop` is set); returns the exit code."""
        config = self.config
        with writer_lock(config.paths.state, owner="aggregator run"):
            store = Store(config.paths.state)
            try:
                return self._run(store)
            finally:
                store.close()

    def _run(self, store: Store) -> int:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(signum, self._signal)
        if self.config.daemon.serve:
            self.server = FeedServer(self.config.paths.feeds, *parse_bind(self.config.daemon.serve))
            self.server.start()
        watcher = threading.Thread(target=self._watch, name="seed-watcher", daemon=True)
        watcher.start()
        self._schedule_rescan()
        self.scheduler.start()
        log.info("watching %s (rescan every %d s)", self.config.paths.seeds, self.config.daemon.rescan_seconds)
        self._cycle(store, {"start"})
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
                if "reload" in triggers:
                    self._reload()
                if self.stop.is_set():
                    break
                self._cycle(store, triggers - {"reload"} or {"reload"})
        finally:
            self.stop.set()
            self.scheduler.shutdown(wait=False)
            if self.server:
                self.server.stop()
            watcher.join(timeout=3)
        log.info("stopped")
        return 0

    def _reload(self) -> None:
        try:
            new = self.load_config()
        except AggregatorError as exc:
            log.error("SIGHUP: configuration not reloaded, keeping the old one: %s", exc)
            return
        # Read once at start (the watcher, the server, the open state): kept until a restart.
        old = self.config
        kept = replace(new, paths=old.paths,
                       daemon=replace(new.daemon, serve=old.daemon.serve, debounce_ms=old.daemon.debounce_ms))
        if kept != new:
            log.warning("SIGHUP: changes to paths, daemon.serve and daemon.debounce_ms need a restart;"
                        " other settings applied")
        new = kept
        self.config = new
        self._schedule_rescan()
        log.info("SIGHUP: configuration reloaded")

    def _cycle(self, store: Store, triggers: set[str]) -> None:
        config = self.config
        settle_ns = config.daemon.settle_ms * 1_000_000
        try:
            result = publish_locked(store, config, datetime.now(UTC), settle_ns=settle_ns)
        except AggregatorError as exc:
            log.error("cycle failed: %s", exc)
            return
        except Exception:  # the daemon must outlive any one cycle; the next may succeed
            log.exception("cycle failed unexpectedly")
            return
        self._log(result, triggers)
        if result.next_release:
            self._schedule_once("release", result.next_release, "release")
        if result.pending_until:
            self._schedule_once("settle", result.pending_until + timedelta(milliseconds=5), "settle")

    def _log(self, result: PublishResult, triggers: set[str]) -> None:
        log.info(
            "cycle trigger=%s files_changed=%d stories +%d ~%d -%d feeds_written=%d feeds_removed=%d "
            "pending=%d took=%.3fs",
            ",".join(sorted(triggers)), result.files_read + result.seeds_removed, result.added, result.updated,
            result.deleted, len(result.written), len(result.removed), len(result.pending), result.seconds,
        )
        errors = set(result.errors)
        for error in sorted(errors - self._known_errors):
            log.error("%s", error)
        self._known_errors = errors
        for warning in result.warnings:
            log.warning("%s", warning)
        for path in result.written:
            log.debug("wrote %s", path)
        for path in result.removed:
            log.debug("removed %s", path)

