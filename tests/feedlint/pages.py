"""The two files a site publishes next to its feeds: the HTML index and the OPML list.

``lint_html_index``: the page must parse, have a title and announce each feed with an
autodiscovery link in its head, so browsers and readers find the feeds.
``lint_opml``: an OPML 2.0 subscription list, by the service's OPML rules plus ours
(every outline of type "rss" has a text and an absolute http(s) xmlUrl, listed once).
"""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html

from .core import ADDR_SPEC, SELF_TYPES, _attrs, _children, _Lint, _parse_xml, _text, _words
from .dates import _check_rfc822
from .htmlscan import _HtmlScanner
from .text import _check_html
from .uris import _check_uri, _is_absolute_http_url

OPML_OUTLINE_ATTRIBUTES = _words(
    "category created description htmlUrl isBreakpoint isComment language text title type url version xmlUrl"
)


# ====================================================================== HTML index
def lint_html_index(data: bytes) -> list[str]:
    """Problems in the HTML index page: it must parse, have a title, and announce
    each feed with <link rel="alternate" type="application/rss+xml" (or atom+xml)
    href="absolute URL" title="..."> in its head."""
    problems: list[str] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"error: document: not UTF-8 ({exc})"]
    if not re.match(r"(\ufeff)?\s*<!doctype html>", text, re.IGNORECASE):
        problems.append("error: document: must start with <!DOCTYPE html>")
    try:
        doc = lxml_html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        return [*problems, f"error: document: HTML parsing error: {exc}"]
    title = doc.find("head/title")
    if title is None or not (title.text or "").strip():
        problems.append("error: head: missing or empty <title>")
    feeds = 0
    hrefs: set[str] = set()
    for link in doc.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        if "alternate" not in rels:
            continue
        kind = (link.get("type") or "").strip().lower()
        if kind not in SELF_TYPES.values():
            continue
        feeds += 1
        where = f"line {link.sourceline} link"
        parent = link.getparent()
        if parent is None or parent.tag != "head":
            problems.append(f"error: {where}: autodiscovery links must be in <head>")
        href = link.get("href") or ""
        if not _is_absolute_http_url(href):
            problems.append(f"error: {where}: href must be an absolute http(s) URL: {href!r}")
        if href in hrefs:
            problems.append(f"error: {where}: feed announced twice: {href}")
        hrefs.add(href)
        if not (link.get("title") or "").strip():
            problems.append(f"warning: {where}: autodiscovery link should have a title")
    if not feeds:
        problems.append('error: head: no <link rel="alternate" type="application/rss+xml|atom+xml"> found')
    return problems


# ============================================================================ OPML
def lint_opml(data: bytes) -> list[str]:
    """Problems in an OPML 2.0 feed list (the service's OPML rules, plus: every
    outline of type "rss" needs text and an absolute http(s) xmlUrl)."""
    ctx = _Lint(data=data)
    root = _parse_xml(ctx)
    if root is None:
        return ctx.results()
    if root.tag != "opml":
        ctx.error(root, "root element must be <opml>")
        return ctx.results()
    if root.get("version") != "2.0":
        ctx.error(root, 'opml version must be "2.0" (our rule)')
    heads = _children(root, "")
    _lint_opml_head(ctx, root, [h for h in heads if h.tag == "head"])
    bodies = [b for b in heads if b.tag == "body"]
    if len(bodies) != 1:
        ctx.error(root, "Missing opml element: body" if not bodies else "opml contains more than one body")
    for body in bodies:
        outlines = [o for o in _children(body, "") if o.tag == "outline"]
        if not outlines:
            ctx.error(body, "Missing body element: outline")
        seen: set[str] = set()
        for outline in body.iter("outline"):
            _lint_outline(ctx, outline, seen)
    return ctx.results()


def _lint_opml_head(ctx: _Lint, root: etree._Element, heads: list[etree._Element]) -> None:
    if not heads:
        ctx.error(root, "Missing opml element: head")
        return
    head = heads[0]
    title = head.find("title")
    if title is None or not _text(title).strip():
        ctx.error(head, "Missing head element: title (our rule)")
    else:
        _check_html(ctx, title, _text(title))
    for name in ("dateCreated", "dateModified"):
        el = head.find(name)
        if el is not None:
            _check_rfc822(ctx, el, _text(el).strip())
    owner = head.find("ownerEmail")
    if owner is not None and not ADDR_SPEC.match(_text(owner).strip()):
        ctx.error(owner, "Invalid email address")


def _lint_outline(ctx: _Lint, outline: etree._Element, seen: set[str]) -> None:
    """One outline: a text; type "rss" needs an absolute xmlUrl; HTML-valued
    attributes (text, title, description) are checked as HTML."""
    attrs = _attrs(outline)
    for name in attrs:
        if etree.QName(name).namespace is None and name not in OPML_OUTLINE_ATTRIBUTES:
            ctx.error(outline, f"Unexpected {name} attribute on outline element")
    if "text" not in attrs or not attrs["text"].strip():
        ctx.error(outline, "Missing outline attribute: text")
    if (outline.text or "").strip():
        ctx.error(outline, "Unexpected Text")
    kind = attrs.get("type", "").lower()
    if kind == "rss":
        xml_url = attrs.get("xmlUrl")
        if xml_url is None:
            ctx.error(outline, 'An <outline> element whose type is "rss" must have an "xmlUrl" attribute.')
        elif not _is_absolute_http_url(xml_url):
            ctx.error(outline, f"xmlUrl must be an absolute http(s) URL (our rule): {xml_url!r}")
        elif xml_url in seen:
            ctx.warn(outline, f"feed listed twice (our rule): {xml_url}")
        else:
            seen.add(xml_url)
        if "title" not in attrs:
            ctx.warn(outline, "Missing outline attribute: title")
    elif not kind and any(n in attrs for n in ("description", "htmlUrl", "language", "title", "version", "xmlUrl")):
        ctx.warn(outline, 'An <outline> element with more than just a "text" attribute should have a "type" attribute')
    version = attrs.get("version")
    if version is not None and version not in ("RSS", "RSS1", "RSS2", "scriptingNews"):
        ctx.warn(outline, "outline version must be RSS, RSS1, RSS2, or scriptingNews")
    for name in ("htmlUrl", "url"):
        if name in attrs:
            _check_uri(ctx, outline, attrs[name], full=True, what=name)
    for name in ("text", "title", "description"):
        if name in attrs:
            error = _HtmlScanner(attrs[name]).first_error()
            if error:
                ctx.warn(outline, f"Invalid HTML in {name} attribute: {error}")
    if "created" in attrs:
        _check_rfc822(ctx, outline, attrs["created"])
