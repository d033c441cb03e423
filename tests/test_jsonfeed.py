"""JSON Feed 1.1: valid against the specification's schema (tests/schemas/), and the same
feed as the Atom file beside it: the same ids, in the same order, with the same dates."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lxml import html

from aggregator.cli import main
from aggregator.serve import FeedServer
from bench.generate import generate
from tests.conftest import BASE_URL, REPO, Site, read_feed

SCHEMA = json.loads((REPO / "tests" / "schemas" / "jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _date(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _atom_entries(data: bytes) -> list[tuple[str, datetime, datetime]]:
    """(id, published, updated) of each Atom entry, in order."""
    feed = read_feed(data)
    return [(e.id, datetime(*e.published_parsed[:6], tzinfo=UTC), datetime(*e.updated_parsed[:6], tzinfo=UTC))
            for e in feed.entries]


def check_json_feeds(feeds: Path) -> int:
    """Every JSON Feed below `feeds` is valid and matches its Atom twin; returns how many."""
    checked = 0
    for path in sorted(feeds.rglob("*.json")):
        document = json.loads(path.read_bytes())
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(document)]
        assert errors == [], (path, errors[:5])
        atom = path.with_name(path.name.removesuffix(".json") + ".atom.xml")
        items = [(i["id"], _date(i["date_published"]), _date(i["date_modified"])) for i in document["items"]]
        assert items == _atom_entries(atom.read_bytes()), path
        assert document["feed_url"].endswith(str(path.relative_to(feeds)))
        for item in document["items"]:
            _check_related(item)
        checked += 1
    return checked


def _check_related(item: dict[str, Any]) -> None:
    """The `_related` extension lists the articles the HTML's related coverage links, in order."""
    content = html.fragment_fromstring(item["content_html"], create_parent="div")
    linked = [a.get("href") for a in content.xpath("//h3[.='Related coverage']/following-sibling::ul[1]/li/a")]
    given = [article["url"] for article in item.get("_related", {}).get("articles", [])]
    assert given == linked, item["id"]
    for article in item.get("_related", {}).get("articles", []):
        assert set(article) == {"url", "title", "outlet", "date_published"}


def test_the_schema_is_a_valid_json_schema_that_refuses_what_the_specification_does() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    good = {"version": "https://jsonfeed.org/version/1.1", "title": "t",
            "items": [{"id": "1", "content_html": "<p>x</p>", "date_published": "2024-05-01T10:00:00Z"}]}
    assert VALIDATOR.is_valid(good)
    assert VALIDATOR.is_valid({**good, "_ext": {"about": "x"}})
    for bad in ({**good, "unknown": 1}, {**good, "version": "https://jsonfeed.org/version/1"},
                {**good, "items": [{"id": "1"}]}, {**good, "items": [{"id": "1", "content_text": "x", "tags": "a"}]},
                {**good, "items": [{"id": "1", "content_text": "x", "date_published": "May 1, 2024"}]},
                {key: value for key, value in good.items() if key != "title"}):
        assert not VALIDATOR.is_valid(bad), bad


def test_shipped_seeds_json_feeds_are_valid_and_match_atom(shipped: Site) -> None:
    assert shipped.publish().exit_code == 0
    files = shipped.feed_files()
    assert check_json_feeds(shipped.feeds) == sum(1 for rel in files if rel.endswith(".atom.xml")) > 50
    for rel in (rel for rel in files if rel.endswith(".json")):  # each on its page, the combined one on the front
        page = "index.html" if rel == "all.json" else rel.removesuffix(".json") + ".html"
        discovered = html.document_fromstring(files[page]).xpath(
            "//head/link[@rel='alternate'][@type='application/feed+json']/@href")
        assert discovered == [BASE_URL + rel], page
    document = json.loads(files["all.json"])
    assert any("_related" in item for item in document["items"])
    assert all(item["authors"][0]["name"] and item["url"].startswith("https://") for item in document["items"])


def test_generated_corpus_json_feeds_are_valid_and_match_atom(site: Site) -> None:
    generate(site.seeds, 300, seed=11)
    assert site.publish().exit_code == 0
    assert check_json_feeds(site.feeds) > 20


def test_json_feeds_are_written_only_when_they_change(shipped: Site) -> None:
    assert shipped.publish().exit_code == 0
    before = {rel: data for rel, data in shipped.feed_files().items() if rel.endswith(".json")}
    result = shipped.runner.invoke(main, ["publish", *shipped.args("--base-url", "https://feeds.example.org/news/",
                                                                   "-v")])
    assert not [line for line in result.output.splitlines() if line.startswith("wrote") and ".json" in line]
    assert {rel: data for rel, data in shipped.feed_files().items() if rel.endswith(".json")} == before


def test_json_feeds_are_served_as_feed_json(shipped: Site) -> None:
    assert shipped.publish().exit_code == 0
    server = FeedServer(shipped.feeds, "127.0.0.1", 0)
    server.start()
    try:
        with urllib.request.urlopen(server.url + "all.json", timeout=10) as response:
            assert response.headers["Content-Type"] == "application/feed+json; charset=utf-8"
            assert json.loads(response.read())["version"] == "https://jsonfeed.org/version/1.1"
    finally:
        server.stop()


@pytest.mark.parametrize("title", ["AT&T <b>bold</b> &copy;", "\u00e9t\u00e9 \u201cquotes\u201d"])
def test_text_is_json_text_not_markup(site: Site, title: str) -> None:
    from tests.conftest import seed_text

    site.write_seed("a.md", seed_text(title=title.replace('"', '\\"')))
    assert site.publish().exit_code == 0
    item = json.loads((site.feeds / "all.json").read_bytes())["items"][0]
    atom = read_feed((site.feeds / "all.atom.xml").read_bytes()).entries[0]
    assert item["title"] == atom.title and "<" not in item["title"]  # source markup is gone, text stays text
