"""Each feed's complete history (RFC 5005 archive documents) and its tombstones (RFC 6721),
read back as a client would: from the subscription document along `prev-archive`."""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from lxml import html as lxml_html

from aggregator import history, load, render
from aggregator import publish as publish_module
from aggregator.config import Config
from aggregator.errors import OutputError
from aggregator.formats.atom import TOMBSTONES
from aggregator.publish import publish
from aggregator.store import Store as StateStore
from tests.conftest import BASE_URL, NOW, Site, differing, related_item, seed_text
from tests.feedlint import lint_feed
from tests.feedlint.schema import lint_atom_schema

ATOM = "{http://www.w3.org/2005/Atom}"
FH = "{http://purl.org/syndication/history/1.0}"
AT = "{" + TOMBSTONES + "}"
TOPICS = ("Space", "Health", "Markets", "Climate")
OUTLETS = [(f"Outlet {n}", f"outlet{n}.example.net") for n in range(6)]
START = datetime(2024, 1, 1, tzinfo=UTC)


def story(n: int, published: datetime, title: str | None = None, topics: tuple[str, ...] | None = None) -> str:
    """Story `n`: a provider, one or two topics and two citations, one of them shared
    with the story before it (an article known only as related coverage)."""
    rng = random.Random(n)
    name, domain = OUTLETS[n % len(OUTLETS)]
    related = "".join(
        related_item(url, f"Cited {url.rsplit('/', 1)[1]}", _date(published + timedelta(hours=1)), OUTLETS[k])
        for url, k in ((f"https://outlet{(n + 1) % 6}.example.net/a/{n}", (n + 1) % 6),
                       (f"https://outlet{(n + 2) % 6}.example.net/shared/{n // 2}", (n + 2) % 6))
    )
    return seed_text(url=f"https://{domain}/story/{n}", title=title or f"Story {n}", published=_date(published),
                     topics=topics or tuple(rng.sample(TOPICS, rng.randint(1, 2))), provider=(name, domain),
                     related=related)


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_stories(site: Site, numbers: range, when: dict[int, datetime] | None = None) -> None:
    for n in numbers:
        published = (when or {}).get(n, START + timedelta(hours=7 * n))
        site.write_seed(f"s/{n:04d}.md", story(n, published))


def config(site: Site, **feeds: object) -> Config:
    settings: dict[str, object] = {"max_items": 5, "archive_page_items": 10, **feeds}
    return site.config(None, **settings)


def walk(feeds: Path, subscription: str) -> tuple[list[str], list[str]]:
    """(the entry ids met, the archive documents visited) from a subscription document
    along prev-archive to the end, checking each document's links on the way."""
    root = etree.parse(str(feeds / subscription)).getroot()
    ids = [e.findtext(ATOM + "id", "") for e in root.iter(ATOM + "entry")]
    visited: list[str] = []
    newer = subscription
    while (prev := _link(root, "prev-archive")) is not None:
        rel = prev.removeprefix(BASE_URL)
        assert rel not in visited, f"a loop at {rel}"
        visited.append(rel)
        root = etree.parse(str(feeds / rel)).getroot()
        assert root.find(FH + "archive") is not None, rel
        assert _link(root, "self") == BASE_URL + rel
        assert _link(root, "current") == BASE_URL + subscription
        if newer != subscription:
            assert _link(root, "next-archive") == BASE_URL + newer, rel
        else:
            assert _link(root, "next-archive") is None, rel
        newer = rel
        ids += [e.findtext(ATOM + "id", "") for e in root.iter(ATOM + "entry")]
    return ids, visited


def _link(root: etree._Element, rel: str) -> str | None:
    found = [link.get("href") for link in root.findall(ATOM + "link") if link.get("rel") == rel]
    assert len(found) <= 1, rel
    return found[0] if found else None


def everything(site: Site, tmp_path: Path, now: datetime = NOW) -> dict[str, list[str]]:
    """Each feed's complete list of ids, in order: the same seeds published with a window
    large enough for every item and no archive."""
    whole = Site(tmp_path / "whole", site.runner)
    cfg = whole.config(max_items=10_000, archives=False)
    cfg = cfg.__class__(cfg.site, cfg.paths.__class__(site.seeds, whole.feeds, whole.state), cfg.feeds)
    publish(cfg, now)
    return {rel: [e.findtext(ATOM + "id", "") for e in etree.parse(str(whole.feeds / rel)).iter(ATOM + "entry")]
            for rel in subscriptions(whole.feeds)}


def subscriptions(feeds: Path) -> list[str]:
    return sorted(p.relative_to(feeds).as_posix() for p in feeds.rglob("*.atom.xml")
                  if render.key_of_path(p.relative_to(feeds).as_posix()) is not None)


def archives(feeds: Path) -> dict[str, bytes]:
    return {p.relative_to(feeds).as_posix(): p.read_bytes() for p in sorted((feeds / "archive").rglob("*.xml"))}


def entries(data: bytes) -> dict[str, bytes]:
    """Each entry's bytes, by id, as the document has them."""
    return {re.search(rb"<id>(.*?)</id>", e).group(1).decode(): e  # type: ignore[union-attr]
            for e in re.findall(rb"  <entry>\n.*?</entry>\n", data, re.S)}


def check_walks(site: Site, tmp_path: Path, now: datetime = NOW) -> None:
    whole = everything(site, tmp_path, now)
    assert subscriptions(site.feeds) == sorted(whole)
    for rel, want in whole.items():
        ids, _ = walk(site.feeds, rel)
        assert set(ids) == set(want), rel
        # Each item is in one archive document at most (and maybe in the subscription too).
        archived = ids[len(etree.parse(str(site.feeds / rel)).getroot().findall(ATOM + "entry")):]
        assert len(archived) == len(set(archived)), rel


# --- archives ---------------------------------------------------------------------------------


def test_walking_prev_archive_recovers_every_item_of_every_feed(site: Site, tmp_path: Path) -> None:
    write_stories(site, range(120))
    publish(config(site), NOW)
    assert len(archives(site.feeds)) > 30
    check_walks(site, tmp_path)


def test_documents_split_between_workers_are_written_whole(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers take the stories of two runs of dates; a document with items of both
    is finished by the main process from what each sends back: the same bytes as one
    process writing every document."""
    write_stories(site, range(120))
    cfg = config(site)
    monkeypatch.setattr(history.pool, "workers", lambda: 2)
    finished: list[tuple[object, int]] = []
    unpack = history.PagesPacked.unpack

    def counted(packed: history.PagesPacked) -> history.PagesDone:
        done = unpack(packed)
        finished.extend(done.partial)
        return done

    monkeypatch.setattr(history.PagesPacked, "unpack", counted)
    publish(cfg, NOW)
    assert len(finished) > 10  # documents sent back by both workers
    monkeypatch.setattr(history, "PARALLEL_MIN_PAGES", 10**9)
    assert site.feed_files() == cold_files(site, tmp_path / "serial", cfg)


def test_archive_documents_hold_a_bounded_run_and_the_feed_its_newest(site: Site) -> None:
    write_stories(site, range(120))
    publish(config(site), NOW)
    pages = archives(site.feeds)
    assert {p for p in pages if p.startswith("archive/all/")} == {f"archive/all/{n}.atom.xml" for n in range(1, 13)}
    for rel, data in pages.items():
        count = len(etree.fromstring(data).findall(ATOM + "entry"))
        assert 1 <= count <= 10, rel
    # The cold layout: the oldest items first; the newest 5 are only in the feed.
    first = etree.parse(str(site.feeds / "archive/all/1.atom.xml")).getroot()
    assert [e.findtext(ATOM + "title") for e in first.iter(ATOM + "entry")] == [f"Story {n}" for n in range(9, -1, -1)]
    last = etree.parse(str(site.feeds / "archive/all/12.atom.xml")).getroot()
    want = [f"Story {n}" for n in range(114, 109, -1)]
    assert [e.findtext(ATOM + "title") for e in last.iter(ATOM + "entry")] == want


def test_sealed_archive_documents_change_only_with_their_own_items(site: Site, tmp_path: Path) -> None:
    write_stories(site, range(200))
    publish(config(site), NOW)
    before = archives(site.feeds)
    newest = {rel.rsplit("/", 1)[0]: rel for rel in sorted(before, key=_number)}
    # 500 new stories, one in five dated among the old ones; three edited, three deleted.
    rng = random.Random(7)
    when = {n: START + timedelta(hours=rng.randint(0, 7 * 199)) if n % 5 == 0 else START + timedelta(hours=7 * n)
            for n in range(200, 700)}
    write_stories(site, range(200, 700), when)
    edited = [13, 77, 150]
    for n in edited:
        site.write_seed(f"s/{n:04d}.md", story(n, START + timedelta(hours=7 * n), title=f"Story {n}, corrected"))
    deleted = [21, 99, 160]
    for n in deleted:
        (site.seeds / f"s/{n:04d}.md").unlink()
    publish(config(site), NOW)
    after = archives(site.feeds)
    # The items of the edited and deleted stories: each story and the articles it cites.
    own = re.findall(r'webUrl: "([^"]+)"', "".join(story(n, START) for n in edited + deleted))
    ids = {_id(url) for url in own}
    for rel, data in before.items():
        if rel in newest.values():
            # The newest document of a feed only gains items (and a link to a newer one).
            assert entries(data).items() - {i: e for i, e in entries(data).items() if i in ids}.items() <= \
                entries(after[rel]).items(), rel
            continue
        if not ids & entries(data).keys():
            assert after.get(rel) == data, rel
    changed = [rel for rel, data in before.items() if rel not in newest.values() and after.get(rel) != data]
    assert changed, "the edited and deleted items are in sealed documents"
    check_walks(site, tmp_path)


def _number(rel: str) -> tuple[str, int]:
    folder, name = rel.rsplit("/", 1)
    return folder, int(name.split(".")[0])


def _id(url: str) -> str:
    from aggregator.model import item_id

    return item_id(url)


def test_archive_documents_validate_and_pass_the_feed_linter(site: Site) -> None:
    write_stories(site, range(60))
    publish(config(site), NOW)
    pages = archives(site.feeds)
    assert pages
    for rel, data in pages.items():
        assert lint_atom_schema(data) == [], rel
        assert lint_feed(data, BASE_URL + rel, NOW) == [], rel
    for rel in subscriptions(site.feeds):
        data = (site.feeds / rel).read_bytes()
        assert lint_atom_schema(data) == [] and lint_feed(data, BASE_URL + rel, NOW) == [], rel


def test_an_archived_entry_is_byte_for_byte_the_feeds_entry(site: Site, tmp_path: Path) -> None:
    write_stories(site, range(60))
    publish(config(site), NOW)
    whole = Site(tmp_path / "whole", site.runner)
    cfg = whole.config(max_items=10_000, archives=False)
    cfg = cfg.__class__(cfg.site, cfg.paths.__class__(site.seeds, whole.feeds, whole.state), cfg.feeds)
    publish(cfg, NOW)
    compared = 0
    for rel, data in archives(site.feeds).items():
        stem = rel.removeprefix("archive/").rsplit("/", 1)[0]
        full = entries((whole.feeds / f"{stem}.atom.xml").read_bytes())
        for id_, entry in entries(data).items():
            assert entry == full[id_], (rel, id_)
            compared += 1
    assert compared > 200


def test_archives_switched_off_leave_no_document_and_no_link(site: Site) -> None:
    write_stories(site, range(40))
    publish(config(site), NOW)
    before = archives(site.feeds)
    assert before
    publish(config(site, archives=False), NOW)
    assert not (site.feeds / "archive").exists() or not any((site.feeds / "archive").rglob("*.xml"))
    for rel in subscriptions(site.feeds):
        assert _link(etree.parse(str(site.feeds / rel)).getroot(), "prev-archive") is None, rel
    publish(config(site), NOW)  # and back: a first layout again, so the same documents as before
    assert archives(site.feeds) == before
    assert _link(etree.parse(str(site.feeds / "all.atom.xml")).getroot(), "prev-archive") is not None


def test_a_deleted_archive_document_is_written_again(site: Site) -> None:
    write_stories(site, range(40))
    publish(config(site), NOW)
    before = archives(site.feeds)
    (site.feeds / "archive/all/2.atom.xml").unlink()
    result = publish(config(site), NOW)
    assert result.written == ("archive/all/2.atom.xml",)
    assert archives(site.feeds) == before


def written_whole(site: Site, root: Path, cfg: Config, now: datetime = NOW) -> dict[str, bytes]:
    """The archive documents of the same state made whole from the stories: the site's
    state and feeds copied, every archive document of the copy deleted, then published."""
    whole = Site(root, site.runner)
    shutil.copytree(site.feeds, whole.feeds)
    shutil.rmtree(whole.feeds / "archive")
    whole.state.parent.mkdir(parents=True, exist_ok=True)
    for part in site.state.parent.glob(site.state.name + "*"):
        shutil.copy(part, whole.state.parent / part.name.replace(site.state.name, whole.state.name))
    publish(cfg.__class__(cfg.site, cfg.paths.__class__(site.seeds, whole.feeds, whole.state), cfg.feeds), now)
    return archives(whole.feeds)


def test_a_document_written_again_keeps_its_unchanged_entries_as_they_would_be_made(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A document written before and still as written keeps the entries of its items that
    did not change, from its file; every document is the same as one made whole."""
    monkeypatch.setattr(history, "PARALLEL_MIN_PAGES", 10**9)  # every document written here, by this process
    cfg = config(site)
    write_stories(site, range(120))
    publish(cfg, NOW)
    unpacked: list[object] = []
    real_unpack = history.unpack_story

    def counted(packed: bytes) -> Any:
        unpacked.append(packed)
        return real_unpack(packed)

    monkeypatch.setattr(history, "unpack_story", counted)
    for n in (13, 40, 77):  # old stories, deep in their feeds' archives
        site.write_seed(f"s/{n:04d}.md", story(n, START + timedelta(hours=7 * n), title=f"Story {n}, corrected"))
    result = publish(cfg, NOW)
    documents = [rel for rel in result.written if rel.startswith("archive/")]
    shown = sum(len(entries((site.feeds / rel).read_bytes())) for rel in documents)
    # Each edited story, and those holding the data of the articles it cites.
    assert shown >= 50 and len(unpacked) <= 9, (shown, len(unpacked))
    assert archives(site.feeds) == written_whole(site, tmp_path / "edit", cfg)
    # New stories (some dated among the old ones, some not yet due), two deleted.
    later = NOW + timedelta(days=2)
    when = {n: START + timedelta(hours=5 * n) if n % 2 else later - timedelta(hours=n - 119) for n in range(120, 140)}
    write_stories(site, range(120, 140), when)
    for n in (21, 99):
        (site.seeds / f"s/{n:04d}.md").unlink()
    publish(cfg, NOW)
    assert archives(site.feeds) == written_whole(site, tmp_path / "new", cfg)
    publish(cfg, later)  # the stories not yet due are released
    assert archives(site.feeds) == written_whole(site, tmp_path / "released", cfg, later)
    # An outlet named otherwise by more stories: every entry showing the name changes.
    for n in range(100):
        site.write_seed(f"renamed/{n}.md", seed_text(url=f"https://outlet1.example.net/new/{n}", title=f"New {n}",
                                                     published="2023-06-01T00:00:00Z",
                                                     provider=("Outlet One", "outlet1.example.net")))
    publish(cfg, later)
    assert b"<name>Outlet 1</name>" not in b"".join(archives(site.feeds).values())
    assert archives(site.feeds) == written_whole(site, tmp_path / "renamed", cfg, later)


def test_a_document_changed_behind_our_back_gives_no_entry_even_unseen(site: Site, tmp_path: Path) -> None:
    """A publish for a few folders does not look over every file written; a document
    whose size or mtime is not the one recorded is made whole all the same."""
    cfg = config(site)
    write_stories(site, range(60))
    publish(cfg, NOW)
    document = site.feeds / "archive/all/1.atom.xml"
    original = document.read_bytes()
    forged = original.replace(b"<title>Story 3</title>", b"<title>Forged!</title>")  # the same size
    assert forged != original and len(forged) == len(original)
    document.write_bytes(forged)
    site.write_seed("s/0002.md", story(2, START + timedelta(hours=14), title="Story 2, corrected"))
    store = StateStore(site.state)
    try:
        publish_module.publish_locked(store, cfg, NOW, scope=load.Scope(frozenset({"s/"}), frozenset()))
    finally:
        store.close()
    assert b"Story 2, corrected" in document.read_bytes()
    assert b"Forged!" not in document.read_bytes()
    assert archives(site.feeds) == written_whole(site, tmp_path / "whole", cfg)


def test_an_edit_rewrites_at_most_one_archive_document_per_feed(site: Site) -> None:
    write_stories(site, range(100))
    publish(config(site), NOW)
    site.write_seed("s/0030.md", story(30, START + timedelta(hours=7 * 30), title="Story 30, corrected"))
    result = publish(config(site), NOW)
    pages = [p for p in result.written if p.startswith("archive/")]
    feeds = [p.rsplit("/", 1)[0] for p in pages]
    assert pages and len(feeds) == len(set(feeds)), pages


def test_an_edit_of_an_old_story_writes_its_archive_documents_and_renders_no_page(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its items stay where they are (the same dates, the same story row): no feed's
    members change, so neither the feeds nor the front page that counts them are rendered."""
    write_stories(site, range(100))
    publish(config(site), NOW)
    site.write_seed("s/0030.md", story(30, START + timedelta(hours=7 * 30), title="Story 30, corrected"))
    rendered: list[object] = []
    site_pages = publish_module._site_pages

    def counted(*args: Any) -> dict[str, bytes]:
        rendered.append(args)
        return site_pages(*args)

    monkeypatch.setattr(publish_module, "_site_pages", counted)
    result = publish(config(site), NOW)
    assert result.written and all(p.startswith("archive/") for p in result.written), result.written
    assert rendered == []


@pytest.mark.parametrize("archives", [True, False])
def test_an_edit_of_a_story_on_the_front_page_and_in_no_feed_writes_the_front_page(site: Site, archives: bool) -> None:
    """The front page shows more stories than a feed may (30 against `max_items`): a story
    among them can change while no feed's newest items do."""
    write_stories(site, range(100))
    cfg = config(site, max_items=2, archives=archives)
    publish(cfg, NOW)
    site.write_seed("s/0080.md", story(80, START + timedelta(hours=7 * 80), title="Story 80, corrected"))
    result = publish(cfg, NOW)
    assert not [p for p in result.written if render.key_of_path(p) is not None], result.written
    front = lxml_html.parse(str(site.feeds / render.INDEX_PATH))
    headlines = [h.text_content().strip() for h in front.xpath("//section[@class='stories']//article//h3")]
    assert len(headlines) == 30 and "Story 80, corrected" in headlines and "Story 80" not in headlines


# --- tombstones ------------------------------------------------------------------------------


def declares_tombstones(data: bytes) -> bool:
    """Whether any element of the document declares or uses the tombstone namespace
    (the validator warns on the declaration alone)."""
    return any(TOMBSTONES in el.nsmap.values() for el in etree.fromstring(data).iter())


def tombstones(data: bytes) -> list[tuple[str | None, str | None]]:
    root = etree.fromstring(data)
    return [(t.get("ref"), t.get("when")) for t in root.iter(AT + "deleted-entry")]


def test_a_deleted_story_leaves_a_tombstone_for_the_window(site: Site) -> None:
    write_stories(site, range(30))
    cfg = config(site, tombstones=True, tombstone_days=7)
    publish(cfg, NOW)
    assert tombstones((site.feeds / "all.atom.xml").read_bytes()) == []
    (site.seeds / "s/0028.md").unlink()  # among the newest: the feed shows it
    gone = _id(f"https://{OUTLETS[28 % 6][1]}/story/28")
    deleted_at = NOW + timedelta(hours=1)
    result = publish(cfg, deleted_at)
    when = deleted_at.isoformat()
    assert declares_tombstones((site.feeds / "all.atom.xml").read_bytes())
    for rel in ("all.atom.xml", f"providers/{OUTLETS[28 % 6][1]}.atom.xml"):
        assert tombstones((site.feeds / rel).read_bytes()) == [(gone, when)], rel
    assert not declares_tombstones((site.feeds / "all.rss.xml").read_bytes())
    assert result.next_release == deleted_at + timedelta(days=7)
    publish(cfg, deleted_at + timedelta(days=7) - timedelta(seconds=1))
    assert tombstones((site.feeds / "all.atom.xml").read_bytes()) == [(gone, when)]
    result = publish(cfg, deleted_at + timedelta(days=7))
    assert tombstones((site.feeds / "all.atom.xml").read_bytes()) == []
    assert not declares_tombstones((site.feeds / "all.atom.xml").read_bytes())
    assert "all.atom.xml" in result.written


def test_an_item_ageing_out_leaves_no_tombstone_but_one_leaving_a_topic_does(site: Site) -> None:
    write_stories(site, range(30))
    cfg = config(site, tombstones=True)
    publish(cfg, NOW)
    write_stories(site, range(30, 40))  # ten newer stories push the newest five out
    site.write_seed("s/0002.md", story(2, START + timedelta(hours=14), topics=("Elsewhere",)))
    publish(cfg, NOW + timedelta(minutes=5))
    assert tombstones((site.feeds / "all.atom.xml").read_bytes()) == []
    old_topics = {t.lower() for t in random.Random(2).sample(TOPICS, random.Random(2).randint(1, 2))}
    for topic in old_topics:
        assert [ref for ref, _ in tombstones((site.feeds / f"topics/{topic}.atom.xml").read_bytes())] == \
            [_id(f"https://{OUTLETS[2][1]}/story/2")], topic


def test_tombstones_are_off_by_default_and_every_feed_stays_free_of_warnings(site: Site) -> None:
    write_stories(site, range(30))
    publish(config(site), NOW)
    (site.seeds / "s/0028.md").unlink()
    publish(config(site), NOW + timedelta(hours=1))
    for rel in subscriptions(site.feeds):
        data = (site.feeds / rel).read_bytes()
        assert not declares_tombstones(data), rel
        assert lint_feed(data, BASE_URL + rel, NOW + timedelta(hours=1)) == [], rel


def test_a_tombstone_goes_when_its_item_comes_back(site: Site) -> None:
    write_stories(site, range(30))
    cfg = config(site, tombstones=True)
    publish(cfg, NOW)
    text = (site.seeds / "s/0028.md").read_text()
    (site.seeds / "s/0028.md").unlink()
    publish(cfg, NOW + timedelta(hours=1))
    assert tombstones((site.feeds / "all.atom.xml").read_bytes())
    site.write_seed("s/0028.md", text)
    publish(cfg, NOW + timedelta(hours=2))
    assert tombstones((site.feeds / "all.atom.xml").read_bytes()) == []


@pytest.mark.parametrize("feeds", [{"tombstone_days": 0}, {"tombstone_days": 366}, {"archive_page_items": 9}])
def test_history_settings_out_of_range_are_refused(site: Site, feeds: dict[str, object]) -> None:
    from aggregator.errors import ConfigError

    with pytest.raises(ConfigError, match=next(iter(feeds))):
        site.config(None, **feeds)


def test_cold_layout_gives_seqs_oldest_first_beyond_the_newest() -> None:
    from aggregator.history import ColdLayout

    by_feed = {("all", ""): [(f"id{n}", 100 + n, n) for n in range(5)],
               ("provider", "x.org"): [("cited", 50, 4), ("id3", 103, 3)]}
    layout = ColdLayout(by_feed, 2)
    rows = list(layout.rows())
    seqs = {(kind, slug, id_): seq for kind, slug, id_, _, _, seq in rows}
    assert seqs == {("all", "", "id4"): None, ("all", "", "id3"): None, ("all", "", "id2"): 2,
                    ("all", "", "id1"): 1, ("all", "", "id0"): 0,
                    ("provider", "x.org", "id3"): None, ("provider", "x.org", "cited"): None}
    assert rows == sorted(rows, key=lambda row: row[:3])  # key order, for the insert
    assert by_feed == {}  # each feed let go once written
    assert layout.ends == [("all", "", 3), ("provider", "x.org", 0)]


# --- names, kills and switches ----------------------------------------------------------------


def cold_files(site: Site, root: Path, cfg: Config, now: datetime = NOW) -> dict[str, bytes]:
    """The files a first publish of the same seeds with the same settings writes."""
    whole = Site(root, site.runner)
    publish(cfg.__class__(cfg.site, cfg.paths.__class__(site.seeds, whole.feeds, whole.state), cfg.feeds), now)
    return whole.feed_files()


def test_a_new_display_name_reaches_every_archive_document(site: Site, tmp_path: Path) -> None:
    write_stories(site, range(40))
    cfg = config(site)
    publish(cfg, NOW)
    # New stories call outlet0.example.net by another name, more often than the old one.
    for n in range(100):
        site.write_seed(f"new/{n:04d}.md", seed_text(url=f"https://outlet0.example.net/new/{n}", title=f"New {n}",
                                                     published="2025-06-01T00:00:00Z",
                                                     provider=("Outlet Zero", "outlet0.example.net")))
    publish(cfg, NOW)
    assert not [rel for rel, data in archives(site.feeds).items() if b"<name>Outlet 0</name>" in data]
    assert differing(site.feed_files(), cold_files(site, tmp_path / "cold", cfg)) == []


def test_a_tombstone_whose_time_ran_out_goes_even_after_a_run_that_failed(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    write_stories(site, range(30))
    cfg = config(site, tombstones=True, tombstone_days=7)
    publish(cfg, NOW)
    (site.seeds / "s/0028.md").unlink()
    deleted_at = NOW + timedelta(hours=1)
    publish(cfg, deleted_at)
    assert tombstones((site.feeds / "all.atom.xml").read_bytes())
    later = deleted_at + timedelta(days=7, hours=1)
    with monkeypatch.context() as patch:
        patch.setattr(publish_module, "_carry_out", _killed)
        with pytest.raises(KeyboardInterrupt):
            publish(cfg, later)
    publish(cfg, later + timedelta(minutes=1))
    assert tombstones((site.feeds / "all.atom.xml").read_bytes()) == []


def _killed(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt("killed")


def test_a_document_written_by_a_run_killed_before_recording_it_still_goes(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    write_stories(site, range(30))  # 25 archived in the combined feed: documents 1 to 3
    cfg = config(site)
    publish(cfg, NOW)
    write_stories(site, range(30, 37))  # 7 more: document 4 starts
    real = history.write_pages

    def write_then_die(*args: object) -> Iterator[tuple[str, bool]]:
        yield from real(*args)  # type: ignore[arg-type]
        raise KeyboardInterrupt("killed")

    with monkeypatch.context() as patch:
        patch.setattr(history, "write_pages", write_then_die)
        with pytest.raises(KeyboardInterrupt):
            publish(cfg, NOW)
    assert (site.feeds / "archive/all/4.atom.xml").exists()
    for n in range(30, 37):
        (site.seeds / f"s/{n:04d}.md").unlink()
    publish(cfg, NOW)
    reached = {rel for sub in subscriptions(site.feeds) for rel in walk(site.feeds, sub)[1]}
    assert set(archives(site.feeds)) == reached


def test_items_back_after_every_item_went_have_no_tombstone(site: Site) -> None:
    write_stories(site, range(30))
    publish(config(site, tombstones=True), NOW)
    publish(config(site, tombstones=True, only_published=True), NOW + timedelta(hours=1))  # no story says so
    publish(config(site, tombstones=True), NOW + timedelta(hours=2))
    data = (site.feeds / "all.atom.xml").read_bytes()
    assert len(etree.fromstring(data).findall(ATOM + "entry")) == 5
    assert tombstones(data) == []


@pytest.mark.parametrize("failing", ["insert_members", "write_pages"])
def test_a_first_publish_that_failed_lays_its_members_out_again(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    """The disk fills while the members are stored (nothing of them is kept), or once they
    are stored, while the archive documents are written: the next publish gives what a
    first publish gives."""
    write_stories(site, range(40))
    cfg = config(site)

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device", str(site.state))

    with monkeypatch.context() as patch:
        if failing == "insert_members":
            patch.setattr(StateStore, "insert_members", disk_full)
        else:
            patch.setattr(history, "write_pages", disk_full)
        with pytest.raises(OutputError, match="No space left") as failure:
            publish(cfg, NOW)
    assert str(site.state) in str(failure.value)
    publish(cfg, NOW)
    assert differing(site.feed_files(), cold_files(site, tmp_path / "cold", cfg)) == []
    write_stories(site, range(40, 41))  # and the next edit finds every member in place
    publish(cfg, NOW)
    assert differing(site.feed_files(), cold_files(site, tmp_path / "cold-after", cfg)) == []
    check_walks(site, tmp_path / "walk")


def test_the_counts_shown_follow_the_members_through_every_change(site: Site) -> None:
    """`feed_sizes`, kept by triggers (and counted again after a bulk change), always
    says what counting the members says."""
    def check() -> dict[tuple[str, str], int]:
        store = StateStore(site.state)
        try:
            counted = dict(((k, s), n) for k, s, n in store.db.execute(
                "SELECT kind, slug, count(*) FROM members GROUP BY kind, slug"))
            assert {(key.kind, key.slug): n for key, n in store.member_counts().items()} == counted
            return counted
        finally:
            store.close()

    for n in range(30):
        site.write_seed(f"s{n}.md", seed_text(url=f"https://example.com/{n}", topics=("Space", f"T{n % 3}"),
                                              published=f"2024-05-{n % 28 + 1:02d}T10:00:00Z",
                                              related=related_item(f"https://other.example.net/{n}", "Cited")))
    config = site.config(max_items=10, archive_page_items=10)
    publish(config, NOW)
    assert check()[("topic", "space")] == 30
    site.write_seed("s3.md", seed_text(url="https://example.com/3", topics=("Sport",)))  # other topics
    (site.seeds / "s4.md").unlink()
    site.write_seed("new.md", seed_text(url="https://example.com/new", topics=("Space",)))
    publish(config, NOW)
    counts = check()
    assert (counts[("topic", "space")], counts[("topic", "sport")]) == (29, 1)
    publish(site.config(max_items=10, archive_page_items=20), NOW)  # other paging: every member laid out again
    assert check()[("topic", "space")] == 29
    publish(site.config(archives=False), NOW)
    assert check() == {}
