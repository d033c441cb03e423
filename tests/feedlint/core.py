"""Shared ground of the linter: what every check needs, whatever the format.

- ``Problem``, one finding worded like the service's messages, and ``_Lint``, the
  state of one run that collects them;
- helpers that read an lxml element as the service sees it (qualified name, child
  elements, decoded text, attributes);
- XML parsing that also maps each element to the byte span of its raw content, so
  the plain-text checks can tell how a character was escaped in the document;
- the namespace URIs and the value patterns (MIME type, e-mail address, language
  tag) that more than one format uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.parsers import expat

from lxml import etree


def _words(text: str) -> frozenset[str]:
    """A vocabulary written as one space-separated string, to keep tables short."""
    return frozenset(text.split())


ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
MEDIA_NS = "http://search.yahoo.com/mrss/"
XHTML_NS = "http://www.w3.org/1999/xhtml"
XML_NS = "http://www.w3.org/XML/1998/namespace"

SELF_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}

# Value patterns of more than one format.
MIME_TYPE = re.compile(
    r'[^\s()<>,;:\\"/\[\]?=]+/[^\s()<>,;:\\"/\[\]?=]+'
    r'(\s*;\s*[^\s()<>,;:\\"/\[\]?=]+=("(\\"|[^"])*"|[^\s()<>,;:\\"/\[\]?=]+))*$'
)
ADDR_SPEC = re.compile(
    r"([A-Z0-9_\-+.']+)@(([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([A-Z0-9\-]+\.)+))"
    r"([A-Z0-9][-A-Z0-9]*)$",
    re.IGNORECASE,
)
LANGUAGE_TAG = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$")


# ============================================================== problem reporting
@dataclass(frozen=True, slots=True)
class Problem:
    """One finding, worded like the service's messages."""

    level: str  # "error" or "warning", as the service classifies it
    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        line = f"line {self.line} " if self.line else ""
        return f"{self.level}: {line}{self.where}: {self.message}"


@dataclass
class _Lint:
    """State of one lint run: the raw bytes, the context given, the findings."""

    data: bytes
    served_url: str = ""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    spans: dict[etree._Element, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def error(self, el: etree._Element | None, message: str) -> None:
        self._add("error", el, message)

    def warn(self, el: etree._Element | None, message: str) -> None:
        self._add("warning", el, message)

    def _add(self, level: str, el: etree._Element | None, message: str) -> None:
        if el is None:
            self.problems.append(Problem(level, None, "document", message))
        else:
            line = el.sourceline if isinstance(el.sourceline, int) else None
            self.problems.append(Problem(level, line, _qname(el), message))

    def raw_text(self, el: etree._Element) -> str:
        """The element's content exactly as written in the document (undecoded)."""
        start, end = self.spans.get(el, (0, 0))
        return self.data[start:end].decode("utf-8", errors="replace")

    def results(self) -> list[str]:
        return [str(problem) for problem in self.problems]


def _qname(el: etree._Element) -> str:
    """A readable name for an element: its prefix and local name."""
    local = etree.QName(el).localname
    return f"{el.prefix}:{local}" if el.prefix else local


def _children(el: etree._Element, ns: str | None = None) -> list[etree._Element]:
    """Child elements (no comments or PIs), optionally only those in namespace ns."""
    kids = [c for c in el if isinstance(c.tag, str)]
    if ns is None:
        return kids
    return [c for c in kids if etree.QName(c).namespace == (ns or None)]


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _ns(el: etree._Element) -> str:
    return etree.QName(el).namespace or ""


def _text(el: etree._Element) -> str:
    """The element's character data, entities decoded, as the service sees it."""
    return "".join(str(text) for text in el.itertext())


def _attrs(el: etree._Element) -> dict[str, str]:
    """The element's attributes ({namespace}name: value); lxml gives str in Python 3."""
    return {str(name): str(value) for name, value in el.attrib.items()}


# ================================================================ XML and encoding
def _xml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _parse_xml(ctx: _Lint) -> etree._Element | None:
    """Parse ctx.data (which must be UTF-8 XML 1.0) and map each element to the
    byte span of its raw content; None, with the error recorded, if it cannot."""
    data = ctx.data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        ctx.error(None, f"document is not UTF-8: {exc}")
        return None
    declaration = re.match(rb"^(\xef\xbb\xbf)?<\?xml([^>]*)\?>", data)
    if declaration:
        attrs = declaration.group(2).decode("ascii", errors="replace")
        version = re.search(r"version\s*=\s*[\"']([^\"']*)", attrs)
        if version and version.group(1) != "1.0":
            ctx.error(None, f"Incorrect XML Version: {version.group(1)}")
        encoding = re.search(r"encoding\s*=\s*[\"']([^\"']*)", attrs)
        if encoding and encoding.group(1).lower() not in ("utf-8", "utf8"):
            ctx.error(None, f"encoding must be UTF-8, not {encoding.group(1)} (our rule)")
    try:
        root = etree.fromstring(data, _xml_parser())
    except etree.XMLSyntaxError as exc:
        ctx.error(None, f"XML parsing error: {exc}")
        return None
    elements = list(root.iter(etree.Element))
    spans = _content_spans(data)
    if len(spans) == len(elements):
        ctx.spans = dict(zip(elements, spans, strict=True))
    return root


def _content_spans(data: bytes) -> list[tuple[int, int]]:
    """Byte offsets (start, end) of each element's raw content, in document order."""
    parser = expat.ParserCreate()
    starts: list[int] = []
    ends: list[int] = []
    open_elements: list[int] = []

    def start(_name: str, _attrs: dict[str, str]) -> None:
        open_elements.append(len(starts))
        starts.append(_start_tag_end(data, parser.CurrentByteIndex))
        ends.append(0)

    def end(_name: str) -> None:
        index = open_elements.pop()
        ends[index] = max(parser.CurrentByteIndex, starts[index])

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except expat.ExpatError:
        return []
    return list(zip(starts, ends, strict=True))


def _start_tag_end(data: bytes, pos: int) -> int:
    """Offset just after the start tag beginning at pos (quotes may hide a '>')."""
    quote = 0
    for index in range(pos + 1, len(data)):
        byte = data[index]
        if quote:
            if byte == quote:
                quote = 0
        elif byte in (0x22, 0x27):
            quote = byte
        elif byte == 0x3E:
            return index + 1
    return len(data)
