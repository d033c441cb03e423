"""The pages people read: the front page and each feed's page, through the CLI, parsed
as a browser parses them. (Pure rendering is checked in test_properties.)"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import html5lib
from lxml import etree, html

from aggregator.config import SiteConfig
from aggregator.formats import FEED_FORMATS
from aggregator.publish import publish
from tests.conftest import BASE_URL, NOW, Site, count, related_item, seed_text


def page(site: Site, rel: str) -> etree._Element:
    """A page parsed as a browser does, failing on any parse error."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse((site.feeds / rel).read_bytes())


def with_config(site: Site, text: str) -> str:
    path = site.root / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def two_stories(site: Site) -> None:
    related = "related:\n" + related_item("https://other.example.net/a", "Other take",
                                          provider=("Other", "other.example.net"))
    site.write_seed("a.md", seed_text(url="https://example.com/a", title="Alpha", topics=("Space",), extra=related))
    site.write_seed("b.md", seed_text(url="https://example.com/b", title="Beta", topics=("Health",),
                                      published="2024-05-02T10:00:00Z"))


def test_the_front_page_shows_stories_coverage_navigation_and_subscriptions(shipped: Site) -> None:
    assert shipped.publish().exit_code == 0
    front = page(shipped, "index.html")
    cards = front.findall(".//main//article")
    assert 10 <= len(cards) <= 30
    first = cards[0]
    assert first.find(".//h3/a").get("href").startswith("https://")
    assert first.find(".//time").get("datetime")
    assert first.find(".//img").get("loading") == "lazy" and first.find(".//img").get("alt")
    assert any(card.findall(".//details[@class='related']//li/a") for card in cards)  # also covered by
    headings = [element.tag for element in front.iter() if element.tag in ("h1", "h2", "h3")]
    assert headings[0] == "h1" and headings.count("h1") == 1 and headings[1] == "h2"  # in order
    navs = [nav.find("h2").text for nav in front.findall(".//nav[@class='feeds']")]
    assert navs == ["Topics", "Outlets"]  # topics first
    topics = front.findall(".//nav[@class='feeds']")[0].findall(".//li")
    assert all(re.fullmatch(r"\(\d+ items?\)", li.find("span").text) for li in topics)
    names = [li.find("a").text for li in topics]
    assert names == sorted(names, key=str.casefold)
    subscribe = {a.get("href") for a in front.findall(".//section[@class='subscribe']//a")}
    assert subscribe == {BASE_URL + "all" + fmt.suffix for fmt in FEED_FORMATS} | {BASE_URL + "feeds.opml"}
    assert front.find(".//html") is None and front.get("lang") == "en"


def test_every_page_of_the_shipped_seeds_is_valid_html(shipped: Site) -> None:
    assert shipped.publish().exit_code == 0
    pages = sorted(shipped.feeds.rglob("*.html"))
    assert len(pages) > 50
    for path in pages:  # html5lib in strict mode raises on any parse error a browser would recover from
        document = page(shipped, str(path.relative_to(shipped.feeds)))
        assert document.find(".//main") is not None and len(document.findall(".//h1")) == 1, path


def test_each_feed_has_a_page_with_its_items_and_the_feeds_point_at_it(site: Site) -> None:
    two_stories(site)
    assert site.publish().exit_code == 0
    space = page(site, "topics/space.html")
    assert [a.get("href") for a in space.findall(".//article//h3/a")] == ["https://example.com/a"]
    assert {link.get("href") for link in space.findall(".//head/link[@rel='alternate']")} == {
        BASE_URL + "topics/space" + fmt.suffix for fmt in FEED_FORMATS}
    assert space.find(".//head/link[@rel='stylesheet']").get("href") == "../style.css"
    provider = page(site, "providers/other.example.net.html")  # an outlet known only as coverage
    assert [a.get("href") for a in provider.findall(".//article//h3/a")] == ["https://other.example.net/a"]
    rss = etree.fromstring((site.feeds / "topics/space.rss.xml").read_bytes())
    assert rss.findtext("channel/link") == BASE_URL + "topics/space.html"
    atom = etree.fromstring((site.feeds / "topics/space.atom.xml").read_bytes())
    alternate = atom.find("{http://www.w3.org/2005/Atom}link[@rel='alternate']")
    assert alternate.get("href") == BASE_URL + "topics/space.html" and alternate.get("type") == "text/html"


def test_an_edit_rewrites_only_the_pages_that_show_the_story(site: Site) -> None:
    two_stories(site)
    assert site.publish().exit_code == 0
    assert count(site.publish("-v").output, "files written") == 0  # a no-op writes no page
    site.write_seed("b.md", seed_text(url="https://example.com/b", title="Beta, revised", topics=("Health",),
                                      published="2024-05-02T10:00:00Z"))
    result = site.publish("-v")
    pages = sorted(line.removeprefix("wrote ") for line in result.output.splitlines()
                   if line.startswith("wrote ") and line.endswith(".html"))
    assert pages == ["all.html", "index.html", "providers/example.com.html", "topics/health.html"]


def test_thumbnails_off_leaves_no_request_to_another_host(site: Site) -> None:
    site.write_seed("a.md", seed_text(url="https://example.com/a", extra="images:\n  - url: https://img.example.com/a.jpg\n"
                                                                       "    width: 640\n    height: 480\n"))
    assert site.publish().exit_code == 0
    assert page(site, "index.html").find(".//img") is not None
    config = with_config(site, "site:\n  thumbnails: false\n")
    assert site.publish("--config", config).exit_code == 0
    for path in site.feeds.rglob("*.html"):
        document = html.document_fromstring(path.read_bytes())
        loaded = [e.get("src") for e in document.iter() if isinstance(e.tag, str) and e.get("src")]
        loaded += document.xpath("//link[@rel='stylesheet']/@href")
        assert loaded == ["style.css"] or loaded == ["../style.css"], (path, loaded)


def test_a_story_template_in_the_templates_folder_changes_every_card(site: Site) -> None:
    two_stories(site)
    templates = site.root / "theme"
    templates.mkdir()
    (templates / "story.html").write_text('<article class="mine"><h3><a href="{{ card.url }}">{{ card.title }}</a>'
                                          "</h3></article>\n", encoding="utf-8")
    config = with_config(site, f"site:\n  templates: {templates}\n")
    assert site.publish("--config", config).exit_code == 0
    for rel in ("index.html", "all.html", "topics/space.html", "topics/health.html", "providers/example.com.html"):
        articles = page(site, rel).findall(".//article")
        assert articles and all(a.get("class") == "mine" for a in articles), rel
    (templates / "story.html").write_text('<article class="theirs">{{ card.title }}</article>\n', encoding="utf-8")
    assert site.publish("--config", config).exit_code == 0  # a template changed: every page again
    assert all(a.get("class") == "theirs" for a in page(site, "topics/space.html").findall(".//article"))


def test_templates_that_cannot_be_used_are_refused_naming_the_setting(site: Site, tmp_path: Path) -> None:
    two_stories(site)
    result = site.publish("--config", with_config(site, f"site:\n  templates: {tmp_path / 'none'}\n"))
    assert result.exit_code == 2 and "site.templates" in result.output and "none" in result.output
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "story.html").write_text("<article>{% if card.title %}</article>\n", encoding="utf-8")
    result = site.publish("--config", with_config(site, f"site:\n  templates: {broken}\n"))
    assert result.exit_code == 2 and "site.templates" in result.output
    assert f"{broken / 'story.html'}, line" in result.output
    assert not (site.feeds / "index.html").exists()  # refused before anything is written


def test_a_template_failing_while_rendering_is_named_without_a_traceback(site: Site) -> None:
    two_stories(site)
    theme = site.root / "theme"
    theme.mkdir()
    (theme / "story.html").write_text("<article>{{ card.no_such_field }}</article>\n", encoding="utf-8")
    result = site.publish("--config", with_config(site, f"site:\n  templates: {theme}\n"))
    assert result.exit_code == 2, result.output
    assert "story.html" in result.output and "no_such_field" in result.output
    assert "Traceback" not in result.output


def test_an_override_added_later_is_used_and_whatever_it_includes_is_escaped(site: Site) -> None:
    site.write_seed("a.md", seed_text(url="https://example.com/a", title="Q&A: is 1 < 2?"))
    theme = site.root / "theme"
    theme.mkdir()
    config = dataclasses.replace(site.config(), site=SiteConfig(base_url=BASE_URL, templates=theme))
    publish(config, NOW)  # in one process, as the daemon: nothing overridden yet
    (theme / "story.html").write_text('{% include "card.j2" %}\n', encoding="utf-8")
    (theme / "card.j2").write_text('<article class="card">{{ card.title }}</article>\n', encoding="utf-8")
    (theme / "style.css").write_text("body { color: red; }\n", encoding="utf-8")
    publish(config, NOW)
    data = (site.feeds / "index.html").read_bytes()
    assert b'<article class="card">Q&amp;A: is 1 &lt; 2?</article>' in data
    assert (site.feeds / "style.css").read_bytes() == b"body { color: red; }\n"


def test_counts_are_shown_only_with_the_archive_that_holds_them(site: Site) -> None:
    for n in range(4):
        site.write_seed(f"{n}.md", seed_text(url=f"https://example.com/{n}", title=f"Story {n}",
                                             published=f"2024-05-0{n + 1}T10:00:00Z"))
    assert site.publish("--config", with_config(site, "feeds:\n  max_items: 2\n")).exit_code == 0
    assert page(site, "index.html").find(".//nav[@class='feeds']//span").text == "(4 items)"
    config = with_config(site, "feeds:\n  max_items: 2\n  archives: false\n  tombstones: true\n")
    assert site.publish("--config", config).exit_code == 0
    assert page(site, "index.html").find(".//nav[@class='feeds']//span") is None
