"""htmlscan.py: HTML in a description must parse without a single HTML5 parse error."""

from __future__ import annotations

import pytest

from tests.conftest import NOW
from tests.feedlint import lint_feed
from tests.feedlint.samples import RSS_URL, assert_reports, rss_with_description

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
