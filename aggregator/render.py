"""Feeds as bytes, in every format: pure, no I/O, no clock.

The same items and config always give the same bytes: every date comes from the data
(a feed's update time is its newest item's), never from "now". Each format is a module
of `aggregator.formats`; the index page and the OPML list are in `aggregator.pages`.
"""

from __future__ import annotations

from collections.abc import Sequence

from aggregator.config import SiteConfig
from aggregator.formats import FEED_FORMATS, FORMATS, Feed, FeedInfo, Format, Names, archive, html
from aggregator.formats.base import NO_HISTORY
from aggregator.model import FeedHistory, FeedItem, FeedKey

# Bump when the rendered bytes change for the same data: every feed is rewritten once.
# (An archive document written again keeps its unchanged entries from its file: without
# a bump, a change to what an entry looks like would not reach those.)
RENDER_VERSION = "r5"
INDEX_PATH = "index.html"
OPML_PATH = "feeds.opml"
PAGES = (INDEX_PATH, OPML_PATH, html.STYLESHEET_PATH)


def feed_path(key: FeedKey, fmt: Format) -> str:
    """Path of one feed's file in one format, below `feeds/`."""
    return key.stem + fmt.suffix


def feed_paths(key: FeedKey) -> list[str]:
    """Paths of one feed's files, in every format."""
    return [feed_path(key, fmt) for fmt in FORMATS]


def key_of_path(path: str) -> FeedKey | None:
    """The feed a file below `feeds/` is in one format of (None for the pages, the
    archive documents and anything else)."""
    for fmt in FORMATS:
        if path.endswith(fmt.suffix):
            return key_of_stem(path.removesuffix(fmt.suffix))
    return None


def subscribable(path: str) -> bool:
    """A feed's file in a format readers subscribe to (not its page, not an archive
    document): what a WebSub hub is told of, and pushes."""
    return any(path.endswith(fmt.suffix) for fmt in FEED_FORMATS) and key_of_path(path) is not None


def key_of_stem(stem: str) -> FeedKey | None:
    """The feed whose files are named `stem` and a suffix (`FeedKey.stem`)."""
    if stem == "all":
        return FeedKey("all")
    kind, _, slug = stem.partition("s/")
    if kind in ("topic", "provider") and slug and "/" not in slug:
        return FeedKey(kind, slug)  # type: ignore[arg-type]
    return None


def archive_key(path: str) -> tuple[FeedKey, int] | None:
    """(feed, number) of an archive document's path below `feeds/`."""
    found = archive.page_of_path(path)
    if found is None:
        return None
    key = key_of_stem(found[0])
    return None if key is None else (key, found[1])


def is_output_path(path: str) -> bool:
    """A file this tool writes in `feeds/` (anything else there is left alone)."""
    return path in PAGES or key_of_path(path) is not None or archive_key(path) is not None


def feed_info(key: FeedKey, site: SiteConfig, names: Names) -> FeedInfo:
    if key.kind == "all":
        return FeedInfo(key, f"{site.title}: all stories", f"Every story on {site.title}, newest first")
    if key.kind == "topic":
        name = names.topic(key.slug)
        return FeedInfo(key, f"{site.title}: {name}", f"Stories about {name} on {site.title}")
    name = names.provider(key.slug)
    return FeedInfo(key, f"{site.title}: {name}", f"Articles from {name} ({key.slug}) on {site.title}")


def render_feed(info: FeedInfo, items: Sequence[FeedItem], site: SiteConfig, names: Names,
                history: FeedHistory = NO_HISTORY, hubs: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every format of one feed, {path below feeds/: bytes}; `items` newest first."""
    feed = Feed(info, items, site, names, history, hubs)
    return {feed_path(info.key, fmt): fmt.render(feed) for fmt in FORMATS}
