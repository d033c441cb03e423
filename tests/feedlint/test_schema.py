"""schema.py: the RFC 4287 RELAX NG schema rejects broken Atom, and RSS."""

from __future__ import annotations

import pytest

from tests.feedlint import lint_atom_schema
from tests.feedlint.samples import (
    ENTRY_1_ID,
    ENTRY_1_UPDATED,
    ENTRY_2_AUTHOR,
    GOOD_ATOM,
    GOOD_RSS,
    assert_reports,
    edit,
)


@pytest.mark.parametrize(
    ("replacements", "expected"),
    [
        ([(ENTRY_1_ID, "")], "entry"),
        ([(ENTRY_1_UPDATED, "<updated>yesterday</updated>\n    <published>")], "entry"),
        ([("<updated>2026-11-26T09:30:00Z</updated>\n  <link", "<link")], "feed"),
        ([(ENTRY_2_AUTHOR, "<author><email>x@example.com</email></author>")], "author"),
        ([('type="application/atom+xml"', 'type="atom"')], "link"),
    ],
)
def test_atom_schema_rejects(replacements: list[tuple[str, str]], expected: str) -> None:
    problems = lint_atom_schema(edit(GOOD_ATOM, *replacements))
    assert problems
    assert_reports(problems, expected)


def test_atom_schema_refuses_rss() -> None:
    assert lint_atom_schema(GOOD_RSS.encode()) != []
