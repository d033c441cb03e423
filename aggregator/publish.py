"""One publish: scan, normalize what changed, update the state, write the affected feeds.

The CLI and the daemon are thin shells around `publish()`; it returns a `PublishResult`
that they turn into text, log lines and an exit code.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import NamedTuple, cast

from aggregator import load, lock, model, render, write
from aggregator.config import Config, LimitsConfig, check_paths
from aggregator.errors import FieldError, OutputError, SeedError
from aggregator.model import FeedKey
from aggregator.normalize import normalize
from aggregator.store import Filters, SeedRow, Store, StoryRows, epoch, folder_of, seed_rank, story_rows, story_to_json

# Below this many files to parse, worker processes cost more than they save.
PARALLEL_MIN_FILES = 400
# Below this many known seeds, a serial scan (stat calls) is quicker than starting workers.
PARALLEL_SCAN_MIN_SEEDS = 20_000
BATCH_FILES = 500  # seeds applied per transaction; bounds memory and the WAL
# Chunks queued ahead of the writer: enough that workers never wait while it applies a
# batch, few enough that outcomes waiting in memory stay in the tens of megabytes.
CHUNK_FILES = 64
CHUNKS_AHEAD_PER_WORKER = 16

Progress = Callable[[int, int], None]


class Outcome(NamedTuple):
    """What reading and normalizing one seed file gave (computed in a worker).

    A named tuple: it crosses from worker to writer by pickle, 50,000 times in a large
    publish, and tuples take pickle's fast path.
    """

    path: str
    size: int
    mtime_ns: int
    digest: str
    unchanged: bool = False
    url: str | None = None
    rank: str | None = None
    story_json: str | None = None
    rows: StoryRows | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()


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


def _scrub(messages: Iterable[str], secret: object) -> tuple[str, ...]:
    """Never let the opaque `secured` value reach a message, whatever went wrong."""
    if not isinstance(secret, str) or len(secret) < 8:
        return tuple(messages)
    return tuple(m.replace(secret, "[secured]") for m in messages)


def process_file(root: Path, path: str, size: int, mtime_ns: int, known_digest: str | None,
                 limits: LimitsConfig, now: datetime) -> Outcome:
    """Read, parse and normalize one seed. Never raises for a bad seed."""
    try:
        data = load.read_bytes(root, path, limits.max_seed_bytes)
    except SeedError as exc:
        return Outcome(path, size, mtime_ns, "", error=str(exc))
    digest = model.digest(data)
    if digest == known_digest:
        return Outcome(path, size, mtime_ns, digest, unchanged=True)
    secret: object = None
    try:
        raw = load.parse(path, data)
        secret = raw.meta.get("secured")
        result = normalize(raw.meta, raw.body, limits, now)
    except SeedError as exc:
        return Outcome(path, size, mtime_ns, digest, error=_scrub([str(exc)], secret)[0])
    except FieldError as exc:
        error = str(SeedError(path, exc.field, exc.reason))
        return Outcome(path, size, mtime_ns, digest, error=_scrub([error], secret)[0])
    except (RecursionError, MemoryError):
        return Outcome(path, size, mtime_ns, digest, error=f"{path}: too deeply nested or too large to walk")
    story = result.story
    story_json = story_to_json(story)
    return Outcome(
        path, size, mtime_ns, digest,
        url=story.url,
        rank=seed_rank(story),
        story_json=story_json,
        rows=story_rows(story, story_json),
        warnings=_scrub((f"{path}: {w}" for w in result.warnings), secret),
    )


Job = tuple[Path, str, int, int, str | None, LimitsConfig, datetime]  # process_file's arguments


def _worker_init() -> None:
    """Start of a forked worker: never hold the writer lock, never outlive the parent."""
    lock.close_inherited()
    try:  # Linux: the kernel kills the worker when the process that forked it dies
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before the line above took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass


def _pool(workers: int) -> ProcessPoolExecutor:
    # fork: workers start at once and share the parent's pages; "spawn" would re-import
    # the caller's __main__ in every worker, which breaks library use from a script.
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"), initializer=_worker_init)


def _process_job(job: Job) -> Outcome:
    return process_file(*job)


def _outcomes(jobs: list[Job]) -> Iterator[Outcome]:
    """Process jobs in order, on every core when there are enough of them."""
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) < PARALLEL_MIN_FILES or workers < 2:
        yield from (_process_job(job) for job in jobs)
        return
    with _pool(workers) as pool:
        # A bounded window of chunks in flight keeps memory flat on huge corpora.
        pending: list[Future[list[Outcome]]] = []
        for start in range(0, len(jobs), CHUNK_FILES):
            chunk = jobs[start : start + CHUNK_FILES]
            load.prefetch(chunk[0][0], (job[1] for job in chunk))  # read ahead while queued
            pending.append(pool.submit(_process_chunk, chunk))
            if len(pending) >= workers * CHUNKS_AHEAD_PER_WORKER:
                yield from pending.pop(0).result()
        for future in pending:
            yield from future.result()


def _process_chunk(jobs: list[Job]) -> list[Outcome]:
    return [_process_job(job) for job in jobs]


def _apply(store: Store, batch: list[Outcome], track: bool, run: _Run, old: dict[str, SeedRow]) -> set[str]:
    """Store one batch of outcomes and mark the feeds they touch, in one transaction.

    In a bulk load (not `track`), the URLs that need a winner chosen among several
    seeds are returned instead, to be settled once the indexes are back.
    """
    with store.transaction():
        affected: set[str] = set()
        names: set[tuple[str, str]] = set()
        for outcome in batch:
            if outcome.unchanged:
                store.touch_seed(outcome.path, outcome.size, outcome.mtime_ns)
                continue
            run.files_read += 1
            run.warnings.extend(outcome.warnings)
            if (outcome.story_json is not None and outcome.url is not None and outcome.rank is not None
                    and outcome.rows is not None):
                store.put_good_seed(outcome.path, outcome.size, outcome.mtime_ns, outcome.digest,
                                    outcome.url, outcome.rank, outcome.story_json, outcome.warnings)
                if not track and store.insert_story(outcome.path, outcome.rows):
                    run.added += 1  # cold: a URL seen for the first time needs no re-derivation
                    continue
                affected.add(outcome.url)
                names.update((kind, slug) for kind, slug, _ in outcome.rows.names())
            else:
                store.put_bad_seed(outcome.path, outcome.size, outcome.mtime_ns, outcome.digest,
                                   outcome.error or "unusable")
            previous = old.get(outcome.path)
            if previous is not None and previous.url:
                affected.add(previous.url)
        if not track:
            return affected
        _refresh(store, affected, names, track, run)
    return set()


def _refresh(store: Store, urls: set[str], names: set[tuple[str, str]], track: bool, run: _Run) -> None:
    """Re-derive the stories of `urls` and mark every feed whose bytes may change."""
    if track:
        names |= store.names_of_stories(urls)
        before = {name: store.display_name(*name) for name in names}
    dirty: set[FeedKey] = set()
    for url in sorted(urls):
        existed, exists, touched = store.refresh_story(url, track)
        dirty |= touched
        if exists:
            run.added += not existed
            run.updated += existed
        elif existed:
            run.deleted += 1
    run.refreshed |= urls
    if track:
        store.mark_dirty(dirty)
        renamed: set[FeedKey] = set()
        for name in names:
            if store.display_name(*name) != before[name]:
                kind, slug = name
                renamed.add(FeedKey(kind, slug))  # type: ignore[arg-type]
                renamed |= store.feeds_of_stories(store.stories_naming(kind, slug))
        store.mark_dirty(renamed, force=True)  # same items, new names: render them anyway


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


def publish_locked(store: Store, config: Config, now: datetime, *, progress: Progress | None = None,
                   settle_ns: int = 0) -> PublishResult:
    """One publish by a caller that already holds the writer lock (the daemon).

    With `settle_ns`, a file modified less than that long ago is left for a later
    cycle (`PublishResult.pending`): a writer may still be in the middle of it.
    """
    with writing(config):
        return _publish_locked(store, config, now, progress, settle_ns)


def _publish_locked(store: Store, config: Config, now: datetime, progress: Progress | None,
                    settle_ns: int) -> PublishResult:
    started = time.perf_counter()
    paths = config.paths
    run = _Run()
    check_paths(config)  # again: the daemon's seeds folder may have gone since
    write.clean_temporaries(paths.feeds)
    scan = _scan(store, paths.seeds)
    cold = store.get_meta("rendered_at") is None and not store.has_seeds()
    reparse = not cold and store.get_meta("parse_fingerprint") != config.parse_fingerprint()
    moved, changed, gone = _changes(store, scan, reparse)
    rows = store.seed_rows([*changed, *gone])
    pending: list[str] = []
    pending_until = None
    if settle_ns:
        recent = time.time_ns() - settle_ns
        pending = sorted(path for path, (_, mtime_ns) in changed.items() if mtime_ns > recent)
        if pending:
            newest = max(changed[path][1] for path in pending)
            pending_until = datetime.fromtimestamp((newest + settle_ns) / 1e9, UTC)
    jobs: list[Job] = [
        (paths.seeds, path, size, mtime_ns, None if reparse or path not in rows else rows[path].digest,
         config.limits, now)
        for path, (size, mtime_ns) in sorted(changed.items())
        if path not in pending
    ]
    if cold:
        with store.transaction():
            store.set_meta("render_all", "1")
    deferred: set[str] = set()
    with store.bulk_load() if cold else contextlib.nullcontext():
        done = 0
        batch: list[Outcome] = []
        for outcome in _outcomes(jobs):
            batch.append(outcome)
            if len(batch) >= BATCH_FILES:
                deferred |= _apply(store, batch, not cold, run, rows)
                done += len(batch)
                batch = []
                if progress:
                    progress(done, len(jobs))
        if batch:
            deferred |= _apply(store, batch, not cold, run, rows)
            if progress:
                progress(len(jobs), len(jobs))
    if deferred:
        with store.transaction():
            _refresh(store, deferred, set(), False, run)
    if gone:
        with store.transaction():
            urls = {url for path in gone if (url := rows[path].url)}
            for path in gone:
                store.delete_seed(path)
            _refresh(store, urls, set(), not cold, run)
    # Once every change and deletion is stored: a renamed seed is not its own duplicate.
    for url in sorted(run.refreshed):
        seeds = store.duplicates(url)
        if len(seeds) > 1:
            run.warnings.append(
                f"{seeds[0]}: same article URL as {', '.join(seeds[1:])}; {seeds[0]} is published"
                " (the most recently updated wins)"
            )
    # Last: a folder's digest is recorded only once all of its changes are stored, so a
    # run killed before this point compares those folders again. Folders with files
    # still being written are left for a later cycle.
    with store.transaction():
        waiting = {folder_of(path) for path in pending}
        store.set_folder_digests({f: scan.folders.get(f) for f in moved if f not in waiting})
        store.set_meta("parse_fingerprint", config.parse_fingerprint())

    written, removed, total = _render(store, config, now)
    filters = _filters(config, now)
    live, held = store.count_stories(filters)
    release = store.next_release(epoch(now))
    errors = [f"{p}: file skipped: {m}" for p, m in scan.problems.items()]
    for path, error, has_last_good in store.seed_problems():
        note = " (its last good version stays published)" if has_last_good else ""
        errors.append(f"{error}{note}" if error.startswith(path) else f"{path}: {error}{note}")
    return PublishResult(
        files_seen=len(scan.files),
        files_read=run.files_read,
        seeds_removed=len(gone),
        stories_published=live,
        stories_held=held,
        errors=tuple(errors),
        warnings=tuple(run.warnings),
        written=tuple(written),
        removed=tuple(removed),
        feeds_total=total,
        seconds=time.perf_counter() - started,
        next_release=datetime.fromtimestamp(release, UTC) if release else None,
        added=run.added,
        updated=run.updated,
        deleted=run.deleted,
        pending=tuple(pending),
        pending_until=pending_until,
    )


def _scan(store: Store, root: Path) -> load.Scan:
    """The seeds folder listed, its subfolders on every core when the state knows many
    seeds: the 50,000 stat calls are most of a no-op or one-edit publish."""
    workers = min(os.cpu_count() or 1, 8)
    if workers < 2 or store.seed_count() < PARALLEL_SCAN_MIN_SEEDS:
        return load.scan(root)
    with _pool(workers) as pool:
        return load.scan(root, pool.map)


def _changes(
    store: Store, scan: load.Scan, reparse: bool
) -> tuple[set[str], dict[str, load.FileStat], list[str]]:
    """(folders compared, seeds new or changed, seeds gone) since the last publish.

    Only folders whose digest moved are compared file by file; a folder that could not
    be listed is neither compared nor taken as emptied. With `reparse` (other limits
    make other stories out of the same files) every seed counts as changed.
    """
    stored = store.folder_digests()
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


def _filters(config: Config, now: datetime) -> Filters:
    return Filters(config.feeds.only_published, config.feeds.min_quality, epoch(now))


def _render(store: Store, config: Config, now: datetime) -> tuple[list[str], list[str], int]:
    """Write every feed that may have changed; returns (written, removed, feeds live).

    A dirty feed whose newest items (ids and story digests) and title are what they
    were when it was last written is skipped without rendering; a forced one (config
    change, a display name changed, a file damaged behind our back) is rendered.
    """
    feeds_dir = config.paths.feeds
    filters = _filters(config, now)
    site = config.site
    outputs = store.outputs()
    fingerprint = config.output_fingerprint() + render.RENDER_VERSION
    last = store.get_meta("rendered_at")
    dirty = store.dirty()
    known = store.feed_rows()
    everything = bool(store.get_meta("render_all")) or store.get_meta("fingerprint") != fingerprint
    pages_stale = everything
    if everything:
        # The state may be new while old feeds are still there (a deleted state, a
        # killed first run): our files on disk count as outputs, so stale ones go.
        outputs = {path: (0, 0) for path in write.existing(feeds_dir, render.is_output_path)} | outputs
        keys = set(store.all_feed_keys(filters)) | set(known) | {k for k in map(render.key_of_path, outputs) if k}
        dirty = dict.fromkeys(keys, True)
    else:
        if last is not None:
            for key in store.released_between(int(last), filters.now):
                dirty.setdefault(key, False)
        for path, (size, mtime_ns) in outputs.items():
            try:
                st = (feeds_dir / path).stat()
                intact = (st.st_size, st.st_mtime_ns) == (size, mtime_ns)
            except FileNotFoundError:
                intact = False
            if not intact:  # deleted, edited or replaced behind our back: restore it
                damaged = render.key_of_path(path)
                if damaged is None:
                    pages_stale = True
                else:
                    dirty[damaged] = True
        pages_stale = pages_stale or not {render.INDEX_PATH, render.OPML_PATH} <= set(outputs)
    names = _names(store)
    written: list[str] = []
    removed: list[str] = []
    rendered: list[str] = []
    feed_rows: dict[FeedKey, tuple[str, str] | None] = {}  # new (title, signature), None: gone

    def record(results: Iterable[tuple[str, bool]]) -> None:
        for path, changed in results:
            if changed:
                written.append(path)
            rendered.append(path)

    to_render: list[render.FeedInfo] = []
    for key, force in sorted(dirty.items()):
        heads = store.feed_heads(key, filters, config.feeds.max_items)
        if not heads:
            for fmt in render.FORMATS:
                if write.remove(feeds_dir, render.feed_path(key, fmt)):
                    removed.append(render.feed_path(key, fmt))
            if key in known:
                feed_rows[key] = None
            continue
        info = render.feed_info(key, site, names)
        row = (info.title, _signature(heads))
        if not force and known.get(key) == row:
            continue  # same items, same content: the bytes on disk are already right
        to_render.append(info)
        feed_rows[key] = row
    record(_rendered(store, config, filters, to_render, names))
    live = {key: row[0] for key, row in known.items()}
    for key, new in feed_rows.items():
        if new is None:
            live.pop(key, None)
        else:
            live[key] = new[0]
    titles_changed = any(new is None or known.get(key, ("",))[0] != new[0] for key, new in feed_rows.items())
    if pages_stale or titles_changed:
        infos = [render.FeedInfo(key, title, "") for key, title in sorted(live.items())]
        record(_write_files(feeds_dir, {render.INDEX_PATH: render.render_index(infos, site),
                                        render.OPML_PATH: render.render_opml(
                                            infos, site, cast(render.Format, config.feeds.opml_format))}))
    expected = {render.feed_path(k, f) for k in live for f in render.FORMATS}
    expected |= {render.INDEX_PATH, render.OPML_PATH}
    stale = sorted(set(outputs) - expected)
    for path in stale:
        if write.remove(feeds_dir, path):
            removed.append(path)
    with store.transaction():
        for path in rendered:
            st = (feeds_dir / path).stat()
            store.set_output(path, st.st_size, st.st_mtime_ns)
        for path in stale + removed:
            store.delete_output(path)
        store.set_feed_rows(feed_rows)
        store.clear_dirty(dirty)
        store.set_meta("rendered_at", str(filters.now))
        store.set_meta("fingerprint", fingerprint)
        store.db.execute("DELETE FROM meta WHERE key='render_all'")
    return written, sorted(removed), len(live)


# Below this many feeds to render, worker processes cost more than they save.
PARALLEL_MIN_FEEDS = 40
RenderJob = tuple[Path, Config, Filters, list[render.FeedInfo]]


def _render_chunk(job: RenderJob) -> list[tuple[str, bool]]:
    """Render and write some feeds in a worker, reading the state without writing it."""
    state, config, filters, infos = job
    store = Store(state, readonly=True)
    try:
        return list(_render_infos(store, config, filters, infos, _names(store)))
    finally:
        store.close()


def _render_infos(
    store: Store, config: Config, filters: Filters, infos: list[render.FeedInfo], names: render.Names
) -> Iterator[tuple[str, bool]]:
    for info in infos:
        items = store.feed_items(info.key, filters, config.feeds.max_items)
        yield from _write_files(config.paths.feeds, render.render_feed(info, items, config.site, names))


def _write_files(feeds_dir: Path, files: dict[str, bytes]) -> Iterator[tuple[str, bool]]:
    """(path, whether its bytes changed) of each file, written atomically if they did."""
    for path, data in files.items():
        yield path, write.write_if_changed(feeds_dir, path, data)


def _rendered(
    store: Store, config: Config, filters: Filters, infos: list[render.FeedInfo], names: render.Names
) -> Iterator[tuple[str, bool]]:
    """Each feed rendered and written (path, changed), on every core when there are many
    (a cold publish): the workers write their own files, so their fsyncs overlap too."""
    workers = min(os.cpu_count() or 1, 8)
    if len(infos) < PARALLEL_MIN_FEEDS or workers < 2:
        yield from _render_infos(store, config, filters, infos, names)
        return
    chunks = [infos[i::workers * 4] for i in range(workers * 4)]
    with _pool(workers) as pool:
        for done in pool.map(_render_chunk, [(store.path, config, filters, chunk) for chunk in chunks if chunk]):
            yield from done


def _signature(heads: list[tuple[str, str]]) -> str:
    """What a feed's bytes depend on besides config and names: its items, in order."""
    text = "\n".join(f"{item_id} {digest}" for item_id, digest in heads)
    return model.digest(text.encode())


def _names(store: Store) -> render.Names:
    """Display names read from the state, each looked up once per run."""
    return render.Names(provider=_cached(store.provider_name), topic=_cached(store.topic_name))


def _cached(lookup: Callable[[str], str]) -> Callable[[str], str]:
    cache: dict[str, str] = {}

    def cached(key: str) -> str:
        if key not in cache:
            cache[key] = lookup(key)
        return cache[key]

    return cached


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
    jobs: list[Job] = [(paths.seeds, p, size, mtime_ns, None, config.limits, now)
            for p, (size, mtime_ns) in sorted(scan.files.items())]
    errors = [f"{p}: file skipped: {m}" for p, m in scan.problems.items()]
    warnings: list[str] = []
    by_url: dict[str, list[str]] = {}
    for outcome in _outcomes(jobs):
        warnings.extend(outcome.warnings)
        if outcome.error:
            errors.append(outcome.error)
        elif outcome.url:
            by_url.setdefault(outcome.url, []).append(outcome.path)
    for url, seeds in sorted(by_url.items()):
        if len(seeds) > 1:
            warnings.append(f"{seeds[0]}: same article URL as {', '.join(seeds[1:])} ({url})")
    return CheckResult(files=len(scan.files), errors=tuple(errors), warnings=tuple(warnings))
