"""Which feeds to render, which files to remove, whether the pages are stale: decided
from plain values, with no I/O and no clock, so that every rule is tested directly.

A publish gathers what the state and `feeds/` say (`publish._gather`), asks this module
what to do (`stale_feeds`, then `plan`), and carries the plan out (`publish._carry_out`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from aggregator import model, render
from aggregator.formats import FeedInfo
from aggregator.model import FeedKey, FeedRow, Head


@dataclass(frozen=True, slots=True)
class Look:
    """What is known before deciding which feeds to look at again."""

    dirty: Mapping[FeedKey, bool]  # marked by changes; True: render even if its items are the same
    everything: bool  # a cold publish or other settings: every feed, every page
    live_keys: Collection[FeedKey]  # every feed that has items now (asked only with `everything`)
    known: Mapping[FeedKey, FeedRow]  # the feeds written last time
    outputs: Collection[str]  # files written last time, and with `everything` ours found on disk
    released: Collection[FeedKey]  # feeds with an item released since the last render
    damaged: Collection[str]  # written files deleted or changed behind our back

    @property
    def damaged_pages(self) -> list[str]:
        """The damaged archive documents."""
        return [path for path in self.damaged if render.archive_key(path) is not None]


@dataclass(frozen=True, slots=True)
class Stale:
    feeds: dict[FeedKey, bool]  # feeds to look at, and whether to render them whatever their items
    pages: bool  # the index and the OPML must be written again


def stale_feeds(look: Look) -> Stale:
    """The feeds whose files may be wrong, and whether the pages are."""
    if look.everything:
        keys = {*look.dirty, *look.live_keys, *look.known, *filter(None, map(render.key_of_path, look.outputs))}
        return Stale(dict.fromkeys(keys, True), pages=True)
    feeds = dict(look.dirty)
    for key in look.released:
        feeds.setdefault(key, False)
    pages = not set(render.PAGES) <= set(look.outputs)
    for path in look.damaged:  # restore it: render it whatever its items
        damaged = render.key_of_path(path)
        if damaged is None and render.archive_key(path) is not None:
            continue  # an archive document: `history` writes it again
        if damaged is None:
            pages = True
        else:
            feeds[damaged] = True
    return Stale(feeds, pages)


@dataclass(frozen=True, slots=True)
class RenderPlan:
    render: list[FeedInfo]  # feeds to render and write, in every format
    remove: list[str]  # files to delete: feeds left without items, and outputs no feed has any more
    rows: dict[FeedKey, FeedRow | None]  # what to remember of each feed written (None: forget it)
    live: dict[FeedKey, str]  # every feed with items after this, and its title
    pages: bool  # write the index and the OPML


def plan(stale: Stale, heads: Mapping[FeedKey, Sequence[Head]], infos: Mapping[FeedKey, FeedInfo],
         known: Mapping[FeedKey, FeedRow], outputs: Iterable[str],
         marks: Mapping[FeedKey, str] | None = None) -> RenderPlan:
    """What to write and remove, given each stale feed's newest items (`heads`), its
    title (`infos`, for those with items) and what else its bytes depend on (`marks`:
    its archive and tombstones).

    A feed whose title, items (ids and story digests) and mark are what they were when
    it was last written is not rendered again, unless it is forced. Archive documents
    are left to `history`.
    """
    to_render: list[FeedInfo] = []
    emptied: set[str] = set()
    rows: dict[FeedKey, FeedRow | None] = {}
    for key, force in sorted(stale.feeds.items()):
        if not heads.get(key):
            emptied.update(render.feed_paths(key))
            if key in known:
                rows[key] = None
            continue
        info = infos[key]
        row = FeedRow(info.title, heads_digest(heads[key], (marks or {}).get(key, "")))
        if force or known.get(key) != row:
            to_render.append(info)
            rows[key] = row
    live = {key: row.title for key, row in known.items()}
    for key, new in rows.items():
        if new is None:
            live.pop(key, None)
        else:
            live[key] = new.title
    titles_changed = any(new is None or key not in known or known[key].title != new.title
                         for key, new in rows.items())
    expected = {path for key in live for path in render.feed_paths(key)} | set(render.PAGES)
    remove = sorted(emptied | {path for path in outputs if path not in expected and render.archive_key(path) is None})
    return RenderPlan(to_render, remove, rows, live, pages=stale.pages or titles_changed)


def heads_digest(heads: Iterable[Head], mark: str = "") -> str:
    """What a feed's bytes depend on besides settings and names: its items, in order,
    and its `mark` (`history.Update.mark`)."""
    text = "\n".join([*(f"{head.id} {head.digest}" for head in heads), *([mark] if mark else [])])
    return model.digest(text.encode())
