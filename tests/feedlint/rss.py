"""RSS 2.0: the rss root, its one channel, and the channel's items.

Core elements and their attributes, required and single elements, element order,
the channel image, guid, enclosure and author addresses, and the extensions an item
may carry (content:encoded, dc:date, atom:link).
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from urllib.parse import unquote

from lxml import etree

from .atom import _check_atom_link, _check_self_link
from .core import (
    ADDR_SPEC,
    ATOM_NS,
    CONTENT_NS,
    DC_NS,
    LANGUAGE_TAG,
    MIME_TYPE,
    XML_NS,
    _attrs,
    _children,
    _Lint,
    _local,
    _ns,
    _text,
    _words,
)
from .dates import _check_rfc822, _check_w3cdtf
from .text import _check_html, _check_not_blank, _check_plain_text, _check_positive_integer
from .uris import FULL_URI, _check_uri, _uri_is_valid

RSS_CHANNEL_ELEMENTS = _words(
    "title link description language copyright managingEditor webMaster pubDate "
    "lastBuildDate category generator docs cloud ttl image rating textInput skipHours "
    "skipDays item"
)
RSS_CHANNEL_SINGLE = RSS_CHANNEL_ELEMENTS - {"category", "item"}
RSS_ITEM_ELEMENTS = _words("title link description author category comments enclosure guid pubDate source")
RSS_ITEM_SINGLE = _words("title link description author comments guid pubDate source")
RSS_ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "category": frozenset({"domain"}),
    "guid": frozenset({"isPermaLink"}),
    "source": frozenset({"url"}),
    "enclosure": frozenset({"url", "length", "type"}),
    "cloud": frozenset({"domain", "port", "path", "registerProcedure", "protocol"}),
}
# A channel element after the first item is "Misplaced Item" (channel.py, metadata()).
RSS_CHANNEL_METADATA = RSS_CHANNEL_ELEMENTS - {"item", "rating"}


def _lint_rss(ctx: _Lint, rss: etree._Element) -> None:
    """RSS 2.0: <rss version="2.0"> holding exactly one channel."""
    if rss.get("version") != "2.0":
        ctx.error(rss, f'rss version must be "2.0", not {rss.get("version")!r}')
    _check_rss_attributes(ctx, rss, frozenset({"version"}))
    channels = []
    for child in _children(rss, ""):
        if child.tag == "channel":
            channels.append(child)
        else:
            ctx.error(child, f"Undefined rss element: {child.tag}")
    if not channels:
        ctx.error(rss, "Missing rss element: channel")
    if len(channels) > 1:
        ctx.error(channels[1], "rss contains more than one channel")
    for channel in channels[:1]:
        _lint_channel(ctx, channel)


def _lint_channel(ctx: _Lint, channel: etree._Element) -> None:
    """Channel elements, the self link, and every item."""
    core = _children(channel, "")
    names = [c.tag for c in core]
    for required in ("title", "link", "description"):
        if required not in names:
            ctx.error(channel, f"Missing channel element: {required}")
    _check_rss_children(ctx, channel, core, RSS_CHANNEL_ELEMENTS, RSS_CHANNEL_SINGLE)
    seen_item = False
    for child in channel:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "item":
            seen_item = True
        elif seen_item and (child.tag in RSS_CHANNEL_METADATA or child.tag == f"{{{ATOM_NS}}}link"):
            ctx.warn(child, "Misplaced Item")
    links = [c for c in _children(channel, ATOM_NS) if _local(c) == "link"]
    for link in links:
        _check_atom_link(ctx, link)
    _check_self_link(ctx, channel, links, "rss")

    title = channel.find("title")
    home = channel.find("link")
    for child in core:
        _lint_channel_child(ctx, child, title, home)
    guids: dict[str, etree._Element] = {}
    for item in channel.iter("item"):
        _lint_item(ctx, item, guids)


def _lint_channel_child(
    ctx: _Lint, child: etree._Element, title: etree._Element | None, link: etree._Element | None
) -> None:
    """Value checks of one channel element."""
    tag = child.tag
    if tag in ("title", "copyright", "category"):
        _check_plain_text(ctx, child, rss=True)
        if tag == "title":
            _check_not_blank(ctx, child)
    elif tag == "description":
        _check_plain_text(ctx, child, rss=True)
    elif tag in ("link", "docs"):
        _check_uri(ctx, child, _text(child).strip(), full=True)
    elif tag == "language":
        if not LANGUAGE_TAG.match(_text(child).strip()):
            ctx.error(child, "language must be an ISO-639 language code")
    elif tag in ("pubDate", "lastBuildDate"):
        _check_rfc822(ctx, child, _text(child).strip())
    elif tag in ("managingEditor", "webMaster"):
        _check_email_with_name(ctx, child)
    elif tag == "ttl":
        _check_positive_integer(ctx, child, _text(child).strip(), "ttl")
    elif tag == "image":
        _lint_image(ctx, child, title, link)


def _lint_image(ctx: _Lint, image: etree._Element, title: etree._Element | None, link: etree._Element | None) -> None:
    """Channel image: title, url and link required; title and link as the channel's."""
    for required in ("title", "url", "link"):
        if image.find(required) is None:
            ctx.error(image, f"Missing image element: {required}")
    image_title = image.find("title")
    if image_title is not None and title is not None and _text(image_title) != _text(title):
        ctx.warn(image_title, "Image title doesn't match channel title")
    image_link = image.find("link")
    if image_link is not None:
        _check_uri(ctx, image_link, _text(image_link).strip(), full=True)
        if link is not None and _text(image_link).strip() != _text(link).strip():
            ctx.warn(image_link, "Image link doesn't match channel link")
    url = image.find("url")
    if url is not None:
        value = _text(url).strip()
        _check_uri(ctx, url, value, full=True)
        extension = value.rsplit(".", 1)[-1].lower()
        if re.match(r"^\w+$", extension) and extension not in ("jpg", "jpeg", "gif", "png"):
            ctx.warn(url, "Image not in required format")
    for name, limit in (("width", 144), ("height", 400)):
        size = image.find(name)
        if size is not None:
            value = _text(size).strip()
            if not value.isdigit() or not 0 < int(value) <= limit:
                ctx.error(size, f"{name} must be between 1 and {limit}")


def _lint_item(ctx: _Lint, item: etree._Element, guids: dict[str, etree._Element]) -> None:
    """One RSS item: required parts, each element's value, and extensions."""
    core = _children(item, "")
    names = [c.tag for c in core]
    if "title" not in names and "description" not in names:
        ctx.error(item, "item must contain either title or description")
    if "guid" not in names:
        ctx.warn(item, "item should contain a guid element")
    _check_rss_children(ctx, item, core, RSS_ITEM_ELEMENTS, RSS_ITEM_SINGLE - {"enclosure"})
    if names.count("enclosure") > 1:
        ctx.warn(item, "item contains more than one enclosure")
    _check_duplicate_semantics(ctx, item)

    seen_description = False
    for child in _children(item):
        ns, tag = _ns(child), _local(child)
        if ns == "":
            if tag == "description":
                seen_description = True
            _lint_item_child(ctx, child, guids)
        elif ns == CONTENT_NS and tag == "encoded":
            if not seen_description:
                ctx.warn(child, "Ensure description precedes content:encoded")
            _check_html(ctx, child, _text(child))
        elif ns == ATOM_NS and tag == "link":
            _check_atom_link(ctx, child)
        elif ns == DC_NS and tag == "date":
            _check_w3cdtf(ctx, child, _text(child).strip())


def _lint_item_child(ctx: _Lint, child: etree._Element, guids: dict[str, etree._Element]) -> None:
    """Value checks of one core item element."""
    tag = child.tag
    if tag == "title":
        _check_plain_text(ctx, child, rss=True)
        _check_not_blank(ctx, child)
    elif tag == "description":
        _check_html(ctx, child, _text(child))
    elif tag in ("link", "comments"):
        _check_uri(ctx, child, _text(child).strip(), full=True)
    elif tag == "pubDate":
        _check_rfc822(ctx, child, _text(child).strip())
    elif tag == "author":
        _check_email_with_name(ctx, child)
    elif tag == "category":
        _check_plain_text(ctx, child, rss=True)
        _check_not_blank(ctx, child)
    elif tag == "guid":
        _check_guid(ctx, child, guids)
    elif tag == "source":
        _check_plain_text(ctx, child, rss=True)
        url = child.get("url")
        if url is None:
            ctx.error(child, "Missing source attribute: url")
        else:
            _check_uri(ctx, child, url, full=True, what="url attribute of source")
    elif tag == "enclosure":
        _check_enclosure(ctx, child)


def _check_rss_children(
    ctx: _Lint,
    parent: etree._Element,
    core: list[etree._Element],
    allowed: frozenset[str],
    single: frozenset[str],
) -> None:
    """No-namespace children must be RSS 2.0 elements, used at most once where RSS
    2.0 says so, with only their own attributes."""
    counted: set[str] = set()
    for child in core:
        tag = child.tag
        if tag not in allowed:
            ctx.error(child, f"Undefined {parent.tag} element: {tag}")
            continue
        if tag in single and tag in counted:
            ctx.error(child, f"{parent.tag} contains more than one {tag}")
        counted.add(tag)
        _check_rss_attributes(ctx, child, RSS_ALLOWED_ATTRIBUTES.get(tag, frozenset()))


def _check_rss_attributes(ctx: _Lint, el: etree._Element, allowed: frozenset[str]) -> None:
    for name in _attrs(el):
        qname = etree.QName(name)
        if qname.namespace == XML_NS:
            continue
        if qname.namespace:
            ctx.warn(el, f"Use of extension attribute on RSS 2.0 core element: {name}")
        elif name not in allowed:
            ctx.error(el, f"Unexpected {name} attribute on {el.tag} element")


def _check_duplicate_semantics(ctx: _Lint, item: etree._Element) -> None:
    """An item should not say the same thing with a core element and an extension."""
    pairs = (
        ("author", f"{{{DC_NS}}}creator", "dc:creator"),
        ("category", f"{{{DC_NS}}}subject", "dc:subject"),
        ("pubDate", f"{{{DC_NS}}}date", "dc:date"),
        ("guid", f"{{{ATOM_NS}}}id", "atom:id"),
    )
    for core, ext, ext_name in pairs:
        if item.find(core) is not None and item.find(ext) is not None:
            ctx.warn(item, f"An item should not include both {core} and {ext_name}")


def _check_guid(ctx: _Lint, guid: etree._Element, guids: dict[str, etree._Element]) -> None:
    """guid: a permalink (the default) must be a full URL; values unique in the feed."""
    value = _text(guid).strip()
    permalink = guid.get("isPermaLink", "true")
    if permalink not in ("true", "false"):
        ctx.error(guid, "isPermaLink attribute of guid must be 'true' or 'false'")
    if not value:
        ctx.warn(guid, "guid should not be blank")
    elif permalink == "true":
        if not _uri_is_valid(value, full=True) or value.lower().startswith(("tag:", "urn:uuid:")):
            ctx.error(guid, "guid must be a full URL, unless isPermaLink attribute is false")
    elif len(value) < 9 and value.isdigit():
        ctx.warn(guid, "The specified guid is not sufficiently unique")
    if value in guids:
        ctx.error(guid, f"guid values must not be duplicated within a feed: {value}")
    elif value:
        guids[value] = guid


def _check_enclosure(ctx: _Lint, enclosure: etree._Element) -> None:
    """enclosure: url (absolute http), length (non-negative integer), type (MIME)."""
    url = enclosure.get("url")
    if url is None:
        ctx.error(enclosure, "Missing enclosure attribute: url")
    elif not re.match(r"https?://[^/\s]+", url, re.IGNORECASE) or not FULL_URI.match(url):
        ctx.error(enclosure, "enclosure must be a full URL")
    length = enclosure.get("length")
    if length is None:
        ctx.error(enclosure, "Missing enclosure attribute: length")
    elif not re.match(r"^-?\d+$", length.strip()):
        ctx.error(enclosure, "length attribute of enclosure must be a positive integer")
    elif int(length) < 0:
        ctx.error(enclosure, "length must be a non-negative integer")
    kind = enclosure.get("type")
    if kind is None:
        ctx.error(enclosure, "Missing enclosure attribute: type")
    elif not MIME_TYPE.match(kind):
        ctx.error(enclosure, "type attribute of enclosure must be a valid MIME type")


def _check_email_with_name(ctx: _Lint, el: etree._Element) -> None:
    """RSS author/managingEditor/webMaster: "address (Real Name)", nothing else.
    A bare name is an error, so credit a provider with dc:creator instead."""
    value = _text(el).strip()
    if value.startswith("mailto:"):
        value = unquote(value.split(":", 1)[1])
    if value.find("@") > 0 and not value.endswith(")"):
        if value.find(" ") > 0:
            ctx.warn(el, "Email address is not in the recommended format")
        else:
            ctx.warn(el, "Email address is missing real name")
        return
    _check_plain_text(ctx, el, rss=True)
    address = parseaddr(value)[1] or value
    if not ADDR_SPEC.match(address) and not re.match(r"^[\w._%+-]+@[A-Za-z][\w.-]+$", address):
        ctx.error(el, "Invalid email address")
