"""Each feed's history beyond its newest items, kept in step by every publish: which
items it has (its members), the archive documents they fill (RFC 5005), and the
tombstones of the items it lost (RFC 6721).

`update` brings the members in line with the stories and says which archive documents
to write or delete and what each Atom subscription document links to; `write_pages`
writes the documents, reading each story once however many documents show it.
The paging is described in docs/internals.md, "Archives and tombstones".
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import operator
import pickle
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from aggregator import model, pool, render, write
from aggregator.config import Config
from aggregator.formats import Names
from aggregator.formats.archive import (
    Entry,
    Page,
    make_entry,
    page_number,
    page_path,
    render_page,
    seq_range,
    written_entries,
)
from aggregator.formats.base import NO_HISTORY
from aggregator.model import FeedHistory, FeedItem, FeedKey, Filters, Head
from aggregator.store import StateStore, Store, unpack_story

# A feed announces at most this many tombstones at once, the newest: a change of
# settings that drops thousands of items must not make every Atom file huge.
MAX_TOMBSTONES = 500
# Below this many archive documents to write, worker processes cost more than they save.
PARALLEL_MIN_PAGES = 40

PageKey = tuple[FeedKey, int]  # (feed, document number)
Placement = tuple[int, FeedKey, int, str]  # (story row holding its data, feed, seq, item id)


@dataclass
class Update:
    """What one publish does to the feeds' histories."""

    histories: dict[FeedKey, FeedHistory] = field(default_factory=dict)  # of the stale live feeds
    pages: set[PageKey] = field(default_factory=set)  # archive documents to write
    remove: set[str] = field(default_factory=set)  # archive documents to delete
    feeds: set[FeedKey] = field(default_factory=set)  # feeds whose members changed
    numbers: dict[FeedKey, list[int]] = field(default_factory=dict)  # each written feed's documents, ascending
    counts: dict[PageKey, int] = field(default_factory=dict)  # items in each document to write
    # The items whose entries are made again from their stories (changed or released):
    # a document written before keeps its other entries, taken from its file, unless its
    # feed is in `whole` (names changed: every entry). None: every entry of every document.
    changed: frozenset[str] | None = None
    whole: frozenset[FeedKey] = frozenset()

    def mark(self, key: FeedKey) -> str:
        """What the feed's Atom subscription document depends on besides its items."""
        history = self.histories.get(key, NO_HISTORY)
        return f"{history.prev_archive}|" + ",".join(f"{t.id}@{t.deleted}" for t in history.tombstones)


def update(store: StateStore, config: Config, filters: Filters, everything: bool, stale: Mapping[FeedKey, bool],
           heads: dict[FeedKey, list[Head]], outputs: Collection[str], damaged: Iterable[str],
           released_since: int | None) -> Update:
    """Bring the members in line with the stories and decide which archive documents to
    write and delete; `heads` (the stale feeds' newest items) gains the feeds whose
    members changed. A forced stale feed (a display name changed) has every document
    written again. In one transaction, with the documents to write kept in the state
    until they are written (a run killed before then leaves them to the next; in a first
    publish or after other settings, every document is written again anyway). Expired
    tombstones are left for `forget` to delete once the feeds are written."""
    feeds = config.feeds

    def archived() -> set[str]:  # the archive documents among the outputs (thousands: not for a small update)
        return {path for path in outputs if render.archive_key(path) is not None}

    if not feeds.history:
        if store.has_members():
            with store.transaction():
                store.forget_history()
        return Update(remove=archived())
    result = Update()
    with store.transaction():
        if everything:
            counts = _replace_all(store, config, filters)
            pages = {(key, n) for key, found in counts.items() for n in found}
        else:
            result.feeds, touched, changed_ids = _update_some(store, config, filters, heads, released_since)
            touched |= store.dirty_pages() | {page for page in map(render.archive_key, damaged) if page}
            forced = {key for key, force in stale.items() if force}  # every document written again
            counts = _counts(store, feeds.archive_page_items, touched, set(heads), forced)
            pages = _to_write(touched, counts, outputs)
            pages |= {(key, n) for key in forced for n in counts.get(key, {})}
            result.changed, result.whole = frozenset(changed_ids), frozenset(forced)
            if feeds.archives:
                store.mark_dirty_pages(pages)
    for key in set(stale) | result.feeds:
        if heads.get(key):
            result.histories[key] = _history(store, config, key, counts.get(key) if feeds.archives else None,
                                             filters.now)
    if not feeds.archives:
        result.remove = archived()
        return result
    result.pages = {(key, n) for key, n in pages if n in counts.get(key, {})}
    result.numbers = {key: sorted(counts[key]) for key, _ in result.pages}
    result.counts = {(key, n): counts[key][n] for key, n in result.pages}
    if everything:
        result.remove = archived() - {page_path(key, n) for key, found in counts.items() for n in found}
    else:
        # Not only those recorded as written: a run killed before recording them wrote some.
        result.remove = {page_path(key, n) for key, n in pages if n not in counts.get(key, {})}
    return result


def forget(store: StateStore, config: Config, filters: Filters) -> None:
    """Delete the tombstones whose time is up, once their feeds are written (in the
    caller's transaction): until then a run killed half-way finds them again."""
    if config.feeds.history:
        store.forget_tombstones(filters.now - config.feeds.tombstone_seconds)


def _replace_all(store: StateStore, config: Config, filters: Filters) -> dict[FeedKey, dict[int, int]]:
    """Every feed's members from the stories (a first publish, other settings), stored
    before any file is written: the layout is let go of feed by feed as it is stored,
    and the archive documents read their members from the state. Returns each feed's
    archive documents and their sizes."""
    feeds = config.feeds
    with no_cycle_collection():
        by_feed = store.members_by_feed(filters)
        if store.has_members():
            store.merge_members(((kind, slug, *member) for (kind, slug), found in by_feed.items()
                                 for member in found), filters.now, feeds.max_items)
            return store.archive_pages(None, feeds.archive_page_items)
        layout = ColdLayout(by_feed, feeds.max_items)
        # Items back (members kept by neither switch meanwhile, then all gone) are not gone.
        store.drop_tombstones(layout.members(store.tombstoned()))
        store.insert_members(layout.rows(), layout.ends)
    per_page = feeds.archive_page_items
    return {FeedKey(kind, slug): {n: min(per_page, total - (n - 1) * per_page)  # type: ignore[arg-type]
                                  for n in range(1, (total - 1) // per_page + 2)}
            for kind, slug, total in layout.ends if total}


MemberRow = tuple[str, str, bytes, int, int, int | None]  # (kind, slug, id as stored, published, sid, seq)


class ColdLayout:
    """The seqs of a first publish: in each feed, the members beyond its `newest` by date
    get seqs, oldest first. `ends` holds each feed's next seq; `rows` then gives the rows
    to insert (kind, slug, id, published, sid, seq) in key order, letting go of each
    feed's members as it goes."""

    def __init__(self, by_feed: dict[tuple[str, str], list[tuple[bytes, int, int]]], newest: int) -> None:
        self.by_feed = by_feed  # {(kind, slug): [(id, published, sid)]}: by date after this, emptied by `rows`
        self.newest = newest
        self.ends: list[tuple[str, str, int]] = []
        for kind, slug in sorted(by_feed):
            found = by_feed[kind, slug]
            found.sort(key=_FIRST)  # the feed's order: newest first, ties by id
            found.sort(key=_SECOND, reverse=True)
            self.ends.append((kind, slug, max(0, len(found) - newest)))

    def members(self, names: Iterable[tuple[str, str, bytes]]) -> list[tuple[str, str, bytes]]:
        """Those of these (kind, slug, id) that are members."""
        names = list(names)
        ids = {feed: {m[0] for m in self.by_feed.get(feed, ())} for feed in {(kind, slug) for kind, slug, _ in names}}
        return [(kind, slug, id_) for kind, slug, id_ in names if id_ in ids[kind, slug]]

    def rows(self) -> Iterator[MemberRow]:
        for kind, slug in sorted(self.by_feed):
            found = self.by_feed.pop((kind, slug))
            older = found[self.newest:]
            seqs = {m[0]: len(older) - 1 - n for n, m in enumerate(older)}
            found.sort(key=_FIRST)  # key order, for the insert
            yield from ((kind, slug, m[0], m[1], m[2], seqs.get(m[0])) for m in found)


_FIRST = operator.itemgetter(0)
_SECOND = operator.itemgetter(1)


def _update_some(store: StateStore, config: Config, filters: Filters, heads: dict[FeedKey, list[Head]],
                 released_since: int | None) -> tuple[set[FeedKey], set[PageKey], set[str]]:
    """The members of the items changed or released since the last publish brought in
    line, and each stale feed's members that left its newest items archived; returns the
    feeds whose members changed, the archive documents touched and those items."""
    feeds = config.feeds
    ids = store.dirty_items()
    if released_since is not None:
        ids |= store.released_items(released_since, filters.now)
    changed, seqs = store.update_members(filters, ids, filters.now)
    for key in changed - set(heads):
        heads[key] = store.feed_heads(key, filters, feeds.max_items)
    for key, found in heads.items():
        seqs.update((key, seq) for seq in store.archive_members(key, {head.id for head in found}))
    return changed, {(key, page_number(seq, feeds.archive_page_items)) for key, seq in seqs}, ids


def _counts(store: StateStore, per_page: int, touched: set[PageKey], heads: set[FeedKey],
            forced: set[FeedKey]) -> dict[FeedKey, dict[int, int]]:
    """The archive documents an update needs to know of: around the touched ones and each
    feed's newest (`archive_pages_near`), and all of those of the forced feeds."""
    near: dict[FeedKey, set[int]] = {key: set() for key in heads - forced}
    for key, number in touched:
        if key not in forced:
            near.setdefault(key, set()).add(number)
    return {**store.archive_pages_near(near, per_page), **store.archive_pages(forced, per_page)}


def _to_write(touched: set[PageKey], counts: Mapping[FeedKey, dict[int, int]],
              written: Collection[str]) -> set[PageKey]:
    """The touched documents, and the neighbours whose links change: those of a
    document that empties (it goes) or that holds an item for the first time."""
    pages = set(touched)
    for key, number in touched:
        present = sorted(counts.get(key, {}))
        if number in present and page_path(key, number) in written:
            continue  # the same document with other items: its neighbours' links stay
        older = [n for n in present if n < number]
        newer = [n for n in present if n > number]
        if older:
            pages.add((key, older[-1]))
        if newer:
            pages.add((key, newer[0]))
    return pages


def _history(store: StateStore, config: Config, key: FeedKey, counts: dict[int, int] | None,
             now: int) -> FeedHistory:
    feeds = config.feeds
    prev = page_path(key, max(counts)) if counts else None
    tombstones = store.tombstones(key, now - feeds.tombstone_seconds, MAX_TOMBSTONES) if feeds.tombstones else ()
    return FeedHistory(prev, tombstones)


# --- writing archive documents -----------------------------------------------------------------


class PagesJob(NamedTuple):
    """Archive documents for one worker: those of its stories' dates."""

    state: Path
    config: Config
    pages: frozenset[PageKey]
    numbers: dict[FeedKey, list[int]]
    counts: dict[PageKey, int]
    after: int | None  # stories dated in (after, until]
    until: int | None


class PagesDone(NamedTuple):
    written: list[tuple[str, bool]]  # (path, whether its bytes changed)
    partial: dict[PageKey, list[Entry]]  # documents with items from other workers' stories too


class PagesPacked(NamedTuple):
    """`PagesDone` on its way back from a worker: the entries of the documents left
    unfinished (a few hundred documents, tens of MB of XML) pickled and compressed, so
    that they weigh a third while the other workers are still running."""

    written: list[tuple[str, bool]]
    partial: bytes

    def unpack(self) -> PagesDone:
        return PagesDone(self.written, pickle.loads(zlib.decompress(self.partial)))


def write_pages(store: StateStore, config: Config, update: Update) -> Iterator[tuple[str, bool]]:
    """Write the archive documents `update` names; yields (path, whether its bytes changed).

    Each story is read and each entry written once, however many documents show it;
    with many documents, on every core, each worker taking the stories of a run of dates.
    """
    if not update.pages:
        return
    pages = frozenset(update.pages)
    workers = pool.workers()
    if len(pages) < PARALLEL_MIN_PAGES or workers < 2:
        job = PagesJob(store.path, config, pages, update.numbers, update.counts, None, None)
        done = [_write_some(store, config, job, display_names(store), _written(store, config, update))]
    else:
        cuts: list[int | None] = [None, *store.story_dates(workers), None]
        jobs = [PagesJob(store.path, config, pages, update.numbers, update.counts, after, until)
                for after, until in itertools.pairwise(cuts)]
        store.release_memory()  # or each worker would hold its share of the page cache
        with pool.fork_pool(workers) as executor:
            packed = list(executor.map(_pages_worker, jobs))
        done = [result.unpack() for result in packed]  # once every worker is gone
    partial: dict[PageKey, list[Entry]] = {}
    for result in done:
        yield from result.written
        for page, entries in result.partial.items():
            partial.setdefault(page, []).extend(entries)
    names = display_names(store)
    with write.batch(config.paths.feeds) as files:
        for page, entries in sorted(partial.items()):
            _write_page(config, page, entries, update.numbers, names, files)
    yield from files.written


def _pages_worker(job: PagesJob) -> PagesPacked:
    store = Store(job.state, readonly=True)
    try:
        with no_cycle_collection():
            done = _write_some(store, job.config, job, display_names(store))
    finally:
        store.close()
    packed = _Deflated()
    pickle.dump(done.partial, packed, pickle.HIGHEST_PROTOCOL)  # a frame at a time: no whole copy
    return PagesPacked(done.written, packed.bytes())


class _Deflated:
    """A file that keeps what is written to it compressed."""

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(1)
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self._parts.append(self._compressor.compress(data))

    def bytes(self) -> bytes:
        return b"".join([*self._parts, self._compressor.flush()])


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while hundreds of thousands of tuples and records
    are made, none of them in a cycle: it would otherwise scan them again and again
    (half the time of a cold archive layout)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _written(store: StateStore, config: Config, update: Update) -> dict[PageKey, dict[str, Entry]]:
    """The entries that the documents to write keep from their files: those of the items
    not changed, in the documents written before that are still as they were written
    (their recorded size and mtime) and whose feed's names did not change."""
    if update.changed is None:
        return {}
    kept = {}
    for key, number in update.pages:
        path = page_path(key, number)
        recorded = None if key in update.whole else store.output(path)
        document = None if recorded is None else write.read_unchanged(config.paths.feeds, path, *recorded)
        entries = None if document is None else written_entries(document)
        if entries:
            kept[key, number] = {e.id: e for e in entries if e.id not in update.changed}
    return kept


def _write_some(store: StateStore, config: Config, job: PagesJob, names: Names,
                kept: Mapping[PageKey, dict[str, Entry]] | None = None) -> PagesDone:
    """The documents of `job` whose items all come from its stories; the others' entries
    so far are returned for the caller to finish. `kept`: entries that documents keep
    from their files (`_written`), whose stories are then not read."""
    per_page = config.feeds.archive_page_items
    ranges = [(key, *seq_range(number, per_page)) for key, number in sorted(job.pages)]
    # Keyed by (feed, number) inside the loop: a tuple of a feed record hashes in Python
    # code, half a million times; (kind, slug, number) hashes in C.
    counts = {(key.kind, key.slug, number): count for (key, number), count in job.counts.items()}
    buffers: dict[tuple[model.FeedKind, str, int], list[Entry]] = {}
    rows: Iterable[Placement] = store.archived(ranges, job.after, job.until)
    with write.batch(config.paths.feeds) as files:  # every document made durable at once
        if kept:
            rows = _keep(rows, kept, buffers, per_page)
            for page in [page for page, found in buffers.items() if len(found) == counts[page]]:
                done = (FeedKey(page[0], page[1]), page[2])  # every entry kept: only its links change
                _write_page(config, done, buffers.pop(page), job.numbers, names, files)
        for group, packed in _with_stories(store, itertools.groupby(rows, key=_STORY_ROW)):
            items = _Items(unpack_story(packed))
            entries: dict[str, Entry] = {}
            for _, key, seq, id_ in group:
                entry = entries.get(id_)
                if entry is None:
                    entry = entries[id_] = make_entry(items.get(id_), names)
                page = (key.kind, key.slug, seq // per_page + 1)
                buffer = buffers.get(page)
                if buffer is None:
                    buffer = buffers[page] = []
                buffer.append(entry)
                if len(buffer) == counts[page]:
                    _write_page(config, (key, page[2]), buffers.pop(page), job.numbers, names, files)
    partial = {(FeedKey(kind, slug), number): entries
               for (kind, slug, number), entries in buffers.items()}
    return PagesDone(files.written, partial)


def _keep(rows: Iterable[Placement], kept: Mapping[PageKey, dict[str, Entry]],
          buffers: dict[tuple[model.FeedKind, str, int], list[Entry]], per_page: int) -> list[Placement]:
    """The kept entries put in their documents' buffers; returns the rows still to make."""
    rest = []
    for row in rows:
        _, key, seq, id_ = row
        number = page_number(seq, per_page)
        entry = kept.get((key, number), {}).get(id_)
        if entry is None:
            rest.append(row)
        else:
            buffers.setdefault((key.kind, key.slug, number), []).append(entry)
    return rest


_STORY_ROW = operator.itemgetter(0)
STORY_BATCH = 500  # stories read from the state in one query


def _with_stories(store: StateStore, stories: Iterator[tuple[int, Iterator[Placement]]],
                  ) -> Iterator[tuple[list[Placement], bytes]]:
    """Each story row's archived members with its stored story, read a batch at a time."""
    while batch := [(sid, list(group)) for sid, group in itertools.islice(stories, STORY_BATCH)]:
        packed = store.packed_stories([sid for sid, _ in batch])
        for sid, group in batch:
            yield group, packed[sid]


class _Items:
    """The items a story holds, by id: the story itself, and each article it cites (ids
    worked out as far as needed: each is a hash)."""

    def __init__(self, story: model.Story) -> None:
        self.story = story
        self.related = iter(story.related)
        self.ids: dict[str, model.Article] = {}

    def get(self, id_: str) -> FeedItem:
        story = self.story
        if id_ == story.id:
            return FeedItem(id_, story, story.article)
        found = self.ids.get(id_)
        while found is None:
            article = next(self.related)
            self.ids[article.id] = article
            found = self.ids.get(id_)
        return FeedItem(id_, None, found)


def _write_page(config: Config, page: PageKey, entries: list[Entry], numbers: Mapping[FeedKey, list[int]],
                names: Names, files: write.Batch) -> None:
    key, number = page
    present = numbers[key]
    at = present.index(number)
    info = render.feed_info(key, config.site, names)
    doc = Page(info, number, present[at - 1] if at else None, present[at + 1] if at + 1 < len(present) else None)
    files.add(page_path(key, number), render_page(doc, entries, config.site))


def display_names(store: StateStore) -> Names:
    """Display names read from the state, each looked up once per run (the feeds' too)."""
    return Names.cached(store.provider_name, store.topic_name)
