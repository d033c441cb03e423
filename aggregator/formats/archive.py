"""Archive documents (RFC 5005 section 4): each feed's history beyond its newest items,
in Atom, a bounded run of items per document.

A feed's Atom subscription document links `prev-archive` to its newest archive
document; each archive document carries `fh:archive` and links `current` (the
subscription document), `prev-archive` (older) and `next-archive` (newer). Which items
each document holds is decided by the state (`store.history`): see the internals page.

Entries are written here directly rather than through feedgen: a large site has
hundreds of thousands of archived items, and feedgen takes several times longer per
entry. `entry_xml` writes the bytes feedgen writes for the same item in the Atom
subscription document, which the tests check item by item.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from aggregator import __version__
from aggregator.config import SiteConfig
from aggregator.formats.atom import ATOM
from aggregator.formats.base import FeedInfo, Names, content_html, page_url, updated
from aggregator.model import FeedItem, FeedKey, item_id

FH = "http://purl.org/syndication/history/1.0"
MEDIA = "http://search.yahoo.com/mrss/"
FOLDER = "archive/"  # archive documents are below this folder of feeds/


def page_path(key: FeedKey, number: int) -> str:
    """Path below `feeds/` of a feed's archive document `number` (from 1)."""
    return f"{FOLDER}{key.stem}/{number}{ATOM.suffix}"


def page_of_path(path: str) -> tuple[str, int] | None:
    """(the feed's stem, the document's number) of an archive document's path."""
    if not path.startswith(FOLDER) or not path.endswith(ATOM.suffix):
        return None
    stem, _, number = path[len(FOLDER):-len(ATOM.suffix)].rpartition("/")
    if not stem or not number.isdigit() or number.startswith("0"):
        return None
    return stem, int(number)


def page_number(seq: int, per_page: int) -> int:
    """The archive document a member with this seq is in."""
    return seq // per_page + 1


def seq_range(number: int, per_page: int) -> tuple[int, int]:
    """[low, high) of the seqs of archive document `number`."""
    return (number - 1) * per_page, number * per_page


class Entry(NamedTuple):
    """One item of an archive document, written."""

    published: datetime  # orders the document, with the id
    id: str
    updated: datetime  # the newest gives the document's update time
    xml: bytes  # its <entry> element (`entry_xml`)


def make_entry(item: FeedItem, names: Names) -> Entry:
    article = item.article
    return Entry(article.published, item.id, updated(article), entry_xml(item, names))


@dataclass(frozen=True, slots=True)
class Page:
    """One archive document, without its entries."""

    info: FeedInfo  # the feed's
    number: int
    older: int | None  # the number of the next older document, if any
    newer: int | None  # the number of the next newer document, if any


def render_page(page: Page, entries: Sequence[Entry], site: SiteConfig) -> bytes:
    """One archive document, its entries newest first (ties by id), as the feed orders them."""
    ordered = sorted(entries, key=_ID)
    ordered.sort(key=_PUBLISHED, reverse=True)
    key = page.info.key
    links = [(page_path(key, page.number), "self"), (key.stem + ATOM.suffix, "current")]
    if page.older is not None:
        links.append((page_path(key, page.older), "prev-archive"))
    if page.newer is not None:
        links.append((page_path(key, page.newer), "next-archive"))
    link_lines = "".join(
        f'  <link href="{_attr(site.base_url + path)}" rel="{rel}" type="{ATOM.media_type}"/>\n' for path, rel in links)
    newest = max(e.updated for e in ordered)  # of equal moments, the first in the document's order
    head = (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        f'<feed xmlns:media="{MEDIA}" xmlns:fh="{FH}" xmlns="http://www.w3.org/2005/Atom"'
        f' xml:lang="{_attr(site.language)}">\n'
        f"  <id>{item_id(site.base_url + key.stem)}</id>\n"
        f"  <title>{_text(page.info.title)} (archive {page.number})</title>\n"
        f"  <updated>{newest.isoformat()}</updated>\n"
        f"  <author>\n    <name>{_text(site.title)}</name>\n    <uri>{_text(site.base_url)}</uri>\n  </author>\n"
        f"{link_lines}"
        f'  <link href="{_attr(page_url(site, key))}" rel="alternate" type="text/html"/>\n'
        f'  <generator version="{__version__}">aggregator</generator>\n'
        f"  <subtitle>{_text(page.info.description)}</subtitle>\n"
    )
    return b"".join([head.encode(), _HEAD_END, *(e.xml for e in ordered), _END])


_HEAD_END = b"  <fh:archive/>\n"
_END = b"</feed>\n"
_ENTRY_START = b"  <entry>\n    <id>"
_ENTRY_END = b"  </entry>\n"


def written_entries(document: bytes) -> list[Entry] | None:
    """The entries of a document `render_page` wrote, as it was given them; None if
    `document` is not one. Every text in it is escaped, so that the markers looked for
    can only be the elements written here."""
    start = document.find(_HEAD_END)
    if start < 0 or not document.endswith(_END):
        return None
    *chunks, rest = document[start + len(_HEAD_END):-len(_END)].split(_ENTRY_END)
    if rest:
        return None
    entries = []
    for chunk in chunks:
        if not chunk.startswith(_ENTRY_START):
            return None
        try:
            id_ = chunk[len(_ENTRY_START):chunk.index(b"</id>")].decode("ascii")
            updated = _moment(chunk, b"<updated>", b"</updated>")
            published = _moment(chunk, b"<published>", b"</published>")
        except ValueError:  # a marker missing, or not a date
            return None
        entries.append(Entry(published, id_, updated, chunk + _ENTRY_END))
    return entries


def _moment(chunk: bytes, start: bytes, end: bytes) -> datetime:
    at = chunk.index(start) + len(start)
    return datetime.fromisoformat(chunk[at:chunk.index(end, at)].decode("ascii"))


_ID = operator.attrgetter("id")
_PUBLISHED = operator.attrgetter("published")


def entry_xml(item: FeedItem, names: Names) -> bytes:
    """The item's Atom <entry>, indented for a feed document: the same bytes as the Atom
    subscription document has for it (see the module docstring)."""
    article = item.article
    published = article.published.isoformat()
    domain = article.provider.domain
    xml = (
        f"  <entry>\n    <id>{item.id}</id>\n"  # a urn:uuid: nothing to escape
        f"    <title>{_text(article.title)}</title>\n"
        f"    <updated>{published if article.updated is None else article.updated.isoformat()}</updated>\n"
        f"    <author>\n      <name>{_text(names.provider(domain))}</name>\n"
        f"      <uri>https://{_text(domain)}/</uri>\n    </author>\n"
        f'    <content type="html">{_text(content_html(item, names))}</content>\n'
        f'    <link href="{_attr(article.url)}"/>\n'
    )
    if article.excerpt:
        xml += f"    <summary>{_text(article.excerpt)}</summary>\n"
    for topic in item.story.topics if item.story is not None else ():
        xml += f'    <category term="{_attr(topic.slug)}" label="{_attr(names.topic(topic.slug))}"/>\n'
    xml += f"    <published>{published}</published>\n"
    image = article.image
    if image is not None:
        height = f' height="{image.height}"' if image.height else ""
        size = height + (f' width="{image.width}"' if image.width else "")
        url = _attr(image.url)
        xml += f'    <media:content url="{url}" medium="image"{size}/>\n    <media:thumbnail url="{url}"{size}/>\n'
    return (xml + "  </entry>\n").encode()


# What lxml writes for each character it escapes, in this order (`&` first), with `&`
# as `&#x26;` (`feedgen.finish`); an attribute value escapes three more.
_TEXT = (("&", "&#x26;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))
_ATTRIBUTE = (*_TEXT, ('"', "&quot;"), ("\n", "&#10;"), ("\t", "&#9;"))


def _escape(value: str, table: tuple[tuple[str, str], ...]) -> str:
    for char, written in table:
        if char in value:  # most values have none: no copy
            value = value.replace(char, written)
    return value


def _text(value: str) -> str:
    """Character data as lxml writes it."""
    return _escape(value, _TEXT)


def _attr(value: str) -> str:
    """An attribute value as lxml writes it."""
    return _escape(value, _ATTRIBUTE)
