"""Atom 1.0 (RFC 4287), with Media RSS thumbnails and the outlet as the entry's author."""

from __future__ import annotations

from feedgen.entry import FeedEntry

from aggregator.formats.base import Feed, Format
from aggregator.formats.feedgen import finish, generator
from aggregator.model import FeedItem


def render(feed: Feed) -> bytes:
    def fill(entry: FeedEntry, item: FeedItem, body: str) -> None:
        article = item.article
        entry.author(name=feed.names.provider(article.provider.domain), uri=f"https://{article.provider.domain}/")
        if article.excerpt:
            entry.summary(article.excerpt)
        entry.content(body, type="html")

    return finish(generator(feed, ATOM, fill).atom_str(pretty=True))


ATOM = Format(name="atom", label="Atom", suffix=".atom.xml", media_type="application/atom+xml", render=render)
