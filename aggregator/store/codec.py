"""A story as stored: its JSON (sorted keys, versioned by the schema), compressed, and its
table rows."""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

import orjson

from aggregator import model
from aggregator.model import Article, Image, Provider, RefRow, Story, StoryRow, StoryRows, Topic, TopicRow, epoch


def _article_dict(article: Article) -> dict[str, Any]:
    image = article.image
    return {
        "url": article.url,
        "title": article.title,
        "excerpt": article.excerpt,
        "published": article.published.isoformat(),
        "updated": article.updated.isoformat() if article.updated else None,
        "domain": article.provider.domain,
        "name": article.provider.name,
        "image": [image.url, image.width, image.height] if image else None,
    }


def _article(data: dict[str, Any]) -> Article:
    image = data["image"]
    updated = data["updated"]
    return Article(data["url"], data["title"], data["excerpt"], _date(data["published"]),
                   _date(updated) if updated else None, Provider(data["domain"], data["name"]),
                   Image(*image) if image else None)


_date = datetime.fromisoformat


# zlib's level for a stored story: its JSON to about 0.3 of its size (a story of 5 KB in
# under 0.1 ms), where the stories were nearly all of the state's size.
PACK_LEVEL = 3


def pack_story(story: Story) -> bytes:
    """Compact JSON with sorted keys, compressed: the same story always gives the same
    bytes (with the same zlib; another one may compress differently, and the stories it
    parses then count as changed once)."""
    return zlib.compress(orjson.dumps(
        {
            "article": _article_dict(story.article),
            "topics": [[t.slug, t.name] for t in story.topics],
            "related": [_article_dict(a) for a in story.related],
            "body": story.body_html,
            "flag": story.published_flag,
            "quality": story.quality,
        },
        option=orjson.OPT_SORT_KEYS,
    ), PACK_LEVEL)


def stored_json(packed: bytes) -> bytes:
    """The JSON of a stored story (`pack_story`)."""
    return zlib.decompress(packed)


def unpack_story(packed: bytes) -> Story:
    data = orjson.loads(stored_json(packed))
    return Story(
        article=_article(data["article"]),
        topics=tuple(Topic(s, n) for s, n in data["topics"]),
        related=tuple(map(_article, data["related"])),
        body_html=data["body"],
        published_flag=data["flag"],
        quality=data["quality"],
    )


# An item id (`model.item_id`: "urn:uuid:" and 36 characters) is stored as the UUID's 16
# bytes: ids fill the members, the citations and their indexes, 45 bytes each as text.
# The bytes sort as the text does, so a feed's order (ties broken by id) is the same.
id_text = model.uuid_urn  # the item id of its stored form


def id_key(id_: str) -> bytes:
    """The stored form of an item id; ValueError for anything that is not one."""
    key = bytes.fromhex(id_[len(model.ID_PREFIX):].replace("-", ""))
    if len(key) != 16 or not id_.startswith(model.ID_PREFIX):
        raise ValueError(f"not an item id: {id_!r}")
    return key


def story_rows(story: Story, story_data: bytes) -> StoryRows:
    """The rows a story is stored as, with the digest of its stored bytes."""
    article = story.article
    return StoryRows(
        story=StoryRow(story.url, id_key(story.id), epoch(article.published), article.provider.domain,
                       article.provider.name, None if story.published_flag is None else int(story.published_flag),
                       story.quality),
        topics=tuple(TopicRow(t.slug, t.name) for t in story.topics),
        refs=tuple(RefRow(id_key(a.id), a.provider.domain, a.provider.name, epoch(a.published)) for a in story.related),
        digest=model.digest(story_data),
    )
