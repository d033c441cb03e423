"""atom.py: the Atom 1.0 rules, each case a break of the good Atom sample."""

from __future__ import annotations

import feedparser
import pytest

from tests.conftest import NOW
from tests.feedlint import lint_atom_schema, lint_feed
from tests.feedlint.samples import (
    ATOM_URL,
    ENTRY_1_ID,
    ENTRY_1_UPDATED,
    ENTRY_2_AUTHOR,
    GOOD_ATOM,
    assert_reports,
    edit,
)


def test_good_atom_is_clean_and_schema_valid() -> None:
    assert lint_feed(GOOD_ATOM.encode(), ATOM_URL, NOW) == []
    assert lint_atom_schema(GOOD_ATOM.encode()) == []
    assert feedparser.parse(GOOD_ATOM.encode()).bozo == 0


_FEED_AUTHOR = "<author><name>Aggregator</name></author>"
_ATOM_SELF = '<link rel="self" type="application/atom+xml" href="https://feeds.example.org/news/topics/ai.atom"/>'
_ENTRY_2_ALTERNATE = '<link href="https://news.example.com/second"/>'
_ENTRY_2_CONTENT = (
    '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Fine <em>markup</em>.</p></div></content>'
)


ATOM_CASES: list[tuple[str, list[tuple[str, str]], str]] = [
    ("entry without id", [(ENTRY_1_ID, "")], "Missing entry element: id"),
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
        [(ENTRY_1_UPDATED, "<updated>2026-11-26T09:30:00</updated>\n    <published>")],
        "must be an RFC-3339 date-time",
    ),
    (
        "date with space",
        [(ENTRY_1_UPDATED, "<updated>2026-11-26 09:30:00Z</updated>\n    <published>")],
        "must be an RFC-3339 date-time",
    ),
    (
        "rss date in atom",
        [(ENTRY_1_UPDATED, "<updated>Thu, 26 Nov 2026 09:30:00 GMT</updated>\n    <published>")],
        "must be an RFC-3339",
    ),
    (
        "future date",
        [(ENTRY_1_UPDATED, "<updated>2026-11-27T12:00:01Z</updated>\n    <published>")],
        "Implausible date",
    ),
    ("old date", [(ENTRY_1_UPDATED, "<updated>1989-12-31T23:59:59Z</updated>\n    <published>")], "Implausible date"),
    (
        "whitespace in updated",
        [(ENTRY_1_UPDATED, "<updated> 2026-11-26T09:30:00Z</updated>\n    <published>")],
        "Whitespace not permitted here",
    ),
    # ids
    ("duplicate ids", [("<id>tag:feeds.example.org,2026:story-2</id>", ENTRY_1_ID)], "Two entries with the same id"),
    (
        "duplicate updated",
        [("<updated>2026-11-25T18:00:00Z</updated>", "<updated>2026-11-26T09:30:00Z</updated>")],
        "Two entries with the same value for atom:updated",
    ),
    ("relative id", [(ENTRY_1_ID, "<id>story-1</id>")], "id must be a full and valid URL"),
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
    ("bad uuid", [(ENTRY_1_ID, "<id>urn:uuid:not-a-uuid</id>")], "id is not a valid UUID"),
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
        [(ENTRY_2_AUTHOR, "<author><uri>https://other.example.net/</uri></author>")],
        "Missing author element: name",
    ),
    (
        "bad email",
        [(ENTRY_2_AUTHOR, "<author><name>X</name><email>nobody</email></author>")],
        "email must be an email address",
    ),
    (
        "email in name",
        [(ENTRY_2_AUTHOR, "<author><name>X &lt;x@example.com&gt;</name></author>")],
        "name should not include email address",
    ),
    (
        "source without id",
        [
            (
                ENTRY_2_AUTHOR,
                ENTRY_2_AUTHOR + "<source><title>Other Net</title><updated>2026-11-25T18:00:00Z</updated></source>",
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
