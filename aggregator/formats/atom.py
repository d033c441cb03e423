"""Atom 1.0 (RFC 4287), with Media RSS thumbnails and the outlet as the entry's author;
the subscription document of the feed's archive (RFC 5005) and, when switched on, its
tombstones (RFC 6721)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aggregator.formats.base import Feed, Format
from aggregator.formats.feedgen import Extension, finish, generator, sub_element
from aggregator.model import FeedItem, Tombstone

if TYPE_CHECKING:
    from feedgen.entry import FeedEntry

TOMBSTONES = "http://purl.org/atompub/tombstones/1.0"


def render(feed: Feed) -> bytes:
    def fill(entry: FeedEntry, item: FeedItem, body: str) -> None:
        article = item.article
        entry.author(name=feed.names.provider(article.provider.domain), uri=f"https://{article.provider.domain}/")
        if article.excerpt:
            entry.summary(article.excerpt)
        entry.content(body, type="html")

    history = feed.history
    extensions: dict[str, tuple[type, type]] = {"at": (_Tombstones, Extension)} if history.tombstones else {}
    gen = generator(feed, ATOM, fill, extensions=extensions)
    if history.prev_archive is not None:
        gen.link(href=feed.site.base_url + history.prev_archive, rel="prev-archive", type=ATOM.media_type)
    if history.tombstones:
        gen.at.tombstones = history.tombstones
    return finish(gen.atom_str(pretty=True))


class _Tombstones(Extension):
    """`at:deleted-entry` elements: items gone from the feed, with when that was noticed."""

    def __init__(self) -> None:
        self.tombstones: tuple[Tombstone, ...] = ()

    def extend_ns(self) -> dict[str, str]:
        return {"at": TOMBSTONES}

    def extend_atom(self, atom_feed: Any) -> Any:
        for tombstone in self.tombstones:
            when = datetime.fromtimestamp(tombstone.deleted, UTC).isoformat()
            sub_element(f"{{{TOMBSTONES}}}deleted-entry", atom_feed, ref=tombstone.id, when=when)
        return atom_feed


ATOM = Format(name="atom", label="Atom", suffix=".atom.xml", media_type="application/atom+xml", render=render)
