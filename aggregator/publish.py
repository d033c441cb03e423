"""One publish: scan, normalize what changed, update the state, write the affected feeds.

The CLI and the daemon are thin shells around `publish()`; it returns a `PublishResult`
that they turn into text, log lines and an exit code. `publish_locked` reads as its
steps: find what changed (`_changes`), parse and store it (`_store_changes`), then
decide which feeds to write (`_gather`, the pure `plan`) and write them (`_carry_out`).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from aggregator import history, ingest, load, lock, pages, plan, pool, render, write
from aggregator.config import Config, check_paths
from aggregator.errors import OutputError
from aggregator.formats import FORMATS, FeedInfo, Names, by_name, html
from aggregator.formats.base import NO_HISTORY
from aggregator.ingest import Failed, Outcome, Parsed, SeedJob, Unchanged
from aggregator.model import FeedHistory, FeedKey, Filters, Meta, SeedRow, Story, epoch, folder_of
from aggregator.store import StateStore, Store

# Below this many known seeds, a serial scan (stat calls) is quicker than starting workers.
PARALLEL_SCAN_MIN_SEEDS = 20_000
BATCH_FILES = 500  # seeds applied per transaction; bounds memory and the WAL
# Below this many feeds to render, worker processes cost more than they save.
PARALLEL_MIN_FEEDS = 40

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class PublishResult:
    files_seen: int
    files_read: int
    seeds_removed: int
    stories_published: int
    stories_held: int
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    written: tuple[str, ...]
    removed: tuple[str, ...]
    feeds_total: int
    seconds: float
    next_release: datetime | None
    added: int = 0  # stories new, changed and gone in this run
    updated: int = 0
    deleted: int = 0
    pending: tuple[str, ...] = ()  # files still being written, left for the next cycle
    pending_until: datetime | None = None  # when the last of them will have settled
    scoped: bool = False  # only the folders file events named were looked at (`errors` holds theirs)
    linked: frozenset[str] = frozenset()  # folders listed that hold seeds that are links

    @property
    def skipped(self) -> int:
        return len(self.errors)


@dataclass
class _Run:
    """Mutable bookkeeping of one publish."""

    warnings: list[str] = field(default_factory=list)
    files_read: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    refreshed: set[str] = field(default_factory=set)  # story URLs re-derived, checked for duplicates last


# Why a write fails when the fault is the machine's, not ours: reported as `OutputError`.
WRITE_ERRNOS = frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EIO,
                          errno.EFBIG, errno.ENOTDIR})
WRITE_SQLITE_CODES = frozenset({sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
                                sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM})


@contextlib.contextmanager
def writing(config: Config) -> Iterator[None]:
    """A disk full, a read-only folder or a denied permission while writing the feeds or
    the state, as an `OutputError` naming the path and the reason."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS:
            raise
        raise OutputError(str(exc.filename or config.paths.feeds), exc.strerror or str(exc)) from exc
    except sqlite3.Error as exc:
        if getattr(exc, "sqlite_errorcode", -1) & 0xFF not in WRITE_SQLITE_CODES:
            raise
        raise OutputError(str(config.paths.state), str(exc)) from exc


def publish(config: Config, now: datetime | None = None, *, wait: bool = False,
            progress: Progress | None = None, on_wait: Callable[[str], None] | None = None) -> PublishResult:
    """Bring `feeds/` in step with `seeds/` under the writer lock; see the module docstring.

    Paths that would do harm are refused first (`PathError`), before anything is written.
    """
    check_paths(config)
    with lock.writer_lock(config.paths.state, config.paths.feeds, wait=wait, on_wait=on_wait):
        with writing(config):
            store = Store(config.paths.state)
        try:
            return publish_locked(store, config, now or datetime.now(UTC), progress=progress)
        finally:
            store.close()


def publish_locked(store: StateStore, config: Config, now: datetime, *, progress: Progress | None = None,
                   settle_ns: int = 0, on_feeds: Callable[[str], None] | None = None,
                   scope: load.Scope | None = None) -> PublishResult:
    """One publish by a caller that already holds the writer lock (the daemon).

    With `settle_ns`, a file modified less than that long ago is left for a later
    cycle (`PublishResult.pending`): a writer may still be in the middle of it.
    `scope`: only these folders changed (file events said so), so only they are listed;
    the whole folder is, whatever `scope` says, after a change of the parse settings or
    with no state yet. `on_feeds` is told of each feed file (RSS, Atom, JSON Feed) whose bytes changed as
    soon as it is in place, before the other feeds, the front page and the state's
    bookkeeping: a push to subscribers waits for nothing else.
    """
    with writing(config):
        started = time.perf_counter()
        check_paths(config)  # again: the daemon's seeds folder may have gone since
        write.clean_temporaries(config.paths.feeds)
        changes = _changes(store, config, settle_ns, scope)
        run = _store_changes(store, config, changes, now, progress)
        written, removed, total = _write_feeds(store, config, now, on_feeds, look_over=changes.scan.scope is None)
        return _result(store, config, now, changes, run, written, removed, total, time.perf_counter() - started)


# --- what changed ---------------------------------------------------------------------------


class Changes(NamedTuple):
    """The seeds to read again and to forget, as found by one scan."""

    scan: load.Scan
    cold: bool  # a new state: load everything in bulk
    reparse: bool  # other limits: every seed is read again
    moved: set[str]  # folders compared file by file
    changed: dict[str, load.FileStat]  # seeds new or changed (and settled)
    gone: list[str]  # seeds deleted
    known: dict[str, SeedRow]  # what the state has of the changed and gone seeds
    pending: list[str]  # seeds still being written: left for a later cycle
    pending_until: datetime | None  # when the last of them will have settled


def _changes(store: StateStore, config: Config, settle_ns: int, scope: load.Scope | None = None) -> Changes:
    cold = store.get_meta(Meta.RENDERED_AT) is None and not store.has_seeds()
    reparse = not cold and store.get_meta(Meta.PARSE_DIGEST) != config.parse_digest()
    if scope is not None and not (cold or reparse):
        scan = load.scan_scope(config.paths.seeds, scope)
    else:
        scan = _scan(store, config.paths.seeds, reparse)
    moved, changed, gone = _compare(store, scan, reparse)
    pending: list[str] = []
    pending_until = None
    if settle_ns:
        recent = time.time_ns() - settle_ns
        pending = sorted(path for path, (_, mtime_ns) in changed.items() if mtime_ns > recent)
        if pending:
            newest = max(changed[path][1] for path in pending)
            pending_until = datetime.fromtimestamp((newest + settle_ns) / 1e9, UTC)
    for path in pending:
        del changed[path]
    return Changes(scan, cold, reparse, moved, changed, gone, store.seed_rows([*changed, *gone]), pending,
                   pending_until)


def _scan(store: StateStore, root: Path, reparse: bool) -> load.Scan:
    """The seeds folder listed, its subfolders on every core when the state knows many
    seeds: the 50,000 stat calls are most of a no-op or one-edit publish. Only the files
    of the folders whose digest moved are kept (`_compare` looks at no other), unless
    every seed is read again."""
    known = None if reparse else store.folder_digests()
    workers = pool.workers()
    if workers < 2 or store.seed_count() < PARALLEL_SCAN_MIN_SEEDS:
        return load.scan(root, known=known)
    with pool.fork_pool(workers) as executor:
        return load.scan(root, executor.map, known)


def _compare(store: StateStore, scan: load.Scan, reparse: bool) -> tuple[set[str], dict[str, load.FileStat], list[str]]:
    """(folders compared, seeds new or changed, seeds gone) since the last publish.

    Only folders whose digest moved are compared file by file; a folder that could not
    be listed is neither compared nor taken as emptied. With `reparse` (other limits
    make other stories out of the same files) every seed counts as changed.
    """
    stored = store.folder_digests()
    if scan.scope is not None:  # the folders outside it were not looked at: nothing is known of them
        stored = {folder: found for folder, found in stored.items() if scan.scope.holds(folder)}
    if reparse:
        moved = set(scan.folders) | store.seed_folders()
    else:
        moved = {f for f, d in scan.folders.items() if stored.get(f) != d} | (set(stored) - set(scan.folders))
    moved = {f for f in moved if not any(f.startswith(u) for u in scan.unlisted)}
    known = store.seed_stats(moved)
    changed = {
        path: st for folder in moved for path, st in scan.by_folder.get(folder, {}).items()
        if reparse or known.get(path) != st
    }
    return moved, changed, sorted(set(known) - set(scan.files))


# --- parse and store what changed -------------------------------------------------------------


def _store_changes(store: StateStore, config: Config, changes: Changes, now: datetime,
                   progress: Progress | None) -> _Run:
    """Parse the changed seeds, store them and forget the gone ones, marking the feeds they touch."""
    run = _Run()
    jobs = [SeedJob(config.paths.seeds, path, size, mtime_ns,
                    None if changes.reparse or path not in changes.known else changes.known[path].digest,
                    config.limits, now)
            for path, (size, mtime_ns) in sorted(changes.changed.items())]
    if changes.cold:
        with store.transaction():
            store.set_meta(Meta.RENDER_ALL, "1")
    deferred = _apply_all(store, jobs, changes, run, progress)
    if deferred:
        with store.transaction():
            _refresh(store, deferred, set(), False, run)
    if changes.gone:
        with store.transaction():
            urls = {url for path in changes.gone if (url := changes.known[path].url)}
            for path in changes.gone:
                store.delete_seed(path)
            _refresh(store, urls, set(), not changes.cold, run)
    _warn_duplicates(store, run)
    # Last: a folder's digest is recorded only once all of its changes are stored, so a
    # run killed before this point compares those folders again. Folders with files
    # still being written are left for a later cycle.
    with store.transaction():
        waiting = {folder_of(path) for path in changes.pending}
        store.set_folder_digests({f: changes.scan.folders.get(f) for f in changes.moved if f not in waiting})
        store.set_meta(Meta.PARSE_DIGEST, config.parse_digest())
    return run


def _apply_all(store: StateStore, jobs: list[SeedJob], changes: Changes, run: _Run,
               progress: Progress | None) -> set[str]:
    """Every job's outcome stored, a batch per transaction (in bulk when cold); returns
    the URLs a bulk load leaves for later (seen in more than one seed)."""
    deferred: set[str] = set()
    with store.bulk_load() if changes.cold else contextlib.nullcontext():
        batch: list[Outcome] = []
        for done, outcome in enumerate(ingest.outcomes(jobs), 1):
            batch.append(outcome)
            if len(batch) >= BATCH_FILES or done == len(jobs):
                deferred |= _apply(store, batch, not changes.cold, run, changes.known)
                batch = []
                if progress:
                    progress(done, len(jobs))
    return deferred


def _apply(store: StateStore, batch: list[Outcome], track: bool, run: _Run, old: dict[str, SeedRow]) -> set[str]:
    """Store one batch of outcomes and mark the feeds they touch, in one transaction.

    In a bulk load (not `track`), the URLs that need a winner chosen among several
    seeds are returned instead, to be settled once the indexes are back.
    """
    with store.transaction():
        affected: set[str] = set()
        names: set[tuple[str, str]] = set()
        for outcome in batch:
            if isinstance(outcome, Unchanged):
                store.touch_seed(outcome.path, outcome.size, outcome.mtime_ns)
                continue
            run.files_read += 1
            if isinstance(outcome, Parsed):
                run.warnings.extend(outcome.warnings)
                store.put_good_seed(outcome.path, outcome.size, outcome.mtime_ns, outcome.digest,
                                    outcome.url, outcome.rank, outcome.story_data, outcome.warnings)
                if not track and store.insert_story(outcome.path, outcome.rows):
                    run.added += 1  # cold: a URL seen for the first time needs no re-derivation
                    continue
                affected.add(outcome.url)
                names.update((kind, slug) for kind, slug, _ in outcome.rows.names())
            else:
                store.put_bad_seed(outcome.path, outcome.size, outcome.mtime_ns, outcome.digest, outcome.error)
            previous = old.get(outcome.path)
            if previous is not None and previous.url:
                affected.add(previous.url)
        if not track:
            return affected
        _refresh(store, affected, names, track, run)
    return set()


def _refresh(store: StateStore, urls: set[str], names: set[tuple[str, str]], track: bool, run: _Run) -> None:
    """Re-derive the stories of `urls` and mark every feed whose bytes may change."""
    if track:
        names |= store.names_of_stories(urls)
        before = {name: store.display_name(*name) for name in names}
    dirty: set[FeedKey] = set()
    items: set[str] = set()
    for url in sorted(urls):
        refreshed = store.refresh_story(url, track)
        dirty |= refreshed.touched
        items |= refreshed.items
        if refreshed.exists:
            run.added += not refreshed.existed
            run.updated += refreshed.existed
        elif refreshed.existed:
            run.deleted += 1
    run.refreshed |= urls
    if track:
        store.mark_dirty(dirty)
        store.mark_dirty_items(items)
        renamed: set[FeedKey] = set()
        for name in names:
            if store.display_name(*name) != before[name]:
                kind, slug = name
                renamed.add(FeedKey(kind, slug))  # type: ignore[arg-type]
                renamed |= store.feeds_of_stories(store.stories_naming(kind, slug))
        store.mark_dirty(renamed, force=True)  # same items, new names: render them anyway


def _warn_duplicates(store: StateStore, run: _Run) -> None:
    """Once every change and deletion is stored: a renamed seed is not its own duplicate."""
    for url in sorted(run.refreshed):
        seeds = store.duplicates(url)
        if len(seeds) > 1:
            run.warnings.append(
                f"{seeds[0]}: same article URL as {', '.join(seeds[1:])}; {seeds[0]} is published"
                " (the most recently updated wins)"
            )


# --- which feeds to write, and writing them ---------------------------------------------------


def _filters(config: Config, now: datetime) -> Filters:
    return Filters(config.feeds.only_published, config.feeds.min_quality, epoch(now))


def _write_feeds(store: StateStore, config: Config, now: datetime, on_feeds: Callable[[str], None] | None = None,
                 look_over: bool = True) -> tuple[list[str], list[str], int]:
    """Write every feed that may have changed, and its archive; returns (written, removed, feeds live)."""
    filters = _filters(config, now)
    look = _gather(store, config, filters, look_over)
    stale = plan.stale_feeds(look)
    names = history.display_names(store)
    heads = {key: store.feed_heads(key, filters, config.feeds.max_items) for key in stale.feeds}
    last = store.get_meta(Meta.RENDERED_AT)
    kept = history.update(store, config, filters, look.everything, stale.feeds, heads, look.outputs,
                          look.damaged_pages, None if last is None else int(last))
    stale = plan.Stale({**dict.fromkeys(kept.feeds, False), **stale.feeds}, stale.pages)
    infos = {key: render.feed_info(key, config.site, names) for key, found in heads.items() if found}
    todo = plan.plan(stale, heads, infos, look.known, look.outputs, {key: kept.mark(key) for key in heads})
    front = _front_digest(store, filters) if FeedKey("all") in stale.feeds else None
    written, removed = _carry_out(store, config, filters, todo, names, kept, front, on_feeds)
    with store.transaction():
        store.clear_dirty(stale.feeds)
        store.clear_dirty_history()
        history.forget(store, config, filters)
        store.set_meta(Meta.RENDERED_AT, str(filters.now))
        store.set_meta(Meta.OUTPUT_DIGEST, _output_digest(config))
        store.delete_meta(Meta.RENDER_ALL)
    return written, removed, len(todo.live)


def _output_digest(config: Config) -> str:
    """What every output's bytes depend on besides the data: the settings, the render
    version and the formats (a format added is written for every feed at once)."""
    return (config.output_digest() + render.RENDER_VERSION + ",".join(fmt.name for fmt in FORMATS)
            + html.templates_digest(config.site))


def _gather(store: StateStore, config: Config, filters: Filters, look_over: bool = True) -> plan.Look:
    """What the state and `feeds/` say before deciding which feeds to write.

    `look_over`: check every file written before against what was recorded (one `stat`
    each, 25,000 at 250,000 seeds), to write again those deleted or edited behind our
    back. A cycle for a few file events leaves that to the daemon's next full one.

    After a cold publish or a change of settings every feed is looked at; the state may
    then be new while old feeds are still there (a deleted state, a killed first run):
    our files on disk count as outputs, so that stale ones go.
    """
    feeds_dir = config.paths.feeds
    outputs = store.outputs()
    everything = bool(store.get_meta(Meta.RENDER_ALL)) or store.get_meta(Meta.OUTPUT_DIGEST) != _output_digest(config)
    last = store.get_meta(Meta.RENDERED_AT)
    if everything:
        found = write.existing(feeds_dir, render.is_output_path)
        return plan.Look(store.dirty(), True, store.all_feed_keys(filters), store.feed_rows(),
                         {*found, *outputs}, (), ())
    released: set[FeedKey] = set()
    if last is not None:
        released = store.released_between(int(last), filters.now)
        window = config.feeds.tombstone_seconds  # feeds whose tombstones' time is up
        released |= store.tombstones_expiring(int(last) - window, filters.now - window)
    return plan.Look(store.dirty(), False, (), store.feed_rows(), set(outputs), released,
                     _damaged(feeds_dir, outputs) if look_over else [])


def _damaged(feeds_dir: Path, outputs: dict[str, tuple[int, int]]) -> list[str]:
    """Files we wrote that were deleted, edited or replaced behind our back."""
    damaged = []
    root = f"{feeds_dir}/"  # joined as text: a Path per file costs more than its stat
    for path, (size, mtime_ns) in outputs.items():
        try:
            st = os.stat(root + path)
        except FileNotFoundError:
            damaged.append(path)
            continue
        if (st.st_size, st.st_mtime_ns) != (size, mtime_ns):
            damaged.append(path)
    return damaged


def _carry_out(store: StateStore, config: Config, filters: Filters, todo: plan.RenderPlan,
               names: Names, kept: history.Update, front: str | None,
               on_feeds: Callable[[str], None] | None = None) -> tuple[list[str], list[str]]:
    """Write and remove what the plan and the history update say, and record it in the
    state; returns (written, removed). `front`: the front page's stories now
    (`_front_digest`), when the combined feed was looked at."""
    feeds_dir = config.paths.feeds
    written: list[str] = []
    rendered: list[str] = []

    def take(files: Iterable[tuple[str, bool]]) -> None:
        for path, changed in files:
            rendered.append(path)
            if changed:
                written.append(path)
                if on_feeds is not None and render.subscribable(path):
                    on_feeds(path)

    take(_rendered(store, config, filters, todo.render, names, kept.histories))
    take(history.write_pages(store, config, kept))
    gone = sorted({*todo.remove, *kept.remove})
    removed = [path for path in gone if write.remove(feeds_dir, path)]
    # The pages show the feeds' titles and sizes, and the front page more stories than a
    # feed may hold: one of those can change while no feed's newest items do.
    if todo.pages or todo.render or kept.feeds or (front is not None and front != store.get_meta(Meta.FRONT)):
        take(_write_files(feeds_dir, _site_pages(store, config, filters, names, todo.live).items()))
    with store.transaction():
        for path in rendered:
            st = (feeds_dir / path).stat()
            store.set_output(path, st.st_size, st.st_mtime_ns)
        for path in gone:
            store.delete_output(path)
        store.set_feed_rows(todo.rows)
        if front is not None:
            store.set_meta(Meta.FRONT, front)
    return written, removed


def _front_digest(store: StateStore, filters: Filters) -> str:
    """What the front page's list of stories depends on: the combined feed's newest
    `html.FRONT_STORIES` items, as a feed's heads are compared."""
    return plan.heads_digest(store.feed_heads(FeedKey("all"), filters, html.FRONT_STORIES))


def _site_pages(store: StateStore, config: Config, filters: Filters, names: Names,
                live: Mapping[FeedKey, str]) -> dict[str, bytes]:
    """The front page, the OPML list and the stylesheet."""
    site = config.site
    infos = [FeedInfo(key, title, "") for key, title in sorted(live.items())]
    newest = store.feed_items(FeedKey("all"), filters, html.FRONT_STORIES)
    counts = store.member_counts() if config.feeds.archives else None  # the feed and its archive: what a reader can get
    return {
        render.INDEX_PATH: html.render_front(site, newest, names, infos, counts, render.OPML_PATH),
        render.OPML_PATH: pages.render_opml(infos, site, by_name(config.feeds.opml_format)),
        html.STYLESHEET_PATH: html.render_stylesheet(site),
    }


class RenderJob(NamedTuple):
    """Feeds for one render worker to render and write."""

    state: Path
    config: Config
    filters: Filters
    infos: list[FeedInfo]
    histories: dict[FeedKey, FeedHistory]  # of those of the feeds that have any


def _render_chunk(job: RenderJob) -> list[tuple[str, bool]]:
    """Render and write some feeds in a worker, reading the state without writing it:
    all their files made durable at once (`write.Batch`)."""
    store = Store(job.state, readonly=True)
    try:
        names = history.display_names(store)
        rendered = _render_infos(store, job.config, job.filters, job.infos, names, job.histories)
        return _write_files(job.config.paths.feeds, itertools.chain.from_iterable(f.items() for f in rendered))
    finally:
        store.close()


def _render_infos(store: StateStore, config: Config, filters: Filters, infos: list[FeedInfo],
                  names: Names, histories: Mapping[FeedKey, FeedHistory]) -> Iterator[dict[str, bytes]]:
    """Each feed's files, rendered."""
    unpacked: dict[int, Story] = {}  # the stories read, for the next feeds of this share
    for info in infos:
        items = store.feed_items(info.key, filters, config.feeds.max_items, unpacked)
        yield render.render_feed(info, items, config.site, names, histories.get(info.key, NO_HISTORY), config.hubs)


def _write_files(feeds_dir: Path, files: Iterable[tuple[str, bytes]]) -> list[tuple[str, bool]]:
    """(path, whether its bytes changed) of each (path, bytes), written atomically if they
    did, as one batch: all durable before any is said to be written (and so pushed)."""
    with write.batch(feeds_dir) as batch:
        for path, data in files:
            batch.add(path, data)
    return batch.written


def _rendered(store: StateStore, config: Config, filters: Filters, infos: list[FeedInfo],
              names: Names, histories: dict[FeedKey, FeedHistory]) -> Iterator[tuple[str, bool]]:
    """Each feed rendered and written (path, changed), on every core when there are many
    (a cold publish): each worker writes its own share of the files, as one batch."""
    workers = pool.workers()
    if len(infos) < PARALLEL_MIN_FEEDS or workers < 2:
        for files in _render_infos(store, config, filters, infos, names, histories):
            yield from _write_files(config.paths.feeds, files.items())  # each feed's: pushed without waiting
        return
    chunks = [infos[i::workers * 4] for i in range(workers * 4)]
    jobs = [RenderJob(store.path, config, filters, c, {i.key: histories[i.key] for i in c if i.key in histories})
            for c in chunks if c]
    store.release_memory()  # or each worker would hold its share of the page cache
    with pool.fork_pool(workers) as executor:
        for done in executor.map(_render_chunk, jobs):
            yield from done


# --- the result ---------------------------------------------------------------------------------


def _result(store: StateStore, config: Config, now: datetime, changes: Changes, run: _Run, written: list[str],
            removed: list[str], total: int, seconds: float) -> PublishResult:
    filters = _filters(config, now)
    counts = store.count_stories(filters)
    release = store.next_release(filters.now)
    if config.feeds.tombstones:  # a tombstone's time running out changes its feed too
        window = config.feeds.tombstone_seconds
        expiry = store.next_tombstone(filters.now - window)
        if expiry is not None:
            release = min(release or expiry + window, expiry + window)
    errors = [f"{p}: file skipped: {m}" for p, m in changes.scan.problems.items()]
    for problem in store.seed_problems():
        note = " (its last good version stays published)" if problem.has_last_good else ""
        error = problem.error
        errors.append(f"{error}{note}" if error.startswith(problem.path) else f"{problem.path}: {error}{note}")
    return PublishResult(
        files_seen=store.seed_count() if changes.scan.scope is not None else changes.scan.count,
        files_read=run.files_read,
        seeds_removed=len(changes.gone),
        stories_published=counts.live,
        stories_held=counts.held,
        errors=tuple(errors),
        warnings=tuple(run.warnings),
        written=tuple(written),
        removed=tuple(sorted(removed)),
        feeds_total=total,
        seconds=seconds,
        next_release=datetime.fromtimestamp(release, UTC) if release else None,
        added=run.added,
        updated=run.updated,
        deleted=run.deleted,
        pending=tuple(changes.pending),
        pending_until=changes.pending_until,
        scoped=changes.scan.scope is not None,
        linked=changes.scan.linked,
    )


@dataclass(frozen=True, slots=True)
class CheckResult:
    files: int
    errors: tuple[str, ...]
    warnings: tuple[str, ...]


def check(config: Config, now: datetime) -> CheckResult:
    """Validate every seed as a publish would, without the state and without writing."""
    paths = config.paths
    check_paths(config)
    scan = load.scan(paths.seeds)
    jobs = [SeedJob(paths.seeds, p, size, mtime_ns, None, config.limits, now)
            for p, (size, mtime_ns) in sorted(scan.files.items())]
    errors = [f"{p}: file skipped: {m}" for p, m in scan.problems.items()]
    warnings: list[str] = []
    by_url: dict[str, list[str]] = {}
    for outcome in ingest.outcomes(jobs):
        if isinstance(outcome, Failed):
            errors.append(outcome.error)
        elif isinstance(outcome, Parsed):
            warnings.extend(outcome.warnings)
            by_url.setdefault(outcome.url, []).append(outcome.path)
    for url, seeds in sorted(by_url.items()):
        if len(seeds) > 1:
            warnings.append(f"{seeds[0]}: same article URL as {', '.join(seeds[1:])} ({url})")
    return CheckResult(files=len(scan.files), errors=tuple(errors), warnings=tuple(warnings))
