"""Media RSS (the media: namespace), wherever it appears in a feed.

Thumbnails and contents need absolute URLs, integer sizes and known attribute
values; a media:group is for alternatives, so it needs two media:content; media
title, description and text are plain text unless declared HTML.
"""

from __future__ import annotations

import re

from lxml import etree

from .core import MEDIA_NS, MIME_TYPE, _attrs, _Lint, _local, _qname, _text, _words
from .text import _check_html, _check_plain_text, _check_positive_integer
from .uris import _check_uri

MEDIA_THUMBNAIL_ATTRIBUTES = frozenset({"url", "width", "height", "time"})
MEDIA_CONTENT_ATTRIBUTES = _words(
    "bitrate channels duration expression fileSize framerate height isDefault lang medium samplingrate type url width"
)
MEDIA_MEDIUMS = frozenset({"image", "audio", "video", "document", "executable"})


def _lint_media(ctx: _Lint, root: etree._Element) -> None:
    """Media RSS anywhere: thumbnails and contents with absolute URLs and integer
    sizes; a media:group is for alternatives, so it needs two media:content."""
    for el in root.iter(f"{{{MEDIA_NS}}}*"):
        name = _local(el)
        if name == "thumbnail":
            _check_media_object(ctx, el, MEDIA_THUMBNAIL_ATTRIBUTES)
            time = el.get("time")
            if time is not None and not re.match(r"^(now)|(\d+(\.\d+)?)|(\d+:\d\d:\d\d(\.\d+)?)$", time):
                ctx.error(el, "time must be an NPT-time")
        elif name == "content":
            _check_media_object(ctx, el, MEDIA_CONTENT_ATTRIBUTES)
            _check_media_content_attributes(ctx, el)
        elif name == "group":
            if len(el.findall(f"{{{MEDIA_NS}}}content")) < 2:
                ctx.error(el, "media:group must have multiple media:content children")
        elif name in ("title", "description", "text"):
            kind = el.get("type", "plain")
            if kind not in ("plain", "html"):
                ctx.error(el, 'type attribute must be "plain" or "html"')
            elif kind == "html":
                _check_html(ctx, el, _text(el))
            else:
                _check_plain_text(ctx, el, rss=False, undeclared=True)
        elif name == "category" and el.get("scheme") is not None:
            _check_uri(ctx, el, el.get("scheme", ""), full=True, what="scheme")


def _check_media_object(ctx: _Lint, el: etree._Element, allowed: frozenset[str]) -> None:
    url = el.get("url")
    if url is None:
        suffix = "" if _local(el) == "thumbnail" else " (our rule)"
        ctx.error(el, f"Missing {_qname(el)} attribute: url{suffix}")
    else:
        _check_uri(ctx, el, url, full=True, what="url")
    for size in ("width", "height", "fileSize"):
        value = el.get(size)
        if value is not None:
            _check_positive_integer(ctx, el, value, size)
    for name in _attrs(el):
        if etree.QName(name).namespace is None and name not in allowed:
            ctx.error(el, f"Unexpected {name} attribute on {_qname(el)} element")


def _check_media_content_attributes(ctx: _Lint, el: etree._Element) -> None:
    medium = el.get("medium")
    if medium is not None and medium not in MEDIA_MEDIUMS:
        ctx.error(el, f'Invalid content medium: "{medium}"')
    expression = el.get("expression")
    if expression is not None and expression not in ("sample", "full", "nonstop"):
        ctx.error(el, f'Invalid content expression: "{expression}"')
    kind = el.get("type")
    if kind is not None and not MIME_TYPE.match(kind):
        ctx.error(el, "type attribute of media:content must be a valid MIME type")
    default = el.get("isDefault")
    if default is not None and default.lower() not in ("true", "false"):
        ctx.error(el, 'isDefault must be "true" or "false"')
    for name in ("bitrate", "duration", "framerate", "samplingrate"):
        value = el.get(name)
        if value is not None and not re.match(r"\d+\.?\d*", value):
            ctx.error(el, f"Invalid value for {name}")
    channels = el.get("channels")
    if channels is not None and not channels.strip().isdigit():
        ctx.error(el, "channels must be a non-negative integer")
