"""`aggregator publish` end to end: CLI in, feeds read back with feedparser and lxml."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from lxml import etree, html

from aggregator import load
from aggregator import publish as publish_module
from aggregator.publish import publish
from aggregator.store import Store
from tests.conftest import BASE_URL, REPO, Site, count, differing, read_feed, related_item, seed_text

ATOM_RNG = etree.RelaxNG(etree.parse(str(REPO / "tests" / "schemas" / "atom.rng")))
SECRET = b"TOP-SECRET-BLOB-0123456789abcdef"


def parsed(site: Site, rel: str) -> feedparser.FeedParserDict:
    return read_feed((site.feeds / rel).read_bytes(), rel)


def ids(site: Site, rel: str) -> list[str]:
    return [entry.id for entry in parsed(site, rel).entries]


def feeds_of(site: Site) -> list[str]:
    return sorted(p for p in site.feed_files() if p.endswith(".xml"))


# --- the shipped seeds --------------------------------------------------------------


def test_shipped_seeds_publish_clean(shipped: Site) -> None:
    result = shipped.publish()
    assert result.exit_code == 0, result.output
    assert count(result.output, "skipped") == 0
    files = feeds_of(shipped)
    assert "all.rss.xml" in files and "all.atom.xml" in files
    assert any(p.startswith("topics/") for p in files)
    assert any(p.startswith("providers/") for p in files)
    assert (shipped.feeds / "index.html").is_file() and (shipped.feeds / "feeds.opml").is_file()
    for rel in files:
        parsed(shipped, rel)


def test_cold_name_counts_match_a_recount_from_the_tables(shipped: Site) -> None:
    """A cold publish counts display names as it loads; the counts are the tables' own."""
    assert shipped.publish().exit_code == 0
    store = Store(shipped.state)
    try:
        counted = sorted(store.db.execute("SELECT kind, slug, name, n FROM names"))
        with store.transaction():
            store.db.execute("DELETE FROM names")
            store._count_names()
        recounted = sorted(store.db.execute("SELECT kind, slug, name, n FROM names"))
    finally:
        store.close()
    assert counted and counted == recounted


def test_every_atom_feed_validates_against_rfc4287_schema(shipped: Site) -> None:
    assert shipped.publish().exit_code == 0
    atom = [p for p in feeds_of(shipped) if p.endswith(".atom.xml")]
    assert atom
    for rel in atom:
        doc = etree.parse(str(shipped.feeds / rel))
        assert ATOM_RNG.validate(doc), (rel, ATOM_RNG.error_log.last_error)


def test_every_feed_passes_the_validator_rules(shipped: Site) -> None:
    from tests.feedlint import lint_feed, lint_html_index, lint_opml

    assert shipped.publish().exit_code == 0
    now = datetime.now(UTC)
    for rel in feeds_of(shipped):
        problems = lint_feed((shipped.feeds / rel).read_bytes(), BASE_URL + rel, now)
        assert problems == [], (rel, problems)
    assert lint_opml((shipped.feeds / "feeds.opml").read_bytes()) == []
    for page in sorted(shipped.feeds.rglob("*.html")):  # the front page and each feed's page
        assert lint_html_index(page.read_bytes()) == [], page


def test_secured_never_reaches_any_output(shipped: Site) -> None:
    secrets = []
    for path in shipped.seeds.rglob("*"):
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("secured:"):
                    secrets.append(line.split(":", 1)[1].strip().strip('"').encode())
    assert secrets
    result = shipped.publish("-v")
    for data in shipped.feed_files().values():
        for secret in secrets:
            assert secret not in data
            assert secret[:24] not in data
    assert not any(s.decode() in result.output for s in secrets)


def test_second_publish_rewrites_nothing(shipped: Site) -> None:
    assert shipped.publish().exit_code == 0
    before = {p: (shipped.feeds / p).stat().st_mtime_ns for p in shipped.feed_files()}
    result = shipped.publish("-v")
    assert result.exit_code == 0
    assert count(result.output, "read") == 0 and count(result.output, "files written") == 0
    assert "wrote " not in result.output
    after = {p: (shipped.feeds / p).stat().st_mtime_ns for p in shipped.feed_files()}
    assert before == after


def test_same_input_gives_byte_identical_feeds(shipped: Site, tmp_path: Path) -> None:
    assert shipped.publish().exit_code == 0
    first = shipped.feed_files()
    shutil.rmtree(shipped.feeds)
    shutil.rmtree(shipped.state.parent)
    assert shipped.publish().exit_code == 0
    assert shipped.feed_files() == first


def test_feed_metadata(shipped: Site) -> None:
    assert shipped.publish().exit_code == 0
    rss = etree.parse(str(shipped.feeds / "all.rss.xml"))
    channel = rss.getroot().find("channel")
    assert channel is not None
    atom_ns = "{http://www.w3.org/2005/Atom}"
    link = channel.find(f"{atom_ns}link")
    assert link is not None and link.get("rel") == "self"
    assert link.get("href") == BASE_URL + "all.rss.xml"
    assert channel.findtext("link") == BASE_URL
    feed = parsed(shipped, "all.atom.xml")
    assert {link.rel: link.href for link in feed.feed.links}["self"] == BASE_URL + "all.atom.xml"
    newest = max(entry.updated_parsed for entry in feed.entries)
    assert feed.feed.updated_parsed == newest  # the newest item's time, not "now"
    assert feed.feed.get("language") == "en"


def test_items_are_newest_first_with_ids_not_links(shipped: Site) -> None:
    assert shipped.publish().exit_code == 0
    for rel in ("all.rss.xml", "all.atom.xml"):
        entries = parsed(shipped, rel).entries
        dates = [e.published_parsed for e in entries]
        assert dates == sorted(dates, reverse=True)
        assert all(e.id.startswith("urn:uuid:") for e in entries)
    rss = etree.parse(str(shipped.feeds / "all.rss.xml"))
    assert {g.get("isPermaLink") for g in rss.iter("guid")} == {"false"}


def test_story_item_is_identical_in_every_feed(shipped: Site) -> None:
    """One thing, one id: a story's item has the same id and content everywhere."""
    assert shipped.publish().exit_code == 0
    seen: dict[str, set[tuple[str, str]]] = {}  # link -> every (id, content) it has
    feeds: dict[str, set[str]] = {}  # link -> the feeds it is an item of
    for rel in feeds_of(shipped):
        if not rel.endswith(".atom.xml"):
            continue
        for entry in parsed(shipped, rel).entries:
            content = entry.content[0].value if "content" in entry else ""
            seen.setdefault(entry.link, set()).add((entry.id, content))
            feeds.setdefault(entry.link, set()).add(rel)
    assert {link: pairs for link, pairs in seen.items() if len(pairs) != 1} == {}
    assert any(len(rels) >= 2 for rels in feeds.values())


def test_item_has_categories_author_source_and_thumbnail(shipped: Site) -> None:
    assert shipped.publish().exit_code == 0
    feed = parsed(shipped, "all.rss.xml")
    with_image = [e for e in feed.entries if e.get("media_thumbnail")]
    assert with_image
    thumb = with_image[0].media_thumbnail[0]
    assert thumb["url"].startswith("http") and int(thumb["width"]) > 0 and int(thumb["height"]) > 0
    entry = feed.entries[0]
    assert entry.tags and entry.author
    assert entry.source.href.startswith(BASE_URL + "providers/")
    rss = etree.parse(str(shipped.feeds / "all.rss.xml"))
    media = "{http://search.yahoo.com/mrss/}"
    assert not list(rss.iter(f"{media}group"))
    assert all(t.getparent().tag == "item" for t in rss.iter(f"{media}thumbnail"))
    atom = parsed(shipped, "all.atom.xml")
    assert all(e.author for e in atom.entries)
    assert any("Related coverage" in e.content[0].value for e in atom.entries)


def test_through_the_installed_console_script(shipped: Site) -> None:
    exe = shutil.which("aggregator") or str(Path(sys.executable).with_name("aggregator"))
    proc = subprocess.run(
        [exe, "publish", *shipped.args("--base-url", BASE_URL)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "stories:" in proc.stdout
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert "aggregator" in version.stdout


# --- identity and de-duplication -----------------------------------------------------


def test_ids_survive_rename_move_and_tracking_parameters(site: Site) -> None:
    site.write_seed("a.md", seed_text(url="https://www.example.com/news/story-1"))
    assert site.publish().exit_code == 0
    before = ids(site, "all.atom.xml")
    rss_before = ids(site, "all.rss.xml")
    (site.seeds / "a.md").unlink()
    site.write_seed(
        "moved/renamed.txt",
        seed_text(url="https://WWW.Example.com:443/news/story-1?utm_source=x&fbclid=1#top"),
    )
    result = site.publish()
    assert result.exit_code == 0, result.output
    assert "warning:" not in result.output  # the old file is gone: not a duplicate of the new one
    assert ids(site, "all.atom.xml") == before
    assert ids(site, "all.rss.xml") == rss_before == before


def test_topic_identity_is_case_insensitive(site: Site) -> None:
    site.write_seed("a.md", seed_text(url="https://example.com/1", topics=("AI",)))
    site.write_seed("b.md", seed_text(url="https://example.com/2", topics=("ai",)))
    site.write_seed("c.md", seed_text(url="https://example.com/3", topics=(" Ai ",)))
    assert site.publish().exit_code == 0
    topic_files = [p for p in feeds_of(site) if p.startswith("topics/")]
    assert topic_files == ["topics/ai.atom.xml", "topics/ai.rss.xml"]
    assert len(parsed(site, "topics/ai.atom.xml").entries) == 3


def test_related_coverage_is_one_article_across_stories(site: Site) -> None:
    shared = "https://other.example.net/coverage/1"
    site.write_seed("a.md", seed_text(url="https://example.com/1",
                                      related=related_item(shared, "Shared coverage")))
    site.write_seed("b.md", seed_text(url="https://example.com/2",
                                      related=related_item(shared + "?utm_medium=rss", "Shared coverage")
                                      + related_item(shared + "#again", "Shared coverage twice")))
    assert site.publish().exit_code == 0
    entries = parsed(site, "providers/other.example.net.atom.xml").entries
    assert [e.link for e in entries] == [shared]
    # cited twice in story b: listed once in its related coverage
    story_b = next(e for e in parsed(site, "all.atom.xml").entries if e.link == "https://example.com/2")
    hrefs = html.fragment_fromstring(story_b.content[0].value, create_parent="div").xpath(".//a/@href")
    assert [href for href in hrefs if href.startswith(shared)] == [shared]


def test_primary_cited_as_related_is_one_item_in_provider_feed(site: Site) -> None:
    site.write_seed("a.md", seed_text(url="https://example.com/1", title="Primary story"))
    site.write_seed("b.md", seed_text(url="https://other.example.net/2", provider=("Other", "other.example.net"),
                                      related=related_item("https://example.com/1", "Primary story",
                                                           provider=("Example News", "example.com"))))
    assert site.publish().exit_code == 0
    provider = parsed(site, "providers/example.com.atom.xml").entries
    assert len(provider) == 1
    story_id = next(e.id for e in parsed(site, "all.atom.xml").entries if e.link == "https://example.com/1")
    assert provider[0].id == story_id


def test_duplicate_primary_url_is_one_story_with_a_warning(site: Site) -> None:
    site.write_seed("a.md", seed_text(url="https://example.com/1", title="Older"))
    site.write_seed("b.md", seed_text(url="https://example.com/1?utm_source=feed", title="Newer",
                                      extra="updatedDateTime: 2024-06-01T00:00:00Z"))
    result = site.publish()
    assert result.exit_code == 0
    assert "b.md: same article URL as a.md" in result.output
    entries = parsed(site, "all.atom.xml").entries
    assert [e.title for e in entries] == ["Newer"]
    (site.seeds / "b.md").unlink()
    assert site.publish().exit_code == 0
    assert [e.title for e in parsed(site, "all.atom.xml").entries] == ["Older"]


# --- incremental behaviour -----------------------------------------------------------


def test_deleted_seed_disappears_and_empty_topic_loses_its_files(site: Site) -> None:
    site.write_seed("a.md", seed_text(url="https://example.com/1", topics=("Space",)))
    site.write_seed("b.md", seed_text(url="https://example.com/2", topics=("Health",)))
    assert site.publish().exit_code == 0
    assert (site.feeds / "topics/space.rss.xml").exists()
    (site.seeds / "a.md").unlink()
    result = site.publish("-v")
    assert result.exit_code == 0
    assert not (site.feeds / "topics/space.rss.xml").exists()
    assert not (site.feeds / "topics/space.atom.xml").exists()
    assert [e.link for e in parsed(site, "all.rss.xml").entries] == ["https://example.com/2"]
    live = {BASE_URL + f"{name}.{fmt}.xml" for name in ("all", "topics/health", "providers/example.com")
            for fmt in ("rss", "atom")}
    assert {BASE_URL + rel for rel in feeds_of(site)} == live
    assert not (site.feeds / "topics/space.json").exists()
    live |= {BASE_URL + f"{name}.json" for name in ("all", "topics/health", "providers/example.com")}
    index = html.document_fromstring((site.feeds / "index.html").read_bytes())
    assert set(index.xpath("//link[@rel='alternate']/@href")) == {url for url in live if "/all." in url}
    assert set(index.xpath("//nav[@class='feeds']//a/@href")) == {"topics/health.html", "providers/example.com.html"}
    assert not (site.feeds / "topics/space.html").exists()
    opml = etree.parse(str(site.feeds / "feeds.opml"))
    assert sorted(opml.xpath("//outline/@xmlUrl")) == sorted(url for url in live if url.endswith(".atom.xml"))
    for rel in ("index.html", "feeds.opml"):
        assert b"topics/space" not in (site.feeds / rel).read_bytes(), rel


def test_edit_changes_the_item_but_not_its_id(site: Site) -> None:
    site.write_seed("a.md", seed_text(title="First title"))
    assert site.publish().exit_code == 0
    [before] = parsed(site, "all.atom.xml").entries
    site.write_seed("a.md", seed_text(title="Second title"))
    result = site.publish("-v")
    assert "wrote all.atom.xml" in result.output
    [after] = parsed(site, "all.atom.xml").entries
    assert after.id == before.id and after.title == "Second title"


def test_only_affected_feeds_are_rewritten(site: Site) -> None:
    site.write_seed("a.md", seed_text(url="https://example.com/1", topics=("Space",)))
    site.write_seed("b.md", seed_text(url="https://b.example.org/2", topics=("Health",),
                                      provider=("B", "b.example.org")))
    assert site.publish().exit_code == 0
    site.write_seed("a.md", seed_text(url="https://example.com/1", topics=("Space",), title="Edited"))
    result = site.publish("-v")
    written = {line.split()[1] for line in result.output.splitlines() if line.startswith("wrote ")}
    assert "topics/space.rss.xml" in written and "providers/example.com.atom.xml" in written
    assert not any("health" in p or "b.example.org" in p for p in written)


def test_feed_deleted_by_hand_is_restored(site: Site) -> None:
    site.write_seed("a.md", seed_text())
    assert site.publish().exit_code == 0
    data = (site.feeds / "all.rss.xml").read_bytes()
    (site.feeds / "all.rss.xml").unlink()
    assert site.publish().exit_code == 0
    assert (site.feeds / "all.rss.xml").read_bytes() == data


def test_state_deleted_is_rebuilt(shipped: Site) -> None:
    assert shipped.publish().exit_code == 0
    files = shipped.feed_files()
    shipped.state.unlink()
    result = shipped.publish()
    assert result.exit_code == 0
    assert shipped.feed_files() == files


def test_future_story_is_held_back_until_its_time(site: Site) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    site.write_seed("past.md", seed_text(url="https://example.com/past"))
    site.write_seed("future.md", seed_text(url="https://example.com/future", published="2026-01-01T01:00:00Z",
                                           topics=("Later",)))
    result = publish(site.config(), now)
    assert result.stories_held == 1 and result.next_release == datetime(2026, 1, 1, 1, tzinfo=UTC)
    assert not (site.feeds / "topics/later.rss.xml").exists()
    result = publish(site.config(), now + timedelta(hours=2))
    assert result.files_read == 0 and result.stories_held == 0
    assert (site.feeds / "topics/later.rss.xml").exists()
    links = [e.link for e in parsed(site, "all.atom.xml").entries]
    assert links == ["https://example.com/future", "https://example.com/past"]


def test_only_published_and_min_quality_switches(site: Site, now: datetime) -> None:
    site.write_seed("a.md", seed_text(url="https://example.com/1", extra="published: false\nquality: 5"))
    site.write_seed("b.md", seed_text(url="https://example.com/2", extra="published: true\nquality: 50"))
    publish(site.config(), now)
    assert len(parsed(site, "all.atom.xml").entries) == 2  # `published: false` is not a draft
    publish(site.config(only_published=True), now)
    assert [e.link for e in parsed(site, "all.atom.xml").entries] == ["https://example.com/2"]
    publish(site.config(min_quality=10), now)
    assert [e.link for e in parsed(site, "all.atom.xml").entries] == ["https://example.com/2"]


def test_max_items(site: Site, now: datetime) -> None:
    for i in range(5):
        site.write_seed(f"{i}.md", seed_text(url=f"https://example.com/{i}", published=f"2024-05-0{i + 1}T10:00:00Z"))
    publish(site.config(max_items=3), now)
    links = [e.link for e in parsed(site, "all.rss.xml").entries]
    assert links == ["https://example.com/4", "https://example.com/3", "https://example.com/2"]


# --- bad seeds -----------------------------------------------------------------------

BAD_SEEDS = {
    "broken-yaml.md": ("---\ntitle: [unclosed\n---\n", "invalid YAML"),
    "no-title.md": (seed_text(url="https://example.com/nt", title=""), "[title]: missing or empty title"),
    "bad-date.md": (seed_text(url="https://example.com/bd", published="'yesterday'"),
                    "[publishedDateTime]: not an ISO 8601 date"),
    "js-url.md": (seed_text(url="javascript:alert(1)"), "[webUrl]: 'javascript:' URL rejected"),
    "not-utf8.txt": (None, "not valid UTF-8"),
    "no-front-matter.md": ("just text\n", "no front matter"),
}


def test_bad_seeds_are_reported_and_good_ones_publish(site: Site) -> None:
    site.write_seed("good.md", seed_text(url="https://example.com/good", topics=("../../x", "Fine")))
    for name, (text, _) in BAD_SEEDS.items():
        if text is None:
            (site.seeds / name).write_bytes(b"---\ntitle: \xff\xfe caf\xe9\n---\n")
        else:
            site.write_seed(name, text)
    result = site.publish()
    assert result.exit_code == 0
    for name, (_, message) in BAD_SEEDS.items():
        line = next((ln for ln in result.output.splitlines() if ln.startswith(f"error: {name}")), None)
        assert line is not None and message in line, (name, result.output)
    assert count(result.output, "skipped") == len(BAD_SEEDS)
    assert [e.link for e in parsed(site, "all.atom.xml").entries] == ["https://example.com/good"]
    # the topic "../../x" becomes a safe slug inside feeds/, nothing is written elsewhere
    written = {str(p.relative_to(site.root)) for p in site.root.rglob("*") if p.is_file()}
    assert {p for p in written if not p.startswith(("seeds/", "feeds/", "state/"))} == set()
    assert "feeds/topics/x.rss.xml" in written and "feeds/topics/fine.rss.xml" in written
    strict = site.publish("--strict")
    assert strict.exit_code == 1


def test_a_good_seed_turned_bad_keeps_its_last_good_version(site: Site) -> None:
    site.write_seed("a.md", seed_text(title="Good version"))
    assert site.publish().exit_code == 0
    site.write_seed("a.md", "---\ntitle: \"half-saved\n")
    result = site.publish()
    assert "a.md" in result.output and "last good version stays published" in result.output
    assert [e.title for e in parsed(site, "all.atom.xml").entries] == ["Good version"]
    # still reported on the next run, until fixed
    assert "last good version" in site.publish().output
    site.write_seed("a.md", seed_text(title="Fixed"))
    result = site.publish()
    assert "error" not in result.output
    assert [e.title for e in parsed(site, "all.atom.xml").entries] == ["Fixed"]


def test_bad_related_item_is_dropped_with_its_field_path(site: Site) -> None:
    related = (related_item("https://other.example.net/ok", "Fine")
               + related_item("javascript:alert(1)", "Evil")
               + "  - title: \"No date\"\n    webUrl: \"https://other.example.net/nodate\"\n")
    site.write_seed("a.md", seed_text(related=related))
    result = site.publish()
    assert "related[1].webUrl: 'javascript:' URL rejected" in result.output
    assert "related[2].publishedDateTime: missing publication date" in result.output
    [entry] = parsed(site, "all.atom.xml").entries
    body = html.fragment_fromstring(entry.content[0].value, create_parent="div")
    assert body.xpath(".//li/a/@href") == ["https://other.example.net/ok"]
    assert "javascript" not in entry.content[0].value


def test_hidden_and_editor_files_are_ignored(site: Site) -> None:
    site.write_seed("a.md", seed_text())
    for name in (".hidden.md", ".#a.md", "a.md~", "a.md.swp", "a.tmp", "notes.rst"):
        site.write_seed(name, "garbage")
    os.symlink("/etc/passwd", site.seeds / "outside.md")
    os.mkfifo(site.seeds / "fifo.md")
    result = site.publish()
    assert result.exit_code == 0 and count(result.output, "skipped") == 0
    assert "files: 1 seeds" in result.output and count(result.output, "seeds") == 1


def test_scan_on_worker_processes_finds_what_the_serial_scan_finds(site: Site, monkeypatch: pytest.MonkeyPatch,
                                                                   now: datetime) -> None:
    """A large state scans its subfolders on every core; the result must be the same."""
    site.write_seed("top.md", seed_text(url="https://example.com/top"))
    for n, rel in enumerate(["2024/a.md", "2024/05/b.md", "2024.06/c.txt", "x/y/z/d.md", "x/e.md"]):
        site.write_seed(rel, seed_text(url=f"https://example.com/{n}"))
    site.write_seed("2024/.hidden/f.md", seed_text(url="https://example.com/hidden"))
    site.write_seed("x/notes.rst", "not a seed")
    site.write_seed("2024/bad.md", "no front matter")
    (site.seeds / "empty").mkdir()
    serial = load.scan(site.seeds)
    monkeypatch.setattr(publish_module, "PARALLEL_SCAN_MIN_SEEDS", 0)
    store = Store(site.state)
    try:
        parallel = publish_module._scan(store, site.seeds, False)
    finally:
        store.close()
    assert parallel == serial
    assert len(serial.files) == serial.count == 7 and "empty/" in serial.folders
    result = publish(site.config(), now)  # and a publish that takes this path
    assert not result.errors[1:] and result.errors[0].startswith("2024/bad.md")
    assert len(parsed(site, "all.atom.xml").entries) == 6
    # Now that the state knows each folder's digest, only a folder that moved sends its files.
    site.write_seed("x/e.md", seed_text(url="https://example.com/4", title="Edited"))
    store = Store(site.state)
    try:
        again = publish_module._scan(store, site.seeds, False)
        every = publish_module._scan(store, site.seeds, True)  # every seed read again: all of them
    finally:
        store.close()
    assert sorted(again.files) == ["x/e.md"] and again.count == 7
    assert again.folders.keys() == serial.folders.keys() and again.folders != serial.folders
    assert every.files.keys() == serial.files.keys()
    assert publish(site.config(), now).files_seen == 7
    titles = [e.title for e in parsed(site, "all.atom.xml").entries]
    assert len(titles) == 6 and titles.count("Edited") == 1  # the seeds of the folders left alone are not gone


# --- configuration and locking ---------------------------------------------------------


def test_config_errors_name_the_key(site: Site) -> None:
    config = site.root / "c.yaml"
    for text, key in [("feeds:\n  max_items: many\n", "feeds.max_items"),
                      ("site:\n  base_url: /relative\n", "site.base_url"),
                      ("sites: {}\n", "sites"),
                      ("feeds:\n  only_published: maybe\n", "feeds.only_published")]:
        config.write_text(text)
        result = site.runner.invoke(__import__("aggregator.cli").cli.main, ["publish", "--config", str(config)])
        assert result.exit_code == 2 and f"'{key}'" in result.output, result.output


def test_second_writer_is_refused_while_the_lock_is_held(site: Site) -> None:
    from aggregator.lock import writer_lock

    site.write_seed("a.md", seed_text())
    with writer_lock(site.state):
        result = site.publish()
    assert result.exit_code == 3
    assert f"pid {os.getpid()}" in result.output and "--wait" in result.output
    assert site.publish().exit_code == 0


def test_state_is_outside_feeds_and_feeds_hold_only_served_files(shipped: Site) -> None:
    assert shipped.publish().exit_code == 0
    names = {p.name for p in shipped.feeds.rglob("*") if p.is_file()}
    assert all(n.endswith((".xml", ".json", ".html", ".opml", ".css")) for n in names)
    db = sqlite3.connect(shipped.state)
    assert db.execute("SELECT count(*) FROM stories").fetchone()[0] > 0


@pytest.mark.parametrize("command", ["publish", "check"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    from click.testing import CliRunner

    from aggregator.cli import main

    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "Example:" in result.output and "--config" in result.output


def test_check_reports_without_writing(site: Site) -> None:
    from aggregator.cli import main

    site.write_seed("a.md", seed_text())
    site.write_seed("bad.md", "---\n- a list\n---\n")
    result = site.runner.invoke(main, ["check", *site.args()])
    assert result.exit_code == 1
    assert "bad.md: front matter is a list, not a mapping" in result.output
    assert not site.feeds.exists() and not site.state.exists()


def test_incremental_feeds_are_byte_identical_to_a_cold_run(site: Site, tmp_path: Path, now: datetime) -> None:
    """Edits, deletes, renames and additions published one by one give the same bytes
    as one cold publish of the final seeds."""
    from bench.generate import generate

    generate(site.seeds, 300, seed=7)
    publish(site.config(), now)
    files = sorted(p for p in site.seeds.rglob("*") if p.is_file())
    for step, path in enumerate(files[:40]):
        if step % 4 == 0:
            path.unlink()
        elif step % 4 == 1:
            path.rename(path.with_name("renamed-" + path.name))
        elif step % 4 == 2:
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace('title: "', 'title: "Edited ', 1), encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
            (site.seeds / f"added-{step}.md").write_text(text.replace("https://", "https://copy.", 1), encoding="utf-8")
        if step % 5 == 0:
            publish(site.config(), now)
    result = publish(site.config(), now)
    assert result.errors == ()  # every seed valid: a seed turned bad would keep its last good version
    incremental = site.feed_files()

    cold = Site(root=tmp_path / "cold", runner=site.runner)
    cold.root.mkdir()
    shutil.copytree(site.seeds, cold.seeds)
    publish(cold.config(), now)
    assert differing(cold.feed_files(), incremental) == []


def test_one_display_name_per_provider_and_topic(site: Site) -> None:
    site.write_seed("a.md", seed_text(url="https://example.com/1", provider=("The Guardian", "theguardian.com"),
                                      topics=("Climate",)))
    site.write_seed("b.md", seed_text(url="https://example.com/2", provider=("The Guardian", "www.theguardian.com"),
                                      topics=("climate",)))
    site.write_seed("c.md", seed_text(url="https://example.com/3", provider=("Guardian", "theguardian.com"),
                                      topics=("climate",)))
    assert site.publish().exit_code == 0
    assert feeds_of(site) == sorted(["all.atom.xml", "all.rss.xml", "providers/theguardian.com.atom.xml",
                                     "providers/theguardian.com.rss.xml", "topics/climate.atom.xml",
                                     "topics/climate.rss.xml"])
    feed = parsed(site, "providers/theguardian.com.atom.xml")
    assert feed.feed.title.endswith("The Guardian")
    assert {e.author for e in feed.entries} == {"The Guardian"}
    assert parsed(site, "topics/climate.atom.xml").feed.title.endswith(": climate")
    # the majority changes: every item and title follows
    site.write_seed("d.md", seed_text(url="https://example.com/4", provider=("Guardian", "theguardian.com")))
    site.write_seed("e.md", seed_text(url="https://example.com/5", provider=("Guardian", "theguardian.com")))
    assert site.publish().exit_code == 0
    assert {e.author for e in parsed(site, "all.atom.xml").entries} == {"Guardian"}
    assert parsed(site, "providers/theguardian.com.rss.xml").feed.title.endswith("Guardian")


def test_changed_limits_renormalize_unchanged_seeds(site: Site, now: datetime) -> None:
    site.write_seed("a.md", seed_text(title="A title that is rather long"))
    publish(site.config(), now)
    assert parsed(site, "all.atom.xml").entries[0].title == "A title that is rather long"
    result = publish(site.config(limits={"max_title_chars": 10}), now)
    assert result.files_read == 1 and any("title: truncated" in w for w in result.warnings)
    assert parsed(site, "all.atom.xml").entries[0].title == "A title t…"
    (site.seeds / "a.md").unlink()
    result = publish(site.config(), now)  # limits back, and the seed gone: both noticed
    assert result.seeds_removed == 1 and not (site.feeds / "all.atom.xml").exists()


def test_a_format_added_to_the_registry_is_written_for_every_feed_at_once(
        shipped: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new format is one module and one entry in FORMATS: an existing site gets its
    files at the next publish, with no other change, and the pages link to them."""
    from aggregator import formats, publish, render

    assert shipped.publish().exit_code == 0
    feeds = {key for key in map(render.key_of_path, shipped.feed_files()) if key}
    text = formats.Format(name="text", label="Text", suffix=".feed.txt", media_type="text/plain",
                          render=lambda feed: "\n".join(item.id for item in feed.items).encode())
    for module in (render, formats, publish):
        monkeypatch.setattr(module, "FORMATS", (*formats.FORMATS, text))
    result = shipped.publish()
    assert result.exit_code == 0, result.output
    files = shipped.feed_files()
    assert {key for key in feeds if f"{key.stem}.feed.txt" in files} == feeds
    assert b'type="text/plain"' in files["index.html"]
    assert count(shipped.publish().output, "files written") == 0


# --- refresh hints -------------------------------------------------------------------------


def _rate_site(site: Site) -> None:
    """A topic with a story every 30 minutes, and one with a story every two days."""
    for i in range(5):
        site.write_seed(f"fast-{i}.md", seed_text(url=f"https://example.com/fast/{i}", title=f"Fast {i}",
                                                 published=f"2024-05-01T{10 + i // 2:02d}:{30 * (i % 2):02d}:00Z",
                                                 topics=("Fast",)))
        site.write_seed(f"slow-{i}.md", seed_text(url=f"https://example.com/slow/{i}", title=f"Slow {i}",
                                                 published=f"2024-04-{1 + 2 * i:02d}T09:00:00Z", topics=("Slow",)))


def test_rss_tells_readers_how_often_the_feed_gets_new_items(site: Site, now: datetime) -> None:
    from tests.feedlint import lint_feed

    _rate_site(site)
    assert site.publish().exit_code == 0
    sy = "{http://purl.org/rss/1.0/modules/syndication/}"
    for topic, ttl, period, frequency in [("fast", "30", "hourly", "2"), ("slow", "1440", "daily", "1")]:
        data = (site.feeds / f"topics/{topic}.rss.xml").read_bytes()
        assert read_feed(data).feed.ttl == ttl
        channel = etree.fromstring(data).find("channel")
        assert (channel.findtext(f"{sy}updatePeriod"), channel.findtext(f"{sy}updateFrequency")) == (period, frequency)
        assert lint_feed(data, BASE_URL + f"topics/{topic}.rss.xml", now) == []


def test_the_server_lets_caches_keep_a_feed_as_long_as_its_rate_allows(site: Site) -> None:
    from aggregator.serve import FeedServer

    _rate_site(site)
    assert site.publish().exit_code == 0
    server = FeedServer(site.feeds, "127.0.0.1", 0)
    server.start()
    try:
        expected = {"topics/fast.atom.xml": "public, max-age=450", "topics/fast.json": "public, max-age=450",
                    "topics/slow.rss.xml": "public, max-age=3600", "index.html": "public, max-age=60"}
        for path, cache_control in expected.items():
            with urllib.request.urlopen(server.url + path, timeout=10) as response:
                assert response.headers["Cache-Control"] == cache_control, path
    finally:
        server.stop()


def test_each_folder_written_in_is_fsynced_once_per_feed_not_per_file(site: Site,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from aggregator import write

    for n, topic in enumerate(("Science", "Space", "Health", "Climate")):
        site.write_seed(f"{n}.md", seed_text(url=f"https://www.example.com/news/{n}", title=f"Story {n}",
                                             topics=(topic,)))
    synced: list[Path] = []
    monkeypatch.setattr(write, "_fsync_dir", synced.append)
    result = site.publish("-v")
    assert result.exit_code == 0, result.output
    written = [line.removeprefix("wrote ") for line in result.output.splitlines() if line.startswith("wrote ")]
    topics = (site.feeds / "topics").resolve()
    assert len([path for path in written if path.startswith("topics/")]) >= 16  # 4 feeds in 4 formats
    assert {(site.feeds / path).parent.resolve() for path in written} <= set(synced)
    assert synced.count(topics) == 4  # one per topic feed, after its four files
