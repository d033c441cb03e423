"""Atom 1.0 (RFC 4287): the feed, its entries and their sources.

Required and single elements, metadata before entries, an author for every entry,
content or an alternate link, ids in canonical form, unique ids and updated values,
text constructs (text, html, xhtml) and person constructs. Also atom:link and the
self link, which RSS feeds carry as well, so rss.py uses them from here.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from lxml import etree

from .core import (
    ADDR_SPEC,
    ATOM_NS,
    LANGUAGE_TAG,
    MIME_TYPE,
    SELF_TYPES,
    XHTML_NS,
    _attrs,
    _children,
    _Lint,
    _local,
    _ns,
    _qname,
    _text,
    _words,
)
from .dates import _check_rfc3339
from .text import HTML_END_TAG, _check_html, _check_html_tag, _check_not_blank, _check_plain_text, _entity_like
from .uris import FULL_URI, _canonical_uri, _check_uri

ATOM_FEED_ELEMENTS = _words(
    "author category contributor generator icon id link logo rights subtitle title updated entry"
)
ATOM_FEED_SINGLE = _words("generator icon id logo rights subtitle title updated")
ATOM_ENTRY_ELEMENTS = _words(
    "author category content contributor id link published rights source summary title updated"
)
ATOM_ENTRY_SINGLE = _words("content id published rights source summary title updated")
# IANA link relations the service knows; other relations must be full URIs.
REGISTERED_LINK_RELATIONS = _words(
    "alternate current describedby edit edit-media enclosure first hub last license "
    "next next-archive payment prev-archive previous related replies search self "
    "service up via"
)

EMAIL_IN_TEXT = re.compile("<" + ADDR_SPEC.pattern[:-1] + ">", re.IGNORECASE)


def _lint_atom_feed(ctx: _Lint, feed: etree._Element) -> None:
    """Atom feed: metadata before entries, required elements, self link, entries."""
    children = _children(feed)
    atom_children = [c for c in children if _ns(c) == ATOM_NS]
    names = [_local(c) for c in atom_children]
    _check_atom_children(ctx, feed, atom_children, ATOM_FEED_ELEMENTS, ATOM_FEED_SINGLE)
    for required in ("title", "id", "updated"):
        if required not in names:
            ctx.error(feed, f"Missing feed element: {required}")
    seen_entry = False
    for child in children:
        if _ns(child) == ATOM_NS and _local(child) == "entry":
            seen_entry = True
        elif seen_entry:
            ctx.error(child, f"{_qname(child)} must appear before all entries")

    links = [c for c in atom_children if _local(c) == "link"]
    _check_self_link(ctx, feed, links, "atom")
    _check_alternate_links(ctx, feed, links)
    _lint_atom_metadata(ctx, atom_children)

    feed_has_author = "author" in names
    ids: dict[str, etree._Element] = {}
    updated: dict[str, etree._Element] = {}
    for entry in (c for c in atom_children if _local(c) == "entry"):
        _lint_atom_entry(ctx, entry, feed_has_author)
        _check_unique(ctx, entry, "id", ids, "Two entries with the same id")
        _check_unique(ctx, entry, "updated", updated, "Two entries with the same value for atom:updated")


def _check_atom_children(
    ctx: _Lint,
    parent: etree._Element,
    atom_children: list[etree._Element],
    allowed: frozenset[str],
    single: frozenset[str],
) -> None:
    counted: set[str] = set()
    for child in atom_children:
        name = _local(child)
        if name not in allowed:
            ctx.error(child, f"Undefined {_local(parent)} element: {name}")
        elif name in single and name in counted:
            ctx.error(child, f"{_local(parent)} contains more than one {name}")
        counted.add(name)


def _lint_atom_metadata(ctx: _Lint, atom_children: list[etree._Element]) -> None:
    """Value checks shared by feed, entry and source metadata elements."""
    for child in atom_children:
        name = _local(child)
        if name == "id":
            _check_atom_id(ctx, child)
        elif name in ("updated", "published"):
            _check_no_whitespace(ctx, child)
            _check_rfc3339(ctx, child, _text(child))
        elif name in ("title", "subtitle", "rights", "summary", "content"):
            _check_text_construct(ctx, child)
        elif name in ("author", "contributor"):
            _check_person(ctx, child)
        elif name == "link":
            _check_atom_link(ctx, child)
        elif name == "category":
            if child.get("term") is None:
                ctx.error(child, "Missing category attribute: term")
            if child.get("scheme") is not None:
                _check_uri(ctx, child, child.get("scheme", ""), full=False, what="scheme")
        elif name in ("icon", "logo"):
            _check_no_whitespace(ctx, child)
            _check_uri(ctx, child, _text(child), full=False)
        elif name == "generator" and child.get("uri") is not None:
            _check_uri(ctx, child, child.get("uri", ""), full=False, what="uri")


def _lint_atom_entry(ctx: _Lint, entry: etree._Element, feed_has_author: bool) -> None:
    """Atom entry: id, title, updated, an author (here, on the feed or in a source),
    and content or an alternate link (with a summary when content is not text)."""
    atom_children = _children(entry, ATOM_NS)
    names = [_local(c) for c in atom_children]
    _check_atom_children(ctx, entry, atom_children, ATOM_ENTRY_ELEMENTS, ATOM_ENTRY_SINGLE)
    for required in ("title", "id", "updated"):
        if required not in names:
            ctx.error(entry, f"Missing entry element: {required}")
    source = entry.find(f"{{{ATOM_NS}}}source")
    source_author = source is not None and source.find(f"{{{ATOM_NS}}}author") is not None
    if "author" not in names and not feed_has_author and not source_author:
        ctx.error(entry, "Missing entry element: author")

    links = [c for c in atom_children if _local(c) == "link"]
    _check_alternate_links(ctx, entry, links)
    content = entry.find(f"{{{ATOM_NS}}}content")
    if content is not None:
        kind = content.get("type", "text")
        binary = "/" in kind and not (kind.endswith(("+xml", "/xml")) or kind.startswith("text/"))
        if "summary" not in names and (content.get("src") is not None or binary):
            ctx.error(entry, "Missing summary")
    else:
        if "summary" not in names:
            ctx.warn(entry, "Missing textual content")
        if not any(link.get("rel", "alternate") == "alternate" for link in links):
            ctx.error(entry, "Missing content or alternate link")
    _lint_atom_metadata(ctx, atom_children)
    if source is not None:
        _lint_atom_source(ctx, source)


def _lint_atom_source(ctx: _Lint, source: etree._Element) -> None:
    """atom:source should carry the original feed's id, title and updated."""
    names = [_local(c) for c in _children(source, ATOM_NS)]
    for recommended in ("title", "id", "updated"):
        if recommended not in names:
            ctx.warn(source, f"Missing source element: {recommended}")
    _lint_atom_metadata(ctx, _children(source, ATOM_NS))


def _check_unique(ctx: _Lint, entry: etree._Element, name: str, seen: dict[str, etree._Element], message: str) -> None:
    el = entry.find(f"{{{ATOM_NS}}}{name}")
    if el is None:
        return
    value = _text(el)
    if value in seen:
        ctx.warn(el, f"{message}: {value}")
    else:
        seen[value] = el


def _check_alternate_links(ctx: _Lint, parent: etree._Element, links: list[etree._Element]) -> None:
    """At most one alternate link per (type, hreflang)."""
    seen: set[tuple[str, str]] = set()
    for link in links:
        if link.get("rel", "alternate") != "alternate":
            continue
        key = (link.get("type", ""), link.get("hreflang", ""))
        if key in seen:
            ctx.error(link, "Duplicate alternate links with the same type and hreflang")
        seen.add(key)


# ========================================================== atom:link, also in RSS
def _check_atom_link(ctx: _Lint, link: etree._Element) -> None:
    """atom:link (in Atom, or in an RSS channel or item)."""
    href = link.get("href")
    if href is None:
        ctx.error(link, "link must have an href attribute")
    else:
        _check_uri(ctx, link, href, full=False, what="href")
    rel = link.get("rel")
    if rel is not None:
        rel = rel.removeprefix("http://www.iana.org/assignments/relation/")
        if not rel:
            ctx.warn(link, "The rel attribute of link should not be blank")
        elif rel not in REGISTERED_LINK_RELATIONS and not FULL_URI.match(rel):
            ctx.warn(link, f"Unregistered link relationship: {rel}")
    kind = link.get("type")
    if kind is not None and not MIME_TYPE.match(kind):
        ctx.error(link, "Not a valid MIME type")
    length = link.get("length")
    if length is not None and not length.strip().isdigit():
        ctx.error(link, "length must be a non-negative integer")
    hreflang = link.get("hreflang")
    if hreflang is not None and not LANGUAGE_TAG.match(hreflang):
        ctx.error(link, "hreflang must be an ISO-639 language code")
    if (link.text or "").strip() or len(link):
        ctx.warn(link, "link should not have text (all data is in attributes)")


def _check_self_link(ctx: _Lint, parent: etree._Element, links: list[etree._Element], kind: str) -> None:
    """The feed must point at itself: atom:link rel="self", equal (as a URI) to the
    URL it is served from, with the media type of its format."""
    selves = [link for link in links if link.get("rel", "alternate") == "self"]
    if not selves:
        ctx.warn(parent, 'Missing atom:link with rel="self"')
        return
    for link in selves:
        href = link.get("href")
        if href is None:
            continue
        base = link.base or ""
        if not urlsplit(href).netloc and not urlsplit(base).netloc:
            ctx.warn(link, "Relative href value on self link")
        target = urljoin(base, href) if base else href
        if _canonical_uri(target) != _canonical_uri(ctx.served_url) or _canonical_uri(target) is None:
            ctx.warn(link, f"Self reference doesn't match document location ({href} != {ctx.served_url})")
        expected = SELF_TYPES[kind]
        declared = (link.get("type") or "").split(";")[0].strip()
        if declared and declared not in ("application/atom+xml", "application/rss+xml", "application/rdf+xml"):
            ctx.warn(link, '"self" link references a non-Atom representation')
        elif declared != expected:
            ctx.warn(link, f'self link type should be "{expected}" (our rule)')


# ============================================================== ids, persons, text
def _check_atom_id(ctx: _Lint, el: etree._Element) -> None:
    """atom:id: a full URI (tag:, urn:, http: ...), in canonical form, no spaces."""
    raw = _text(el)
    _check_no_whitespace(ctx, el)
    value = raw.strip()
    if not _check_uri(ctx, el, value, full=True):
        return
    canonical = _canonical_uri(value)
    if canonical != raw:
        shown = canonical or "N/A"
        ctx.warn(el, f'Identifier "{raw}" is not in canonical form (the canonical form would be "{shown}")')


def _check_person(ctx: _Lint, person: etree._Element) -> None:
    """Person construct: a non-blank name that is not an address; valid email, uri."""
    name = person.find(f"{{{ATOM_NS}}}name")
    if name is None:
        ctx.error(person, f"Missing {_local(person)} element: name")
    else:
        _check_plain_text(ctx, name, rss=False)
        _check_not_blank(ctx, name)
        if EMAIL_IN_TEXT.search(_text(name)):
            ctx.warn(name, "name should not include email address")
    email = person.find(f"{{{ATOM_NS}}}email")
    if email is not None and not ADDR_SPEC.match(_text(email).strip()):
        ctx.error(email, "email must be an email address")
    uri = person.find(f"{{{ATOM_NS}}}uri")
    if uri is not None:
        _check_no_whitespace(ctx, uri)
        _check_uri(ctx, uri, _text(uri), full=False)


def _check_text_construct(ctx: _Lint, el: etree._Element) -> None:
    """Atom text constructs (and atom:content): text must not look like markup,
    html is checked as HTML, xhtml must be one xhtml:div of safe markup."""
    name = _local(el)
    src = el.get("src")
    kind = el.get("type", "" if src is not None else "text")
    if "type" in el.attrib and not kind:
        ctx.warn(el, f"The type attribute of {name} should not be blank")
    if src is not None:
        _check_uri(ctx, el, src, full=False, what="src")
        if "type" not in el.attrib:
            ctx.warn(el, f"Missing {name} attribute: type")
    if name != "content" and "/" in kind:
        ctx.error(el, 'type attribute must be "text", "html", or "xhtml"')
    elif kind not in ("text", "html", "xhtml", "") and not MIME_TYPE.match(kind):
        ctx.error(el, "Not a valid MIME type")

    if kind == "xhtml":
        _check_xhtml_construct(ctx, el)
    elif kind == "html" or kind.endswith("/html"):
        if len(el):
            ctx.error(el[0], f"Undefined {name} element: {_qname(el[0])}")
        _check_html(ctx, el, _text(el))
    elif kind == "text":
        if len(el):
            ctx.error(el[0], f"Undefined {name} element: {_qname(el[0])}")
        _check_plain_text(ctx, el, rss=False, undeclared=True)
    if src is None and not _text(el).strip() and not len(el):
        ctx.warn(el, f"{name} should not be blank")


def _check_xhtml_construct(ctx: _Lint, el: etree._Element) -> None:
    divs = _children(el)
    if (el.text or "").strip() or len(divs) != 1 or divs[0].tag != f"{{{XHTML_NS}}}div":
        ctx.error(el, "Missing xhtml:div element")
        return
    for node in divs[0].iter(etree.Element):
        if node is divs[0]:
            continue
        if _ns(node) != XHTML_NS:
            ctx.warn(node, f"Misplaced XHTML content: {_qname(node)} is not in the XHTML namespace")
            continue
        _check_html_tag(ctx, el, _local(node), list(_attrs(node).items()))
    value = _text(divs[0])
    if HTML_END_TAG.search(value) or _entity_like(value):
        ctx.warn(el, f"{_local(el)} claims to be inline, but may contain html")


def _check_no_whitespace(ctx: _Lint, el: etree._Element) -> None:
    value = _text(el)
    if value != value.strip():
        ctx.error(el, "Whitespace not permitted here")
