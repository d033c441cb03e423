"""media.py: the Media RSS rules, each case a break of the media: elements of the good RSS sample."""

from __future__ import annotations

import pytest

from tests.conftest import NOW
from tests.feedlint import lint_feed
from tests.feedlint.samples import GOOD_RSS, RSS_URL, THUMB, assert_reports, edit

_CONTENT = (
    '<media:content url="https://img.example.com/a.jpg" medium="image" type="image/jpeg" width="640" height="360"/>'
)

MEDIA_CASES: list[tuple[str, list[tuple[str, str]], str]] = [
    (
        "thumbnail without url",
        [(THUMB, '<media:thumbnail width="640" height="360"/>')],
        "Missing media:thumbnail attribute: url",
    ),
    (
        "relative thumbnail",
        [(THUMB, '<media:thumbnail url="/a.jpg" width="640" height="360"/>')],
        "url must be a full and valid URL",
    ),
    (
        "thumbnail width",
        [(THUMB, '<media:thumbnail url="https://img.example.com/a.jpg" width="640px" height="360"/>')],
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
        [(THUMB, THUMB.replace("/>", ' alt="x"/>'))],
        "Unexpected alt attribute on media:thumbnail",
    ),
    (
        "group of one",
        [(_CONTENT, f"<media:group>{_CONTENT}</media:group>")],
        "media:group must have multiple media:content children",
    ),
    ("empty group", [(THUMB, f"{THUMB}<media:group/>")], "media:group must have multiple media:content children"),
    (
        "media title html",
        [(THUMB, f"{THUMB}<media:title>&lt;b&gt;x&lt;/b&gt;</media:title>")],
        "should not contain HTML unless declared",
    ),
]


@pytest.mark.parametrize(("case", "replacements", "expected"), MEDIA_CASES, ids=[c[0] for c in MEDIA_CASES])
def test_media_rule(case: str, replacements: list[tuple[str, str]], expected: str) -> None:
    feed = edit(GOOD_RSS, *replacements)
    assert_reports(lint_feed(feed, RSS_URL, NOW), expected)
