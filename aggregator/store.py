"""The state: an embedded SQLite database of seeds, normalized stories and feed items.

It answers the two questions an incremental publish asks: which seeds changed since
last time (by size and mtime, then content digest), and which feeds those changes touch.
Rendering reads stories from here only; it never re-reads seeds.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from aggregator import model
from aggregator.model import Article, FeedKey, Image, Provider, Story, Topic, item_id

SCHEMA_VERSION = "10"  # bump when the schema or the stored story format changes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- One row per seed file: how it looked on disk, and its last good normalized story.
CREATE TABLE IF NOT EXISTS seeds(
    path TEXT PRIMARY KEY, folder TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    digest TEXT NOT NULL, url TEXT, rank TEXT, story TEXT, error TEXT, warnings TEXT);
CREATE INDEX IF NOT EXISTS seeds_folder ON seeds(folder);
CREATE INDEX IF NOT EXISTS seeds_errors ON seeds(path) WHERE error IS NOT NULL;
-- A digest of each folder's seed names, sizes and mtimes as last published: a folder
-- whose digest is unchanged needs no file-by-file comparison.
CREATE TABLE IF NOT EXISTS folders(folder TEXT PRIMARY KEY, digest TEXT NOT NULL);
-- The published stories: one per canonical URL, from the winning seed.
CREATE TABLE IF NOT EXISTS stories(
    sid INTEGER PRIMARY KEY, url TEXT NOT NULL UNIQUE, id TEXT NOT NULL, path TEXT NOT NULL, published INTEGER NOT NULL,
    provider TEXT NOT NULL, provider_name TEXT, flag INTEGER, quality INTEGER,
    digest TEXT NOT NULL);  -- the story's JSON stays in its seed's row, stored once
-- One row per (topic, story); a story's topics are distinct slugs (the normalizer).
CREATE TABLE IF NOT EXISTS story_topics(
    slug TEXT NOT NULL, url TEXT NOT NULL, name TEXT NOT NULL, published INTEGER NOT NULL, id TEXT NOT NULL);
-- Related coverage: one row per (article, citing story), distinct (the normalizer); the
-- article's data is read from the citing story's JSON, so it is stored once. Keys are
-- short: the article by its item id, the story by its row number (half the size of
-- URLs in the table and its indexes, which a cold publish builds over 450,000 rows).
CREATE TABLE IF NOT EXISTS refs(
    article TEXT NOT NULL, story INTEGER NOT NULL, provider TEXT NOT NULL,
    provider_name TEXT, published INTEGER NOT NULL);
-- How often each given name is used for a provider (domain) or topic (slug), kept by
-- triggers: the display name is the most used one (ties alphabetical), read by index.
CREATE TABLE IF NOT EXISTS names(
    kind TEXT NOT NULL, slug TEXT NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY(kind, slug, name)) WITHOUT ROWID;
-- Feeds whose output may be stale: written in the same transaction as the change,
-- cleared only after the files are written, so a crash in between is repaired.
CREATE TABLE IF NOT EXISTS dirty(
    kind TEXT NOT NULL, slug TEXT NOT NULL, force INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(kind, slug));
-- The feeds written: their title and a signature of their items (ids and digests),
-- so a feed touched by a change that does not reach its newest items is not rendered.
CREATE TABLE IF NOT EXISTS feeds(
    kind TEXT NOT NULL, slug TEXT NOT NULL, title TEXT NOT NULL, signature TEXT NOT NULL,
    PRIMARY KEY(kind, slug));
-- Files this tool wrote in feeds/, to notice ones deleted or edited behind its back.
CREATE TABLE IF NOT EXISTS outputs(path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL);
"""

# Keep `names` counting as rows come and go; dropped during a bulk load and replaced by
# one GROUP BY at its end.
_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS stories_names_add AFTER INSERT ON stories WHEN new.provider_name IS NOT NULL BEGIN
    INSERT INTO names VALUES ('provider', new.provider, new.provider_name, 1)
    ON CONFLICT(kind, slug, name) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS stories_names_del AFTER DELETE ON stories WHEN old.provider_name IS NOT NULL BEGIN
    UPDATE names SET n = n - 1 WHERE kind = 'provider' AND slug = old.provider AND name = old.provider_name; END;
CREATE TRIGGER IF NOT EXISTS refs_names_add AFTER INSERT ON refs WHEN new.provider_name IS NOT NULL BEGIN
    INSERT INTO names VALUES ('provider', new.provider, new.provider_name, 1)
    ON CONFLICT(kind, slug, name) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS refs_names_del AFTER DELETE ON refs WHEN old.provider_name IS NOT NULL BEGIN
    UPDATE names SET n = n - 1 WHERE kind = 'provider' AND slug = old.provider AND name = old.provider_name; END;
CREATE TRIGGER IF NOT EXISTS topics_names_add AFTER INSERT ON story_topics BEGIN
    INSERT INTO names VALUES ('topic', new.slug, new.name, 1)
    ON CONFLICT(kind, slug, name) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS topics_names_del AFTER DELETE ON story_topics BEGIN
    UPDATE names SET n = n - 1 WHERE kind = 'topic' AND slug = old.slug AND name = old.name; END;
"""

# Secondary indexes: dropped during a bulk load (a cold publish) and built once after it,
# which is several times faster than updating them row by row. A run killed meanwhile
# gets them back when the next one opens the store (IF NOT EXISTS).
_INDEXES = """
CREATE INDEX IF NOT EXISTS seeds_url ON seeds(url);
CREATE INDEX IF NOT EXISTS stories_id ON stories(id);
CREATE INDEX IF NOT EXISTS stories_order ON stories(published DESC, id);
CREATE INDEX IF NOT EXISTS stories_provider ON stories(provider, published DESC, id);
CREATE INDEX IF NOT EXISTS story_topics_order ON story_topics(slug, published DESC, id);
CREATE INDEX IF NOT EXISTS story_topics_url ON story_topics(url);
CREATE INDEX IF NOT EXISTS refs_article ON refs(article, story);
CREATE INDEX IF NOT EXISTS refs_provider ON refs(provider, published DESC, article);
CREATE INDEX IF NOT EXISTS refs_story ON refs(story);
"""


# --- story (de)serialization: versioned by SCHEMA_VERSION, sorted keys, stable ---------


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
    return Article(
        url=data["url"],
        title=data["title"],
        excerpt=data["excerpt"],
        published=datetime.fromisoformat(data["published"]),
        updated=datetime.fromisoformat(data["updated"]) if data["updated"] else None,
        provider=Provider(domain=data["domain"], name=data["name"]),
        image=Image(url=image[0], width=image[1], height=image[2]) if image else None,
    )


def story_to_json(story: Story) -> str:
    """Compact JSON with sorted keys: the same story always gives the same text."""
    return orjson.dumps(
        {
            "article": _article_dict(story.article),
            "topics": [[t.slug, t.name] for t in story.topics],
            "related": [_article_dict(a) for a in story.related],
            "body": story.body_html,
            "flag": story.published_flag,
            "quality": story.quality,
        },
        option=orjson.OPT_SORT_KEYS,
    ).decode()


def story_from_json(text: str) -> Story:
    data = orjson.loads(text)
    return Story(
        article=_article(data["article"]),
        topics=tuple(Topic(slug=s, name=n) for s, n in data["topics"]),
        related=tuple(_article(a) for a in data["related"]),
        body_html=data["body"],
        published_flag=data["flag"],
        quality=data["quality"],
    )


class StoryRows(NamedTuple):
    """A story's rows for `stories`, `story_topics` and `refs`, ready to insert.

    Built where the story is normalized (a worker process), so the writer only inserts;
    a named tuple, so that it pickles on the fast path.
    """

    # url, id, published, provider, name, flag, quality
    story: tuple[str, str, int, str, str | None, int | None, int | None]
    topics: tuple[tuple[str, str], ...]  # slug, name
    refs: tuple[tuple[str, str, str | None, int], ...]  # article id, provider, name, published
    digest: str  # of the story's JSON: feeds compare it to know whether an item changed

    def names(self) -> Iterator[tuple[str, str, str | None]]:
        """(kind, slug, given name) of every provider and topic the story names: the
        votes for display names (a provider may be given no name)."""
        yield "provider", self.story[3], self.story[4]
        for slug, topic in self.topics:
            yield "topic", slug, topic
        for _, provider, given, _ in self.refs:
            yield "provider", provider, given


def story_rows(story: Story, story_json: str) -> StoryRows:
    article = story.article
    return StoryRows(
        story=(story.url, story.id, epoch(article.published), article.provider.domain, article.provider.name,
               None if story.published_flag is None else int(story.published_flag), story.quality),
        topics=tuple((t.slug, t.name) for t in story.topics),
        refs=tuple(
            (a.id, a.provider.domain, a.provider.name, epoch(a.published)) for a in story.related
        ),
        digest=model.digest(story_json.encode()),
    )


def seed_rank(story: Story) -> str:
    """Orders duplicate seeds of one URL: the most recently updated wins (then the path)."""
    article = story.article
    newest = article.updated or article.published
    # Inverted so that an ascending sort puts the newest first.
    return f"{10**12 - epoch(newest):013d}"


@dataclass(frozen=True, slots=True)
class SeedRow:
    digest: str  # of the file's bytes when last read
    url: str | None  # of its last good story


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One item of one feed: a story, or an article known only as related coverage."""

    id: str
    story: Story | None
    article: Article


@dataclass(frozen=True, slots=True)
class Filters:
    """Which stories are published, from the `feeds` config section."""

    only_published: bool
    min_quality: int | None
    now: int


_STORY_FILTER = "{s}.published <= :now AND (:only = 0 OR {s}.flag = 1) AND (:minq IS NULL OR {s}.quality >= :minq)"


class Store:
    """A connection to the state database; one writer at a time (see `lock`)."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self._bulk_names: Counter[tuple[str, str, str]] | None = None  # see bulk_load
        if readonly:  # a render worker's view: reads only, beside the writer (WAL)
            self.db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
            self.db.execute("PRAGMA busy_timeout=30000")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self._identity = identity(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.execute("PRAGMA cache_size=-32768")  # 32 MB; index builds spill to temp files
        version = self._schema_version()
        if version not in (None, SCHEMA_VERSION):
            self._drop_all()  # an older format: safe to rebuild from the seeds
        # One transaction: a run killed here leaves all of the tables or none.
        self.db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
        if self.get_meta("bulk_load"):  # a bulk load was killed: finish its last step
            self._end_bulk_load()
        self.db.executescript(_INDEXES)
        self.db.executescript(_TRIGGERS)
        self.set_meta("schema", SCHEMA_VERSION)

    def _schema_version(self) -> str | None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.OperationalError:
            return None
        return row[0] if row else None

    def _drop_all(self) -> None:
        for (name,) in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type='table'"
        ).fetchall():
            self.db.execute(f'DROP TABLE IF EXISTS "{name}"')

    def close(self) -> None:
        self.db.close()

    def replaced(self) -> bool:
        """Whether the database file was deleted or replaced since it was opened."""
        return identity(self.path) != self._identity

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Without secondary indexes while inside; they are built in one pass after."""
        self.set_meta("bulk_load", "1")
        for line in _INDEXES.strip().splitlines():
            self.db.execute(f"DROP INDEX IF EXISTS {line.split()[5]}")
        for line in _TRIGGERS.splitlines():
            if line.startswith("CREATE TRIGGER"):
                self.db.execute(f"DROP TRIGGER IF EXISTS {line.split()[5]}")
        # With the triggers gone, the names' counts are kept here as stories go in: no
        # pass over the whole refs table at the end.
        self._bulk_names = Counter()
        try:
            yield
        except BaseException:
            self._bulk_names = None  # a rolled-back batch was counted: count from the tables
            self._end_bulk_load()
            raise
        counts, self._bulk_names = self._bulk_names, None
        self._end_bulk_load(counts)

    def _end_bulk_load(self, counts: Counter[tuple[str, str, str]] | None = None) -> None:
        """Indexes built in one pass, name counts stored (or counted in one GROUP BY), triggers back."""
        self.db.executescript(_INDEXES)
        with self.transaction():
            self.db.execute("DELETE FROM names")
            if counts is not None:
                self.db.executemany(
                    "INSERT INTO names(kind, slug, name, n) VALUES (?, ?, ?, ?)",
                    [(*name, n) for name, n in sorted(counts.items())],
                )
            else:
                self._count_names()
            self.db.execute("DELETE FROM meta WHERE key='bulk_load'")
        self.db.executescript(_TRIGGERS)
        self.db.execute("PRAGMA analysis_limit=1000")  # sampled: a fraction of the time of a full scan
        self.db.execute("ANALYZE")  # fresh statistics for the query planner

    def _count_names(self) -> None:
        """The names' counts from the tables, as the triggers would have kept them."""
        self.db.execute(
            "INSERT INTO names(kind, slug, name, n) SELECT 'provider', provider, provider_name, count(*)"
            " FROM (SELECT provider, provider_name FROM stories WHERE provider_name IS NOT NULL"
            " UNION ALL SELECT provider, provider_name FROM refs WHERE provider_name IS NOT NULL)"
            " GROUP BY provider, provider_name"
        )
        self.db.execute(
            "INSERT INTO names(kind, slug, name, n) SELECT 'topic', slug, name, count(*)"
            " FROM story_topics GROUP BY slug, name"
        )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- meta --------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # --- seeds -------------------------------------------------------------------

    def seed_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM seeds").fetchone()[0])

    def has_seeds(self) -> bool:
        return self.db.execute("SELECT 1 FROM seeds LIMIT 1").fetchone() is not None

    def folder_digests(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT folder, digest FROM folders").fetchall())

    def set_folder_digests(self, digests: dict[str, str | None]) -> None:
        """Record the folders published in full (None: the folder is gone)."""
        for folder, digest in digests.items():
            if digest is None:
                self.db.execute("DELETE FROM folders WHERE folder=?", (folder,))
            else:
                self.db.execute("INSERT OR REPLACE INTO folders(folder, digest) VALUES (?, ?)", (folder, digest))

    def seed_folders(self) -> set[str]:
        return {folder for (folder,) in self.db.execute("SELECT DISTINCT folder FROM seeds")}

    def seed_stats(self, folders: Iterable[str]) -> dict[str, tuple[int, int]]:
        """(size, mtime_ns) as last seen of the seeds directly in these folders."""
        stats: dict[str, tuple[int, int]] = {}
        for folder in folders:
            stats.update(
                (path, (size, mtime))
                for path, size, mtime in self.db.execute(
                    "SELECT path, size, mtime_ns FROM seeds WHERE folder=?", (folder,)
                )
            )
        return stats

    def seed_rows(self, paths: list[str]) -> dict[str, SeedRow]:
        """What is stored of these seeds (those the state knows)."""
        found: dict[str, SeedRow] = {}
        for start in range(0, len(paths), 500):
            chunk = paths[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for path, digest, url in self.db.execute(
                f"SELECT path, digest, url FROM seeds WHERE path IN ({marks})", chunk
            ):
                found[path] = SeedRow(digest, url)
        return found

    def touch_seed(self, path: str, size: int, mtime_ns: int) -> None:
        """Same content, new stat (a `touch` or a copy): remember the stat only."""
        self.db.execute("UPDATE seeds SET size=?, mtime_ns=? WHERE path=?", (size, mtime_ns, path))

    def put_good_seed(
        self, path: str, size: int, mtime_ns: int, digest: str, url: str, rank: str,
        story_json: str, warnings: Iterable[str],
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO seeds(path, folder, size, mtime_ns, digest, url, rank, story, error, warnings)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            (path, folder_of(path), size, mtime_ns, digest, url, rank, story_json,
             json.dumps(list(warnings), ensure_ascii=False)),
        )

    def put_bad_seed(self, path: str, size: int, mtime_ns: int, digest: str, error: str) -> None:
        """Record the problem; a seed that was good keeps its last good story."""
        updated = self.db.execute(
            "UPDATE seeds SET size=?, mtime_ns=?, digest=?, error=?, warnings='[]' WHERE path=?",
            (size, mtime_ns, digest, error, path),
        ).rowcount
        if not updated:
            self.db.execute(
                "INSERT INTO seeds(path, folder, size, mtime_ns, digest, error, warnings)"
                " VALUES (?, ?, ?, ?, ?, ?, '[]')",
                (path, folder_of(path), size, mtime_ns, digest, error),
            )

    def delete_seed(self, path: str) -> None:
        self.db.execute("DELETE FROM seeds WHERE path=?", (path,))

    def seed_problems(self) -> list[tuple[str, str, bool]]:
        """(path, error, has a last good version) for every seed that is unusable now."""
        return [
            (path, error, story)
            for path, error, story in self.db.execute(
                "SELECT path, error, story IS NOT NULL FROM seeds WHERE error IS NOT NULL ORDER BY path"
            )
        ]

    def duplicates(self, url: str) -> list[str]:
        """Paths of the seeds whose last good story has this URL, the winner first."""
        return [
            path
            for (path,) in self.db.execute(
                "SELECT path FROM seeds WHERE url=? AND story IS NOT NULL ORDER BY rank, path", (url,)
            )
        ]

    # --- stories -----------------------------------------------------------------

    def refresh_story(self, url: str, track: bool = True) -> tuple[bool, bool, set[FeedKey]]:
        """Make `stories` (and its topics and refs) reflect the winning seed of `url`.

        Returns (a story existed, a story exists now, touched feeds). With `track`, the
        touched feeds are those of the old and of the new version (a cold publish
        renders everything and skips this).
        """
        touched = self.feeds_of_stories([url]) if track else set()
        old = self.db.execute("SELECT sid FROM stories WHERE url=?", (url,)).fetchone()
        existed = old is not None
        if old is not None:
            self.db.execute("DELETE FROM refs WHERE story=?", old)
            self.db.execute("DELETE FROM stories WHERE sid=?", old)
        self.db.execute("DELETE FROM story_topics WHERE url=?", (url,))
        row = self.db.execute(
            "SELECT path, story FROM seeds WHERE url=? AND story IS NOT NULL ORDER BY rank, path LIMIT 1",
            (url,),
        ).fetchone()
        if row is not None:
            path, text = row
            self.insert_story(path, story_rows(story_from_json(text), text))
            if track:
                touched |= self.feeds_of_stories([url])
        return existed, row is not None, touched

    def insert_story(self, path: str, rows: StoryRows) -> bool:
        """Insert a story that is not in `stories` yet; False if its URL already is."""
        try:
            sid = self.db.execute(
                "INSERT INTO stories(url, id, path, published, provider, provider_name, flag, quality, digest)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*rows.story[:2], path, *rows.story[2:], rows.digest),
            ).lastrowid
        except sqlite3.IntegrityError:
            return False
        url, id_, published = rows.story[0], rows.story[1], rows.story[2]
        if self._bulk_names is not None:  # what the triggers would count
            self._bulk_names.update((kind, slug, name) for kind, slug, name in rows.names() if name is not None)
        self.db.executemany(
            "INSERT INTO story_topics(slug, url, name, published, id) VALUES (?, ?, ?, ?, ?)",
            [(slug, url, name, published, id_) for slug, name in rows.topics],
        )
        self.db.executemany(
            "INSERT INTO refs(article, story, provider, provider_name, published) VALUES (?, ?, ?, ?, ?)",
            [(article, sid, *rest) for article, *rest in rows.refs],
        )
        return True

    def feeds_of_stories(self, urls: Iterable[str]) -> set[FeedKey]:
        """Every feed that carries these stories, or that their citations appear in."""
        keys: set[FeedKey] = set()
        for url in urls:
            row = self.db.execute("SELECT provider FROM stories WHERE url=?", (url,)).fetchone()
            if row is not None:
                keys.add(FeedKey("all"))
                keys.add(FeedKey("provider", row[0]))
                keys.update(
                    FeedKey("topic", slug)
                    for (slug,) in self.db.execute("SELECT slug FROM story_topics WHERE url=?", (url,))
                )
            # The article as related coverage, cited by this story or by others.
            keys.update(
                FeedKey("provider", provider)
                for (provider,) in self.db.execute(
                    "SELECT DISTINCT provider FROM refs WHERE article=? OR article IN"
                    " (SELECT article FROM refs WHERE story=(SELECT sid FROM stories WHERE url=?))",
                    (item_id(url), url),
                )
            )
        return keys

    def stories_naming(self, kind: str, slug: str) -> set[str]:
        """URLs of the stories whose items show a provider's or topic's display name."""
        if kind == "topic":
            query = "SELECT url FROM story_topics WHERE slug=?"
            return {u for (u,) in self.db.execute(query, (slug,))}
        query = (
            "SELECT url FROM stories WHERE provider=?"
            " UNION SELECT s.url FROM refs r JOIN stories s ON s.sid = r.story WHERE r.provider=?"
        )
        return {u for (u,) in self.db.execute(query, (slug, slug))}

    def released_between(self, after: int, until: int) -> set[FeedKey]:
        """Feeds gaining a future-dated story or article whose time has come."""
        urls = {
            u for (u,) in self.db.execute(
                "SELECT url FROM stories WHERE published > ? AND published <= ?", (after, until)
            )
        }
        keys = self.feeds_of_stories(urls)
        keys.update(
            FeedKey("provider", p)
            for (p,) in self.db.execute(
                "SELECT DISTINCT provider FROM refs WHERE published > ? AND published <= ?", (after, until)
            )
        )
        return keys

    def next_release(self, now: int) -> int | None:
        """When the next held-back story or article becomes due (epoch seconds)."""
        row = self.db.execute(
            "SELECT min(p) FROM (SELECT min(published) p FROM stories WHERE published > ?"
            " UNION ALL SELECT min(published) FROM refs WHERE published > ?)",
            (now, now),
        ).fetchone()
        return row[0] if row and row[0] is not None else None

    # --- names -------------------------------------------------------------------

    def names_of_stories(self, urls: Iterable[str]) -> set[tuple[str, str]]:
        """(kind, slug) of the providers and topics these stories name now."""
        names: set[tuple[str, str]] = set()
        for url in urls:
            names.update(("provider", p) for (p,) in self.db.execute(
                "SELECT provider FROM stories WHERE url=?"
                " UNION SELECT r.provider FROM refs r JOIN stories s ON s.sid = r.story WHERE s.url=?",
                (url, url)))
            names.update(("topic", t) for (t,) in self.db.execute(
                "SELECT slug FROM story_topics WHERE url=?", (url,)))
        return names

    def display_name(self, kind: str, slug: str) -> str:
        return self.topic_name(slug) if kind == "topic" else self.provider_name(slug)

    def provider_name(self, domain: str) -> str:
        """One display name per domain: the most cited given name, ties alphabetical."""
        return self._name("provider", domain)

    def topic_name(self, slug: str) -> str:
        """One display name per topic: the most used spelling, ties alphabetical."""
        return self._name("topic", slug)

    def _name(self, kind: str, slug: str) -> str:
        row = self.db.execute(
            "SELECT name FROM names WHERE kind = ? AND slug = ? AND n > 0 ORDER BY n DESC, name LIMIT 1", (kind, slug)
        ).fetchone()
        return row[0] if row else slug

    # --- feeds -------------------------------------------------------------------

    def mark_dirty(self, keys: Iterable[FeedKey], force: bool = False) -> None:
        """Feeds to look at again; `force` renders them even if their items are the same."""
        self.db.executemany(
            "INSERT INTO dirty(kind, slug, force) VALUES (?, ?, ?)"
            " ON CONFLICT(kind, slug) DO UPDATE SET force = max(force, excluded.force)",
            [(k.kind, k.slug, int(force)) for k in keys],
        )

    def dirty(self) -> dict[FeedKey, bool]:
        return {
            FeedKey(kind, slug): bool(force)
            for kind, slug, force in self.db.execute("SELECT kind, slug, force FROM dirty")
        }

    def feed_rows(self) -> dict[FeedKey, tuple[str, str]]:
        """Every feed written, with its title and item signature."""
        return {
            FeedKey(kind, slug): (title, signature)
            for kind, slug, title, signature in self.db.execute("SELECT kind, slug, title, signature FROM feeds")
        }

    def set_feed_rows(self, rows: dict[FeedKey, tuple[str, str] | None]) -> None:
        for key, row in rows.items():
            if row is None:
                self.db.execute("DELETE FROM feeds WHERE kind=? AND slug=?", (key.kind, key.slug))
            else:
                self.db.execute(
                    "INSERT OR REPLACE INTO feeds(kind, slug, title, signature) VALUES (?, ?, ?, ?)",
                    (key.kind, key.slug, *row),
                )

    def clear_dirty(self, keys: Iterable[FeedKey]) -> None:
        self.db.executemany("DELETE FROM dirty WHERE kind=? AND slug=?", [(k.kind, k.slug) for k in keys])

    def all_feed_keys(self, filters: Filters) -> list[FeedKey]:
        """Every feed that has at least one item now.

        One indexed LIMIT 1 probe per topic and provider: cheap however many stories
        and citations there are.
        """
        params = _params(filters)
        story_filter = _STORY_FILTER.format(s="s")
        keys = []
        if self.db.execute(f"SELECT 1 FROM stories s WHERE {story_filter} LIMIT 1", params).fetchone():
            keys.append(FeedKey("all"))
        for (slug,) in self.db.execute("SELECT DISTINCT slug FROM story_topics ORDER BY slug").fetchall():
            if self.db.execute(
                "SELECT 1 FROM story_topics t JOIN stories s ON s.url = t.url"
                f" WHERE t.slug = :slug AND {story_filter} LIMIT 1", params | {"slug": slug},
            ).fetchone():
                keys.append(FeedKey("topic", slug))
        providers = self.db.execute(
            "SELECT provider FROM stories UNION SELECT provider FROM refs ORDER BY 1"
        ).fetchall()
        for (provider,) in providers:
            probe = params | {"p": provider}
            if self.db.execute(
                f"SELECT 1 FROM stories s WHERE s.provider = :p AND {story_filter} LIMIT 1", probe
            ).fetchone() or self.db.execute(
                "SELECT 1 FROM refs r JOIN stories s ON s.sid = r.story"
                f" WHERE r.provider = :p AND r.published <= :now AND {story_filter} LIMIT 1", probe,
            ).fetchone():
                keys.append(FeedKey("provider", provider))
        return keys

    def _feed_query(self, key: FeedKey, filters: Filters, limit: int, columns: str) -> Iterator[tuple[Any, ...]]:
        """The newest `limit` items of one feed (ties broken by id), released by now.

        `columns` is an expression list over `id`, `published`, `s` (the story row that
        holds the item's data) and `cited` (the article's id when the item is an article
        known only as related coverage, else NULL).
        """
        params = _params(filters) | {"slug": key.slug, "limit": limit}
        story_filter = _STORY_FILTER.format(s="s")
        select = columns.format(id="s.id", published="s.published", cited="NULL")
        if key.kind == "all":
            query = f"SELECT {select} FROM stories s WHERE {story_filter} ORDER BY s.published DESC, s.id LIMIT :limit"
        elif key.kind == "topic":
            query = (
                f"SELECT {select} FROM story_topics t JOIN stories s ON s.url = t.url"
                f" WHERE t.slug = :slug AND {story_filter} ORDER BY t.published DESC, t.id LIMIT :limit"
            )
        else:
            # The provider's stories, plus articles it has only as related coverage:
            # each such article once, as cited by the first citing story (by URL).
            cited = columns.format(id="r.article", published="r.published", cited="r.article")
            query = (
                f"SELECT {select} FROM stories s WHERE s.provider = :slug AND {story_filter}"
                f" UNION ALL SELECT {cited} FROM refs r JOIN stories s ON s.sid = r.story"
                f" WHERE r.provider = :slug AND r.published <= :now AND {story_filter}"
                " AND NOT EXISTS (SELECT 1 FROM stories x WHERE x.id = r.article)"
                " AND s.url = (SELECT min(s2.url) FROM refs r2 JOIN stories s2 ON s2.sid = r2.story"
                f"  WHERE r2.article = r.article AND {_STORY_FILTER.format(s='s2')})"
                " ORDER BY 2 DESC, 1 LIMIT :limit"
            )
        return self.db.execute(query, params)

    def feed_heads(self, key: FeedKey, filters: Filters, limit: int) -> list[tuple[str, str]]:
        """(id, digest of the data it is rendered from) of a feed's items: no JSON read."""
        rows = self._feed_query(key, filters, limit, "{id}, {published}, s.digest")
        return [(id_, digest) for id_, _, digest in rows]

    def feed_items(self, key: FeedKey, filters: Filters, limit: int) -> list[FeedItem]:
        """The items of one feed, newest first, ready to render."""
        items = []
        for id_, _, story_text, cited in self._feed_query(
            key, filters, limit, "{id}, {published}, (SELECT d.story FROM seeds d WHERE d.path = s.path), {cited}"
        ):
            story = story_from_json(story_text)
            if cited is None:
                items.append(FeedItem(id=id_, story=story, article=story.article))
            else:  # an article known only as related coverage, as its citing story gives it
                article = next(a for a in story.related if a.id == cited)
                items.append(FeedItem(id=id_, story=None, article=article))
        return items

    def count_stories(self, filters: Filters) -> tuple[int, int]:
        """(published now, held back until a future date)."""
        params = _params(filters)
        query = f"SELECT count(*) FROM stories s WHERE {_STORY_FILTER.format(s='s')}"
        live = self.db.execute(query, params).fetchone()[0]
        held = self.db.execute("SELECT count(*) FROM stories WHERE published > :now", params).fetchone()[0]
        return live, held

    # --- outputs -----------------------------------------------------------------

    def outputs(self) -> dict[str, tuple[int, int]]:
        return {p: (s, m) for p, s, m in self.db.execute("SELECT path, size, mtime_ns FROM outputs")}

    def set_output(self, path: str, size: int, mtime_ns: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO outputs(path, size, mtime_ns) VALUES (?, ?, ?)", (path, size, mtime_ns))

    def delete_output(self, path: str) -> None:
        self.db.execute("DELETE FROM outputs WHERE path=?", (path,))


def _params(filters: Filters) -> dict[str, Any]:
    return {"now": filters.now, "only": int(filters.only_published), "minq": filters.min_quality}


def identity(path: Path) -> tuple[int, int] | None:
    """Which file or folder `path` names now (device, inode); None if nothing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def folder_of(path: str) -> str:
    """The folder part of a seed path, with its trailing '/' ('' for the top)."""
    return path[: path.rfind("/") + 1]


def epoch(moment: datetime) -> int:
    """Epoch seconds of an aware datetime: how the store keeps every date."""
    return int(moment.timestamp())
