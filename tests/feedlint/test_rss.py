"""rss.py: the RSS 2.0 rules, each case a break of the good RSS sample (dates and URIs
as RSS uses them, the self link, and content:encoded included).
"""

from __future__ import annotations

import feedparser
import pytest

from tests.conftest import NOW
from tests.feedlint import lint_feed
from tests.feedlint.samples import GOOD_RSS, ITEM_2_TITLE, RSS_URL, THUMB, assert_reports, edit


def test_good_rss_is_clean() -> None:
    assert lint_feed(GOOD_RSS.encode(), RSS_URL, NOW) == []
    assert feedparser.parse(GOOD_RSS.encode()).bozo == 0


def test_self_link_is_compared_as_a_uri() -> None:
    # The service compares URIs in normal form: host case and default port do not matter.
    assert lint_feed(GOOD_RSS.encode(), "https://FEEDS.example.org:443/news/topics/ai.xml", NOW) == []


_ITEM_1_GUID = '<guid isPermaLink="false">urn:uuid:8a1f0c52-8a55-4d6e-9bd5-5d1c2a9f7e10</guid>'
_ITEM_1_DATE = "<pubDate>Thu, 26 Nov 2026 09:30:00 +0000</pubDate>"
_SELF = '<atom:link href="https://feeds.example.org/news/topics/ai.xml" rel="self" type="application/rss+xml"/>'
_SOURCE = '<source url="https://news.example.com/feed.xml">Example News</source>'

RSS_CASES: list[tuple[str, list[tuple[str, str]], str]] = [
    # root
    ("rss version", [('version="2.0"', 'version="0.92"')], 'rss version must be "2.0"'),
    ("second channel", [("</rss>", "<channel/></rss>")], "rss contains more than one channel"),
    # self link
    ("no self link", [(_SELF, "")], 'Missing atom:link with rel="self"'),
    ("self elsewhere", [("topics/ai.xml", "topics/ml.xml")], "Self reference doesn't match document location"),
    (
        "self type",
        [('type="application/rss+xml"', 'type="application/atom+xml"')],
        'self link type should be "application/rss+xml"',
    ),
    ("self type html", [('type="application/rss+xml"', 'type="text/html"')], '"self" link references a non-Atom'),
    (
        "relative self",
        [('href="https://feeds.example.org/news/topics/ai.xml"', 'href="ai.xml"')],
        "Relative href value on self link",
    ),
    # channel
    (
        "channel description",
        [("<description>Stories about AI &amp; robots, 3 &lt; 4</description>", "")],
        "Missing channel element: description",
    ),
    ("channel title blank", [("<title>AI &amp; robots</title>", "<title> </title>")], "title should not be blank"),
    (
        "channel element twice",
        [("<language>en</language>", "<language>en</language><language>fr</language>")],
        "channel contains more than one language",
    ),
    ("language code", [("<language>en</language>", "<language>en_US</language>")], "ISO-639 language code"),
    ("undefined channel element", [("<language>en</language>", "<lang>en</lang>")], "Undefined channel element: lang"),
    ("metadata after items", [("</channel>", "<copyright>2026</copyright></channel>")], "Misplaced Item"),
    (
        "channel description html",
        [("3 &lt; 4</description>", "&lt;b&gt;bold&lt;/b&gt;</description>")],
        "description should not contain HTML",
    ),
    # item structure
    (
        "item without title and description",
        [
            (ITEM_2_TITLE, ""),
            ("<description>Plain text, escaped for HTML: Tom &amp;amp; Jerry &amp;lt;3</description>", ""),
        ],
        "item must contain either title or description",
    ),
    (
        "undefined item element",
        [(ITEM_2_TITLE, ITEM_2_TITLE + "<subtitle>x</subtitle>")],
        "Undefined item element: subtitle",
    ),
    ("item title twice", [(ITEM_2_TITLE, ITEM_2_TITLE * 2)], "item contains more than one title"),
    ("missing guid", [("<guid>https://news.example.com/second</guid>", "")], "item should contain a guid element"),
    (
        "relative item link",
        [("<link>https://news.example.com/second</link>", "<link>/second</link>")],
        "link must be a full and valid URL",
    ),
    (
        "unexpected attribute",
        [("<category>AI</category>", '<category scheme="x">AI</category>')],
        "Unexpected scheme attribute on category",
    ),
    (
        "both author and dc:creator",
        [("<dc:creator>", "<author>desk@example.com (Desk)</author><dc:creator>")],
        "should not include both author and dc:creator",
    ),
    # guid
    (
        "duplicate guid",
        [("<guid>https://news.example.com/second</guid>", _ITEM_1_GUID)],
        "guid values must not be duplicated",
    ),
    (
        "permalink guid not a URL",
        [(_ITEM_1_GUID, "<guid>story-8a1f0c52</guid>")],
        "guid must be a full URL, unless isPermaLink attribute is false",
    ),
    (
        "permalink guid is a urn",
        [(_ITEM_1_GUID, "<guid>urn:uuid:8a1f0c52-8a55-4d6e-9bd5-5d1c2a9f7e10</guid>")],
        "guid must be a full URL",
    ),
    (
        "isPermaLink value",
        [('isPermaLink="false"', 'isPermaLink="no"')],
        "isPermaLink attribute of guid must be 'true' or 'false'",
    ),
    ("short numeric guid", [(_ITEM_1_GUID, '<guid isPermaLink="false">1234</guid>')], "not sufficiently unique"),
    # dates
    (
        "two-digit year",
        [(_ITEM_1_DATE, "<pubDate>Thu, 26 Nov 26 09:30:00 +0000</pubDate>")],
        "Problematical RFC 822 date-time value",
    ),
    ("wrong weekday", [(_ITEM_1_DATE, "<pubDate>Fri, 26 Nov 2026 09:30:00 +0000</pubDate>")], "Incorrect day of week"),
    ("iso date in rss", [(_ITEM_1_DATE, "<pubDate>2026-11-26T09:30:00Z</pubDate>")], "must be an RFC-822 date-time"),
    (
        "impossible date",
        [(_ITEM_1_DATE, "<pubDate>31 Nov 2026 09:30:00 +0000</pubDate>")],
        "must be an RFC-822 date-time",
    ),
    ("future date", [(_ITEM_1_DATE, "<pubDate>Sat, 28 Nov 2026 09:30:00 +0000</pubDate>")], "Implausible date"),
    ("date before 1990", [(_ITEM_1_DATE, "<pubDate>Fri, 01 Dec 1989 09:30:00 +0000</pubDate>")], "Implausible date"),
    (
        "lastBuildDate format",
        [("<lastBuildDate>Thu, 26 Nov 2026 09:30:00 +0000", "<lastBuildDate>26/11/2026")],
        "lastBuildDate must be an RFC-822 date-time",
    ),
    # author, source, enclosure
    (
        "author is a name",
        [("<dc:creator>Example News</dc:creator>", "<author>Example News</author>")],
        "Invalid email address",
    ),
    (
        "author without real name",
        [("<dc:creator>Example News</dc:creator>", "<author>desk@example.com</author>")],
        "Email address is missing real name",
    ),
    ("source without url", [(_SOURCE, "<source>Example News</source>")], "Missing source attribute: url"),
    (
        "source with relative url",
        [(_SOURCE, '<source url="/feed.xml">Example News</source>')],
        "url attribute of source must be a full and valid URL",
    ),
    (
        "enclosure url",
        [(THUMB, '<enclosure url="/a.mp3" length="1" type="audio/mpeg"/>')],
        "enclosure must be a full URL",
    ),
    (
        "enclosure length",
        [(THUMB, '<enclosure url="https://x.example/a.mp3" type="audio/mpeg"/>')],
        "Missing enclosure attribute: length",
    ),
    (
        "enclosure twice",
        [(THUMB, '<enclosure url="https://x.example/a.mp3" length="1" type="audio/mpeg"/>' * 2)],
        "item contains more than one enclosure",
    ),
    # content:encoded
    (
        "content before description",
        [
            (
                "<description>Plain text, escaped for HTML: Tom &amp;amp; Jerry &amp;lt;3</description>",
                "<content:encoded>&lt;p&gt;x&lt;/p&gt;</content:encoded>",
            )
        ],
        "Ensure description precedes content:encoded",
    ),
    (
        "script in content:encoded",
        [("<![CDATA[<p>Body</p>", "<![CDATA[<p>Body</p><script>x()</script>")],
        "encoded should not contain script tag",
    ),
]


@pytest.mark.parametrize(("case", "replacements", "expected"), RSS_CASES, ids=[c[0] for c in RSS_CASES])
def test_rss_rule(case: str, replacements: list[tuple[str, str]], expected: str) -> None:
    feed = edit(GOOD_RSS, *replacements)
    assert_reports(lint_feed(feed, RSS_URL, NOW), expected)
