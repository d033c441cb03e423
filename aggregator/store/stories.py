"""Stories derived from their winning seed, their topics and citations, and display names."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from aggregator.model import FeedKey, Refreshed, StoryRows, item_id
from aggregator.store.bulk import BulkLoad
from aggregator.store.codec import id_key, id_text, story_rows, unpack_story


class Stories(BulkLoad):
    def refresh_story(self, url: str, track: bool = True) -> Refreshed:
        """Make `stories` (and its topics and refs) reflect the winning seed of `url`.

        With `track`, the touched feeds are those of the old and of the new version (a
        cold publish renders everything and skips this).
        """
        touched = self.feeds_of_stories([url]) if track else set()
        old = self.db.execute("SELECT sid FROM stories WHERE url=?", (url,)).fetchone()
        existed = old is not None
        items = {item_id(url)}
        if old is not None:
            items.update(id_text(a) for (a,) in self.db.execute("SELECT article FROM refs WHERE story=?", old))
            self.db.execute("DELETE FROM refs WHERE story=?", old)
            self.db.execute("DELETE FROM story_topics WHERE sid=?", old)
            self.db.execute("DELETE FROM stories WHERE sid=?", old)
        row = self.db.execute(
            "SELECT path, story FROM seeds WHERE url=? AND story IS NOT NULL ORDER BY rank, path LIMIT 1",
            (url,),
        ).fetchone()
        if row is not None:
            path, packed = row
            story = unpack_story(packed)
            # The same row number: members that point at it stay the same, so an edit that
            # moves no item changes no feed's members (nor the front page that counts them).
            self.insert_story(path, story_rows(story, packed), old[0] if old is not None else None)
            items.update(article.id for article in story.related)
            if track:
                touched |= self.feeds_of_stories([url])
        return Refreshed(existed, row is not None, frozenset(touched), frozenset(items))

    def insert_story(self, path: str, rows: StoryRows, sid: int | None = None) -> bool:
        """Insert a story that is not in `stories` yet, as row `sid` when given (a free
        one: the story's own, deleted); False if its URL already is."""
        try:
            sid = self.db.execute(
                "INSERT INTO stories(sid, url, id, path, published, provider, provider_name, flag, quality, digest)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sid, *rows.story[:2], path, *rows.story[2:], rows.digest),  # the columns' order
            ).lastrowid
        except sqlite3.IntegrityError:
            return False
        id_, published = rows.story.id, rows.story.published
        if self._bulk_names is not None:  # what the triggers would count
            self._bulk_names.update((kind, slug, name) for kind, slug, name in rows.names() if name is not None)
        self.db.executemany(
            "INSERT INTO story_topics(slug, sid, name, published, id) VALUES (?, ?, ?, ?, ?)",
            [(topic.slug, sid, topic.name, published, id_) for topic in rows.topics],
        )
        self.db.executemany(
            "INSERT INTO refs(article, story, provider, provider_name, published) VALUES (?, ?, ?, ?, ?)",
            [(ref.article, sid, ref.provider, ref.provider_name, ref.published) for ref in rows.refs],
        )
        return True

    def feeds_of_stories(self, urls: Iterable[str]) -> set[FeedKey]:
        """Every feed that carries these stories, or that their citations appear in."""
        keys: set[FeedKey] = set()
        for url in urls:
            row = self.db.execute("SELECT sid, provider FROM stories WHERE url=?", (url,)).fetchone()
            if row is not None:
                keys.add(FeedKey("all"))
                keys.add(FeedKey("provider", row[1]))
                keys.update(
                    FeedKey("topic", slug)
                    for (slug,) in self.db.execute("SELECT slug FROM story_topics WHERE sid=?", row[:1])
                )
            # The article as related coverage, cited by this story or by others.
            keys.update(
                FeedKey("provider", provider)
                for (provider,) in self.db.execute(
                    "SELECT DISTINCT provider FROM refs WHERE article=? OR article IN"
                    " (SELECT article FROM refs WHERE story=(SELECT sid FROM stories WHERE url=?))",
                    (id_key(item_id(url)), url),
                )
            )
        return keys

    def stories_naming(self, kind: str, slug: str) -> set[str]:
        """URLs of the stories whose items show a provider's or topic's display name."""
        if kind == "topic":
            query = "SELECT s.url FROM story_topics t JOIN stories s ON s.sid = t.sid WHERE t.slug=?"
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

    def released_items(self, after: int, until: int) -> set[str]:
        """Ids of the stories and articles released in (after, until], and of the
        articles the released stories cite."""
        return {id_text(i) for (i,) in self.db.execute(
            "SELECT id FROM stories WHERE published > :a AND published <= :u"
            " UNION SELECT r.article FROM refs r WHERE r.published > :a AND r.published <= :u"
            " UNION SELECT r.article FROM stories s JOIN refs r ON r.story = s.sid"
            " WHERE s.published > :a AND s.published <= :u", {"a": after, "u": until})}

    def next_release(self, now: int) -> int | None:
        """When the next held-back story or article becomes due (epoch seconds)."""
        row = self.db.execute(
            "SELECT min(p) FROM (SELECT min(published) p FROM stories WHERE published > ?"
            " UNION ALL SELECT min(published) FROM refs WHERE published > ?)",
            (now, now),
        ).fetchone()
        return row[0] if row and row[0] is not None else None

    def names_of_stories(self, urls: Iterable[str]) -> set[tuple[str, str]]:
        """(kind, slug) of the providers and topics these stories name now."""
        names: set[tuple[str, str]] = set()
        for url in urls:
            names.update(("provider", p) for (p,) in self.db.execute(
                "SELECT provider FROM stories WHERE url=?"
                " UNION SELECT r.provider FROM refs r JOIN stories s ON s.sid = r.story WHERE s.url=?",
                (url, url)))
            names.update(("topic", t) for (t,) in self.db.execute(
                "SELECT t.slug FROM story_topics t JOIN stories s ON s.sid = t.sid WHERE s.url=?", (url,)))
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
