"""What RSS and Atom share: both are written by feedgen, from the same feed-level data
and the same entry fields; each format module adds what is its own.

feedgen (and lxml under it) is loaded when the first feed is written, not when the
formats are: a publish with nothing to write does not load it. The extensions below are
plain classes with the three methods feedgen calls (those of its `BaseExtension`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aggregator import __version__
from aggregator.formats.base import Feed, Format, rfc822, updated
from aggregator.model import FeedItem, Image, item_id

if TYPE_CHECKING:
    from feedgen.entry import FeedEntry
    from feedgen.feed import FeedGenerator

# Fills what one format writes of an item beyond the shared fields: (entry, item, its HTML).
EntryFiller = Callable[["FeedEntry", FeedItem, str], None]


def generator(feed: Feed, fmt: Format, fill: EntryFiller,
              extensions: dict[str, tuple[type, type]] | None = None) -> FeedGenerator:
    """A feedgen generator holding `feed`, with the format's own entry fields from `fill`
    and its own feedgen `extensions` ({namespace: (feed class, entry class)}, written in
    this format only)."""
    site, info = feed.site, feed.info
    gen = _feedgen()()
    # The two namespaces feedgen's own extensions would declare, with only the elements
    # written here: they look at every element they know of, for every item.
    gen.register_extension("media", _Media, _Image)
    gen.register_extension("dc", _DublinCore, _Creator)
    if feed.hubs and fmt.name == "rss":
        extensions = {**(extensions or {}), "websub": (_RssHubs, Extension)}
    for namespace, (feed_class, entry_class) in (extensions or {}).items():
        gen.register_extension(namespace, feed_class, entry_class, atom=fmt.name == "atom", rss=fmt.name == "rss")
    gen.id(item_id(site.base_url + info.key.stem))
    gen.title(info.title)
    gen.subtitle(info.description)  # also the RSS description
    gen.language(site.language)
    gen.generator("aggregator", version=__version__)
    gen.author(name=site.title, uri=site.base_url)
    # feedgen writes the last link added as the RSS <link>: self first.
    gen.link(href=feed.url(fmt), rel="self", type=fmt.media_type)
    if fmt.name == "rss" and feed.hubs:
        gen.websub.hubs = feed.hubs
    elif feed.hubs:
        for hub in feed.hubs:
            gen.link(href=hub, rel="hub")
    gen.link(href=feed.page_url, rel="alternate", type="text/html")
    gen.updated(feed.updated)  # also the RSS lastBuildDate
    for item in feed.items:
        # add_entry() first: it gives the entry the feed's extensions (media, dc).
        entry = gen.add_entry(order="append")
        _fill_shared(entry, item, feed)
        fill(entry, item, feed.content(item))
        _fill_image(entry, item)
    return gen


def _fill_shared(entry: FeedEntry, item: FeedItem, feed: Feed) -> None:
    """One item, the same id and content in every feed and format that carries it."""
    article = item.article
    entry.guid(item.id, permalink=False)  # also the Atom id
    entry.title(article.title)
    entry.link(href=article.url, rel="alternate")
    entry.published(article.published)
    entry.updated(updated(article))
    topics = item.story.topics if item.story is not None else ()
    # RSS shows the label as the category; Atom keeps the slug as its term.
    for topic in topics:
        entry.category(term=topic.slug, label=feed.names.topic(topic.slug))


def _fill_image(entry: FeedEntry, item: FeedItem) -> None:
    entry.media.image = item.article.image


ATOM_NS = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/elements/1.1/"
MEDIA = "http://search.yahoo.com/mrss/"


class Extension:
    """The three methods feedgen calls on an extension, each adding nothing: the base of
    ours, and the part in each entry of those that add nothing to entries."""

    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_rss(self, entry: Any) -> Any:
        return entry

    def extend_atom(self, entry: Any) -> Any:
        return entry


class _Media(Extension):
    """The Media RSS namespace, in both formats."""

    def extend_ns(self) -> dict[str, str]:
        return {"media": MEDIA}


class _Image(Extension):
    """An item's image as `media:content` and `media:thumbnail`, in both formats: the
    elements and attributes, in the order, that feedgen's Media RSS extension writes."""

    def __init__(self) -> None:
        self.image: Image | None = None

    def extend_rss(self, entry: Any) -> Any:
        image = self.image
        if image is not None:
            size = {k: str(v) for k, v in (("height", image.height), ("width", image.width)) if v}
            sub_element(f"{{{MEDIA}}}content", entry, url=image.url, medium="image", **size)
            sub_element(f"{{{MEDIA}}}thumbnail", entry, url=image.url, **size)
        return entry

    extend_atom = extend_rss


class _DublinCore(Extension):
    """The Dublin Core namespace, declared in both formats (as feedgen's own extension
    does); of its elements only `dc:creator` is written, by `_Creator`."""

    def extend_ns(self) -> dict[str, str]:
        return {"dc": DC}


class _Creator(Extension):
    """An RSS item's `dc:creator` (the outlet): what feedgen's Dublin Core extension
    writes, without looking at its fourteen other elements for every item."""

    def __init__(self) -> None:
        self.creator: str | None = None

    def extend_rss(self, entry: Any) -> Any:
        if self.creator is not None:
            sub_element(f"{{{DC}}}creator", entry).text = self.creator
        return entry


class _RssHubs(Extension):
    """RSS `atom:link rel="hub"` elements (WebSub discovery): feedgen writes only the self
    link of RSS as an `atom:link`; in Atom a hub is one more `link`."""

    def __init__(self) -> None:
        self.hubs: tuple[str, ...] = ()

    def extend_ns(self) -> dict[str, str]:
        return {"atom": ATOM_NS}

    def extend_rss(self, rss_feed: Any) -> Any:
        channel = rss_feed[0]
        for hub in self.hubs:
            sub_element(f"{{{ATOM_NS}}}link", channel, href=hub, rel="hub")
        return rss_feed


def finish(data: bytes) -> bytes:
    """Write every text `&` as `&#x26;`: the same XML, but the W3C validator takes a
    literal `&amp;copy;` in a title for an HTML entity, and the numeric form for text."""
    return data.replace(b"&amp;", b"&#x26;")


def sub_element(tag: str, parent: Any, **attributes: str) -> Any:
    """A new element under `parent` (an element of feedgen's lxml tree), made as feedgen
    makes its own. Not through `feedgen.util.xml_elem`: that module, imported first,
    fails, as it uses `lxml.etree` without importing it."""
    from lxml import etree

    return etree.SubElement(parent, tag, attributes)


@functools.cache
def _feedgen() -> type[FeedGenerator]:
    """feedgen's generator class, loaded once. feedgen formats RSS dates through
    `locale.setlocale`; ours are used instead."""
    import feedgen.entry
    import feedgen.feed

    feedgen.entry.formatRFC2822 = rfc822
    feedgen.feed.formatRFC2822 = rfc822
    generator_class: type[FeedGenerator] = feedgen.feed.FeedGenerator
    return generator_class
