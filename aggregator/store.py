"""The state: an embedded SQLite database of seeds, normalized stories and feed items.

It answers the two questions an incremental publish asks: which seeds changed since
last time (by size and mtime, then content digest), and which feeds those changes touch.
Rendering reads stories from here only; it never re-reads seeds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aggregator.model import Article, FeedKey, Image, Provider, Story, Topic

SCHEMA_VERSION = "1"  # bump when the schema or the stored story format changes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- One row per seed file: how it looked on disk, and its last good normalized story.
CREATE TABLE IF NOT EXISTS seeds(
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    digest TEXT NOT NULL, url TEXT, rank TEXT, story TEXT, error TEXT, warnings TEXT);
CREATE INDEX IF NOT EXISTS seeds_url ON seeds(url);
-- The published stories: one per canonical URL, from the winning seed.
CREATE TABLE IF NOT EXISTS stories(
    url TEXT PRIMARY KEY, id TEXT NOT NULL, path TEXT NOT NULL, published INTEGER NOT NULL,
    provider TEXT NOT NULL, provider_name TEXT, flag INTEGER, quality INTEGER,
    story TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS stories_order ON stories(published DESC, id);
CREATE INDEX IF NOT EXISTS stories_provider ON stories(provider, published DESC, id);
CREATE TABLE IF NOT EXISTS story_topics(
    slug TEXT NOT NULL, url TEXT NOT NULL, name TEXT NOT NULL,
    published INTEGER NOT NULL, id TEXT NOT NULL, PRIMARY KEY(slug, url));
CREATE INDEX IF NOT EXISTS story_topics_order ON story_topics(slug, published DESC, id);
CREATE INDEX IF NOT EXISTS story_topics_url ON story_topics(url);
-- Related coverage: one row per (article, citing story).
CREATE TABLE IF NOT EXISTS refs(
    article TEXT NOT NULL, story TEXT NOT NULL, id TEXT NOT NULL, provider TEXT NOT NULL,
    provider_name TEXT, published INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY(article, story));
CREATE INDEX IF NOT EXISTS refs_provider ON refs(provider, published DESC, id);
CREATE INDEX IF NOT EXISTS refs_story ON refs(story);
-- Feeds whose output may be stale: written in the same transaction as the change,
-- cleared only after the files are written, so a crash in between is repaired.
CREATE TABLE IF NOT EXISTS dirty(kind TEXT NOT NULL, slug TEXT NOT NULL, PRIMARY KEY(kind, slug));
-- Files this tool wrote in feeds/, to notice ones deleted or edited behind its back.
CREATE TABLE IF NOT EXISTS outputs(path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL);
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
    return json.dumps(
        {
            "article": _article_dict(story.article),
            "topics": [[t.slug, t.name] for t in story.topics],
            "related": [_article_dict(a) for a in story.related],
            "body": story.body_html,
            "flag": story.published_flag,
            "quality": story.quality,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def story_from_json(text: str) -> Story:
    data = json.loads(text)
    return Story(
        article=_article(data["article"]),
        topics=tuple(Topic(slug=s, name=n) for s, n in data["topics"]),
        related=tuple(_article(a) for a in data["related"]),
        body_html=data["body"],
        published_flag=data["flag"],
        quality=data["quality"],
    )


def article_from_json(text: str) -> Article:
    return _article(json.loads(text))


def seed_rank(story: Story) -> str:
    """Orders duplicate seeds of one URL: the most recently updated wins (then the path)."""
    article = story.article
    newest = article.updated or article.published
    # Inverted so that an ascending sort puts the newest first.
    return f"{10**12 - epoch(newest):013d}"


@dataclass(frozen=True, slots=True)
class SeedRow:
    size: int
    mtime_ns: int
    digest: str
    url: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One item of one feed: a story, or an article known only as related coverage."""

    id: str
    published: int
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

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.execute("PRAGMA cache_size=-65536")
        self.db.execute("PRAGMA temp_store=MEMORY")
        version = self._schema_version()
        if version not in (None, SCHEMA_VERSION):
            self._drop_all()  # an older format: safe to rebuild from the seeds
        self.db.executescript(_SCHEMA)
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

    def seed_rows(self) -> dict[str, SeedRow]:
        return {
            path: SeedRow(size, mtime, digest, url, error)
            for path, size, mtime, digest, url, error in self.db.execute(
                "SELECT path, size, mtime_ns, digest, url, error FROM seeds"
            )
        }

    def touch_seed(self, path: str, size: int, mtime_ns: int) -> None:
        """Same content, new stat (a `touch` or a copy): remember the stat only."""
        self.db.execute("UPDATE seeds SET size=?, mtime_ns=? WHERE path=?", (size, mtime_ns, path))

    def put_good_seed(
        self, path: str, size: int, mtime_ns: int, digest: str, url: str, rank: str,
        story_json: str, warnings: Iterable[str],
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO seeds(path, size, mtime_ns, digest, url, rank, story, error, warnings)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            (path, size, mtime_ns, digest, url, rank, story_json,
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
                "INSERT INTO seeds(path, size, mtime_ns, digest, error, warnings) VALUES (?, ?, ?, ?, ?, '[]')",
                (path, size, mtime_ns, digest, error),
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

    def urls_of_paths(self, paths: list[str]) -> dict[str, str]:
        """The URL each of these seeds last published, if any."""
        found: dict[str, str] = {}
        for start in range(0, len(paths), 500):
            chunk = paths[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                self.db.execute(
                    f"SELECT path, url FROM seeds WHERE url IS NOT NULL AND path IN ({marks})", chunk
                ).fetchall()
            )
        return found

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
        existed = self.db.execute("DELETE FROM stories WHERE url=?", (url,)).rowcount > 0
        self.db.execute("DELETE FROM story_topics WHERE url=?", (url,))
        self.db.execute("DELETE FROM refs WHERE story=?", (url,))
        row = self.db.execute(
            "SELECT path, story FROM seeds WHERE url=? AND story IS NOT NULL ORDER BY rank, path LIMIT 1",
            (url,),
        ).fetchone()
        if row is not None:
            path, text = row
            self._insert_story(path, story_from_json(text), text)
            if track:
                touched |= self.feeds_of_stories([url])
        return existed, row is not None, touched

    def _insert_story(self, path: str, story: Story, text: str) -> None:
        article = story.article
        published = epoch(article.published)
        self.db.execute(
            "INSERT INTO stories(url, id, path, published, provider, provider_name, flag, quality, story)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (story.url, story.id, path, published, article.provider.domain, article.provider.name,
             None if story.published_flag is None else int(story.published_flag), story.quality, text),
        )
        self.db.executemany(
            "INSERT INTO story_topics(slug, url, name, published, id) VALUES (?, ?, ?, ?, ?)",
            [(t.slug, story.url, t.name, published, story.id) for t in story.topics],
        )
        self.db.executemany(
            "INSERT INTO refs(article, story, id, provider, provider_name, published, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (a.url, story.url, a.id, a.provider.domain, a.provider.name, epoch(a.published),
                 json.dumps(_article_dict(a), sort_keys=True, ensure_ascii=False))
                for a in story.related
            ],
        )

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
                    " (SELECT article FROM refs WHERE story=?)",
                    (url, url),
                )
            )
        return keys

    def stories_naming(self, kind: str, slug: str) -> set[str]:
        """URLs of the stories whose items show a provider's or topic's display name."""
        if kind == "topic":
            query = "SELECT url FROM story_topics WHERE slug=?"
            return {u for (u,) in self.db.execute(query, (slug,))}
        query = "SELECT url FROM stories WHERE provider=? UNION SELECT story FROM refs WHERE provider=?"
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
                "SELECT provider FROM stories WHERE url=? UNION SELECT provider FROM refs WHERE story=?",
                (url, url)))
            names.update(("topic", t) for (t,) in self.db.execute(
                "SELECT slug FROM story_topics WHERE url=?", (url,)))
        return names

    def display_name(self, kind: str, slug: str) -> str:
        return self.topic_name(slug) if kind == "topic" else self.provider_name(slug)

    def provider_name(self, domain: str) -> str:
        """One display name per domain: the most cited given name, ties alphabetical."""
        row = self.db.execute(
            "SELECT name, count(*) c FROM ("
            " SELECT provider_name name FROM stories WHERE provider=:d AND provider_name IS NOT NULL"
            " UNION ALL SELECT provider_name FROM refs WHERE provider=:d AND provider_name IS NOT NULL)"
            " GROUP BY name ORDER BY c DESC, name LIMIT 1",
            {"d": domain},
        ).fetchone()
        return row[0] if row else domain

    def topic_name(self, slug: str) -> str:
        """One display name per topic: the most used spelling, ties alphabetical."""
        row = self.db.execute(
            "SELECT name, count(*) c FROM story_topics WHERE slug=? GROUP BY name ORDER BY c DESC, name LIMIT 1",
            (slug,),
        ).fetchone()
        return row[0] if row else slug

    # --- feeds -------------------------------------------------------------------

    def mark_dirty(self, keys: Iterable[FeedKey]) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO dirty(kind, slug) VALUES (?, ?)", [(k.kind, k.slug) for k in keys]
        )

    def dirty(self) -> list[FeedKey]:
        return sorted(FeedKey(kind, slug) for kind, slug in self.db.execute("SELECT kind, slug FROM dirty"))  # type: ignore[arg-type]

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
                "SELECT 1 FROM refs r JOIN stories s ON s.url = r.story"
                f" WHERE r.provider = :p AND r.published <= :now AND {story_filter} LIMIT 1", probe,
            ).fetchone():
                keys.append(FeedKey("provider", provider))
        return keys

    def feed_items(self, key: FeedKey, filters: Filters, limit: int) -> list[FeedItem]:
        """The newest `limit` items of one feed (ties broken by id), released by now."""
        params = _params(filters) | {"slug": key.slug, "limit": limit}
        story_filter = _STORY_FILTER.format(s="s")
        if key.kind == "all":
            query = (
                f"SELECT s.id, s.published, s.story, NULL FROM stories s WHERE {story_filter}"
                " ORDER BY s.published DESC, s.id LIMIT :limit"
            )
        elif key.kind == "topic":
            query = (
                "SELECT s.id, s.published, s.story, NULL FROM story_topics t JOIN stories s ON s.url = t.url"
                f" WHERE t.slug = :slug AND {story_filter} ORDER BY t.published DESC, t.id LIMIT :limit"
            )
        else:
            # The provider's stories, plus articles it has only as related coverage:
            # each such article once, as cited by the first citing story (by URL).
            query = (
                f"SELECT s.id, s.published, s.story, NULL FROM stories s WHERE s.provider = :slug AND {story_filter}"
                " UNION ALL"
                " SELECT r.id, r.published, NULL, r.data FROM refs r JOIN stories s ON s.url = r.story"
                f" WHERE r.provider = :slug AND r.published <= :now AND {story_filter}"
                " AND NOT EXISTS (SELECT 1 FROM stories x WHERE x.url = r.article)"
                " AND r.story = (SELECT min(r2.story) FROM refs r2 JOIN stories s2 ON s2.url = r2.story"
                f"  WHERE r2.article = r.article AND {_STORY_FILTER.format(s='s2')})"
                " ORDER BY 2 DESC, 1 LIMIT :limit"
            )
        items = []
        for id_, published, story_text, article_text in self.db.execute(query, params):
            if story_text is not None:
                story = story_from_json(story_text)
                items.append(FeedItem(id=id_, published=published, story=story, article=story.article))
            else:
                items.append(FeedItem(id=id_, published=published, story=None, article=article_from_json(article_text)))
        return items

    def count_stories(self, filters: Filters) -> tuple[int, int]:
        """(published now, held back until a future date)."""
        params = _params(filters)
        live = self.db.execute(f"SELECT count(*) FROM stories s WHERE {_STORY_FILTER.format(s='s')}", params).fetchone()[0]
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


def epoch(moment: datetime) -> int:
    """Epoch seconds of an aware datetime: how the store keeps every date."""
    return int(moment.timestamp())
