"""The pure planner: which feeds are stale, which to render, which files to remove. Plain values, no I/O."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import pytest

from aggregator import model, render
from aggregator.formats import FORMATS, FeedInfo
from aggregator.model import FeedKey, FeedRow, Head
from aggregator.plan import Look, RenderPlan, Stale, heads_digest, plan, stale_feeds

ALL = FeedKey("all")
AI = FeedKey("topic", "ai")
BIZ = FeedKey("topic", "biz")
EX = FeedKey("provider", "example.com")
NEWS = FeedKey("provider", "news.org")

PAGES = set(render.PAGES)
HEADS = [Head("urn:uuid:1", "d1"), Head("urn:uuid:2", "d2")]


def look(dirty: Mapping[FeedKey, bool] | None = None, *, everything: bool = False,
         live_keys: Collection[FeedKey] = (), known: Mapping[FeedKey, FeedRow] | None = None,
         outputs: Collection[str] = frozenset(PAGES), released: Collection[FeedKey] = (),
         damaged: Collection[str] = ()) -> Look:
    return Look(dirty or {}, everything, live_keys, known or {}, outputs, released, damaged)


def info(key: FeedKey, title: str | None = None) -> FeedInfo:
    return FeedInfo(key, title or f"Site: {key.slug or 'all'}", "")


def row(key: FeedKey, heads: list[Head] = HEADS, title: str | None = None) -> FeedRow:
    return FeedRow(info(key, title).title, heads_digest(heads))


# --- stale_feeds ---------------------------------------------------------------------------


def test_everything_forces_every_dirty_live_known_and_output_feed_and_the_pages() -> None:
    stale = stale_feeds(look(
        {AI: False}, everything=True, live_keys=[ALL], known={EX: row(EX)},
        outputs={"topics/biz.atom.xml", "providers/news.org.rss.xml", "index.html", "feeds.opml"},
    ))
    assert stale == Stale({AI: True, ALL: True, EX: True, BIZ: True, NEWS: True}, pages=True)


def test_everything_on_an_empty_state_still_writes_the_pages() -> None:
    assert stale_feeds(look(everything=True, outputs=())) == Stale({}, pages=True)


@pytest.mark.parametrize(("given", "feeds", "pages"), [
    (look(), {}, False),
    (look({AI: True, BIZ: False}), {AI: True, BIZ: False}, False),
    (look({AI: True}, released=[EX, BIZ]), {AI: True, EX: False, BIZ: False}, False),
    (look({AI: True, BIZ: False}, released=[AI, BIZ]), {AI: True, BIZ: False}, False),
    (look({AI: False}, damaged=["topics/ai.rss.xml"]), {AI: True}, False),
    (look(damaged=["providers/example.com.atom.xml", "all.rss.xml"]), {EX: True, ALL: True}, False),
    (look(released=[EX], damaged=["providers/example.com.rss.xml"]), {EX: True}, False),
    (look(damaged=["index.html"]), {}, True),
    (look(damaged=["feeds.opml"]), {}, True),
    (look(outputs={"index.html"}), {}, True),
    (look(outputs={"feeds.opml", "all.rss.xml"}), {}, True),
    (look(outputs=()), {}, True),
    (look(live_keys=[ALL, AI], known={EX: FeedRow("t", "d")}), {}, False),
], ids=["nothing", "dirty-kept", "released-unforced", "released-never-downgrades", "damaged-forces-dirty",
        "damaged-forces", "damaged-beats-released", "damaged-index", "damaged-opml", "missing-opml",
        "missing-index", "no-outputs", "live-and-known-alone-are-not-stale"])
def test_stale_feeds_without_everything(given: Look, feeds: dict[FeedKey, bool], pages: bool) -> None:
    assert stale_feeds(given) == Stale(feeds, pages)


def test_stale_feeds_does_not_change_the_dirty_marks_it_is_given() -> None:
    dirty = {AI: False}
    stale_feeds(look(dirty, released=[EX], damaged=["topics/ai.rss.xml"]))
    assert dirty == {AI: False}


# --- plan ----------------------------------------------------------------------------------


def run(feeds: dict[FeedKey, bool], heads: dict[FeedKey, list[Head]], known: dict[FeedKey, FeedRow] | None = None,
        outputs: Collection[str] = (), pages: bool = False, titles: dict[FeedKey, str] | None = None) -> RenderPlan:
    titles = titles or {}
    infos = {key: info(key, titles.get(key)) for key, found in heads.items() if found}
    return plan(Stale(feeds, pages), heads, infos, known or {}, outputs)


@pytest.mark.parametrize("heads", [{}, {AI: []}], ids=["no-entry", "empty"])
def test_a_known_feed_left_without_items_is_removed_and_forgotten(heads: dict[FeedKey, list[Head]]) -> None:
    known = {AI: row(AI), ALL: row(ALL)}
    done = run({AI: False}, heads, known, outputs=[*PAGES, *render.feed_paths(AI), *render.feed_paths(ALL)])
    assert done == RenderPlan(render=[], remove=sorted(render.feed_paths(AI)), rows={AI: None},
                              live={ALL: "Site: all"}, pages=True)


def test_an_unknown_feed_without_items_has_its_files_removed_and_no_row() -> None:
    done = run({BIZ: True}, {BIZ: []}, {ALL: row(ALL)})
    assert done == RenderPlan(render=[], remove=sorted(render.feed_paths(BIZ)), rows={},
                              live={ALL: "Site: all"}, pages=False)


def test_every_format_of_an_emptied_feed_is_removed() -> None:
    done = run({EX: False}, {}, {EX: row(EX)})
    assert done.remove == sorted(render.feed_paths(EX))
    assert len(done.remove) == len(FORMATS)


@pytest.mark.parametrize(("force", "rendered"), [(False, False), (True, True)], ids=["unforced", "forced"])
def test_a_feed_with_the_same_title_and_heads_is_skipped_unless_forced(force: bool, rendered: bool) -> None:
    known = {AI: row(AI)}
    done = run({AI: force}, {AI: HEADS}, known, outputs=[*PAGES, *render.feed_paths(AI)])
    assert done.render == ([info(AI)] if rendered else [])
    assert done.rows == ({AI: row(AI)} if rendered else {})
    assert done.remove == []
    assert done.live == {AI: "Site: ai"}
    assert done.pages is False


@pytest.mark.parametrize("heads", [
    HEADS[:1],
    HEADS[::-1],
    [HEADS[0], Head("urn:uuid:2", "d2-edited")],
    [*HEADS, Head("urn:uuid:3", "d3")],
], ids=["one-gone", "reordered", "digest-changed", "one-more"])
def test_a_feed_whose_heads_changed_is_rendered_without_touching_the_pages(heads: list[Head]) -> None:
    done = run({AI: False}, {AI: heads}, {AI: row(AI)})
    assert done == RenderPlan(render=[info(AI)], remove=[], rows={AI: row(AI, heads)}, live={AI: "Site: ai"},
                              pages=False)


def test_a_new_title_renders_the_feed_and_the_pages() -> None:
    done = run({EX: False}, {EX: HEADS}, {EX: row(EX)}, titles={EX: "Site: Example"})
    assert done == RenderPlan(render=[info(EX, "Site: Example")], remove=[],
                              rows={EX: FeedRow("Site: Example", heads_digest(HEADS))},
                              live={EX: "Site: Example"}, pages=True)


def test_a_new_feed_is_rendered_recorded_and_listed() -> None:
    done = run({BIZ: False}, {BIZ: HEADS}, {AI: row(AI)})
    assert done == RenderPlan(render=[info(BIZ)], remove=[], rows={BIZ: row(BIZ)},
                              live={AI: "Site: ai", BIZ: "Site: biz"}, pages=True)


@pytest.mark.parametrize(("stale_pages", "heads", "pages"), [
    (False, {AI: HEADS}, False),  # nothing changed
    (True, {AI: HEADS}, True),  # stale said so
    (False, {AI: HEADS[:1]}, False),  # items changed, titles did not
    (False, {AI: []}, True),  # a feed went
    (False, {AI: HEADS, BIZ: HEADS}, True),  # a feed appeared
], ids=["unchanged", "stale-pages", "items-only", "feed-went", "feed-appeared"])
def test_pages_are_written_when_titles_change_a_feed_comes_or_goes_or_stale_says_so(
        stale_pages: bool, heads: dict[FeedKey, list[Head]], pages: bool) -> None:
    done = run(dict.fromkeys(heads, False), heads, {AI: row(AI)}, pages=stale_pages)
    assert done.pages is pages


def test_live_keeps_the_titles_of_known_feeds_that_were_not_looked_at() -> None:
    known = {ALL: row(ALL, title="Old all"), EX: row(EX, title="Old example"), AI: row(AI)}
    done = run({AI: False, NEWS: False}, {AI: [], NEWS: HEADS}, known)
    assert done.live == {ALL: "Old all", EX: "Old example", NEWS: "Site: news.org"}
    assert done.rows == {AI: None, NEWS: row(NEWS)}


def test_outputs_no_feed_has_any_more_are_removed_but_never_the_pages() -> None:
    outputs = [*PAGES, *render.feed_paths(ALL), *render.feed_paths(EX),
               "topics/gone-earlier.rss.xml", "topics/gone-earlier.atom.xml", "providers/stray.org.atom.xml"]
    done = run({}, {}, {ALL: row(ALL), EX: row(EX)}, outputs=outputs)
    assert done == RenderPlan(render=[], remove=["providers/stray.org.atom.xml", "topics/gone-earlier.atom.xml",
                                                 "topics/gone-earlier.rss.xml"],
                              rows={}, live={ALL: "Site: all", EX: "Site: example.com"}, pages=False)


def test_the_files_of_a_feed_rendered_now_are_not_removed_even_if_unknown_before() -> None:
    done = run({BIZ: False}, {BIZ: HEADS}, {}, outputs=[*render.feed_paths(BIZ)])
    assert done.remove == []
    assert done.render == [info(BIZ)]


def test_feeds_are_rendered_in_key_order() -> None:
    keys = [NEWS, AI, ALL, BIZ, EX]
    done = run(dict.fromkeys(keys, True), dict.fromkeys(keys, HEADS))
    assert [i.key for i in done.render] == [ALL, EX, NEWS, AI, BIZ]
    assert list(done.rows) == [ALL, EX, NEWS, AI, BIZ]


def test_a_forced_feed_with_new_heads_and_an_emptied_one_in_one_plan() -> None:
    known = {ALL: row(ALL), AI: row(AI), EX: row(EX)}
    outputs = [*PAGES, *render.feed_paths(ALL), *render.feed_paths(AI), *render.feed_paths(EX)]
    done = run({ALL: True, AI: False, EX: False}, {ALL: HEADS, AI: HEADS[:1], EX: []}, known, outputs)
    assert done == RenderPlan(
        render=[info(ALL), info(AI)],
        remove=sorted(render.feed_paths(EX)),
        rows={ALL: row(ALL), EX: None, AI: row(AI, HEADS[:1])},
        live={ALL: "Site: all", AI: "Site: ai"},
        pages=True,
    )


# --- heads_digest --------------------------------------------------------------------------


def test_heads_digest_is_the_digest_of_ids_and_digests_line_by_line() -> None:
    assert heads_digest(HEADS) == model.digest(b"urn:uuid:1 d1\nurn:uuid:2 d2")
    assert heads_digest([]) == model.digest(b"")
    assert heads_digest(iter(HEADS)) == heads_digest(HEADS)


@pytest.mark.parametrize("other", [
    HEADS[::-1],
    [Head("urn:uuid:9", "d1"), HEADS[1]],
    [HEADS[0], Head("urn:uuid:2", "d9")],
    HEADS[:1],
    [],
], ids=["order", "an-id", "a-digest", "fewer", "none"])
def test_heads_digest_depends_on_order_and_on_every_id_and_digest(other: list[Head]) -> None:
    assert heads_digest(other) != heads_digest(HEADS)
