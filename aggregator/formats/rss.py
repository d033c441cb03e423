"""RSS 2.0, with Media RSS thumbnails and the outlet as dc:creator."""

from __future__ import annotations

from feedgen.entry import FeedEntry

from aggregator.formats.base import Feed, Format
from aggregator.formats.feedgen import finish, generator
from aggregator.model import FeedItem, FeedKey


def render(feed: Feed) -> bytes:
    def fill(entry: FeedEntry, item: FeedItem, body: str) -> None:
        # RSS readers show <description> as HTML; <author> must be an e-mail address,
        # so the outlet goes in dc:creator, and <source> points at its feed here.
        domain = item.article.provider.domain
        provider = feed.names.provider(domain)
        entry.description(body)
        entry.dc.dc_creator(provider)
        entry.source(url=feed.site.base_url + FeedKey("provider", domain).stem + RSS.suffix, title=provider)

    return finish(generator(feed, RSS, fill).rss_str(pretty=True))


RSS = Format(name="rss", label="RSS", suffix=".rss.xml", media_type="application/rss+xml", render=render)
