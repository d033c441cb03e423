"""The immutable values passed between layers, and their stable identities."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import lru_cache
from typing import Literal, NamedTuple

FeedKind = Literal["all", "topic", "provider"]


_URL_NAMESPACE = bytes.fromhex("6ba7b8119dad11d180b400c04fd430c8")  # uuid.NAMESPACE_URL, without loading uuid


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
    return uuid_urn(bytes(digest))


ID_PREFIX = "urn:uuid:"


def uuid_urn(uuid_bytes: bytes) -> str:
    """An item id from its UUID's 16 bytes: "urn:uuid:" and the UUID's text."""
    x = uuid_bytes.hex()
    return f"{ID_PREFIX}{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


# The values a story is made of are named tuples: a large site decodes millions of
# them, and a named tuple is built several times faster than a frozen dataclass.


class Provider(NamedTuple):
    domain: str  # lower-case, IDNA, no leading "www."
    name: str | None  # as given by this seed; the display name is resolved corpus-wide


class Image(NamedTuple):
    url: str
    width: int | None
    height: int | None


class Topic(NamedTuple):
    slug: str  # identity, [a-z0-9-]
    name: str  # display name


class Article(NamedTuple):
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


class FeedItem(NamedTuple):
    """One item of one feed: a story, or an article known only as related coverage."""

    id: str
    story: Story | None  # None: an article known only as related coverage
    article: Article  # what the item shows: the story's primary article, or the cited one


@dataclass(frozen=True, slots=True)
class Filters:
    """Which stories are published, from the `feeds` config section."""

    only_published: bool  # only stories whose source says `published: true`
    min_quality: int | None  # only stories of at least this quality
    now: int  # epoch seconds: stories dated later are held back


class Head(NamedTuple):
    """One item of a feed as far as its bytes are concerned, read without its JSON."""

    id: str  # the item's id
    digest: str  # of the story data the item is rendered from


class FeedRow(NamedTuple):
    """What a written feed was made of: a feed whose title and heads are the same is not rendered again."""

    title: str
    digest: str  # of its heads, in order (`heads_digest`)


class SeedRow(NamedTuple):
    """What the state remembers of one seed file."""

    digest: str  # of the file's bytes when last read
    url: str | None  # of its last good story


class SeedProblem(NamedTuple):
    """A seed that cannot be used now."""

    path: str
    error: str
    has_last_good: bool  # an earlier good version stays published


class StoryRow(NamedTuple):
    """A story's row of the `stories` table."""

    url: str
    id: bytes  # the story's item id as stored (`codec.id_key`)
    published: int  # epoch seconds
    provider: str  # domain
    provider_name: str | None  # as this seed gives it
    flag: int | None  # the source's `published` flag
    quality: int | None


class TopicRow(NamedTuple):
    slug: str
    name: str  # as this seed gives it


class RefRow(NamedTuple):
    """One article cited as related coverage by a story."""

    article: bytes  # the article's item id as stored (`codec.id_key`)
    provider: str  # domain
    provider_name: str | None  # as the citing seed gives it
    published: int  # epoch seconds


class StoryRows(NamedTuple):
    """A story's rows for `stories`, `story_topics` and `refs`, ready to insert.

    Built where the story is normalized (a worker process), so the writer only inserts;
    named tuples, so that they pickle on the fast path.
    """

    story: StoryRow
    topics: tuple[TopicRow, ...]
    refs: tuple[RefRow, ...]
    digest: str  # of the story as stored (`codec.pack_story`): feeds compare it to know whether an item changed

    def names(self) -> Iterator[tuple[str, str, str | None]]:
        """(kind, slug, given name) of every provider and topic the story names: the
        votes for display names (a provider may be given no name)."""
        yield "provider", self.story.provider, self.story.provider_name
        for topic in self.topics:
            yield "topic", topic.slug, topic.name
        for ref in self.refs:
            yield "provider", ref.provider, ref.provider_name


class StoryCounts(NamedTuple):
    live: int  # published now
    held: int  # held back until their date


class Refreshed(NamedTuple):
    """What re-deriving one story from its seeds did."""

    existed: bool  # a story had this URL before
    exists: bool  # one has it now
    touched: frozenset[FeedKey]  # feeds of the old and the new version
    items: frozenset[str] = frozenset()  # ids of the items it shows or showed: the story and its citations


class Member(NamedTuple):
    """One item a feed has now, whether among its newest or only in its archive."""

    kind: FeedKind
    slug: str
    id: str  # the item's id
    published: int  # epoch seconds: orders the feed
    sid: int  # the story row that holds the item's data (the story, or the story citing it)


class Tombstone(NamedTuple):
    """An item gone from a feed, announced for a while so that readers remove it too."""

    id: str
    deleted: int  # epoch seconds: when the publish noticed


@dataclass(frozen=True, slots=True)
class FeedHistory:
    """What a feed's Atom subscription document says of its past."""

    prev_archive: str | None  # path below feeds/ of its newest archive document (None: no archive)
    tombstones: tuple[Tombstone, ...]  # newest first


class Subscription(NamedTuple):
    """A subscriber's verified wish to have one of our feeds pushed to it (WebSub)."""

    callback: str  # where each new version of the feed is POSTed
    topic: str  # the feed's self URL
    secret: str | None  # signs every delivery (X-Hub-Signature), when the subscriber gave one
    expires: int  # epoch seconds: the lease's end, after which nothing is pushed


class Meta(Enum):
    """Keys of the state's `meta` table."""

    SCHEMA = "schema"  # the schema version the database was made with
    RENDERED_AT = "rendered_at"  # epoch seconds of the last render: what has been released since
    RENDER_ALL = "render_all"  # set by a cold publish: render every feed, whatever is dirty
    OUTPUT_DIGEST = "output_digest"  # of the settings that change rendered bytes
    PARSE_DIGEST = "parse_digest"  # of the settings that change what a seed normalizes to
    BULK_LOAD = "bulk_load"  # a bulk load is under way: a killed one is finished on open
    FRONT = "front_digest"  # of the front page's stories when it was last written (`publish._front_digest`)


def epoch(moment: datetime) -> int:
    """Epoch seconds of an aware datetime: how the state keeps every date."""
    return int(moment.timestamp())


def folder_of(path: str) -> str:
    """The folder part of a seed path, with its trailing '/' ('' for the top)."""
    return path[: path.rfind("/") + 1]


def seed_rank(story: Story) -> str:
    """Orders duplicate seeds of one URL: the most recently updated wins (then the path)."""
    article = story.article
    newest = article.updated or article.published
    # Inverted so that an ascending sort puts the newest first.
    return f"{10**12 - epoch(newest):013d}"
