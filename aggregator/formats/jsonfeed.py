"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), with related coverage as an extension.

The same items, in the same order, with the same ids and dates as the RSS and Atom
files. The story's related coverage is also given as data, in the extension object
`_related` (JSON Feed allows any key that starts with `_`), so that a program can use
the grouping without parsing `content_html`:

    "_related": {"articles": [{"url": ..., "title": ..., "outlet": ..., "date_published": ...}]}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from aggregator.formats.base import Feed, Format, updated
from aggregator.model import Article, FeedItem

VERSION = "https://jsonfeed.org/version/1.1"


def _date(moment: datetime) -> str:
    """RFC 3339 in UTC, as the data has it: no "now" anywhere."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _related(article: Article, feed: Feed) -> dict[str, str]:
    return {
        "url": article.url,
        "title": article.title,
        "outlet": feed.names.provider(article.provider.domain),
        "date_published": _date(article.published),
    }


def _item(item: FeedItem, feed: Feed) -> dict[str, Any]:
    article = item.article
    domain = article.provider.domain
    data: dict[str, Any] = {
        "id": item.id,
        "url": article.url,
        "title": article.title,
        "content_html": feed.content(item),
    }
    if article.excerpt:
        data["summary"] = article.excerpt
    if article.image is not None:
        data["image"] = article.image.url
    data["date_published"] = _date(article.published)
    data["date_modified"] = _date(updated(article))
    data["authors"] = [{"name": feed.names.provider(domain), "url": f"https://{domain}/"}]
    story = item.story
    if story is not None and story.topics:
        data["tags"] = [feed.names.topic(topic.slug) for topic in story.topics]
    if story is not None and story.related:
        data["_related"] = {"articles": [_related(related, feed) for related in story.related]}
    return data


def render(feed: Feed) -> bytes:
    site, info = feed.site, feed.info
    document = {
        "version": VERSION,
        "title": info.title,
        "home_page_url": feed.page_url,
        "feed_url": feed.url(JSON_FEED),
        "description": info.description,
        "language": site.language,
        "authors": [{"name": site.title, "url": site.base_url}],
        **({"hubs": [{"type": "WebSub", "url": hub} for hub in feed.hubs]} if feed.hubs else {}),
        "items": [_item(item, feed) for item in feed.items],
    }
    # Indented by two spaces, non-ASCII as UTF-8, a newline at the end: the bytes of
    # `json.dumps(ensure_ascii=False, indent=2)`, written some twenty times faster (the
    # standard library indents in Python), which a publish pays once per feed.
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


JSON_FEED = Format(name="json", label="JSON Feed", suffix=".json", media_type="application/feed+json",
                   render=render)
