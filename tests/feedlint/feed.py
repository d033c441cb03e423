"""``lint_feed``: an RSS 2.0 or Atom 1.0 document, as the service checks it.

It parses the document, tells the format from the root element, checks what applies
to any feed (namespace declarations and prefixes, mis-decoded characters), then
hands the document to rss.py or atom.py and its Media RSS to media.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from lxml import etree

from .atom import _lint_atom_feed
from .core import ATOM_NS, MEDIA_NS, _Lint, _parse_xml, _qname
from .media import _lint_media
from .rss import _lint_rss

# Namespaces the service knows, with the prefix it expects for each (a subset of
# the table in its base.py: the ones a news feed may plausibly use). Declaring any
# other namespace is the warning "Use of unknown namespace".
KNOWN_NAMESPACES: dict[str, str] = {
    "http://www.w3.org/2005/Atom": "atom",
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://search.yahoo.com/mrss/": "media",
    "http://www.w3.org/1999/xhtml": "xhtml",
    "http://purl.org/rss/1.0/modules/syndication/": "sy",
    "http://purl.org/rss/1.0/modules/slash/": "slash",
    "http://wellformedweb.org/CommentAPI/": "wfw",
    "http://purl.org/syndication/thread/1.0": "thr",
    "http://purl.org/syndication/history/1.0": "fh",
    "http://www.georss.org/georss": "georss",
    "http://www.itunes.com/dtds/podcast-1.0.dtd": "itunes",
    "http://a9.com/-/spec/opensearch/1.1/": "opensearch",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf",
    "http://www.w3.org/1999/xlink": "xlink",
    "http://www.w3.org/2000/svg": "svg",
    "http://www.w3.org/1998/Math/MathML": "mathml",
}


def lint_feed(data: bytes, served_url: str, now: datetime) -> list[str]:
    """Problems the W3C Feed Validation Service would report for an RSS 2.0 or Atom
    1.0 document served at served_url, judged at time now; empty when clean."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    ctx = _Lint(data=data, served_url=served_url, now=now)
    root = _parse_xml(ctx)
    if root is None:
        return ctx.results()
    kind = _feed_kind(root)
    if kind is None:
        ctx.error(root, "root element must be <rss> (RSS 2.0) or atom:feed (Atom 1.0)")
        return ctx.results()
    _check_namespace_declarations(ctx, root, kind)
    _check_bad_characters(ctx, root)
    if kind == "rss":
        _lint_rss(ctx, root)
    else:
        _lint_atom_feed(ctx, root)
    _lint_media(ctx, root)
    return ctx.results()


def _feed_kind(root: etree._Element) -> str | None:
    if root.tag == "rss":
        return "rss"
    if root.tag == f"{{{ATOM_NS}}}feed":
        return "atom"
    return None


def _check_namespace_declarations(ctx: _Lint, root: etree._Element, kind: str) -> None:
    """Namespace prefixes: unknown namespaces, well-known prefixes bound elsewhere,
    and (Atom) a prefix on the Atom or XHTML namespace all warn in the service."""
    for el in root.iter(etree.Element):
        parent = el.getparent()
        inherited = parent.nsmap if parent is not None else {}
        for prefix, uri in el.nsmap.items():
            if inherited.get(prefix) == uri:
                continue
            preferred = KNOWN_NAMESPACES.get(uri)
            if uri == MEDIA_NS.rstrip("/"):
                ctx.error(el, "Missing trailing slash in mediaRSS namespace")
            elif prefix and prefix in KNOWN_NAMESPACES.values() and preferred != prefix:
                expected = next(u for u, p in KNOWN_NAMESPACES.items() if p == prefix)
                ctx.warn(el, f'The prefix "{prefix}" generally is associated with the namespace "{expected}"')
            elif preferred is None:
                ctx.warn(el, f"Use of unknown namespace: {uri}")
            elif (
                # On the root the service does not know the feed type yet, so only
                # an unusual prefix warns there; inside an Atom feed any prefix does.
                prefix
                and preferred in ("atom", "xhtml")
                and ((parent is None and prefix != preferred) or (kind == "atom" and parent is not None))
            ):
                ctx.warn(el, f"Avoid Namespace Prefix: {prefix}")


def _check_bad_characters(ctx: _Lint, root: etree._Element) -> None:
    """C1 control characters or U+FFFD in text or attributes: mis-decoded input."""
    bad = re.compile("[\u0080-\u009f\ufffd]")
    for el in root.iter(etree.Element):
        values = [el.text or "", el.tail or "", *el.attrib.values()]
        if any(bad.search(value) for value in values):
            ctx.warn(el, f"{_qname(el)} contains bad characters")
