"""What every output format is given and must provide: one feed's items, ready to render."""

from __future__ import annotations

import html
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aggregator.config import SiteConfig
from aggregator.model import Article, FeedHistory, FeedItem, FeedKey

NO_HISTORY = FeedHistory(None, ())


@dataclass(frozen=True, slots=True)
class Names:
    """Corpus-wide display names, resolved by the store."""

    provider: Callable[[str], str]  # domain -> display name
    topic: Callable[[str], str]  # slug -> display name

    @classmethod
    def cached(cls, provider: Callable[[str], str], topic: Callable[[str], str]) -> Names:
        """Names that look each one up once (a lookup reads the state)."""
        return cls(_cached(provider), _cached(topic))


def _cached(lookup: Callable[[str], str]) -> Callable[[str], str]:
    cache: dict[str, str] = {}

    def cached(key: str) -> str:
        if key not in cache:
            cache[key] = lookup(key)
        return cache[key]

    return cached


@dataclass(frozen=True, slots=True)
class FeedInfo:
    key: FeedKey
    title: str
    description: str


@dataclass(frozen=True, slots=True)
class Feed:
    """One feed to render: the same in every format."""

    info: FeedInfo
    items: Sequence[FeedItem]  # newest first, never empty
    site: SiteConfig
    names: Names
    history: FeedHistory = NO_HISTORY  # its archive and tombstones, in the Atom subscription document
    hubs: tuple[str, ...] = ()  # WebSub hubs that push it: advertised in every feed format
    contents: dict[str, str] = field(default_factory=dict, compare=False, repr=False)  # `content`'s, by item id

    def content(self, item: FeedItem) -> str:
        """The item's HTML (`content_html`), made once for every format of the feed."""
        found = self.contents.get(item.id)
        if found is None:
            found = self.contents[item.id] = content_html(item, self.names)
        return found

    def url(self, fmt: Format) -> str:
        """The absolute URL of this feed in format `fmt`."""
        return self.site.base_url + self.info.key.stem + fmt.suffix

    @property
    def page_url(self) -> str:
        """The absolute URL of the feed's web page: what its items are shown on."""
        return page_url(self.site, self.info.key)

    @property
    def updated(self) -> datetime:
        """The feed's update time: its newest item's, never "now" (same input, same bytes)."""
        return max(updated(item.article) for item in self.items)

    @property
    def refresh_minutes(self) -> int:
        """How often readers are told to come back: see `refresh_minutes`."""
        return refresh_minutes([item.article.published for item in self.items])


@dataclass(frozen=True, slots=True)
class Format:
    """One output format of every feed: each module of this package defines one, and
    `FORMATS` lists them; the writer, the server, the pages and the benchmark read that list."""

    name: str  # as configured (`feeds.opml_format`)
    label: str  # as shown to people: "RSS"
    suffix: str  # of its files below feeds/: ".rss.xml"
    media_type: str  # served as, and announced in links
    render: Callable[[Feed], bytes]  # the same feed always gives the same bytes
    feed: bool = True  # a feed that readers subscribe to (False: the feed's web page)


# Readers are told to come back as often as a feed really gets new items: the median gap
# between its items, within these bounds (a burst must not make every reader poll every
# minute; a quiet feed is still looked at daily).
MIN_REFRESH_MINUTES = 15
MAX_REFRESH_MINUTES = 24 * 60


def refresh_minutes(published: Sequence[datetime]) -> int:
    """Minutes between new items of a feed, from its items' dates: the median gap between
    consecutive ones, clamped to [MIN_REFRESH_MINUTES, MAX_REFRESH_MINUTES]. From the data
    only, so the same items always give the same hint (and the same bytes)."""
    ordered = sorted(published, reverse=True)
    gaps = [(newer - older).total_seconds() / 60 for newer, older in itertools.pairwise(ordered)]
    if not gaps:
        return MAX_REFRESH_MINUTES
    gaps.sort()
    middle = len(gaps) // 2
    median = gaps[middle] if len(gaps) % 2 else (gaps[middle - 1] + gaps[middle]) / 2  # as statistics.median
    return int(min(max(round(median), MIN_REFRESH_MINUTES), MAX_REFRESH_MINUTES))


PAGE_SUFFIX = ".html"


def page_url(site: SiteConfig, key: FeedKey) -> str:
    """The absolute URL of a feed's web page; the combined feed's is the front page."""
    return site.base_url if key.kind == "all" else site.base_url + key.stem + PAGE_SUFFIX


def updated(article: Article) -> datetime:
    return article.updated or article.published


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc822(moment: datetime) -> str:
    """RFC 822 date in UTC, as `email.utils.format_datetime` writes it, without touching
    the process locale (feedgen's way does)."""
    m = moment.astimezone(UTC)
    return (f"{_DAYS[m.weekday()]}, {m.day:02d} {_MONTHS[m.month - 1]} {m.year:04d}"
            f" {m.hour:02d}:{m.minute:02d}:{m.second:02d} +0000")


def _date_label(moment: datetime) -> str:
    return moment.date().isoformat()  # YYYY-MM-DD, a tenth of the time of strftime


def _escape(text: str) -> str:
    """`html.escape`, with a quicker way out for text that has nothing to escape (most)."""
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return html.escape(text)
    return text


def content_html(item: FeedItem, names: Names) -> str:
    """The item's HTML: excerpt, the story's own text, and its related coverage."""
    article = item.article
    parts = []
    if article.excerpt:
        parts.append(f"<p>{_escape(article.excerpt)}</p>")
    story = item.story
    if story is not None:
        if story.body_html:
            parts.append(story.body_html)
        if story.related:
            parts.append("<h3>Related coverage</h3>")
            parts.append("<ul>")
            for related in story.related:
                parts.append(
                    f'<li><a href="{_escape(related.url)}">{_escape(related.title)}</a>'
                    f" ({_escape(names.provider(related.provider.domain))},"
                    f" {_date_label(related.published)})</li>"
                )
            parts.append("</ul>")
    if not parts:
        parts.append(f'<p><a href="{_escape(article.url)}">{_escape(article.title)}</a></p>')
    return "\n".join(parts)
