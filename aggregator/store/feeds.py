"""Which items each feed holds, which feeds are stale, and the files written for them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from aggregator.model import FeedItem, FeedKey, FeedRow, Filters, Head, Story, StoryCounts
from aggregator.store.codec import id_text, unpack_story
from aggregator.store.connection import Connection


class Feeds(Connection):
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

    def feed_rows(self) -> dict[FeedKey, FeedRow]:
        """Every feed written, with its title and the digest of its items."""
        return {
            FeedKey(kind, slug): FeedRow(title, digest)
            for kind, slug, title, digest in self.db.execute("SELECT kind, slug, title, digest FROM feeds")
        }

    def set_feed_rows(self, rows: dict[FeedKey, FeedRow | None]) -> None:
        """Record the feeds written (None: the feed is gone)."""
        for key, row in rows.items():
            if row is None:
                self.db.execute("DELETE FROM feeds WHERE kind=? AND slug=?", (key.kind, key.slug))
            else:
                self.db.execute(
                    "INSERT OR REPLACE INTO feeds(kind, slug, title, digest) VALUES (?, ?, ?, ?)",
                    (key.kind, key.slug, *row),
                )

    def clear_dirty(self, keys: Iterable[FeedKey]) -> None:
        self.db.executemany("DELETE FROM dirty WHERE kind=? AND slug=?", [(k.kind, k.slug) for k in keys])

    def all_feed_keys(self, filters: Filters) -> list[FeedKey]:
        """Every feed that has at least one item now.

        One indexed LIMIT 1 probe per topic and provider: cheap however many stories
        and citations there are.
        """
        params = query_params(filters)
        story_filter = STORY_FILTER.format(s="s")
        keys = []
        if self.db.execute(f"SELECT 1 FROM stories s WHERE {story_filter} LIMIT 1", params).fetchone():
            keys.append(FeedKey("all"))
        for (slug,) in self.db.execute("SELECT DISTINCT slug FROM story_topics ORDER BY slug").fetchall():
            if self.db.execute(
                "SELECT 1 FROM story_topics t JOIN stories s ON s.sid = t.sid"
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
        params = query_params(filters) | {"slug": key.slug, "limit": limit}
        story_filter = STORY_FILTER.format(s="s")
        select = columns.format(id="s.id", published="s.published", cited="NULL")
        if key.kind == "all":
            query = f"SELECT {select} FROM stories s WHERE {story_filter} ORDER BY s.published DESC, s.id LIMIT :limit"
        elif key.kind == "topic":
            query = (
                f"SELECT {select} FROM story_topics t JOIN stories s ON s.sid = t.sid"
                f" WHERE t.slug = :slug AND {story_filter} ORDER BY t.published DESC, t.id LIMIT :limit"
            )
        else:
            # The provider's stories, plus articles it has only as related coverage:
            # each such article once, as cited by the first citing story (by URL) whose
            # citation is released.
            cited = columns.format(id="r.article", published="r.published", cited="r.article")
            query = (
                f"SELECT {select} FROM stories s WHERE s.provider = :slug AND {story_filter}"
                f" UNION ALL SELECT {cited} FROM refs r JOIN stories s ON s.sid = r.story"
                f" WHERE r.provider = :slug AND {CITATION_SHOWN} ORDER BY 2 DESC, 1 LIMIT :limit"
            )
        return self.db.execute(query, params)

    def feed_heads(self, key: FeedKey, filters: Filters, limit: int) -> list[Head]:
        """A feed's items as far as its bytes go, newest first: no JSON read."""
        rows = self._feed_query(key, filters, limit, "{id}, {published}, s.digest")
        return [Head(id_text(id_), digest) for id_, _, digest in rows]

    def feed_items(self, key: FeedKey, filters: Filters, limit: int,
                   unpacked: dict[int, Story] | None = None) -> list[FeedItem]:
        """The items of one feed, newest first, ready to render. `unpacked` keeps the
        stories read, by row, for the next feeds: a story is in several (the combined
        one, its topics', its outlet's, those of the articles it cites)."""
        items = []
        stories = {} if unpacked is None else unpacked
        columns = "{id}, {published}, s.sid, (SELECT d.story FROM seeds d WHERE d.path = s.path), {cited}"
        for id_, _, sid, packed, cited in self._feed_query(key, filters, limit, columns):
            story = stories.get(sid)
            if story is None:
                story = stories[sid] = unpack_story(packed)
            id_ = id_text(id_)
            if cited is None:
                items.append(FeedItem(id=id_, story=story, article=story.article))
            else:  # an article known only as related coverage, as its citing story gives it
                article = next(a for a in story.related if a.id == id_)
                items.append(FeedItem(id=id_, story=None, article=article))
        return items

    def count_stories(self, filters: Filters) -> StoryCounts:
        """How many stories are published now, and how many held back until their date."""
        params = query_params(filters)
        query = f"SELECT count(*) FROM stories s WHERE {STORY_FILTER.format(s='s')}"
        live = self.db.execute(query, params).fetchone()[0]
        held = self.db.execute("SELECT count(*) FROM stories WHERE published > :now", params).fetchone()[0]
        return StoryCounts(live, held)

    # --- the files written in feeds/, to notice ones deleted or edited behind our back ---

    def outputs(self) -> dict[str, tuple[int, int]]:
        return {p: (s, m) for p, s, m in self.db.execute("SELECT path, size, mtime_ns FROM outputs")}

    def output(self, path: str) -> tuple[int, int] | None:
        """(size, mtime) of one file as recorded when it was written."""
        row = self.db.execute("SELECT size, mtime_ns FROM outputs WHERE path=?", (path,)).fetchone()
        return None if row is None else (row[0], row[1])

    def set_output(self, path: str, size: int, mtime_ns: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO outputs(path, size, mtime_ns) VALUES (?, ?, ?)", (path, size, mtime_ns))

    def delete_output(self, path: str) -> None:
        self.db.execute("DELETE FROM outputs WHERE path=?", (path,))


STORY_FILTER = "{s}.published <= :now AND (:only = 0 OR {s}.flag = 1) AND (:minq IS NULL OR {s}.quality >= :minq)"
# Whether citation `r` (of story `s`) is the one that gives its article an item: the
# article is no story itself, and `s` is the first citing story (by URL) whose citation
# is released. The feeds and their members (`store.history`) read the same rule.
CITATION_SHOWN = (
    f"r.published <= :now AND {STORY_FILTER.format(s='s')}"
    " AND NOT EXISTS (SELECT 1 FROM stories x WHERE x.id = r.article)"
    " AND s.url = (SELECT min(s2.url) FROM refs r2 JOIN stories s2 ON s2.sid = r2.story"
    f"  WHERE r2.article = r.article AND r2.published <= :now AND {STORY_FILTER.format(s='s2')})"
)


def query_params(filters: Filters) -> dict[str, Any]:
    return {"now": filters.now, "only": int(filters.only_published), "minq": filters.min_quality}
