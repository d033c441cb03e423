"""The immutable values passed between layers, and their stable identities."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal

FeedKind = Literal["all", "topic", "provider"]


_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes


def digest(data: bytes) -> str:
    """The identity of some bytes, wherever one is kept (seed files, stories, feeds,
    folders, settings): SHA-256, hardware-assisted, cut to 128 bits."""
    return hashlib.sha256(data).hexdigest()[:32]


@lru_cache(maxsize=16384)  # shared coverage: the same URLs come back story after story
def item_id(canonical_url: str) -> str:
    """The one id of an article everywhere: derived from its canonical URL only.

    RFC 4122 UUIDv5 in the URL namespace, `uuid.uuid5` bit for bit, built without the
    UUID object (a third of the time: every related article needs one).
    """
    digest = bytearray(hashlib.sha1(_URL_NAMESPACE + canonical_url.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"urn:uuid:{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


@dataclass(frozen=True, slots=True)
class Provider:
    domain: str  # lower-case, IDNA, no leading "www."
    name: str | None  # as given by this seed; the display name is resolved corpus-wide


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    width: int | None
    height: int | None


@dataclass(frozen=True, slots=True)
class Topic:
    slug: str  # identity, [a-z0-9-]
    name: str  # display name


@dataclass(frozen=True, slots=True)
class Article:
    url: str  # canonical: the article's identity
    title: str
    excerpt: str | None
    published: datetime  # aware, UTC
    updated: datetime | None
    provider: Provider
    image: Image | None

    @property
    def id(self) -> str:
        return item_id(self.url)


@dataclass(frozen=True, slots=True)
class Story:
    article: Article  # the primary article
    topics: tuple[Topic, ...]
    related: tuple[Article, ...]
    body_html: str | None  # rendered from the seed's Markdown body
    published_flag: bool | None  # the source system's `published`, not a draft marker
    quality: int | None

    @property
    def url(self) -> str:
        return self.article.url

    @property
    def id(self) -> str:
        return self.article.id


@dataclass(frozen=True, slots=True, order=True)
class FeedKey:
    """One feed (in every format): the combined one, a topic's or a provider's."""

    kind: FeedKind
    slug: str = ""

    @property
    def stem(self) -> str:
        """Path of the feed's files below `feeds/`, without the format suffix."""
        if self.kind == "all":
            return "all"
        return f"{self.kind}s/{self.slug}"
