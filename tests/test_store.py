"""The SQLite state through its public methods, on a real file. No seeds folder, no CLI."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.history import ColdLayout
from aggregator.model import (
    Article,
    FeedItem,
    FeedKey,
    FeedRow,
    Filters,
    Head,
    Image,
    Meta,
    Provider,
    Refreshed,
    SeedProblem,
    SeedRow,
    Story,
    Subscription,
    Tombstone,
    Topic,
    epoch,
    item_id,
    seed_rank,
)
from aggregator.store import StateStore, Store, identity
from aggregator.store.codec import id_key, id_text, pack_story, story_rows, unpack_story
from aggregator.store.schema import INDEXES, MEMBER_INDEXES, MEMBER_TRIGGERS, SCHEMA_VERSION, TRIGGERS

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = epoch(T0 + timedelta(days=10))
EVERY = Filters(only_published=False, min_quality=None, now=NOW)

ALL = FeedKey("all")
AI = FeedKey("topic", "ai")
BIZ = FeedKey("topic", "biz")
EX = FeedKey("provider", "example.com")
NEWS = FeedKey("provider", "news.org")
WIRE = FeedKey("provider", "wire.net")

STORY_INDEX_NAMES = sorted(line.split()[5] for line in INDEXES.strip().splitlines())
INDEX_NAMES = sorted(line.split()[5] for line in (INDEXES + MEMBER_INDEXES).strip().splitlines() if line)
TRIGGER_NAMES = sorted(line.split()[5] for line in (TRIGGERS + MEMBER_TRIGGERS).splitlines()
                       if line.startswith("CREATE TRIGGER"))
TABLES = ["archive_ends", "dirty", "dirty_items", "dirty_pages", "feed_sizes", "feeds", "folders", "members", "meta",
          "names",
          "outputs", "refs", "seeds", "stories", "story_topics", "subscriptions", "tombstones"]


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def article(url: str, hours: float, provider: str = "news.org", name: str | None = "News", title: str = "A title",
            updated: float | None = None) -> Article:
    return Article(url=url, title=title, excerpt=None, published=at(hours),
                   updated=None if updated is None else at(updated), provider=Provider(provider, name), image=None)


def story(url: str, hours: float, provider: str = "example.com", name: str | None = "Example",
          topics: tuple[tuple[str, str], ...] = (("ai", "AI"),), related: tuple[Article, ...] = (),
          flag: bool | None = None, quality: int | None = None, title: str = "A story",
          updated: float | None = None) -> Story:
    return Story(article=article(url, hours, provider, name, title, updated),
                 topics=tuple(Topic(slug, topic) for slug, topic in topics), related=related,
                 body_html=None, published_flag=flag, quality=quality)


def put_seed(store: Store, path: str, s: Story, digest: str | None = None) -> None:
    store.put_good_seed(path, 100, 1_000, digest or f"d:{path}", s.url, seed_rank(s), pack_story(s), ["w"])


def add(store: Store, path: str, s: Story) -> Refreshed:
    """A good seed stored and its story re-derived, as a publish does (the feeds it touched;
    the items, `test_refresh_story_reports_the_items_of_the_old_and_the_new_version`)."""
    with store.transaction():
        put_seed(store, path, s)
        return feeds_touched(store.refresh_story(s.url))


def remove(store: Store, path: str, url: str) -> Refreshed:
    with store.transaction():
        store.delete_seed(path)
        return feeds_touched(store.refresh_story(url))


def feeds_touched(refreshed: Refreshed) -> Refreshed:
    return refreshed._replace(items=frozenset())


def ids(items: list[Head] | list[FeedItem]) -> list[str]:
    return [item.id for item in items]


def u(name: str) -> str:
    return f"https://example.com/{name}"


def master(store: Store, kind: str) -> list[str]:
    return sorted(name for (name,) in store.db.execute(
        "SELECT name FROM sqlite_master WHERE type=? AND name NOT LIKE 'sqlite_%'", (kind,)))


def names_table(store: Store) -> list[tuple[str, str, str, int]]:
    return sorted(store.db.execute("SELECT kind, slug, name, n FROM names WHERE n > 0"))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "state.sqlite"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    opened = Store(path)
    yield opened
    opened.close()


# --- opening ---------------------------------------------------------------------------------


def test_a_new_store_has_every_table_index_and_trigger(store: Store, path: Path) -> None:
    assert path.is_file()
    assert master(store, "table") == TABLES
    assert set(INDEX_NAMES) <= set(master(store, "index"))
    assert master(store, "trigger") == TRIGGER_NAMES
    assert store.get_meta(Meta.SCHEMA) == SCHEMA_VERSION
    assert store.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert (store.seed_count(), store.has_seeds(), store.feed_rows(), store.dirty()) == (0, False, {}, {})


def test_reopening_keeps_the_data(path: Path) -> None:
    first = Store(path)
    add(first, "a.md", story(u("a"), 1))
    with first.transaction():
        first.set_meta(Meta.RENDERED_AT, "123")
        first.mark_dirty([AI], force=True)
    first.close()
    again = Store(path)
    try:
        assert again.seed_rows(["a.md"]) == {"a.md": SeedRow("d:a.md", u("a"))}
        assert again.get_meta(Meta.RENDERED_AT) == "123"
        assert again.dirty() == {AI: True}
        assert ids(again.feed_heads(ALL, EVERY, 10)) == [item_id(u("a"))]
        assert again.provider_name("example.com") == "Example"
    finally:
        again.close()


def test_an_older_schema_is_dropped_and_rebuilt(path: Path) -> None:
    first = Store(path)
    add(first, "a.md", story(u("a"), 1))
    subscription = Subscription("https://reader.example/cb", "https://feeds.example/all.atom.xml", None, 99)
    with first.transaction():
        first.put_subscription(subscription)
    first.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value='1' WHERE key='schema'")
    db.close()
    again = Store(path)
    try:
        assert again.get_meta(Meta.SCHEMA) == SCHEMA_VERSION
        assert (again.seed_count(), again.feed_heads(ALL, EVERY, 10)) == (0, [])
        assert again.provider_name("example.com") == "example.com"
        assert master(again, "table") == TABLES
        assert set(INDEX_NAMES) <= set(master(again, "index"))
        assert master(again, "trigger") == TRIGGER_NAMES
        assert again.subscriptions() == [subscription]  # the seeds could not give it back
        add(again, "b.md", story(u("b"), 2, name="Example B"))  # and it works as new
        assert again.provider_name("example.com") == "Example B"
    finally:
        again.close()


def test_meta_keys_are_set_read_replaced_and_deleted(store: Store) -> None:
    assert store.get_meta(Meta.RENDER_ALL) is None
    store.set_meta(Meta.RENDER_ALL, "1")
    store.set_meta(Meta.OUTPUT_DIGEST, "x")
    store.set_meta(Meta.OUTPUT_DIGEST, "y")
    assert (store.get_meta(Meta.RENDER_ALL), store.get_meta(Meta.OUTPUT_DIGEST)) == ("1", "y")
    store.delete_meta(Meta.RENDER_ALL)
    store.delete_meta(Meta.PARSE_DIGEST)  # absent: nothing happens
    assert (store.get_meta(Meta.RENDER_ALL), store.get_meta(Meta.OUTPUT_DIGEST)) == (None, "y")
    assert dict(store.db.execute("SELECT key, value FROM meta")) == {"schema": SCHEMA_VERSION, "output_digest": "y"}


def test_a_transaction_commits_or_rolls_back_on_an_exception(store: Store) -> None:
    with store.transaction():
        store.set_meta(Meta.RENDERED_AT, "1")
    with pytest.raises(KeyError), store.transaction():
        store.set_meta(Meta.RENDERED_AT, "2")
        put_seed(store, "a.md", story(u("a"), 1))
        store.mark_dirty([ALL])
        raise KeyError("boom")
    assert (store.get_meta(Meta.RENDERED_AT), store.seed_count(), store.dirty()) == ("1", 0, {})
    assert not store.db.in_transaction
    with store.transaction():  # usable again
        store.mark_dirty([ALL])
    assert store.dirty() == {ALL: False}


# --- seeds -------------------------------------------------------------------------------------


def test_a_seed_gone_bad_keeps_its_last_good_story(store: Store) -> None:
    good = story(u("a"), 1, title="Good")
    add(store, "a.md", good)
    with store.transaction():
        store.put_bad_seed("a.md", 7, 2_000, "d:bad", "a.md: title: expected text")
        store.put_bad_seed("new.md", 3, 3_000, "d:new", "new.md: no front matter")
    assert store.seed_problems() == [SeedProblem("a.md", "a.md: title: expected text", True),
                                     SeedProblem("new.md", "new.md: no front matter", False)]
    assert store.seed_rows(["a.md", "new.md"]) == {"a.md": SeedRow("d:bad", u("a")), "new.md": SeedRow("d:new", None)}
    assert store.seed_stats([""]) == {"a.md": (7, 2_000), "new.md": (3, 3_000)}
    assert feeds_touched(store.refresh_story(u("a"))) == Refreshed(True, True, frozenset({ALL, EX, AI}))
    assert [item.article.title for item in store.feed_items(ALL, EVERY, 10)] == ["Good"]
    assert store.duplicates(u("a")) == ["a.md"]
    assert store.duplicates("") == []
    with store.transaction():  # fixed: the problem goes
        put_seed(store, "a.md", story(u("a"), 1, title="Fixed"))
        store.refresh_story(u("a"))
    assert store.seed_problems() == [SeedProblem("new.md", "new.md: no front matter", False)]
    assert [item.article.title for item in store.feed_items(ALL, EVERY, 10)] == ["Fixed"]


def test_touch_changes_the_stat_only(store: Store) -> None:
    add(store, "x/a.md", story(u("a"), 1))
    with store.transaction():
        store.touch_seed("x/a.md", 101, 5_000)
        store.touch_seed("x/unknown.md", 1, 1)  # unknown: nothing happens
    assert store.seed_stats(["x/"]) == {"x/a.md": (101, 5_000)}
    assert store.seed_rows(["x/a.md", "x/unknown.md"]) == {"x/a.md": SeedRow("d:x/a.md", u("a"))}
    assert store.seed_count() == 1


def test_delete_seed_forgets_it_and_refresh_removes_its_story(store: Store) -> None:
    add(store, "a.md", story(u("a"), 1))
    add(store, "b.md", story(u("b"), 2))
    assert remove(store, "a.md", u("a")) == Refreshed(True, False, frozenset({ALL, EX, AI}))
    assert store.seed_rows(["a.md", "b.md"]) == {"b.md": SeedRow("d:b.md", u("b"))}
    assert ids(store.feed_heads(ALL, EVERY, 10)) == [item_id(u("b"))]
    with store.transaction():
        store.delete_seed("missing.md")
    assert store.seed_count() == 1


def test_seed_stats_folders_and_counts(store: Store) -> None:
    for n, path in enumerate(["a.md", "x/b.md", "x/c.txt", "x/y/d.md"]):
        with store.transaction():
            put_seed(store, path, story(u(str(n)), n))
            store.touch_seed(path, n, n * 10)
    assert store.seed_stats([""]) == {"a.md": (0, 0)}
    assert store.seed_stats(["x/"]) == {"x/b.md": (1, 10), "x/c.txt": (2, 20)}
    assert store.seed_stats(["x/y/", "z/"]) == {"x/y/d.md": (3, 30)}
    assert store.seed_stats([]) == {}
    assert store.seed_folders() == {"", "x/", "x/y/"}
    assert (store.seed_count(), store.has_seeds()) == (4, True)


def test_seed_rows_finds_the_known_ones_among_many(store: Store) -> None:
    add(store, "a.md", story(u("a"), 1))
    add(store, "z.md", story(u("z"), 1))
    asked = [f"n{i}.md" for i in range(1_200)]
    asked[3], asked[700] = "a.md", "z.md"  # in two different chunks
    assert store.seed_rows(asked) == {"a.md": SeedRow("d:a.md", u("a")), "z.md": SeedRow("d:z.md", u("z"))}
    assert store.seed_rows([]) == {}


def test_duplicates_are_ordered_by_rank_then_path(store: Store) -> None:
    url = u("same")
    with store.transaction():
        put_seed(store, "c.md", story(url, 1, updated=5))
        put_seed(store, "b.md", story(url, 1, updated=9))  # the most recently updated
        put_seed(store, "a.md", story(url, 1, updated=5))
        put_seed(store, "d.md", story(url, 3))  # published 3, never updated: older than 5
        store.put_bad_seed("e.md", 1, 1, "d:e", "broken")
        put_seed(store, "other.md", story(u("other"), 1))
    assert store.duplicates(url) == ["b.md", "a.md", "c.md", "d.md"]
    assert feeds_touched(store.refresh_story(url)) == Refreshed(False, True, frozenset({ALL, EX, AI}))
    assert store.db.execute("SELECT path FROM stories WHERE url=?", (url,)).fetchall() == [("b.md",)]


def test_folder_digests_are_recorded_and_forgotten(store: Store) -> None:
    store.set_folder_digests({"": "d0", "x/": "d1"})
    store.set_folder_digests({"x/": None, "y/": "d2", "gone/": None})
    assert store.folder_digests() == {"": "d0", "y/": "d2"}


# --- stories -----------------------------------------------------------------------------------


def test_refresh_story_reports_the_feeds_of_the_old_and_the_new_version(store: Store) -> None:
    cited = article("https://news.org/n", 0, "news.org", "News")
    first = story(u("a"), 1, topics=(("ai", "AI"),), related=(cited,))
    assert add(store, "a.md", first) == Refreshed(False, True, frozenset({ALL, EX, AI, NEWS}))
    second = story(u("a"), 1, provider="wire.net", name="Wire", topics=(("biz", "Business"),))
    assert add(store, "a.md", second) == Refreshed(True, True, frozenset({ALL, EX, AI, NEWS, WIRE, BIZ}))
    assert add(store, "a.md", second) == Refreshed(True, True, frozenset({ALL, WIRE, BIZ}))
    assert remove(store, "a.md", u("a")) == Refreshed(True, False, frozenset({ALL, WIRE, BIZ}))
    assert feeds_touched(store.refresh_story(u("never"))) == Refreshed(False, False, frozenset())


def test_refresh_story_without_tracking_reports_no_feeds(store: Store) -> None:
    with store.transaction():
        put_seed(store, "a.md", story(u("a"), 1))
        assert feeds_touched(store.refresh_story(u("a"), track=False)) == Refreshed(False, True, frozenset())
    assert ids(store.feed_heads(ALL, EVERY, 10)) == [item_id(u("a"))]


def test_a_seed_moving_to_another_url_leaves_the_old_story_to_its_refresh(store: Store) -> None:
    add(store, "a.md", story(u("a"), 1))
    assert add(store, "a.md", story(u("b"), 1, provider="wire.net")) == Refreshed(False, True,
                                                                                 frozenset({ALL, WIRE, AI}))
    with store.transaction():
        assert feeds_touched(store.refresh_story(u("a"))) == Refreshed(True, False, frozenset({ALL, EX, AI}))
    assert ids(store.feed_heads(ALL, EVERY, 10)) == [item_id(u("b"))]


def test_a_stored_story_comes_back_whole_from_bytes_that_never_vary() -> None:
    """The stored form: compressed JSON with sorted keys, so the same story always gives
    the same bytes (their digest says whether a feed changed)."""
    body = "".join(f"<p>Paragraph {n}: Zürich, 東京 &amp; the rest of the story.</p>" for n in range(60))
    image = Image("https://example.com/i.jpg", 640, 480)
    s = Story(article=Article("https://example.com/a", "Ünïcode", "An excerpt", at(1), at(2),
                              Provider("example.com", "Example"), image),
              topics=(Topic("ai", "AI"), Topic("biz", "Biz")),
              related=(article("https://news.org/n", 0), article("https://wire.net/w", 3, "wire.net", None)),
              body_html=body, published_flag=True, quality=7)
    packed = pack_story(s)
    assert unpack_story(packed) == s
    assert pack_story(unpack_story(packed)) == packed
    assert len(packed) < len(body) / 3  # most of a story is its body, which compresses well


def test_a_story_derived_again_keeps_its_row_and_so_its_members(store: Store) -> None:
    add(store, "a.md", story(u("a"), 1, related=(article("https://news.org/n", 0),)))
    add(store, "b.md", story(u("b"), 2))
    with store.transaction():
        cold(store, 0)
    sids = dict(store.db.execute("SELECT url, sid FROM stories"))
    add(store, "a.md", story(u("a"), 1, title="A story, corrected", related=(article("https://news.org/n", 0),)))
    assert dict(store.db.execute("SELECT url, sid FROM stories")) == sids
    ids = {item_id(u("a")), item_id("https://news.org/n")}
    with store.transaction():
        assert store.update_members(EVERY, ids, NOW) == (set(), {(ALL, 0), (AI, 0), (EX, 0), (NEWS, 0)})


def test_insert_story_refuses_a_url_already_stored(store: Store) -> None:
    s = story(u("a"), 1)
    packed = pack_story(s)
    with store.transaction():
        put_seed(store, "a.md", s)
        assert store.insert_story("a.md", story_rows(s, packed)) is True
        assert store.insert_story("b.md", story_rows(s, packed)) is False
    assert store.db.execute("SELECT path FROM stories").fetchall() == [("a.md",)]
    assert store.count_stories(EVERY) == (1, 0)


def test_feeds_of_stories_include_where_they_are_cited(store: Store) -> None:
    # b cites a (on news.org, as its seed says) and wire.net's w; nothing stores w as a story
    add(store, "a.md", story(u("a"), 1, topics=()))
    cites = (article(u("a"), 1, "news.org", "News"), article("https://wire.net/w", 1, "wire.net", "Wire"))
    add(store, "b.md", story(u("b"), 2, topics=(("biz", "Biz"),), related=cites))
    assert store.feeds_of_stories([u("a")]) == {ALL, EX, NEWS}
    assert store.feeds_of_stories([u("b")]) == {ALL, EX, BIZ, NEWS, WIRE}
    assert store.feeds_of_stories(["https://wire.net/w"]) == {WIRE}
    assert store.feeds_of_stories([u("nothing")]) == set()
    assert store.feeds_of_stories([]) == set()
    assert store.stories_naming("provider", "wire.net") == {u("b")}
    assert store.stories_naming("provider", "example.com") == {u("a"), u("b")}
    assert store.stories_naming("topic", "biz") == {u("b")}
    assert store.names_of_stories([u("b")]) == {("provider", "example.com"), ("provider", "news.org"),
                                                ("provider", "wire.net"), ("topic", "biz")}
    assert store.names_of_stories([u("a"), u("nothing")]) == {("provider", "example.com")}


def test_display_names_go_by_votes_then_alphabet_and_follow_deletes(store: Store) -> None:
    add(store, "1.md", story(u("1"), 1, name="Example", topics=(("ai", "AI"),)))
    add(store, "2.md", story(u("2"), 1, name="Example", topics=(("ai", "Ai"),)))
    cites = (article("https://x.org/1", 1, "example.com", "Example Inc"),
             article("https://x.org/2", 1, "example.com", "Example Inc"),
             article("https://x.org/3", 1, "example.com", "Example Inc"))
    add(store, "3.md", story(u("3"), 1, name=None, topics=(("ai", "A.I."),), related=cites))
    assert store.provider_name("example.com") == "Example Inc"  # cited names count too
    assert store.topic_name("ai") == "A.I."  # a tie of three: alphabetical
    assert (store.display_name("provider", "example.com"), store.display_name("topic", "ai")) == ("Example Inc",
                                                                                                  "A.I.")
    remove(store, "3.md", u("3"))
    assert store.provider_name("example.com") == "Example"
    assert store.topic_name("ai") == "AI"  # "AI" < "Ai"
    add(store, "2.md", story(u("2"), 1, name="Ex", topics=(("ai", "Ai"),)))  # 1 and 1: alphabetical
    assert store.provider_name("example.com") == "Ex"
    remove(store, "1.md", u("1"))
    remove(store, "2.md", u("2"))
    assert (store.provider_name("example.com"), store.topic_name("ai")) == ("example.com", "ai")
    assert store.provider_name("unknown.org") == "unknown.org"
    assert names_table(store) == []


# --- feeds -------------------------------------------------------------------------------------


def test_feed_items_are_newest_first_ties_by_id_at_most_limit(store: Store) -> None:
    urls = [u(f"s{n}") for n in range(5)]
    hours = [1, 3, 3, 3, 2]
    stories = [story(url, h, title=f"S{n}") for n, (url, h) in enumerate(zip(urls, hours, strict=True))]
    for n, s in enumerate(stories):
        add(store, f"{n}.md", s)
    tied = sorted(item_id(url) for url in urls[1:4])
    expected = [*tied, item_id(urls[4]), item_id(urls[0])]
    digests = {id_text(i): d for i, d in store.db.execute("SELECT id, digest FROM stories")}
    for key in (ALL, EX, AI):
        assert store.feed_heads(key, EVERY, 10) == [Head(i, digests[i]) for i in expected]
        assert ids(store.feed_heads(key, EVERY, 4)) == expected[:4]
        assert ids(store.feed_items(key, EVERY, 2)) == expected[:2]
    by_id = {s.id: s for s in stories}
    assert store.feed_items(ALL, EVERY, 10) == [FeedItem(i, by_id[i], by_id[i].article) for i in expected]
    assert digests[stories[0].id] == story_rows(stories[0], pack_story(stories[0])).digest
    assert store.feed_heads(BIZ, EVERY, 10) == []
    assert store.feed_items(NEWS, EVERY, 10) == []


@pytest.mark.parametrize(("filters", "expected"), [
    (EVERY, ["plain", "flagged", "good", "unflagged", "poor"]),
    (Filters(True, None, NOW), ["flagged", "good"]),
    (Filters(False, 5, NOW), ["flagged", "good", "unflagged"]),
    (Filters(True, 5, NOW), ["flagged", "good"]),
    (Filters(False, None, epoch(at(3))), ["good", "unflagged", "poor"]),
    (Filters(False, None, epoch(at(3)) - 1), ["unflagged", "poor"]),
    (Filters(False, None, epoch(at(0))), []),
], ids=["everything", "only-published", "min-quality", "both", "now-at-a-story", "now-just-before", "now-before-all"])
def test_filters_choose_the_stories(store: Store, filters: Filters, expected: list[str]) -> None:
    for name, hours, flag, quality in [("plain", 5, None, None), ("flagged", 4, True, 6), ("good", 3, True, 9),
                                       ("unflagged", 2, False, 7), ("poor", 1, None, 1)]:
        add(store, f"{name}.md", story(u(name), hours, flag=flag, quality=quality, title=name))
    for key in (ALL, EX, AI):
        assert [item.article.title for item in store.feed_items(key, filters, 10)] == expected
    assert store.all_feed_keys(filters) == ([ALL, AI, EX] if expected else [])
    held = sum(h * 3600 + epoch(T0) > filters.now for h in (5, 4, 3, 2, 1))
    assert store.count_stories(filters) == (len(expected), held)


def test_a_provider_feed_holds_articles_it_has_only_as_related_coverage(store: Store) -> None:
    cited = "https://news.org/cited"
    # Two stories cite the same news.org article, each with its own title for it.
    add(store, "b.md", story(u("b"), 5, related=(article(cited, 2, title="As b cites it"),)))
    add(store, "a.md", story(u("a"), 4, related=(article(cited, 2, title="As a cites it"),
                                                  article("https://news.org/late", 300, title="Late"))))
    add(store, "c.md", story(u("c"), 1, provider="news.org", name="News", title="Own story"))
    items = store.feed_items(NEWS, EVERY, 10)
    assert [(i.id, i.story is None, i.article.title) for i in items] == [
        (item_id(cited), True, "As a cites it"),  # once, as the first citing story (by URL) gives it
        (item_id(u("c")), False, "Own story"),
    ]
    digests = dict(store.db.execute("SELECT url, digest FROM stories"))
    assert store.feed_heads(NEWS, EVERY, 10) == [Head(item_id(cited), digests[u("a")]),
                                                 Head(item_id(u("c")), digests[u("c")])]
    assert ids(store.feed_items(NEWS, EVERY, 1)) == [item_id(cited)]
    assert ids(store.feed_heads(ALL, EVERY, 10)) == [item_id(u("b")), item_id(u("a")), item_id(u("c"))]
    # The first citer held back: the next one gives the article.
    held_a = Filters(False, None, epoch(at(4)) - 1)
    assert [i.article.title for i in store.feed_items(NEWS, held_a, 10)] == ["Own story"]
    assert [i.article.title for i in store.feed_items(NEWS, Filters(False, None, epoch(at(5))), 10)] == [
        "As a cites it", "Own story"]
    remove(store, "a.md", u("a"))
    assert [(i.id, i.article.title) for i in store.feed_items(NEWS, EVERY, 10)] == [
        (item_id(cited), "As b cites it"), (item_id(u("c")), "Own story")]
    # The cited article's own date holds it back too; at its time it is released.
    add(store, "d.md", story(u("d"), 6, related=(article("https://news.org/late", 300, title="Late"),)))
    assert "Late" not in [i.article.title for i in store.feed_items(NEWS, EVERY, 10)]
    assert [i.article.title for i in store.feed_items(NEWS, Filters(False, None, epoch(at(300))), 10)] == [
        "Late", "As b cites it", "Own story"]


def test_a_story_supersedes_the_same_url_cited_as_related_coverage(store: Store) -> None:
    own = "https://news.org/own"
    add(store, "a.md", story(u("a"), 5, related=(article(own, 2, title="As cited"),)))
    assert [(i.story is None, i.article.title) for i in store.feed_items(NEWS, EVERY, 10)] == [(True, "As cited")]
    add(store, "own.md", story(own, 2, provider="news.org", name="News", title="Its own story"))
    items = store.feed_items(NEWS, EVERY, 10)
    assert [(i.id, i.story is None, i.article.title) for i in items] == [(item_id(own), False, "Its own story")]
    assert store.feeds_of_stories([own]) == {ALL, NEWS, AI}


def test_all_feed_keys_lists_all_then_topics_then_providers_with_items(store: Store) -> None:
    assert store.all_feed_keys(EVERY) == []
    add(store, "a.md", story(u("a"), 1, topics=(("biz", "Biz"), ("ai", "AI")),
                             related=(article("https://wire.net/w", 2, "wire.net", "Wire"),
                                      article("https://news.org/n", 300, "news.org", "News"))))
    assert store.all_feed_keys(EVERY) == [ALL, AI, BIZ, EX, WIRE]
    assert store.all_feed_keys(Filters(False, None, epoch(at(300)))) == [ALL, AI, BIZ, EX, NEWS, WIRE]
    assert store.all_feed_keys(Filters(True, None, NOW)) == []
    for key in (ALL, AI, BIZ, EX, WIRE):
        assert store.feed_heads(key, EVERY, 10) != []


def superseded_elsewhere(store: Store) -> None:
    """b cites a's URL but says it is on wire.net; the story a is example.com's."""
    add(store, "a.md", story(u("a"), 1))
    add(store, "b.md", story(u("b"), 2, related=(article(u("a"), 1, "wire.net", "Wire"),)))


def first_citer_dates_it_later(store: Store) -> None:
    """Two stories cite wire.net's z: the first by URL dates it in the future, the other in the past."""
    add(store, "a.md", story(u("a"), 5, related=(article("https://wire.net/z", 300, "wire.net", "Wire"),)))
    add(store, "b.md", story(u("b"), 5, related=(article("https://wire.net/z", 1, "wire.net", "Wire"),)))


@pytest.mark.parametrize("build", [
    pytest.param(superseded_elsewhere, marks=pytest.mark.xfail(
        strict=True, reason="all_feed_keys probes cheaply and lists wire.net as having items (its citation passes "
        "the probe, although the article is stored as a story of another provider), while feed_heads(wire.net) is "
        "empty; harmless: a feed with no heads has its files removed")),
    first_citer_dates_it_later,
])
def test_all_feed_keys_agrees_with_feed_heads(store: Store, build: Callable[[Store], None]) -> None:
    build(store)
    with_items = {key for key in (ALL, AI, EX, WIRE) if store.feed_heads(key, EVERY, 10)}
    assert set(store.all_feed_keys(EVERY)) == with_items


def test_a_cited_article_is_shown_while_any_released_citation_has_it(store: Store) -> None:
    first_citer_dates_it_later(store)
    digest_b = store.db.execute("SELECT digest FROM stories WHERE url=?", (u("b"),)).fetchone()[0]
    assert store.feed_heads(WIRE, EVERY, 10) == [Head(item_id("https://wire.net/z"), digest_b)]


def test_count_stories_counts_live_and_held_back(store: Store) -> None:
    assert store.count_stories(EVERY) == (0, 0)
    for n, hours in enumerate([1, 2, 300, 400]):
        add(store, f"{n}.md", story(u(str(n)), hours))
    assert store.count_stories(EVERY) == (2, 2)
    assert store.count_stories(Filters(False, None, epoch(at(300)))) == (3, 1)
    assert store.count_stories(Filters(True, None, NOW)) == (0, 2)


def test_next_release_and_released_between(store: Store) -> None:
    add(store, "a.md", story(u("a"), 1))
    add(store, "b.md", story(u("b"), 300, provider="wire.net", topics=(("biz", "Biz"),)))
    add(store, "c.md", story(u("c"), 2, topics=(), related=(article("https://news.org/n", 250),)))
    assert store.next_release(NOW) == epoch(at(250))
    assert store.next_release(epoch(at(250))) == epoch(at(300))
    assert store.next_release(epoch(at(300))) is None
    assert store.next_release(0) == epoch(at(1))
    assert store.released_between(NOW, epoch(at(250))) == {NEWS}
    assert store.released_between(epoch(at(250)), epoch(at(300))) == {ALL, WIRE, BIZ}
    assert store.released_between(NOW, epoch(at(300))) == {ALL, WIRE, BIZ, NEWS}
    assert store.released_between(epoch(at(300)), epoch(at(999))) == set()
    assert store.released_between(epoch(at(1)), epoch(at(2))) == {ALL, EX, NEWS}  # c, with where it cites


def test_dirty_marks_upgrade_to_forced_and_never_downgrade(store: Store) -> None:
    store.mark_dirty([ALL, AI])
    store.mark_dirty([AI, EX], force=True)
    store.mark_dirty([AI, EX, BIZ])
    store.mark_dirty([])
    assert store.dirty() == {ALL: False, AI: True, EX: True, BIZ: False}
    store.clear_dirty([AI, ALL, NEWS])
    assert store.dirty() == {EX: True, BIZ: False}
    store.mark_dirty([AI])
    assert store.dirty() == {EX: True, BIZ: False, AI: False}


def test_feed_rows_are_recorded_replaced_and_forgotten(store: Store) -> None:
    store.set_feed_rows({ALL: FeedRow("All", "d1"), AI: FeedRow("AI", "d2")})
    store.set_feed_rows({AI: FeedRow("A.I.", "d3"), EX: None, ALL: None})
    store.set_feed_rows({})
    assert store.feed_rows() == {AI: FeedRow("A.I.", "d3")}


def test_outputs_are_recorded_replaced_and_forgotten(store: Store) -> None:
    store.set_output("all.rss.xml", 10, 100)
    store.set_output("index.html", 20, 200)
    store.set_output("all.rss.xml", 11, 110)
    store.delete_output("index.html")
    store.delete_output("never.xml")
    assert store.outputs() == {"all.rss.xml": (11, 110)}


# --- bulk load ---------------------------------------------------------------------------------


def corpus() -> list[tuple[str, Story]]:
    """Stories whose names need counting: several spellings, some cited, one unnamed."""
    return [
        ("a.md", story(u("a"), 1, name="Example", topics=(("ai", "AI"),),
                       related=(article("https://news.org/1", 1, name="News Org"),
                                article("https://news.org/2", 1, name="News"),
                                article("https://wire.net/1", 1, "wire.net", None)))),
        ("b.md", story(u("b"), 2, name="Example Inc", topics=(("ai", "A.I."), ("biz", "Biz")),
                       related=(article("https://news.org/1", 1, name="News Org"),))),
        ("c.md", story(u("c"), 3, name="Example Inc", topics=(("ai", "A.I."),))),
        ("d.md", story("https://news.org/d", 4, "news.org", "News", topics=(("biz", "Business"),))),
    ]


def test_a_bulk_load_ends_with_the_indexes_triggers_and_names_a_normal_load_has(tmp_path: Path) -> None:
    normal = Store(tmp_path / "normal.sqlite")
    bulk = Store(tmp_path / "bulk.sqlite")
    try:
        for path, s in corpus():
            add(normal, path, s)
        with bulk.bulk_load():
            assert bulk.get_meta(Meta.BULK_LOAD) == "1"
            assert set(STORY_INDEX_NAMES) & set(master(bulk, "index")) == set()
            assert master(bulk, "trigger") == ["members_size_add", "members_size_del"]  # the members' stay
            for path, s in corpus():
                with bulk.transaction():
                    put_seed(bulk, path, s)
                    assert bulk.insert_story(path, story_rows(s, pack_story(s))) is True
            assert ids(bulk.feed_heads(ALL, EVERY, 10)) == ids(normal.feed_heads(ALL, EVERY, 10))
        assert bulk.get_meta(Meta.BULK_LOAD) is None
        assert set(INDEX_NAMES) <= set(master(bulk, "index"))
        assert master(bulk, "trigger") == TRIGGER_NAMES
        assert names_table(bulk) == names_table(normal)
        for domain in ("example.com", "news.org", "wire.net"):
            assert bulk.provider_name(domain) == normal.provider_name(domain)
        assert [bulk.provider_name(d) for d in ("example.com", "news.org", "wire.net")] == [
            "Example Inc", "News", "wire.net"]
        assert [bulk.topic_name(t) for t in ("ai", "biz")] == ["A.I.", "Biz"]
        for key in (ALL, AI, BIZ, EX, NEWS, WIRE):
            assert bulk.feed_heads(key, EVERY, 10) == normal.feed_heads(key, EVERY, 10)
        assert bulk.all_feed_keys(EVERY) == normal.all_feed_keys(EVERY)
        remove(bulk, "b.md", u("b"))  # the triggers count again
        remove(normal, "b.md", u("b"))
        assert names_table(bulk) == names_table(normal)
        assert bulk.provider_name("news.org") == "News"
    finally:
        normal.close()
        bulk.close()


def test_a_bulk_load_interrupted_by_an_exception_leaves_a_consistent_store(store: Store) -> None:
    (pa, a), (pb, b), *_ = corpus()
    with pytest.raises(RuntimeError), store.bulk_load():
        with store.transaction():
            put_seed(store, pa, a)
            store.insert_story(pa, story_rows(a, pack_story(a)))
        with store.transaction():
            put_seed(store, pb, b)
            store.insert_story(pb, story_rows(b, pack_story(b)))
            raise RuntimeError("killed mid-batch")
    assert store.get_meta(Meta.BULK_LOAD) is None
    assert set(INDEX_NAMES) <= set(master(store, "index"))
    assert master(store, "trigger") == TRIGGER_NAMES
    assert store.seed_count() == 1
    assert ids(store.feed_heads(ALL, EVERY, 10)) == [a.id]
    assert names_table(store) == [("provider", "example.com", "Example", 1), ("provider", "news.org", "News", 1),
                                  ("provider", "news.org", "News Org", 1), ("topic", "ai", "AI", 1)]
    add(store, pb, b)  # and it goes on as normal
    assert (store.provider_name("news.org"), store.topic_name("ai")) == ("News Org", "A.I.")


def test_a_killed_bulk_load_is_finished_when_the_store_opens_again(path: Path) -> None:
    first = Store(path)
    (pa, a), (pb, b), *_ = corpus()
    # What a bulk load killed before its end leaves: its mark, no indexes, no triggers, names not counted.
    first.set_meta(Meta.BULK_LOAD, "1")
    for name in INDEX_NAMES:
        first.db.execute(f"DROP INDEX {name}")
    for name in TRIGGER_NAMES:
        first.db.execute(f"DROP TRIGGER {name}")
    for p, s in ((pa, a), (pb, b)):
        with first.transaction():
            put_seed(first, p, s)
            first.insert_story(p, story_rows(s, pack_story(s)))
    assert names_table(first) == []
    first.close()
    again = Store(path)
    try:
        assert again.get_meta(Meta.BULK_LOAD) is None
        assert set(INDEX_NAMES) <= set(master(again, "index"))
        assert master(again, "trigger") == TRIGGER_NAMES
        assert (again.provider_name("news.org"), again.topic_name("ai")) == ("News Org", "A.I.")
        assert (again.provider_name("example.com"), again.provider_name("wire.net")) == ("Example", "wire.net")
    finally:
        again.close()


def test_a_bulk_load_keeps_the_names_of_stories_stored_before_it(store: Store) -> None:
    add(store, "a.md", story(u("a"), 1, name="Example", topics=(("ai", "AI"),)))
    s = story("https://news.org/d", 4, "news.org", "News", topics=(("biz", "Business"),))
    with store.bulk_load(), store.transaction():
        put_seed(store, "d.md", s)
        store.insert_story("d.md", story_rows(s, pack_story(s)))
    assert (store.provider_name("example.com"), store.topic_name("ai")) == ("Example", "AI")


# --- readers, identity ---------------------------------------------------------------------------


def test_a_readonly_store_reads_beside_the_writer(store: Store, path: Path) -> None:
    add(store, "a.md", story(u("a"), 1))
    reader = Store(path, readonly=True)
    try:
        assert ids(reader.feed_heads(ALL, EVERY, 10)) == [item_id(u("a"))]
        assert reader.provider_name("example.com") == "Example"
        with store.transaction():  # the writer mid-transaction: the reader sees the last commit, unblocked
            put_seed(store, "b.md", story(u("b"), 2))
            store.refresh_story(u("b"))
            assert reader.seed_count() == 1
            assert ids(reader.feed_heads(ALL, EVERY, 10)) == [item_id(u("a"))]
        assert reader.seed_count() == 2
        assert ids(reader.feed_items(ALL, EVERY, 10)) == [item_id(u("b")), item_id(u("a"))]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.set_meta(Meta.RENDERED_AT, "1")
        assert reader.replaced() is False
    finally:
        reader.close()


def test_a_readonly_store_does_not_create_a_missing_state(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError):
        Store(tmp_path / "missing" / "state.sqlite", readonly=True)
    assert not (tmp_path / "missing").exists()


def test_replaced_is_false_until_the_file_is_deleted(store: Store, path: Path) -> None:
    assert store.replaced() is False
    add(store, "a.md", story(u("a"), 1))
    assert store.replaced() is False
    path.unlink()
    assert store.replaced() is True


def test_replaced_is_true_once_another_file_takes_its_place(store: Store, path: Path) -> None:
    other = Store(path.with_name("other.sqlite"))
    other.close()
    os.replace(path.with_name("other.sqlite"), path)
    assert store.replaced() is True
    again = Store(path)
    try:
        assert again.replaced() is False
    finally:
        again.close()


def test_identity_names_the_file_or_folder_now(tmp_path: Path) -> None:
    target = tmp_path / "f"
    assert identity(target) is None
    target.write_text("x")
    st = target.stat()
    assert identity(target) == (st.st_dev, st.st_ino)
    assert identity(tmp_path) == (tmp_path.stat().st_dev, tmp_path.stat().st_ino)
    target.unlink()
    target.write_text("y")
    assert identity(target) == (target.stat().st_dev, target.stat().st_ino)
    assert identity(tmp_path / "f" / "below") is None


# --- the Protocol ------------------------------------------------------------------------------


def use(state: StateStore) -> tuple[int, str | None]:
    """Anything a publish asks of the state, through the Protocol (mypy checks Store fits it)."""
    with state.transaction():
        state.mark_dirty([ALL])
    return state.seed_count(), state.get_meta(Meta.SCHEMA)


def test_store_is_a_state_store(store: Store) -> None:
    assert use(store) == (0, SCHEMA_VERSION)
    assert store.dirty() == {ALL: False}


# --- members, archive and tombstones -------------------------------------------------------------


def test_refresh_story_reports_the_items_of_the_old_and_the_new_version(store: Store) -> None:
    first = story(u("a"), 1, related=(article("https://news.org/n", 0),))
    with store.transaction():
        put_seed(store, "a.md", first)
        assert store.refresh_story(u("a")).items == {item_id(u("a")), item_id("https://news.org/n")}
        put_seed(store, "a.md", story(u("a"), 1, related=(article("https://wire.net/w", 0, "wire.net"),)))
        assert store.refresh_story(u("a")).items == {item_id(u("a")), item_id("https://news.org/n"),
                                                     item_id("https://wire.net/w")}


def cold(store: Store, newest: int) -> None:
    """The members of a first publish, its newest `newest` per feed without a seq."""
    layout = ColdLayout(store.members_by_feed(EVERY), newest)
    store.insert_members(layout.rows(), layout.ends)


def members_of(store: Store) -> set[tuple[str, str, str]]:
    return {(kind, slug, id_text(id_)) for kind, slug, id_ in store.db.execute("SELECT kind, slug, id FROM members")}


def test_replacing_the_members_at_once_gives_what_they_are_item_by_item(store: Store) -> None:
    shared = article("https://news.org/shared", 2)
    add(store, "a.md", story(u("a"), 1, related=(shared, article("https://wire.net/w", 3, "wire.net"))))
    add(store, "b.md", story(u("b"), 2, provider="news.org", topics=(("biz", "Biz"),), related=(shared,)))
    add(store, "c.md", story(u("c"), 500, related=(article(u("a"), 1, "example.com"),)))  # not released yet
    with store.transaction():
        cold(store, 10)
    everything = {item_id(x) for x in (u("a"), u("b"), u("c"), "https://news.org/shared", "https://wire.net/w")}
    assert members_of(store) == {(m.kind, m.slug, m.id) for m in store.members_now(EVERY, everything)}
    assert members_of(store) == {
        ("all", "", item_id(u("a"))), ("all", "", item_id(u("b"))),
        ("topic", "ai", item_id(u("a"))), ("topic", "biz", item_id(u("b"))),
        ("provider", "example.com", item_id(u("a"))), ("provider", "news.org", item_id(u("b"))),
        ("provider", "news.org", item_id("https://news.org/shared")),
        ("provider", "wire.net", item_id("https://wire.net/w")),
    }
    # The shared article's data comes from the first citing story by URL: a.
    sid_a = store.db.execute("SELECT sid FROM stories WHERE url=?", (u("a"),)).fetchone()[0]
    shared_id = id_key(item_id("https://news.org/shared"))
    assert store.db.execute("SELECT sid FROM members WHERE id=?", (shared_id,)).fetchone() \
        == (sid_a,)


def test_an_item_gone_from_a_feed_leaves_a_tombstone_and_its_archived_seq(store: Store) -> None:
    add(store, "a.md", story(u("a"), 1, related=(article("https://news.org/n", 0),)))
    with store.transaction():
        cold(store, 10)
        assert store.archive_members(ALL, set()) == [0]
    add(store, "a.md", story(u("a"), 1, topics=(("biz", "Biz"),)))
    ids = {item_id(u("a")), item_id("https://news.org/n")}
    with store.transaction():
        feeds, seqs = store.update_members(EVERY, ids, NOW + 5)
    assert feeds == {AI, BIZ, NEWS}
    assert seqs == {(ALL, 0)}
    assert store.tombstones(AI, 0, 10) == (Tombstone(item_id(u("a")), NOW + 5),)
    assert store.tombstones(NEWS, 0, 10) == (Tombstone(item_id("https://news.org/n"), NOW + 5),)
    assert store.tombstones(AI, NOW + 5, 10) == ()  # only those after `since`
    assert store.tombstones_expiring(NOW, NOW + 5) == {AI, NEWS}
    assert store.next_tombstone(NOW) == NOW + 5
    with store.transaction():
        store.forget_tombstones(NOW + 5)
    assert store.tombstones(AI, 0, 10) == ()


def test_members_are_archived_oldest_first_and_a_seq_is_never_given_twice(store: Store) -> None:
    for n in range(5):
        add(store, f"{n}.md", story(u(str(n)), n))
    with store.transaction():
        cold(store, 10)
        newest = {item_id(u("4")), item_id(u("3"))}
        assert store.archive_members(ALL, newest) == [0, 1, 2]
        assert store.archive_members(ALL, newest) == []
    assert store.archive_pages([ALL], 2) == {ALL: {1: 2, 2: 1}}
    order = [id_text(id_) for (id_,) in store.db.execute(
        "SELECT id FROM members WHERE kind='all' AND seq IS NOT NULL ORDER BY seq")]
    assert order[:3] == [item_id(u("0")), item_id(u("1")), item_id(u("2"))]
    remove(store, "2.md", u("2"))
    with store.transaction():
        store.update_members(EVERY, {item_id(u("2"))}, NOW)
        assert store.archive_members(ALL, set()) == [3, 4]  # after 2, which went: never reused
    with store.transaction():
        store.archive_all_members(0)  # nothing left to give a seq to
    assert store.archive_pages([ALL], 2) == {ALL: {1: 2, 2: 1, 3: 1}}
    assert store.archive_pages(None, 10) == {ALL: {1: 4}, AI: {1: 4}, EX: {1: 4}}


def test_archived_members_come_grouped_by_their_story_and_in_its_date_order(store: Store) -> None:
    add(store, "a.md", story(u("a"), 2, related=(article("https://news.org/n", 0),)))
    add(store, "b.md", story(u("b"), 1))
    with store.transaction():
        cold(store, 0)
    rows = list(store.archived([(ALL, 0, 10), (NEWS, 0, 10)]))
    sid_a, sid_b = (store.db.execute("SELECT sid FROM stories WHERE url=?", (url,)).fetchone()[0]
                    for url in (u("a"), u("b")))
    assert [sid for sid, *_ in rows] == [sid_b, sid_a, sid_a]  # b is the older story
    assert {(key, id_) for _, key, _, id_ in rows} == {
        (ALL, item_id(u("a"))), (ALL, item_id(u("b"))), (NEWS, item_id("https://news.org/n"))}
    assert [row[0] for row in store.archived([(ALL, 0, 10), (NEWS, 0, 10)], after=epoch(at(1)))] == [sid_a, sid_a]
    assert [row[0] for row in store.archived([(ALL, 0, 10)], until=epoch(at(1)))] == [sid_b]


def test_forgetting_the_history_empties_its_tables(store: Store) -> None:
    add(store, "a.md", story(u("a"), 1))
    with store.transaction():
        cold(store, 10)
        store.mark_dirty_items([item_id(u("x"))])
        store.mark_dirty_pages([(ALL, 1)])
        assert store.has_members() and store.dirty_items() == {item_id(u("x"))} and store.dirty_pages() == {(ALL, 1)}
        store.forget_history()
    assert not store.has_members() and store.dirty_items() == set() and store.dirty_pages() == set()


def test_merging_fresh_members_keeps_seqs_and_leaves_tombstones(store: Store) -> None:
    for n in range(4):
        add(store, f"{n}.md", story(u(str(n)), n))
    with store.transaction():
        cold(store, 1)
    before = dict(((kind, slug, id_text(id_)), seq) for kind, slug, id_, seq in store.db.execute(
        "SELECT kind, slug, id, seq FROM members"))
    remove(store, "1.md", u("1"))
    add(store, "9.md", story(u("9"), 9, topics=(("biz", "Biz"),)))
    with store.transaction():
        store.merge_members(((kind, slug, *m) for (kind, slug), found in store.members_by_feed(EVERY).items()
                             for m in found), NOW + 1, 1)
    after = dict(((kind, slug, id_text(id_)), seq) for kind, slug, id_, seq in store.db.execute(
        "SELECT kind, slug, id, seq FROM members"))
    kept = {k: v for k, v in before.items() if k in after and v is not None}
    assert kept and {k: after[k] for k in kept} == kept
    assert after[("all", "", item_id(u("3")))] == 3  # left the newest: the next seq of the feed, 1 is never reused
    assert store.tombstones(ALL, 0, 10) == (Tombstone(item_id(u("1")), NOW + 1),)
    ids = {item_id(u(n)) for n in "01239"}
    assert set(after) == {(m.kind, m.slug, m.id) for m in store.members_now(EVERY, ids)}


def test_a_second_writer_opens_only_the_same_state_and_creates_nothing(store: Store, path: Path) -> None:
    beside = Store(path, beside=identity(path))
    beside.set_meta(Meta.RENDERED_AT, "1")  # it writes, beside the first connection
    beside.close()
    assert store.get_meta(Meta.RENDERED_AT) == "1"
    store.close()
    path.rename(path.with_name("old.sqlite"))
    with pytest.raises(sqlite3.OperationalError):  # gone: not created again
        Store(path, beside=identity(path.with_name("old.sqlite")))
    assert not path.exists()
    Store(path).close()  # another state in its place
    with pytest.raises(sqlite3.OperationalError, match="replaced"):
        Store(path, beside=identity(path.with_name("old.sqlite")))


def test_subscriptions_are_added_renewed_and_removed(path: Path) -> None:
    store = Store(path)
    try:
        first = Subscription("https://a.example/cb", "https://feeds.example/all.rss.xml", "s3cret", 100)
        other = Subscription("https://a.example/cb", "https://feeds.example/all.json", None, 50)
        with store.transaction():
            store.put_subscription(first)
            store.put_subscription(other)
            store.put_subscription(first._replace(expires=200))  # a renewal: one row, the new lease
        assert store.subscriptions() == [other, first._replace(expires=200)]
        with store.transaction():
            store.delete_subscription(other.callback, other.topic)
        assert store.subscriptions() == [first._replace(expires=200)]
    finally:
        store.close()


def test_archive_pages_near_a_document_agree_with_counting_them_all(path: Path) -> None:
    store = Store(path)
    try:
        key = FeedKey("topic", "ai")
        seqs = [s for page in range(20) for s in range(page * 10, page * 10 + (page % 4) + 1) if page not in (13, 14)]
        rows = [("topic", "ai", f"id{s}", s, 1, s) for s in seqs] + [("topic", "ai", "newest", 999, 1, None)]
        with store.transaction():
            store.insert_members(sorted(rows), [("topic", "ai", 200)])
        everything = store.archive_pages([key], 10)[key]
        near = store.archive_pages_near({key: {13}, FeedKey("topic", "none"): {1}}, 10)
        assert set(everything) == set(range(1, 21)) - {14, 15}  # documents 14 and 15 hold nothing
        # 13, its neighbours 12 and 16, theirs 11 and 17; the newest 20, its neighbour 19, and 18.
        assert near == {key: {n: everything[n] for n in (11, 12, 13, 16, 17, 18, 19, 20)}}
        assert store.archive_pages_near({key: set()}, 10) == {key: {n: everything[n] for n in (18, 19, 20)}}
    finally:
        store.close()


def test_an_item_id_is_stored_as_sixteen_bytes_that_sort_as_its_text() -> None:
    ids = [item_id(f"https://news.org/{n}") for n in range(500)]
    keys = [id_key(i) for i in ids]
    assert {len(k) for k in keys} == {16} and [id_text(k) for k in keys] == ids
    assert [id_text(k) for k in sorted(keys)] == sorted(ids)  # a feed's ties, broken by id, keep their order
    for wrong in ("x", ids[0][:-2], ids[0] + "00", "urn:isbn:" + ids[0][9:], ids[0].replace("5", "g")):
        with pytest.raises(ValueError):
            id_key(wrong)


def test_a_story_read_for_one_feed_is_given_to_the_next_from_what_was_unpacked(store: Store) -> None:
    for n in range(3):
        add(store, f"{n}.md", story(u(str(n)), n))
    unpacked: dict[int, Story] = {}
    combined = store.feed_items(ALL, EVERY, 10, unpacked)
    assert len(unpacked) == 3
    again = store.feed_items(EX, EVERY, 10, unpacked)
    assert [item.story for item in again] == [item.story for item in combined]
    assert all(a.story is b.story for a, b in zip(again, combined, strict=True))  # not unpacked twice
    assert store.feed_items(EX, EVERY, 10) == again  # the same items without it
