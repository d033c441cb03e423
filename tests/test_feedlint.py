"""The offline W3C-validator stand-in (tests/feedlint.py) catches what it should.

Each case starts from a small valid feed written out below, breaks one thing by
text replacement, and checks that the linter reports it; the valid feeds themselves
must lint clean. Cases are tables, one row per rule.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import feedparser
import pytest

from tests.conftest import NOW
from tests.feedlint import lint_atom_schema, lint_feed, lint_html_index, lint_opml

RSS_URL = "https://feeds.example.org/news/topics/ai.xml"
ATOM_URL = "https://feeds.example.org/news/topics/ai.atom"

GOOD_RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"
     xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">
  <channel>
    <title>AI &amp; robots</title>
    <link>https://feeds.example.org/news/</link>
    <description>Stories about AI &amp; robots, 3 &lt; 4</description>
    <language>en</language>
    <lastBuildDate>Thu, 26 Nov 2026 09:30:00 +0000</lastBuildDate>
    <atom:link href="https://feeds.example.org/news/topics/ai.xml" rel="self" type="application/rss+xml"/>
    <item>
      <title>Robots learn to fold laundry</title>
      <link>https://news.example.com/robots?id=7&amp;lang=en</link>
      <description>&lt;p&gt;AT&amp;amp;T and &lt;a href="https://news.example.com/a?b=1&amp;amp;c=2"&gt;friends&lt;/a&gt;&lt;/p&gt;</description>
      <content:encoded><![CDATA[<p>Body</p><h2>Related coverage</h2><ul>
<li><a href="https://other.example.net/x">Other</a> (Other Net, <time datetime="2026-11-26">26 Nov</time>)</li>
</ul>]]></content:encoded>
      <pubDate>Thu, 26 Nov 2026 09:30:00 +0000</pubDate>
      <dc:creator>Example News</dc:creator>
      <category>AI</category>
      <guid isPermaLink="false">urn:uuid:8a1f0c52-8a55-4d6e-9bd5-5d1c2a9f7e10</guid>
      <source url="https://news.example.com/feed.xml">Example News</source>
      <media:thumbnail url="https://img.example.com/a.jpg" width="640" height="360"/>
      <media:content url="https://img.example.com/a.jpg" medium="image" type="image/jpeg" width="640" height="360"/>
    </item>
    <item>
      <title>Second story</title>
      <link>https://news.example.com/second</link>
      <description>Plain text, escaped for HTML: Tom &amp;amp; Jerry &amp;lt;3</description>
      <pubDate>Wed, 25 Nov 2026 18:00:00 GMT</pubDate>
      <guid>https://news.example.com/second</guid>
    </item>
  </channel>
</rss>
"""

GOOD_ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/" xml:lang="en">
  <id>https://feeds.example.org/news/topics/ai.atom</id>
  <title>AI &amp; robots</title>
  <updated>2026-11-26T09:30:00Z</updated>
  <link rel="self" type="application/atom+xml" href="https://feeds.example.org/news/topics/ai.atom"/>
  <link rel="alternate" type="text/html" href="https://feeds.example.org/news/"/>
  <author><name>Aggregator</name></author>
  <entry>
    <id>urn:uuid:8a1f0c52-8a55-4d6e-9bd5-5d1c2a9f7e10</id>
    <title type="text">Robots &amp; laundry</title>
    <updated>2026-11-26T09:30:00Z</updated>
    <published>2026-11-26T09:00:00+01:00</published>
    <link rel="alternate" type="text/html" href="https://news.example.com/robots"/>
    <summary>Robots fold laundry.</summary>
    <content type="html">&lt;p&gt;AT&amp;amp;T &lt;a href="https://news.example.com/a"&gt;link&lt;/a&gt;&lt;/p&gt;</content>
    <category term="AI"/>
    <media:thumbnail url="https://img.example.com/a.jpg" width="640" height="360"/>
  </entry>
  <entry>
    <id>tag:feeds.example.org,2026:story-2</id>
    <title>Second story</title>
    <updated>2026-11-25T18:00:00Z</updated>
    <link href="https://news.example.com/second"/>
    <author><name>Other Net</name><uri>https://other.example.net/</uri></author>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Fine <em>markup</em>.</p></div></content>
  </entry>
</feed>
"""


def edit(document: str, *replacements: tuple[str, str]) -> bytes:
    """The document with each (old, new) replaced once; old must be there."""
    for old, new in replacements:
        assert old in document, f"test setup: {old!r} not in the sample"
        document = document.replace(old, new, 1)
    return document.encode("utf-8")


def rss_with_description(html: str) -> bytes:
    """The good RSS feed with the first item's description set to html (escaped once)."""
    old = GOOD_RSS[GOOD_RSS.index("<description>&lt;p&gt;AT") : GOOD_RSS.index("</description>\n      <content")]
    return edit(GOOD_RSS, (old, "<description>" + escape(html)))


def assert_reports(problems: list[str], expected: str) -> None:
    assert any(expected in problem for problem in problems), f"{expected!r} not in {problems}"


# --------------------------------------------------------------------- good feeds
def test_good_rss_is_clean() -> None:
    assert lint_feed(GOOD_RSS.encode(), RSS_URL, NOW) == []
    assert feedparser.parse(GOOD_RSS.encode()).bozo == 0


def test_good_atom_is_clean_and_schema_valid() -> None:
    assert lint_feed(GOOD_ATOM.encode(), ATOM_URL, NOW) == []
    assert lint_atom_schema(GOOD_ATOM.encode()) == []
    assert feedparser.parse(GOOD_ATOM.encode()).bozo == 0


def test_self_link_is_compared_as_a_uri() -> None:
    # The service compares URIs in normal form: host case and default port do not matter.
    assert lint_feed(GOOD_RSS.encode(), "https://FEEDS.example.org:443/news/topics/ai.xml", NOW) == []


def test_entity_like_title_is_fine_with_hexadecimal_references() -> None:
    feed = edit(GOOD_RSS, ("<title>AI &amp; robots</title>", "<title>&#x26;copy; 2026 AI</title>"))
    assert lint_feed(feed, RSS_URL, NOW) == []


# ---------------------------------------------------------------------------- RSS
_ITEM_1_GUID = '<guid isPermaLink="false">urn:uuid:8a1f0c52-8a55-4d6e-9bd5-5d1c2a9f7e10</guid>'
_ITEM_1_DATE = "<pubDate>Thu, 26 Nov 2026 09:30:00 +0000</pubDate>"
_SELF = '<atom:link href="https://feeds.example.org/news/topics/ai.xml" rel="self" type="application/rss+xml"/>'
_THUMB = '<media:thumbnail url="https://img.example.com/a.jpg" width="640" height="360"/>'
_CONTENT = (
    '<media:content url="https://img.example.com/a.jpg" medium="image" type="image/jpeg" width="640" height="360"/>'
)
_SOURCE = '<source url="https://news.example.com/feed.xml">Example News</source>'
_ITEM_2_TITLE = "<title>Second story</title>"

RSS_CASES: list[tuple[str, list[tuple[str, str]], str]] = [
    # XML, encoding, root
    ("not well-formed", [("</channel>", "")], "XML parsing error"),
    ("declared encoding", [('encoding="utf-8"', 'encoding="iso-8859-1"')], "encoding must be UTF-8"),
    ("latin-1 bytes", [], "not UTF-8"),  # built specially below
    ("rss version", [('version="2.0"', 'version="0.92"')], 'rss version must be "2.0"'),
    ("second channel", [("</rss>", "<channel/></rss>")], "rss contains more than one channel"),
    ("C1 control character", [(_ITEM_2_TITLE, "<title>Second\u0085story</title>")], "contains bad characters"),
    ("unknown namespace", [("<rss ", '<rss xmlns:x="http://example.com/ns" ')], "Use of unknown namespace"),
    ("media namespace", [("mrss/", "mrss")], "Missing trailing slash in mediaRSS namespace"),
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
            (_ITEM_2_TITLE, ""),
            ("<description>Plain text, escaped for HTML: Tom &amp;amp; Jerry &amp;lt;3</description>", ""),
        ],
        "item must contain either title or description",
    ),
    (
        "undefined item element",
        [(_ITEM_2_TITLE, _ITEM_2_TITLE + "<subtitle>x</subtitle>")],
        "Undefined item element: subtitle",
    ),
    ("item title twice", [(_ITEM_2_TITLE, _ITEM_2_TITLE * 2)], "item contains more than one title"),
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
        [(_THUMB, '<enclosure url="/a.mp3" length="1" type="audio/mpeg"/>')],
        "enclosure must be a full URL",
    ),
    (
        "enclosure length",
        [(_THUMB, '<enclosure url="https://x.example/a.mp3" type="audio/mpeg"/>')],
        "Missing enclosure attribute: length",
    ),
    (
        "enclosure twice",
        [(_THUMB, '<enclosure url="https://x.example/a.mp3" length="1" type="audio/mpeg"/>' * 2)],
        "item contains more than one enclosure",
    ),
    # plain-text titles
    (
        "entity in title",
        [(_ITEM_2_TITLE, "<title>&amp;copy; 2026 Example</title>")],
        "title should not contain HTML (&copy;)",
    ),
    (
        "numeric entity in title",
        [(_ITEM_2_TITLE, "<title>Rock &amp;#38; roll</title>")],
        "title should not contain HTML (&#38;)",
    ),
    (
        "end tag in title",
        [(_ITEM_2_TITLE, "<title>&lt;b&gt;Big&lt;/b&gt; news</title>")],
        "title should not contain HTML (</b>)",
    ),
    ("start tag in title", [(_ITEM_2_TITLE, "<title>&lt;b&gt;Big news</title>")], 'Encode "&" and "<" in plain text'),
    (
        "hex-escaped tag in title",
        [(_ITEM_2_TITLE, "<title>&#x3C;b&#x3E;Big news</title>")],
        "title should not contain HTML (<b>, our rule",
    ),
    (
        "category html",
        [("<category>AI</category>", "<category>&lt;i&gt;AI&lt;/i&gt;</category>")],
        "category should not contain HTML",
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
    # Media RSS
    (
        "thumbnail without url",
        [(_THUMB, '<media:thumbnail width="640" height="360"/>')],
        "Missing media:thumbnail attribute: url",
    ),
    (
        "relative thumbnail",
        [(_THUMB, '<media:thumbnail url="/a.jpg" width="640" height="360"/>')],
        "url must be a full and valid URL",
    ),
    (
        "thumbnail width",
        [(_THUMB, '<media:thumbnail url="https://img.example.com/a.jpg" width="640px" height="360"/>')],
        "width must be a positive integer",
    ),
    (
        "content height",
        [(_CONTENT, _CONTENT.replace('height="360"', 'height="0"'))],
        "height must be a positive integer",
    ),
    (
        "content medium",
        [(_CONTENT, _CONTENT.replace('medium="image"', 'medium="picture"'))],
        'Invalid content medium: "picture"',
    ),
    (
        "thumbnail attribute",
        [(_THUMB, _THUMB.replace("/>", ' alt="x"/>'))],
        "Unexpected alt attribute on media:thumbnail",
    ),
    (
        "group of one",
        [(_CONTENT, f"<media:group>{_CONTENT}</media:group>")],
        "media:group must have multiple media:content children",
    ),
    ("empty group", [(_THUMB, f"{_THUMB}<media:group/>")], "media:group must have multiple media:content children"),
    (
        "media title html",
        [(_THUMB, f"{_THUMB}<media:title>&lt;b&gt;x&lt;/b&gt;</media:title>")],
        "should not contain HTML unless declared",
    ),
]


@pytest.mark.parametrize(("case", "replacements", "expected"), RSS_CASES, ids=[c[0] for c in RSS_CASES])
def test_rss_rule(case: str, replacements: list[tuple[str, str]], expected: str) -> None:
    if case == "latin-1 bytes":
        feed = GOOD_RSS.replace("Second story", "Second stóry").encode("latin-1")
    else:
        feed = edit(GOOD_RSS, *replacements)
    assert_reports(lint_feed(feed, RSS_URL, NOW), expected)


# ------------------------------------------------------------- HTML in descriptions
INVALID_HTML = [
    "AT&T wins",  # '&' that starts no character reference
    "&copy 2026",  # named reference without ';'
    "&#38 and more",  # numeric reference without ';'
    "a < b",  # '<' that starts no tag
    "<b>bold",  # left open
    "</div>",  # stray end tag
    "<b><i>x</b></i>",  # misnested
    "<p><b>x</p>",  # closes p with b open
    "<div/>",  # '/>' on a non-void element
    "<a href=x href=y>z</a>",  # duplicate attribute
    '<p class="a"id="b">x</p>',  # no space between attributes
    '<a href="https://x.example/?a=1&b=2">x</a>',  # bare '&' in an attribute too
    "<!-- a -- b -->",  # '--' in a comment
    "<?php echo 1 ?>",
    "<td>cell</td>",  # outside a table
    "<h2><h3>x</h3></h2>",
]
VALID_HTML = [
    "Tom & Jerry",  # '&' before a space is text
    "<p>one<p>two",  # p closes itself
    "<ul><li>one<li>two</ul>",
    "<img src='https://x.example/a.png' alt=''><br/><hr>",
    "&amp; &#38; &#x26; &nbsp;",
    "<!-- a comment --><p>x</p>",
    "<table><tr><td>1</td></tr></table>",
    '<a href="https://x.example/?a=1&amp;b=2">x</a>',
    "<blockquote cite='https://x.example/'><p>q</p></blockquote>",
]


@pytest.mark.parametrize("html", INVALID_HTML)
def test_description_must_be_valid_html(html: str) -> None:
    assert_reports(lint_feed(rss_with_description(html), RSS_URL, NOW), "Invalid HTML")


@pytest.mark.parametrize("html", VALID_HTML)
def test_valid_html_in_description_is_clean(html: str) -> None:
    assert lint_feed(rss_with_description(html), RSS_URL, NOW) == []


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>x</p><script>alert(1)</script>", "description should not contain script tag"),
        ("<iframe src='https://x.example/'></iframe>", "should not contain iframe tag"),
        ("<object data='https://x.example/a.swf'></object>", "should not contain object tag"),
        ("<embed src='https://x.example/a.swf'>", "should not contain embed tag"),
        ("<p onclick='steal()'>x</p>", "should not contain onclick attribute"),
        ("<a href='javascript:steal()'>x</a>", "javascript: URLs"),
        ("<a href='/relative/page'>x</a>", "relative URL references"),
        ("<img src='a.png' alt=''>", "relative URL references"),
        (
            "<p style='background: url(https://x.example/t.gif)'>x</p>",
            "style attribute contains potentially dangerous content",
        ),
        ("<blink>x</blink>", "Non-html tag: blink"),
    ],
)
def test_unsafe_html_in_description(html: str, expected: str) -> None:
    assert_reports(lint_feed(rss_with_description(html), RSS_URL, NOW), expected)


# --------------------------------------------------------------------------- Atom
_ENTRY_1_ID = "<id>urn:uuid:8a1f0c52-8a55-4d6e-9bd5-5d1c2a9f7e10</id>"
_ENTRY_1_UPDATED = "<updated>2026-11-26T09:30:00Z</updated>\n    <published>"
_FEED_AUTHOR = "<author><name>Aggregator</name></author>"
_ATOM_SELF = '<link rel="self" type="application/atom+xml" href="https://feeds.example.org/news/topics/ai.atom"/>'
_ENTRY_2_ALTERNATE = '<link href="https://news.example.com/second"/>'
_ENTRY_2_CONTENT = (
    '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Fine <em>markup</em>.</p></div></content>'
)
_ENTRY_2_AUTHOR = "<author><name>Other Net</name><uri>https://other.example.net/</uri></author>"

ATOM_CASES: list[tuple[str, list[tuple[str, str]], str]] = [
    ("entry without id", [(_ENTRY_1_ID, "")], "Missing entry element: id"),
    ("entry without title", [('<title type="text">Robots &amp; laundry</title>', "")], "Missing entry element: title"),
    ("entry without updated", [("<updated>2026-11-25T18:00:00Z</updated>", "")], "Missing entry element: updated"),
    ("no author anywhere", [(_FEED_AUTHOR, "")], "Missing entry element: author"),
    (
        "feed without updated",
        [("<updated>2026-11-26T09:30:00Z</updated>\n  <link", "<link")],
        "Missing feed element: updated",
    ),
    ("feed without id", [("<id>https://feeds.example.org/news/topics/ai.atom</id>", "")], "Missing feed element: id"),
    (
        "metadata after entries",
        [("</feed>", "<subtitle>late</subtitle></feed>")],
        "subtitle must appear before all entries",
    ),
    ("undefined element", [(_ENTRY_2_ALTERNATE, _ENTRY_2_ALTERNATE + "<foo>x</foo>")], "Undefined entry element: foo"),
    ("element twice", [("<summary>", "<summary>a</summary><summary>")], "entry contains more than one summary"),
    # dates
    (
        "date without zone",
        [(_ENTRY_1_UPDATED, "<updated>2026-11-26T09:30:00</updated>\n    <published>")],
        "must be an RFC-3339 date-time",
    ),
    (
        "date with space",
        [(_ENTRY_1_UPDATED, "<updated>2026-11-26 09:30:00Z</updated>\n    <published>")],
        "must be an RFC-3339 date-time",
    ),
    (
        "rss date in atom",
        [(_ENTRY_1_UPDATED, "<updated>Thu, 26 Nov 2026 09:30:00 GMT</updated>\n    <published>")],
        "must be an RFC-3339",
    ),
    (
        "future date",
        [(_ENTRY_1_UPDATED, "<updated>2026-11-27T12:00:01Z</updated>\n    <published>")],
        "Implausible date",
    ),
    ("old date", [(_ENTRY_1_UPDATED, "<updated>1989-12-31T23:59:59Z</updated>\n    <published>")], "Implausible date"),
    (
        "whitespace in updated",
        [(_ENTRY_1_UPDATED, "<updated> 2026-11-26T09:30:00Z</updated>\n    <published>")],
        "Whitespace not permitted here",
    ),
    # ids
    ("duplicate ids", [("<id>tag:feeds.example.org,2026:story-2</id>", _ENTRY_1_ID)], "Two entries with the same id"),
    (
        "duplicate updated",
        [("<updated>2026-11-25T18:00:00Z</updated>", "<updated>2026-11-26T09:30:00Z</updated>")],
        "Two entries with the same value for atom:updated",
    ),
    ("relative id", [(_ENTRY_1_ID, "<id>story-1</id>")], "id must be a full and valid URL"),
    (
        "non-canonical id",
        [
            (
                "<id>https://feeds.example.org/news/topics/ai.atom</id>",
                "<id>HTTPS://Feeds.example.org/news/topics/ai.atom</id>",
            )
        ],
        "not in canonical form",
    ),
    (
        "id without path",
        [("<id>https://feeds.example.org/news/topics/ai.atom</id>", "<id>https://feeds.example.org</id>")],
        'the canonical form would be "https://feeds.example.org/"',
    ),
    (
        "bad tag id",
        [("<id>tag:feeds.example.org,2026:story-2</id>", "<id>tag:feeds.example.org:story-2</id>")],
        "id is not a valid TAG",
    ),
    ("bad uuid", [(_ENTRY_1_ID, "<id>urn:uuid:not-a-uuid</id>")], "id is not a valid UUID"),
    # links
    ("no self link", [(_ATOM_SELF, "")], 'Missing atom:link with rel="self"'),
    (
        "self elsewhere",
        [(_ATOM_SELF, _ATOM_SELF.replace("ai.atom", "ml.atom"))],
        "Self reference doesn't match document location",
    ),
    (
        "self type",
        [(_ATOM_SELF, _ATOM_SELF.replace("atom+xml", "rss+xml"))],
        'self link type should be "application/atom+xml"',
    ),
    ("link without href", [(_ENTRY_2_ALTERNATE, '<link rel="alternate"/>')], "link must have an href attribute"),
    (
        "unregistered rel",
        [(_ENTRY_2_ALTERNATE, _ENTRY_2_ALTERNATE + '<link rel="thumbnail" href="https://x.example/t.jpg"/>')],
        "Unregistered link relationship",
    ),
    (
        "two alternates",
        [(_ENTRY_2_ALTERNATE, _ENTRY_2_ALTERNATE * 2)],
        "Duplicate alternate links with the same type and hreflang",
    ),
    (
        "no content nor alternate",
        [(_ENTRY_2_ALTERNATE, ""), (_ENTRY_2_CONTENT, "<summary>s</summary>")],
        "Missing content or alternate link",
    ),
    (
        "out-of-line content needs summary",
        [(_ENTRY_2_CONTENT, '<content src="https://x.example/a" type="text/html"/>')],
        "Missing summary",
    ),
    # text constructs
    (
        "entity in text title",
        [("Robots &amp; laundry", "&amp;copy; Robots")],
        "title should not contain HTML unless declared in the type attribute",
    ),
    (
        "tag in text title",
        [("Robots &amp; laundry", "&lt;em&gt;Robots&lt;/em&gt;")],
        "should not contain HTML unless declared",
    ),
    ("text title with markup", [("Robots &amp; laundry", "Robots <b>now</b>")], "Undefined title element: b"),
    ("invalid html content", [("&lt;p&gt;AT&amp;amp;T", "&lt;p&gt;AT&amp;T")], "Invalid HTML"),
    (
        "script in html content",
        [("&lt;/p&gt;</content>", "&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;</content>")],
        "content should not contain script tag",
    ),
    ("xhtml without div", [(_ENTRY_2_CONTENT, '<content type="xhtml">plain</content>')], "Missing xhtml:div element"),
    ("script in xhtml", [("<em>markup</em>", "<script>x()</script>")], "content should not contain script tag"),
    ("blank title", [("<title>Second story</title>", "<title></title>")], "title should not be blank"),
    (
        "bad text type",
        [('<title type="text">', '<title type="text/plain">')],
        'type attribute must be "text", "html", or "xhtml"',
    ),
    # persons, source, categories
    (
        "author without name",
        [(_ENTRY_2_AUTHOR, "<author><uri>https://other.example.net/</uri></author>")],
        "Missing author element: name",
    ),
    (
        "bad email",
        [(_ENTRY_2_AUTHOR, "<author><name>X</name><email>nobody</email></author>")],
        "email must be an email address",
    ),
    (
        "email in name",
        [(_ENTRY_2_AUTHOR, "<author><name>X &lt;x@example.com&gt;</name></author>")],
        "name should not include email address",
    ),
    (
        "source without id",
        [
            (
                _ENTRY_2_AUTHOR,
                _ENTRY_2_AUTHOR + "<source><title>Other Net</title><updated>2026-11-25T18:00:00Z</updated></source>",
            )
        ],
        "Missing source element: id",
    ),
    (
        "category without term",
        [('<category term="AI"/>', '<category label="AI"/>')],
        "Missing category attribute: term",
    ),
    (
        "xhtml prefix",
        [
            (
                _ENTRY_2_CONTENT,
                '<content type="xhtml"><x:div xmlns:x="http://www.w3.org/1999/xhtml">ok</x:div></content>',
            )
        ],
        "Avoid Namespace Prefix: x",
    ),
]


@pytest.mark.parametrize(("case", "replacements", "expected"), ATOM_CASES, ids=[c[0] for c in ATOM_CASES])
def test_atom_rule(case: str, replacements: list[tuple[str, str]], expected: str) -> None:
    feed = edit(GOOD_ATOM, *replacements)
    assert_reports(lint_feed(feed, ATOM_URL, NOW), expected)


def test_atom_entry_author_may_come_from_its_source() -> None:
    feed = edit(
        GOOD_ATOM,
        (_FEED_AUTHOR, ""),
        (
            '<category term="AI"/>',
            '<category term="AI"/><source><id>https://news.example.com/feed</id><title>Example News</title>'
            "<updated>2026-11-26T09:30:00Z</updated><author><name>Example News</name></author></source>",
        ),
    )
    assert lint_feed(feed, ATOM_URL, NOW) == []


# -------------------------------------------------------------------- RELAX NG
@pytest.mark.parametrize(
    ("replacements", "expected"),
    [
        ([(_ENTRY_1_ID, "")], "entry"),
        ([(_ENTRY_1_UPDATED, "<updated>yesterday</updated>\n    <published>")], "entry"),
        ([("<updated>2026-11-26T09:30:00Z</updated>\n  <link", "<link")], "feed"),
        ([(_ENTRY_2_AUTHOR, "<author><email>x@example.com</email></author>")], "author"),
        ([('type="application/atom+xml"', 'type="atom"')], "link"),
    ],
)
def test_atom_schema_rejects(replacements: list[tuple[str, str]], expected: str) -> None:
    problems = lint_atom_schema(edit(GOOD_ATOM, *replacements))
    assert problems
    assert_reports(problems, expected)


def test_atom_schema_refuses_rss() -> None:
    assert lint_atom_schema(GOOD_RSS.encode()) != []


# ---------------------------------------------------------------------------- OPML
GOOD_OPML = """<?xml version="1.0" encoding="utf-8"?>
<opml version="2.0">
  <head>
    <title>Example news feeds</title>
    <dateCreated>Thu, 26 Nov 2026 09:30:00 GMT</dateCreated>
  </head>
  <body>
    <outline text="Topics">
      <outline type="rss" text="AI &amp;amp; robots" title="AI &amp;amp; robots"
               xmlUrl="https://feeds.example.org/news/topics/ai.xml" htmlUrl="https://feeds.example.org/news/"/>
      <outline type="rss" text="Space" title="Space" xmlUrl="https://feeds.example.org/news/topics/space.atom"/>
    </outline>
  </body>
</opml>
"""


def test_good_opml_is_clean() -> None:
    assert lint_opml(GOOD_OPML.encode()) == []


@pytest.mark.parametrize(
    ("replacements", "expected"),
    [
        ([('version="2.0"', 'version="1.0"')], 'opml version must be "2.0"'),
        ([("<title>Example news feeds</title>", "")], "Missing head element: title"),
        ([('xmlUrl="https://feeds.example.org/news/topics/ai.xml" ', "")], 'must have an "xmlUrl" attribute'),
        ([("https://feeds.example.org/news/topics/ai.xml", "topics/ai.xml")], "xmlUrl must be an absolute http(s) URL"),
        ([('text="Space" ', "")], "Missing outline attribute: text"),
        ([('text="AI &amp;amp; robots"', 'text="R&amp;D news"')], "Invalid HTML in text attribute"),
        ([('title="Space" ', "")], "Missing outline attribute: title"),
        ([("topics/space.atom", "topics/ai.xml")], "feed listed twice"),
        (
            [('type="rss" text="Space"', 'type="rss" colour="red" text="Space"')],
            "Unexpected colour attribute on outline",
        ),
        ([("Thu, 26 Nov 2026", "2026-11-26")], "must be an RFC-822 date-time"),
        ([("</opml>", "<extra/></opml>"), ("  <body>", "  <body/>\n  <body>")], "opml contains more than one body"),
    ],
)
def test_opml_rule(replacements: list[tuple[str, str]], expected: str) -> None:
    assert_reports(lint_opml(edit(GOOD_OPML, *replacements)), expected)


# ---------------------------------------------------------------------- HTML index
GOOD_INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Example news feeds</title>
  <link rel="alternate" type="application/rss+xml" title="AI (RSS)" href="https://feeds.example.org/news/topics/ai.xml">
  <link rel="alternate" type="application/atom+xml" title="AI (Atom)" href="https://feeds.example.org/news/topics/ai.atom">
</head>
<body><h1>Feeds</h1><ul><li><a href="topics/ai.xml">AI</a></li></ul></body>
</html>
"""


def test_good_index_is_clean() -> None:
    assert lint_html_index(GOOD_INDEX.encode()) == []


@pytest.mark.parametrize(
    ("replacements", "expected"),
    [
        ([("<!DOCTYPE html>\n", "")], "must start with <!DOCTYPE html>"),
        ([("<title>Example news feeds</title>", "")], "missing or empty <title>"),
        (
            [('href="https://feeds.example.org/news/topics/ai.xml"', 'href="topics/ai.xml"')],
            "href must be an absolute http(s) URL",
        ),
        ([('title="AI (Atom)" ', "")], "autodiscovery link should have a title"),
        ([("topics/ai.atom", "topics/ai.xml")], "feed announced twice"),
        ([("application/rss+xml", "text/xml"), ("application/atom+xml", "text/xml")], 'no <link rel="alternate"'),
    ],
)
def test_html_index_rule(replacements: list[tuple[str, str]], expected: str) -> None:
    assert_reports(lint_html_index(edit(GOOD_INDEX, *replacements)), expected)
