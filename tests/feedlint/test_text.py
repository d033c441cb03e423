"""text.py: plain text must not look like HTML, and HTML in a description must be safe."""

from __future__ import annotations

import pytest

from tests.conftest import NOW
from tests.feedlint import lint_feed
from tests.feedlint.samples import GOOD_RSS, ITEM_2_TITLE, RSS_URL, assert_reports, edit, rss_with_description


def test_entity_like_title_is_fine_with_hexadecimal_references() -> None:
    feed = edit(GOOD_RSS, ("<title>AI &amp; robots</title>", "<title>&#x26;copy; 2026 AI</title>"))
    assert lint_feed(feed, RSS_URL, NOW) == []


PLAIN_TEXT_CASES: list[tuple[str, list[tuple[str, str]], str]] = [
    (
        "entity in title",
        [(ITEM_2_TITLE, "<title>&amp;copy; 2026 Example</title>")],
        "title should not contain HTML (&copy;)",
    ),
    (
        "numeric entity in title",
        [(ITEM_2_TITLE, "<title>Rock &amp;#38; roll</title>")],
        "title should not contain HTML (&#38;)",
    ),
    (
        "end tag in title",
        [(ITEM_2_TITLE, "<title>&lt;b&gt;Big&lt;/b&gt; news</title>")],
        "title should not contain HTML (</b>)",
    ),
    ("start tag in title", [(ITEM_2_TITLE, "<title>&lt;b&gt;Big news</title>")], 'Encode "&" and "<" in plain text'),
    (
        "hex-escaped tag in title",
        [(ITEM_2_TITLE, "<title>&#x3C;b&#x3E;Big news</title>")],
        "title should not contain HTML (<b>, our rule",
    ),
    (
        "category html",
        [("<category>AI</category>", "<category>&lt;i&gt;AI&lt;/i&gt;</category>")],
        "category should not contain HTML",
    ),
]


@pytest.mark.parametrize(("case", "replacements", "expected"), PLAIN_TEXT_CASES, ids=[c[0] for c in PLAIN_TEXT_CASES])
def test_plain_text_rule(case: str, replacements: list[tuple[str, str]], expected: str) -> None:
    feed = edit(GOOD_RSS, *replacements)
    assert_reports(lint_feed(feed, RSS_URL, NOW), expected)


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
