"""Feeds, the HTML index and the OPML list as bytes: pure, no I/O, no clock.

The same items and config always give the same bytes: every date comes from the data
(a feed's update time is its newest item's), never from "now".
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Literal

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator

from aggregator import __version__
from aggregator.config import SiteConfig
from aggregator.model import Article, FeedKey, item_id
from aggregator.store import FeedItem

Format = Literal["rss", "atom"]
FORMATS: dict[Format, tuple[str, str]] = {
    # format: (file suffix, media type)
    "rss": (".rss.xml", "application/rss+xml"),
    "atom": (".atom.xml", "application/atom+xml"),
}
# Bump when the rendered bytes change for the same data: every feed is rewritten once.
RENDER_VERSION = "r2"
INDEX_PATH = "index.html"
OPML_PATH = "feeds.opml"


@dataclass(frozen=True, slots=True)
class Names:
    """Corpus-wide display names, resolved by the store."""

    provider: Callable[[str], str]
    topic: Callable[[str], str]


@dataclass(frozen=True, slots=True)
class FeedInfo:
    key: FeedKey
    title: str
    description: str


def feed_path(key: FeedKey, fmt: Format) -> str:
    return key.stem + FORMATS[fmt][0]


def key_of_path(path: str) -> FeedKey | None:
    """The feed a file below `feeds/` belongs to (None for the index and the OPML)."""
    for suffix, _ in FORMATS.values():
        if path.endswith(suffix):
            stem = path.removesuffix(suffix)
            if stem == "all":
                return FeedKey("all")
            kind, _, slug = stem.partition("s/")
            if kind in ("topic", "provider") and slug:
                return FeedKey(kind, slug)  # type: ignore[arg-type]
    return None


def is_output_path(path: str) -> bool:
    """A file this tool writes in `feeds/` (anything else there is left alone)."""
    return path in (INDEX_PATH, OPML_PATH) or key_of_path(path) is not None


def feed_info(key: FeedKey, site: SiteConfig, names: Names) -> FeedInfo:
    if key.kind == "all":
        return FeedInfo(key, f"{site.title}: all stories", f"Every story on {site.title}, newest first")
    if key.kind == "topic":
        name = names.topic(key.slug)
        return FeedInfo(key, f"{site.title}: {name}", f"Stories about {name} on {site.title}")
    name = names.provider(key.slug)
    return FeedInfo(key, f"{site.title}: {name}", f"Articles from {name} ({key.slug}) on {site.title}")


def _rfc822(moment: datetime) -> str:
    """RFC 822 date in UTC without touching the process locale (feedgen's way does)."""
    return format_datetime(moment.astimezone(UTC))


def _date_label(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}"


def content_html(item: FeedItem, names: Names) -> str:
    """The item's HTML: excerpt, the story's own text, and its related coverage."""
    article = item.article
    parts = []
    if article.excerpt:
        parts.append(f"<p>{html.escape(article.excerpt)}</p>")
    story = item.story
    if story is not None:
        if story.body_html:
            parts.append(story.body_html)
        if story.related:
            parts.append("<h3>Related coverage</h3>")
            parts.append("<ul>")
            for related in story.related:
                parts.append(
                    f'<li><a href="{html.escape(related.url)}">{html.escape(related.title)}</a>'
                    f" ({html.escape(names.provider(related.provider.domain))},"
                    f" {_date_label(related.published)})</li>"
                )
            parts.append("</ul>")
    if not parts:
        parts.append(f'<p><a href="{html.escape(article.url)}">{html.escape(article.title)}</a></p>')
    return "\n".join(parts)


def _updated(article: Article) -> datetime:
    return article.updated or article.published


def _fill_entry(entry: FeedEntry, item: FeedItem, fmt: Format, site: SiteConfig, names: Names) -> None:
    """One item, the same id and content in every feed and format that carries it."""
    article = item.article
    provider = names.provider(article.provider.domain)
    entry.guid(item.id, permalink=False)  # also the Atom id
    entry.title(article.title)
    entry.link(href=article.url, rel="alternate")
    entry.published(article.published)
    entry.updated(_updated(article))
    body = content_html(item, names)
    topics = item.story.topics if item.story is not None else ()
    # RSS shows the label as the category; Atom keeps the slug as its term.
    for topic in topics:
        entry.category(term=topic.slug, label=names.topic(topic.slug))
    if fmt == "rss":
        # RSS readers show <description> as HTML; <author> must be an e-mail address,
        # so the outlet goes in dc:creator, and <source> points at its feed here.
        entry.description(body)
        entry.dc.dc_creator(provider)
        source = FeedKey("provider", article.provider.domain)
        entry.source(url=site.base_url + feed_path(source, "rss"), title=provider)
    else:
        entry.author(name=provider, uri=f"https://{article.provider.domain}/")
        if article.excerpt:
            entry.summary(article.excerpt)
        entry.content(body, type="html")
    image = article.image
    if image is not None:
        size = {k: str(v) for k, v in (("width", image.width), ("height", image.height)) if v}
        entry.media.thumbnail({"url": image.url, "group": None, **size})
        entry.media.content({"url": image.url, "medium": "image", "group": None, **size})


def render_feed(
    info: FeedInfo, items: Sequence[FeedItem], site: SiteConfig, names: Names
) -> dict[str, bytes]:
    """Both formats of one feed, {path below feeds/: bytes}; `items` newest first."""
    newest = max(_updated(item.article) for item in items)
    out = {}
    for fmt, (_, media_type) in FORMATS.items():
        path = feed_path(info.key, fmt)
        feed = FeedGenerator()
        feed.load_extension("media")
        feed.load_extension("dc")
        feed.id(item_id(site.base_url + info.key.stem))
        feed.title(info.title)
        feed.subtitle(info.description)  # also the RSS description
        feed.language(site.language)
        feed.generator("aggregator", version=__version__)
        feed.author(name=site.title, uri=site.base_url)
        # feedgen writes the last link added as the RSS <link>: self first.
        feed.link(href=site.base_url + path, rel="self", type=media_type)
        feed.link(href=site.base_url, rel="alternate", type="text/html")
        feed.updated(newest)  # also the RSS lastBuildDate
        for item in items:
            # add_entry() first: it gives the entry the feed's extensions (media, dc).
            _fill_entry(feed.add_entry(order="append"), item, fmt, site, names)
        data = feed.rss_str(pretty=True) if fmt == "rss" else feed.atom_str(pretty=True)
        out[path] = _finish(data)
    return out


def _finish(data: bytes) -> bytes:
    """Write every text `&` as `&#x26;`: the same XML, but the W3C validator takes a
    literal `&amp;copy;` in a title for an HTML entity, and the numeric form for text."""
    return data.replace(b"&amp;", b"&#x26;")


def _patch_feedgen_dates() -> None:
    """feedgen formats RSS dates through `locale.setlocale`; use ours instead."""
    import feedgen.entry
    import feedgen.feed

    feedgen.entry.formatRFC2822 = _rfc822
    feedgen.feed.formatRFC2822 = _rfc822


_patch_feedgen_dates()


def render_index(infos: Sequence[FeedInfo], site: SiteConfig) -> bytes:
    """The HTML index: every feed, with autodiscovery links in the head."""
    head = []
    rows = []
    for info in infos:
        links = []
        for fmt, (_, media_type) in FORMATS.items():
            url = site.base_url + feed_path(info.key, fmt)
            label = f"{info.title} ({fmt.upper() if fmt == 'rss' else 'Atom'})"
            head.append(
                f'<link rel="alternate" type="{media_type}" title="{html.escape(label)}" href="{html.escape(url)}">'
            )
            links.append(f'<a href="{html.escape(url)}">{"RSS" if fmt == "rss" else "Atom"}</a>')
        rows.append(f"<li>{html.escape(info.title)}: {' · '.join(links)}</li>")
    opml_url = html.escape(site.base_url + OPML_PATH)
    text = "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{html.escape(site.language)}">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{html.escape(site.title)}: feeds</title>",
            *head,
            f'<link rel="outline" type="text/x-opml" title="All feeds (OPML)" href="{opml_url}">',
            "</head>",
            "<body>",
            f"<h1>{html.escape(site.title)}</h1>",
            f"<p>{html.escape(site.description)}. "
            f'<a href="{opml_url}">All feeds as OPML</a>.</p>',
            "<ul>",
            *rows,
            "</ul>",
            "</body>",
            "</html>",
            "",
        ]
    )
    return text.encode("utf-8")


def render_opml(infos: Sequence[FeedInfo], site: SiteConfig, fmt: Format) -> bytes:
    """OPML 2.0 listing every feed once, in format `fmt`: a reader that imports it
    subscribes to each feed once (the other formats are autodiscovery links in the index)."""
    groups: dict[str, list[str]] = {"all": [], "topic": [], "provider": []}
    for info in infos:
        url = site.base_url + feed_path(info.key, fmt)
        title = html.escape(info.title)
        groups[info.key.kind].append(
            f'      <outline type="rss" text="{title}" title="{title}"'
            f' xmlUrl="{html.escape(url)}" htmlUrl="{html.escape(site.base_url)}"/>'
        )
    labels = {"all": "All stories", "topic": "Topics", "provider": "Providers"}
    body = []
    for kind, outlines in groups.items():
        if outlines:
            body.append(f'    <outline text="{labels[kind]}">')
            body.extend(outlines)
            body.append("    </outline>")
    text = "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<opml version="2.0">',
            "  <head>",
            f"    <title>{html.escape(site.title)}</title>",
            "  </head>",
            "  <body>",
            *body,
            "  </body>",
            "</opml>",
            "",
        ]
    )
    return text.encode("utf-8")

