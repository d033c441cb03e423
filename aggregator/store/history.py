"""Every item each feed has now (its members), the archive documents they fill, and the
tombstones of items gone: a feed's history beyond its newest items."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aggregator.model import FeedKey, FeedKind, Filters, Member, Tombstone
from aggregator.store.codec import id_key, id_text
from aggregator.store.connection import Connection
from aggregator.store.feeds import CITATION_SHOWN
from aggregator.store.feeds import STORY_FILTER as _FILTER
from aggregator.store.feeds import query_params as _params
from aggregator.store.schema import FEED_SIZES, MEMBER_INDEXES, MEMBER_TRIGGERS

# The members of the combined, topic and provider feeds that are stories; `{only}` is
# empty or restricts the stories to the ids in the temporary table `wanted`.
_STORY_MEMBERS = (
    "SELECT 'all', '', s.id, s.published, s.sid FROM stories s WHERE {filter} {only}"
    " UNION ALL SELECT 'topic', t.slug, s.id, s.published, s.sid FROM stories s"
    " JOIN story_topics t ON t.sid = s.sid WHERE {filter} {only}"
    " UNION ALL SELECT 'provider', s.provider, s.id, s.published, s.sid FROM stories s WHERE {filter} {only}"
)
# Articles known only as related coverage among the ids in `wanted`, each in its
# provider's feed once, by the feeds' own rule.
_CITED_MEMBERS = (
    "SELECT 'provider', r.provider, r.article, r.published, r.story FROM refs r JOIN stories s ON s.sid = r.story"
    f" WHERE r.article IN (SELECT id FROM wanted) AND {CITATION_SHOWN}"
)


class History(Connection):
    # --- what to look at again ---

    def mark_dirty_items(self, ids: Iterable[str]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO dirty_items(id) VALUES (?)", [(id_key(i),) for i in ids])

    def dirty_items(self) -> set[str]:
        return {id_text(i) for (i,) in self.db.execute("SELECT id FROM dirty_items")}

    def mark_dirty_pages(self, pages: Iterable[tuple[FeedKey, int]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO dirty_pages(kind, slug, page) VALUES (?, ?, ?)",
                            [(key.kind, key.slug, page) for key, page in pages])

    def dirty_pages(self) -> set[tuple[FeedKey, int]]:
        return {(FeedKey(kind, slug), page) for kind, slug, page in self.db.execute(
            "SELECT kind, slug, page FROM dirty_pages")}

    def clear_dirty_history(self) -> None:
        self.db.execute("DELETE FROM dirty_items")
        self.db.execute("DELETE FROM dirty_pages")

    def forget_history(self) -> None:
        """No members, archive or tombstones kept (both are switched off)."""
        for table in ("members", "feed_sizes", "archive_ends", "tombstones", "dirty_items", "dirty_pages"):
            self.db.execute(f"DELETE FROM {table}")

    def member_counts(self) -> dict[FeedKey, int]:
        """How many items each feed has, its archive included (kept by triggers)."""
        return {FeedKey(kind, slug): count for kind, slug, count in self.db.execute(
            "SELECT kind, slug, n FROM feed_sizes WHERE n > 0")}

    @contextmanager
    def _counted_at_end(self) -> Iterator[None]:
        """Members replaced all at once: `feed_sizes` is counted again once, at the end,
        rather than by a trigger per row (in the caller's transaction)."""
        for line in MEMBER_TRIGGERS.strip().splitlines():
            if line.startswith("CREATE TRIGGER"):
                self.db.execute(f"DROP TRIGGER IF EXISTS {line.split()[5]}")
        yield
        self.db.execute("DELETE FROM feed_sizes")
        self.db.execute(FEED_SIZES)
        for statement in MEMBER_TRIGGERS.strip().split("END;")[:-1]:  # not executescript: it would commit
            self.db.execute(statement + "END;")

    def has_members(self) -> bool:
        return self.db.execute("SELECT 1 FROM members LIMIT 1").fetchone() is not None

    # --- members ---

    def members_now(self, filters: Filters, ids: Collection[str]) -> list[Member]:
        """What the stories say the members among these items are now."""
        return [Member(kind, slug, id_text(id_), published, sid)
                for kind, slug, id_, published, sid in self._members_now(filters, ids)]

    def _members_now(self, filters: Filters, ids: Collection[str]) -> list[tuple[FeedKind, str, bytes, int, int]]:
        """`members_now` as stored: (kind, slug, id as stored, published, sid)."""
        self._wanted(ids)
        params = _params(filters)
        story = _STORY_MEMBERS.format(filter=_FILTER.format(s="s"), only="AND s.id IN (SELECT id FROM wanted)")
        return self.db.execute(f"{story} UNION ALL {_CITED_MEMBERS}", params).fetchall()

    def update_members(self, filters: Filters, ids: Collection[str],
                       noticed: int) -> tuple[set[FeedKey], set[tuple[FeedKey, int]]]:
        """Members of these items brought in line with the stories; an item gone from a
        feed leaves a tombstone dated `noticed`. Returns the feeds whose members changed,
        and (feed, seq) of each archived member that changed or went."""
        if not ids:
            return set(), set()
        fresh = {(kind, slug, id_): (published, sid)
                 for kind, slug, id_, published, sid in self._members_now(filters, ids)}
        old = {(kind, slug, id_): (published, sid, seq) for kind, slug, id_, published, sid, seq in self.db.execute(
            "SELECT kind, slug, id, published, sid, seq FROM members WHERE id IN (SELECT id FROM wanted)")}
        feeds: set[FeedKey] = set()
        seqs: set[tuple[FeedKey, int]] = set()
        for (kind, slug, id_), (published, sid, seq) in old.items():
            key = FeedKey(kind, slug)
            member = fresh.get((kind, slug, id_))
            if seq is not None:
                seqs.add((key, seq))  # its data may have changed: its document is written again
            if member is None:
                feeds.add(key)
                self.db.execute("DELETE FROM members WHERE kind=? AND slug=? AND id=?", (kind, slug, id_))
                self.db.execute("INSERT OR REPLACE INTO tombstones(kind, slug, id, deleted) VALUES (?, ?, ?, ?)",
                                (kind, slug, id_, noticed))
            elif member != (published, sid):
                feeds.add(key)
                self.db.execute("UPDATE members SET published=?, sid=? WHERE kind=? AND slug=? AND id=?",
                                (*member, kind, slug, id_))
        for name, member in fresh.items():
            if name not in old:
                feeds.add(FeedKey(name[0], name[1]))
                self.db.execute("INSERT INTO members(kind, slug, id, published, sid) VALUES (?, ?, ?, ?, ?)",
                                (*name, *member))
                self.db.execute("DELETE FROM tombstones WHERE kind=? AND slug=? AND id=?", name)
        return feeds, seqs

    def members_by_feed(self, filters: Filters) -> dict[tuple[str, str], list[tuple[bytes, int, int]]]:
        """Every feed's members as the stories say they are now: {(kind, slug): [(id as
        stored, published, sid)]}. Half a million of them at 50,000 stories: the feed is said
        once per feed, not once per member."""
        params = _params(filters)
        by_feed: dict[tuple[str, str], list[tuple[bytes, int, int]]] = {}
        for kind, slug, id_, published, sid in self.db.execute(
                _STORY_MEMBERS.format(filter=_FILTER.format(s="s"), only=""), params):
            found = by_feed.get((kind, slug))
            if found is None:
                found = by_feed[kind, slug] = []
            found.append((id_, published, sid))
        for provider, id_, published, sid in self._cited_members(params):
            by_feed.setdefault(("provider", provider), []).append((id_, published, sid))
        return by_feed

    def insert_members(self, rows: Iterable[tuple[str, str, bytes, int, int, int | None]],
                       ends: Iterable[tuple[str, str, int]]) -> None:
        """Members (kind, slug, id, published, sid, seq), in key order, into an empty table,
        with each feed's next seq: indexed after, several times faster."""
        for line in MEMBER_INDEXES.strip().splitlines():
            self.db.execute(f"DROP INDEX IF EXISTS {line.split()[5]}")
        with self._counted_at_end():
            self.db.executemany("INSERT INTO members(kind, slug, id, published, sid, seq) VALUES (?, ?, ?, ?, ?, ?)",
                                rows)
        self.db.executemany("INSERT OR REPLACE INTO archive_ends(kind, slug, next_seq) VALUES (?, ?, ?)", ends)
        for line in MEMBER_INDEXES.strip().splitlines():  # not executescript: it would commit
            self.db.execute(line)

    def merge_members(self, fresh: Iterable[tuple[str, str, bytes, int, int]], noticed: int, newest: int) -> None:
        """Every feed's members replaced by `fresh` ((kind, slug, id as stored, published,
        sid), as `members_by_feed` gives them), and each given its
        seq as `archive_members` would, its newest `newest` by date staying out. An item
        gone leaves a tombstone; a member kept keeps its seq. In SQL."""
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS fresh(kind TEXT, slug TEXT, id BLOB, published INTEGER,"
                        " sid INTEGER, PRIMARY KEY(kind, slug, id)) WITHOUT ROWID")
        self.db.execute("DELETE FROM fresh")
        self.db.executemany("INSERT INTO fresh VALUES (?, ?, ?, ?, ?)", fresh)
        same = "f.kind = m.kind AND f.slug = m.slug AND f.id = m.id"
        self.db.execute(
            "INSERT OR REPLACE INTO tombstones(kind, slug, id, deleted) SELECT kind, slug, id, ? FROM members m"
            f" WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE {same})", (noticed,))
        with self._counted_at_end():
            self.db.execute(f"DELETE FROM members AS m WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE {same})")
            self.db.execute(f"UPDATE members AS m SET published = f.published, sid = f.sid FROM fresh f WHERE {same}"
                            " AND (m.published, m.sid) != (f.published, f.sid)")
            self.db.execute("INSERT INTO members(kind, slug, id, published, sid) SELECT * FROM fresh f"
                            f" WHERE NOT EXISTS (SELECT 1 FROM members m WHERE {same})")
        self.db.execute("DELETE FROM tombstones AS t WHERE EXISTS"
                        " (SELECT 1 FROM fresh f WHERE f.kind = t.kind AND f.slug = t.slug AND f.id = t.id)")
        self.db.execute("DELETE FROM fresh")
        self.archive_all_members(newest)

    def _cited_members(self, params: dict[str, Any]) -> Iterator[tuple[str, bytes, int, int]]:
        """(provider, article, published, citing story) of every article known only as
        related coverage: `CITATION_SHOWN` worked out in one pass over the citations (a
        correlated subquery per citation takes several times longer);
        `test_replacing_the_members_at_once_gives_what_they_are_item_by_item` holds the
        two to the same answer."""
        stories = {i for (i,) in self.db.execute("SELECT id FROM stories")}
        best: dict[bytes, tuple[str, str, int, int]] = {}
        for article, url, provider, published, story in self.db.execute(
            "SELECT r.article, s.url, r.provider, r.published, r.story FROM refs r JOIN stories s ON s.sid = r.story"
            f" WHERE r.published <= :now AND {_FILTER.format(s='s')}", params,
        ):
            if article not in stories:
                known = best.get(article)
                if known is None or url < known[0]:
                    best[article] = (url, provider, published, story)
        for article, (_, provider, published, story) in best.items():
            yield provider, article, published, story

    def archive_members(self, key: FeedKey, newest: Collection[str]) -> list[int]:
        """Give a seq to each member of the feed that has none and is not among its
        `newest` ids, oldest first; returns the seqs given."""
        kept = {id_key(i) for i in newest}
        # By the seq index: with no statistics on members (they are laid out after the
        # bulk load's ANALYZE) the planner walks the feed's every member by its key.
        waiting = [(published, id_) for id_, published in self.db.execute(
            "SELECT id, published FROM members INDEXED BY members_seq WHERE kind=? AND slug=? AND seq IS NULL",
            (key.kind, key.slug)) if id_ not in kept]
        if not waiting:
            return []
        waiting.sort(key=lambda row: row[1], reverse=True)  # ties: the feed's order, reversed
        waiting.sort(key=lambda row: row[0])
        start = self._next_seq(key)
        self.db.executemany("UPDATE members SET seq=? WHERE kind=? AND slug=? AND id=?",
                            [(start + n, key.kind, key.slug, id_) for n, (_, id_) in enumerate(waiting)])
        self.db.execute("INSERT OR REPLACE INTO archive_ends(kind, slug, next_seq) VALUES (?, ?, ?)",
                        (key.kind, key.slug, start + len(waiting)))
        return list(range(start, start + len(waiting)))

    def archive_all_members(self, newest: int) -> None:
        """`archive_members` for every feed at once, its newest `newest` members by date
        staying out, in one statement."""
        self.db.execute(
            "WITH ranked AS (SELECT kind, slug, id, published, seq, row_number() OVER"
            "  (PARTITION BY kind, slug ORDER BY published DESC, id) AS n FROM members),"
            " todo AS (SELECT kind, slug, id, row_number() OVER (PARTITION BY kind, slug ORDER BY published, id DESC)"
            "  - 1 AS k FROM ranked WHERE seq IS NULL AND n > :newest)"
            " UPDATE members SET seq = todo.k + coalesce((SELECT e.next_seq FROM archive_ends e"
            "  WHERE e.kind = todo.kind AND e.slug = todo.slug), 0) FROM todo"
            " WHERE members.kind = todo.kind AND members.slug = todo.slug AND members.id = todo.id",
            {"newest": newest},
        )
        self.db.execute(
            "INSERT OR REPLACE INTO archive_ends(kind, slug, next_seq) SELECT m.kind, m.slug,"
            " max(max(m.seq) + 1, coalesce((SELECT e.next_seq FROM archive_ends e"
            "  WHERE e.kind = m.kind AND e.slug = m.slug), 0)) FROM members m WHERE m.seq IS NOT NULL"
            " GROUP BY m.kind, m.slug"
        )

    def _next_seq(self, key: FeedKey) -> int:
        row = self.db.execute("SELECT next_seq FROM archive_ends WHERE kind=? AND slug=?",
                              (key.kind, key.slug)).fetchone()
        return row[0] if row else 0

    def _wanted(self, ids: Collection[str]) -> None:
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted(id BLOB PRIMARY KEY) WITHOUT ROWID")
        self.db.execute("DELETE FROM wanted")
        self.db.executemany("INSERT OR IGNORE INTO wanted(id) VALUES (?)", [(id_key(i),) for i in ids])

    # --- archive documents ---

    def archive_pages(self, keys: Iterable[FeedKey] | None, per_page: int) -> dict[FeedKey, dict[int, int]]:
        """Each feed's archive documents that hold an item, {number: how many}, for these
        feeds (None: every feed)."""
        query = ("SELECT kind, slug, seq / :per + 1, count(*) FROM members WHERE seq IS NOT NULL {only}"
                 " GROUP BY kind, slug, seq / :per")
        if keys is None:
            rows: Iterable[tuple[str, str, int, int]] = self.db.execute(query.format(only=""), {"per": per_page})
        else:
            only = query.format(only="AND kind = :kind AND slug = :slug")
            rows = (row for key in sorted(set(keys)) for row in self.db.execute(
                only, {"per": per_page, "kind": key.kind, "slug": key.slug}))
        pages: dict[FeedKey, dict[int, int]] = {}
        for kind, slug, number, count in rows:
            pages.setdefault(FeedKey(kind, slug), {})[number] = count  # type: ignore[arg-type]
        return pages

    def archive_pages_near(self, anchors: Mapping[FeedKey, Collection[int]],
                           per_page: int) -> dict[FeedKey, dict[int, int]]:
        """`archive_pages` for a few documents of each feed: the given ones and its newest,
        the nearest documents holding an item on either side of those, and theirs. Enough
        to tell which documents a change writes and what each links to: a few indexed
        lookups each, where counting every member of a large feed takes a second."""
        found: dict[FeedKey, dict[int, int]] = {}
        for key in sorted(anchors):
            newest = self._seq(key, "max")
            if newest is None:
                continue
            pages: dict[int, int] = {}
            level, seen = {*anchors[key], newest // per_page + 1}, set[int]()
            for depth in range(3):
                ahead: set[int] = set()
                for number in level - seen:
                    seen.add(number)
                    low, high = (number - 1) * per_page, number * per_page
                    count = self.db.execute("SELECT count(*) FROM members WHERE kind=? AND slug=? AND seq >= ?"
                                            " AND seq < ?", (key.kind, key.slug, low, high)).fetchone()[0]
                    if count:
                        pages[number] = count
                    if depth < 2:
                        sides = (self._seq(key, "max", "<", low), self._seq(key, "min", ">=", high))
                        ahead |= {side // per_page + 1 for side in sides if side is not None}
                level = ahead
            found[key] = pages
        return found

    def _seq(self, key: FeedKey, which: str, op: str | None = None, bound: int = 0) -> int | None:
        """The max or min archived seq of a feed, beyond a bound when given (by index)."""
        beyond = f" AND seq {op} ?" if op else ""
        row = self.db.execute(f"SELECT {which}(seq) FROM members WHERE kind=? AND slug=?{beyond}",
                              (key.kind, key.slug, *((bound,) if op else ()))).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def archived(self, ranges: Iterable[tuple[FeedKey, int, int]], after: int | None = None,
                 until: int | None = None) -> Iterator[tuple[int, FeedKey, int, str]]:
        """(story row, feed, seq, item id) of the archived members whose seqs are in the
        given [low, high) ranges, grouped by the story row holding their data and ordered
        by its date; only stories dated in (after, until] when given."""
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS ranges(kind TEXT, slug TEXT, low INTEGER, high INTEGER)")
        self.db.execute("DELETE FROM ranges")
        self.db.executemany("INSERT INTO ranges VALUES (?, ?, ?, ?)",
                            [(key.kind, key.slug, low, high) for key, low, high in ranges])
        window = ""
        if after is not None:
            window += " AND s.published > :after"
        if until is not None:
            window += " AND s.published <= :until"
        rows = self.db.execute(
            "SELECT m.sid, m.kind, m.slug, m.seq, m.id FROM ranges g JOIN members m ON m.kind = g.kind"
            " AND m.slug = g.slug AND m.seq >= g.low AND m.seq < g.high JOIN stories s ON s.sid = m.sid"
            f" WHERE 1 {window} ORDER BY s.published, m.sid", {"after": after, "until": until})
        for sid, kind, slug, seq, id_ in rows:
            yield sid, FeedKey(kind, slug), seq, id_text(id_)

    def packed_stories(self, sids: Collection[int]) -> dict[int, bytes]:
        """The stored stories these story rows were derived from, by row: one query for
        many (at most the SQLite variable limit), not one each."""
        marks = ",".join("?" * len(sids))
        return dict(self.db.execute(
            f"SELECT s.sid, d.story FROM stories s JOIN seeds d ON d.path = s.path WHERE s.sid IN ({marks})",
            tuple(sids)))

    def story_dates(self, count: int) -> list[int]:
        """`count` - 1 dates that cut the stories, by date, into `count` runs of about one size."""
        total = self.db.execute("SELECT count(*) FROM stories").fetchone()[0]
        return [self.db.execute("SELECT published FROM stories ORDER BY published LIMIT 1 OFFSET ?",
                                (total * n // count,)).fetchone()[0] for n in range(1, count) if total]

    # --- tombstones ---

    def tombstones(self, key: FeedKey, since: int, limit: int) -> tuple[Tombstone, ...]:
        """The feed's items gone after `since`, newest first, at most `limit`."""
        return tuple(Tombstone(id_text(id_), deleted) for id_, deleted in self.db.execute(
            "SELECT id, deleted FROM tombstones WHERE kind=? AND slug=? AND deleted > ?"
            " ORDER BY deleted DESC, id LIMIT ?", (key.kind, key.slug, since, limit)))

    def tombstones_expiring(self, after: int, until: int) -> set[FeedKey]:
        """Feeds with a tombstone dated in (after, until]: those whose window ends then."""
        return {FeedKey(kind, slug) for kind, slug in self.db.execute(
            "SELECT DISTINCT kind, slug FROM tombstones WHERE deleted > ? AND deleted <= ?", (after, until))}

    def tombstoned(self) -> list[tuple[str, str, bytes]]:
        """(kind, slug, id as stored) of every tombstone."""
        return self.db.execute("SELECT kind, slug, id FROM tombstones").fetchall()

    def drop_tombstones(self, names: Iterable[tuple[str, str, bytes]]) -> None:
        """Tombstones of these (kind, slug, id as stored) deleted: the items are back."""
        self.db.executemany("DELETE FROM tombstones WHERE kind=? AND slug=? AND id=?", names)

    def forget_tombstones(self, until: int) -> None:
        self.db.execute("DELETE FROM tombstones WHERE deleted <= ?", (until,))

    def next_tombstone(self, after: int) -> int | None:
        """The date of the oldest tombstone after `after` (epoch seconds)."""
        row = self.db.execute("SELECT min(deleted) FROM tombstones WHERE deleted > ?", (after,)).fetchone()
        return row[0] if row and row[0] is not None else None
