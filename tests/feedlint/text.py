"""Element content: plain text must not look like HTML; HTML must be valid and safe.

Plain text (RSS titles, Atom type="text", media:title...) that looks like markup may
be rendered as HTML by a reader, so the service warns about it. Escaped HTML (RSS
description, content:encoded, Atom type="html") must parse without error (see
htmlscan) and use only the elements, attributes, inline CSS and absolute URLs the
service considers safe; the vocabularies here are those of its HTML checks. Also
two small value checks the formats share: not blank, and a positive integer.
"""

from __future__ import annotations

import html.entities
import re
from html.parser import HTMLParser

from lxml import etree

from .core import _Lint, _qname, _text, _words
from .htmlscan import _HtmlScanner

# Element and attribute vocabularies of the service's HTML checks (validators.py,
# HTMLValidator): a tag outside HTML_TAGS is "Non-html tag"; one in HTML_TAGS but not
# in SAFE_ELEMENTS, or an attribute outside SAFE_ATTRIBUTES, is a security warning.
UNSAFE_ELEMENTS = _words(
    "applet base basefont body comment embed frame frameset head html iframe isindex "
    "link listing meta noframes object param plaintext script style title xmp"
)
SAFE_ELEMENTS = _words(
    "a abbr acronym address area article aside audio b bdi big blockquote br button "
    "canvas caption center cite code col colgroup command data datagrid datalist dd "
    "del details dfn dialog dir div dl dt em eventsource fieldset figcaption figure "
    "font footer form h1 h2 h3 h4 h5 h6 header hgroup hr i img input ins kbd label "
    "legend li m main map mark menu meter nav noscript ol optgroup option output p "
    "picture pre progress q rp rt ruby s samp section select slot small source span "
    "strike strong sub summary sup table tbody td template textarea tfoot th thead "
    "time tr track tt u ul var video wbr"
)
HTML_TAGS = SAFE_ELEMENTS | UNSAFE_ELEMENTS
SAFE_ATTRIBUTES = _words(
    "abbr accept accept-charset accesskey action align allow allowfullscreen alt as "
    "autocapitalize autocomplete autofocus autoplay axis background balance bgcolor "
    "border bordercolor cellpadding cellspacing ch char charoff charset checked cite "
    "class clear color cols colspan compact contenteditable coords crossorigin data "
    "datetime decoding default delay dir dirname disabled download draggable enctype "
    "end enterkeyhint face for form formenctype frame headers height hidden high href "
    "hreflang hspace icon id inputmode is ismap itemid itemprop itemref itemscope "
    "itemtype kind label lang list loading longdesc loop low max maxlength media "
    "method min minlength multiple muted name nohref nonce noshade nowrap open "
    "optimum pattern ping placeholder playsinline poster preload prompt radiogroup "
    "readonly referrerpolicy rel required rev reversed rows rowspan rules scope "
    "selected shape size sizes span spellcheck src srclang srcset start step summary "
    "tabindex target title translate type usemap valign value volume vspace width "
    "wrap xml:lang xmlns"
)
# CSS the service tolerates in a style attribute (checkStyle); anything else warns.
SAFE_CSS_PROPERTIES = _words(
    "background background-color border border-bottom border-bottom-color "
    "border-bottom-style border-bottom-width border-collapse border-color border-left "
    "border-left-color border-left-style border-left-width border-right "
    "border-right-color border-right-style border-right-width border-spacing "
    "border-style border-top border-top-color border-top-style border-top-width "
    "border-width clear color cursor direction display float font font-family "
    "font-size font-style font-variant font-weight height letter-spacing line-height "
    "list-style-type margin margin-bottom margin-left margin-right margin-top "
    "overflow padding padding-bottom padding-left padding-right padding-top "
    "text-align text-decoration text-indent unicode-bidi vertical-align white-space "
    "width"
)
SAFE_CSS_KEYWORDS = _words(
    "aqua auto black block blue bold both bottom brown center collapse dashed dotted "
    "fuchsia gray green !important italic left lime maroon medium none navy normal "
    "nowrap olive pointer purple red right solid silver teal top transparent "
    "underline white yellow"
)
SAFE_CSS_VALUE = re.compile(r"^(#[0-9a-f]+|rgb\(\d+%?,\d*%?,?\d*%?\)?|\d?\.?\d?\d(cm|em|ex|in|mm|pc|pt|px|%|,|\))?)$")
URL_ATTRIBUTES = frozenset({"href", "src", "poster", "cite", "action", "background"})

# Plain-text elements: an end tag of an HTML element is "contains HTML"; so is an
# entity-like "&name" (a known entity name, "apos", or anything not purely alphabetic
# such as "#38") unless the raw XML text uses a hexadecimal character reference.
HTML_END_TAG = re.compile(r"</(\w+)>")
HTML_START_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9]*)(\s[^<>]*)?/?>")
ENTITY_LIKE = re.compile(r"&(#?\w+)")
RSS_CHARACTER_DATA = re.compile(r"&#[x0-9]|<[/a-zA-Z]")


# ====================================================================== plain text
def _entity_like(value: str) -> str | None:
    """The first "&name" in decoded text that the service takes for an HTML entity."""
    for name in ENTITY_LIKE.findall(value):
        if name in html.entities.name2codepoint or name == "apos" or not name.isalpha():
            return f"&{name};"
    return None


def _check_plain_text(ctx: _Lint, el: etree._Element, *, rss: bool, undeclared: bool = False) -> None:
    """Text that is not HTML (RSS titles, Atom type="text"...). The service warns when
    it looks like markup: an HTML end tag; an entity-like "&copy;" in the decoded text
    unless the raw XML writes hexadecimal character references ("&#x26;copy;"); and,
    in RSS, any "<b" or "&#3" unless written with hexadecimal references. Our rule
    adds: a start tag of an HTML element warns however it is escaped."""
    value = _text(el)
    name = _qname(el)
    message = f"{name} should not contain HTML" + (" unless declared in the type attribute" if undeclared else "")
    hex_escaped = "&#x" in ctx.raw_text(el)
    end_tags = [t for t in HTML_END_TAG.findall(value) if t.lower() in HTML_TAGS]
    start_tags = [t for t, _ in HTML_START_TAG.findall(value) if t.lower() in HTML_TAGS]
    entity = _entity_like(value)
    if end_tags:
        ctx.warn(el, f"{message} (</{end_tags[0]}>)")
    elif entity and not hex_escaped:
        ctx.warn(el, f"{message} ({entity})")
    elif rss and RSS_CHARACTER_DATA.search(value) and not hex_escaped:
        ctx.warn(el, 'Encode "&" and "<" in plain text using hexadecimal character references.')
    elif start_tags:
        ctx.warn(el, f"{message} (<{start_tags[0]}>, our rule: tag-like text warns however escaped)")


def _check_not_blank(ctx: _Lint, el: etree._Element) -> None:
    if not _text(el).strip():
        ctx.warn(el, f"{_qname(el)} should not be blank")


def _check_positive_integer(ctx: _Lint, el: etree._Element, value: str, name: str) -> None:
    if not re.match(r"^\s*\d+\s*$", value) or int(value) <= 0:
        ctx.error(el, f"{name} must be a positive integer")


# =================================================================== HTML content
def _check_html(ctx: _Lint, el: etree._Element, value: str) -> None:
    """Escaped HTML (RSS description, content:encoded, Atom type="html"): it must
    parse as HTML without a single parse error ("Invalid HTML"), use only safe
    elements and attributes, and link with absolute URLs."""
    error = _HtmlScanner(value).first_error()
    if error:
        ctx.warn(el, f"Invalid HTML: {error}")
    if "<?import " in value.lower():
        ctx.warn(el, f"{_qname(el)} should not contain ?import tag")
    collector = _TagCollector()
    collector.feed(value)
    collector.close()
    for tag, attributes in collector.tags:
        _check_html_tag(ctx, el, tag, attributes)


def _check_html_tag(ctx: _Lint, el: etree._Element, tag: str, attributes: list[tuple[str, str | None]]) -> None:
    """Security and URL checks of one HTML start tag found in el's content."""
    name = _qname(el)
    tag = tag.lower()
    if tag not in HTML_TAGS:
        ctx.warn(el, f"Non-html tag: {tag}")
    elif tag not in SAFE_ELEMENTS:
        ctx.warn(el, f"{name} should not contain {tag} tag")
    for attribute, value in attributes:
        attribute = attribute.lower()
        value = value or ""
        if attribute == "style":
            if _dangerous_style(value):
                ctx.warn(el, "style attribute contains potentially dangerous content")
        elif attribute not in SAFE_ATTRIBUTES and not attribute.startswith("data-"):
            ctx.warn(el, f"{name} should not contain {attribute} attribute")
        if attribute in URL_ATTRIBUTES:
            url = value.strip()
            if re.match(r"^\s*(javascript|vbscript|data):", url, re.IGNORECASE):
                ctx.warn(el, f"{name} should not contain {url.split(':')[0]}: URLs (our rule)")
            elif not re.match(r"\w+:", url):
                ctx.warn(el, f"{name} should not contain relative URL references ({url!r})")


def _dangerous_style(style: str) -> bool:
    """The service's checkStyle: only simple declarations of harmless properties."""
    if not re.match(r"""^([:,;#%.\sa-zA-Z0-9!]|\w-\w|'[\s\w]+'|"[\s\w]+"|\([\d,\s]+\))*$""", style):
        return True
    if not re.match(r"^(\s*[-\w]+\s*:\s*[^:;]*(;|$))*$", style):
        return True
    for prop, value in re.findall(r"([-\w]+)\s*:\s*([^:;]*)", style.lower()):
        if prop not in SAFE_CSS_PROPERTIES:
            return True
        if prop.split("-")[0] in ("background", "border", "margin", "padding"):
            for keyword in value.split():
                if keyword not in SAFE_CSS_KEYWORDS and not SAFE_CSS_VALUE.match(keyword):
                    return True
    return False


class _TagCollector(HTMLParser):
    """Every start tag in an HTML fragment, with its (decoded) attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
