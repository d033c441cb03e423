"""RSS 2.0, with Media RSS thumbnails, the outlet as dc:creator, and refresh hints
(`<ttl>` and the syndication module's `sy:updatePeriod` / `sy:updateFrequency`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aggregator.formats.base import Feed, Format
from aggregator.formats.feedgen import Extension, finish, generator, sub_element
from aggregator.model import FeedItem, FeedKey

if TYPE_CHECKING:
    from feedgen.entry import FeedEntry


def render(feed: Feed) -> bytes:
    def fill(entry: FeedEntry, item: FeedItem, body: str) -> None:
        # RSS readers show <description> as HTML; <author> must be an e-mail address,
        # so the outlet goes in dc:creator, and <source> points at its feed here.
        domain = item.article.provider.domain
        provider = feed.names.provider(domain)
        entry.description(body)
        entry.dc.creator = provider
        entry.source(url=feed.site.base_url + FeedKey("provider", domain).stem + RSS.suffix, title=provider)

    gen = generator(feed, RSS, fill, extensions={"sy": (_Syndication, Extension)})
    minutes = feed.refresh_minutes
    gen.ttl(minutes)
    gen.sy.period, gen.sy.frequency = update_period(minutes)
    return finish(gen.rss_str(pretty=True))


SY = "http://purl.org/rss/1.0/modules/syndication/"


def update_period(minutes: int) -> tuple[str, int]:
    """The syndication module's (updatePeriod, updateFrequency) closest to `minutes`."""
    if minutes < 60:
        return "hourly", max(1, round(60 / minutes))
    return "daily", max(1, round(24 * 60 / minutes))


class _Syndication(Extension):
    """`sy:updatePeriod` and `sy:updateFrequency` (feedgen's own extension misspells them
    `sy:UpdatePeriod` and writes "None" for a frequency not set)."""

    def __init__(self) -> None:
        self.period = "daily"
        self.frequency = 1

    def extend_ns(self) -> dict[str, str]:
        return {"sy": SY}

    def extend_rss(self, rss_feed: Any) -> Any:
        channel = rss_feed[0]
        sub_element(f"{{{SY}}}updatePeriod", channel).text = self.period
        sub_element(f"{{{SY}}}updateFrequency", channel).text = str(self.frequency)
        return rss_feed


RSS = Format(name="rss", label="RSS", suffix=".rss.xml", media_type="application/rss+xml", render=render)
