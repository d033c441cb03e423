"""The output formats of every feed, one module each, listed once in `FORMATS`.

A new format is one new module defining a `Format` and one line below: the writer, the
server's content types, the index page's autodiscovery links, the OPML setting and the
benchmark all read this list.
"""

from aggregator.formats.atom import ATOM
from aggregator.formats.base import Feed, FeedInfo, Format, Names, content_html
from aggregator.formats.html import PAGE
from aggregator.formats.jsonfeed import JSON_FEED
from aggregator.formats.rss import RSS

FORMATS: tuple[Format, ...] = (RSS, ATOM, JSON_FEED, PAGE)
FEED_FORMATS: tuple[Format, ...] = tuple(fmt for fmt in FORMATS if fmt.feed)  # what readers subscribe to


def by_name(name: str) -> Format:
    """The feed format configured as `name` ("rss", "atom"); KeyError if there is none."""
    return {fmt.name: fmt for fmt in FEED_FORMATS}[name]


__all__ = ["FEED_FORMATS", "FORMATS", "Feed", "FeedInfo", "Format", "Names", "by_name", "content_html"]
