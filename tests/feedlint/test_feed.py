"""feed.py and core.py: what any feed is checked for before its format's rules (well-formed
UTF-8 XML, known namespaces, no mis-decoded characters).
"""

from __future__ import annotations

import pytest

from tests.conftest import NOW
from tests.feedlint import lint_feed
from tests.feedlint.samples import GOOD_RSS, ITEM_2_TITLE, RSS_URL, assert_reports, edit

FEED_CASES: list[tuple[str, list[tuple[str, str]], str]] = [
    # XML, encoding, root
    ("not well-formed", [("</channel>", "")], "XML parsing error"),
    ("declared encoding", [('encoding="utf-8"', 'encoding="iso-8859-1"')], "encoding must be UTF-8"),
    ("latin-1 bytes", [], "not UTF-8"),  # built specially below
    ("C1 control character", [(ITEM_2_TITLE, "<title>Second\u0085story</title>")], "contains bad characters"),
    ("unknown namespace", [("<rss ", '<rss xmlns:x="http://example.com/ns" ')], "Use of unknown namespace"),
    ("media namespace", [("mrss/", "mrss")], "Missing trailing slash in mediaRSS namespace"),
]


@pytest.mark.parametrize(("case", "replacements", "expected"), FEED_CASES, ids=[c[0] for c in FEED_CASES])
def test_feed_rule(case: str, replacements: list[tuple[str, str]], expected: str) -> None:
    if case == "latin-1 bytes":
        feed = GOOD_RSS.replace("Second story", "Second stóry").encode("latin-1")
    else:
        feed = edit(GOOD_RSS, *replacements)
    assert_reports(lint_feed(feed, RSS_URL, NOW), expected)
