"""pages.py: the OPML subscription list and the HTML index page."""

from __future__ import annotations

import pytest

from tests.feedlint import lint_html_index, lint_opml
from tests.feedlint.samples import assert_reports, edit

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
