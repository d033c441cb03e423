"""Sample documents for the linter's tests, and helpers to break them.

Each case starts from a small valid feed written out below, breaks one thing by
text replacement, and checks that the linter reports it; the valid feeds themselves
must lint clean. Cases are tables, one row per rule. Fragments of the samples that
the cases of more than one test module replace are named here as well.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

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


# Fragments of GOOD_RSS
ITEM_2_TITLE = "<title>Second story</title>"
THUMB = '<media:thumbnail url="https://img.example.com/a.jpg" width="640" height="360"/>'

# Fragments of GOOD_ATOM
ENTRY_1_ID = "<id>urn:uuid:8a1f0c52-8a55-4d6e-9bd5-5d1c2a9f7e10</id>"
ENTRY_1_UPDATED = "<updated>2026-11-26T09:30:00Z</updated>\n    <published>"
ENTRY_2_AUTHOR = "<author><name>Other Net</name><uri>https://other.example.net/</uri></author>"


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
