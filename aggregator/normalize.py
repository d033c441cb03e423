"""Turn one seed's raw front matter into a `Story`: pure, no I/O, `now` is a parameter.

Every field is read from whatever type YAML made of it. A problem with a required field
of the primary article raises `FieldError` (the seed is skipped); anything else is fixed
or dropped and reported as a warning naming the field path (`related[3].webUrl`).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache, lru_cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from slugify import slugify

from aggregator.config import LimitsConfig
from aggregator.errors import FieldError
from aggregator.model import Article, Image, Provider, Story, Topic

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# Query parameters that only say where a click came from. Sources: the utm_* family
# (Google Analytics), click ids of the big ad networks, and the referral parameters that
# show up in the news-search API's URLs (`via`, `td`, `ocid`, `cmpid`, ...).
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "twclid", "igshid",
        "mc_cid", "mc_eid", "_ga", "_gl", "via", "td", "ocid", "cmpid", "cmp", "icid",
        "ito", "smid", "sr_share", "ref_src", "mbid", "rss", "taid", "spm", "__twitter_impression",
    }
)
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "hsa_", "mtm_")

# Names Windows refuses as file names, even with an extension: never used as a slug.
RESERVED_SLUGS = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)
MAX_SLUG_CHARS = 60
# A host name's limits in DNS (RFC 1035): 63 characters a label. The whole name may have
# 253 in DNS, but a provider's domain is its feeds' file name, which with the longest
# format suffix must fit a file name's 255 bytes: longer hosts are refused.
MAX_LABEL_CHARS = 63
MAX_HOST_CHARS = 240
MAX_URL_CHARS = 2048
MIN_DATE = datetime(1990, 1, 1, tzinfo=UTC)  # earlier dates are data errors, and feed validators reject them
MAX_IMAGE_SIDE = 100_000
MAX_INT = 2**53  # whole numbers beyond this (quality, heat) are data errors; SQLite stops at 2**63
# A host name as we store it: letters, digits, '-', '_' in dot-separated labels.
_HOST = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*")

# XML 1.0 forbids C0 controls other than tab/newline/CR, lone surrogates and U+FFFE/F;
# C1 controls and DEL are allowed but "discouraged", and no news title needs them.
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPACE = re.compile(r"\s")
# scheme, authority (None without '//'), path, query; the fragment is dropped.
_URL_PARTS = re.compile(r"(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#.*)?", re.S)

# The common case, already canonical but for its query: http(s), a lower-case host name
# with no port, and printable ASCII only (so no white space or control characters). Such
# a URL skips the general path below; the result is the same.
_PLAIN_URL = re.compile(rf"(https?)://({_HOST.pattern})" r"(/[!-\"$->@-~]*)?(?:\?([!-\"$-~]*))?(?:#[!-~]*)?")


@cache
def _markdown() -> MarkdownIt:
    """The seeds' Markdown renderer, loaded with the first body: a publish that parses no
    seed (nothing changed) never loads it."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


@dataclass(frozen=True, slots=True)
class Normalized:
    story: Story
    warnings: tuple[str, ...]


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment; script and style content is dropped."""

    _SKIP = frozenset({"script", "style", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in ("br", "p", "div", "li"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def strip_html(text: str) -> str:
    """Remove the source's markup with a real HTML parser; `a < b` and `<3` stay text."""
    if "<" not in text:
        # No tag: what the parser would give is the text with its character references
        # resolved, which html.unescape does with the same rules, ten times faster.
        return html.unescape(text) if "&" in text else text
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def clean_text(text: str) -> str:
    """NFC, markup removed, XML-forbidden characters removed, white space collapsed."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = strip_html(text)
    if _XML_UNSAFE.search(text):
        text = _XML_UNSAFE.sub("", text)
    return " ".join(text.split())


def _truncate(text: str, limit: int, field: str, warnings: list[str]) -> str:
    if len(text) <= limit:
        return text
    warnings.append(f"{field}: truncated from {len(text)} to {limit} characters")
    return text[: limit - 1].rstrip() + "…"


def _describe(value: Any) -> str:
    """Name a value's type for a message without echoing the value itself."""
    if isinstance(value, bool):
        return "true/false (quote it if it is text)"
    if isinstance(value, int | float):
        return "a number (quote it if it is text)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def text_field(value: Any, field: str) -> str | None:
    """A text field: None/empty stays None; any non-string is an error."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(field, f"expected text, got {_describe(value)}")
    return value


def canonical_url(value: Any, field: str) -> str | None:
    """Canonical form of an absolute http(s) URL, the identity of what it points to.

    Raises FieldError for anything that is not one (relative, `javascript:`, `data:`,
    `file:`, malformed); returns None for a missing value.
    """
    raw = text_field(value, field)
    if raw is None:
        return None
    url, reason = _canonical(raw)
    if reason is not None:
        raise FieldError(field, reason)
    return url


@lru_cache(maxsize=16384)  # shared coverage: the same URLs come back story after story
def _canonical(raw: str) -> tuple[str | None, str | None]:
    """(canonical URL or None, reason it was rejected or None)."""
    raw = raw.strip()
    if not raw:
        return None, None
    if len(raw) > MAX_URL_CHARS:
        return None, f"URL longer than {MAX_URL_CHARS} characters"
    plain = _PLAIN_URL.fullmatch(raw)
    if plain and _host_fits(plain.group(2)):
        scheme, host, path, query = plain.groups()
        return f"{scheme}://{host}{path or '/'}{_query(query) if query else ''}", None
    return _canonical_general(raw)


def _canonical_general(raw: str) -> tuple[str | None, str | None]:
    """`_canonical` of any stripped string of at most MAX_URL_CHARS characters."""
    if _XML_UNSAFE.search(raw) or _SPACE.search(raw):
        return None, "URL contains white space or control characters"
    # RFC 3986's generic syntax, split by one regex (urllib's urlsplit costs several
    # times more, and this runs for every URL of every article).
    parts = _URL_PARTS.match(raw)
    scheme = (parts.group(1) or "").lower() if parts else ""
    if scheme not in ("http", "https"):
        shown = f"'{scheme}:' URL" if scheme else "relative URL"
        return None, f"{shown} rejected: only absolute http(s) URLs are accepted"
    assert parts is not None  # the pattern matches any string
    netloc, path, query = parts.group(2), parts.group(3), parts.group(4) or ""
    if netloc is None:
        return None, "URL has no host"
    if "@" in netloc:
        return None, "URL has user credentials"
    if netloc.startswith("["):
        return None, "URL host is an IPv6 literal: not a news site's address"
    host, port = netloc, ""
    if ":" in netloc:
        host, _, port = netloc.rpartition(":")
    if port and (not port.isdigit() or int(port) > 65535):
        return None, "malformed URL (bad port)"
    if not host.rstrip("."):
        return None, "URL has no host"
    valid = _valid_host(host)
    if valid is None:
        return None, "URL host is not a valid domain name"
    host = valid
    if port and int(port) != (80 if scheme == "http" else 443):
        host = f"{host}:{int(port)}"
    return f"{scheme}://{host}{path or '/'}{_query(query)}", None


def _valid_host(host: str) -> str | None:
    """A host name as stored: lower-case ASCII (IDNA), no trailing dot; None if not one."""
    host = host.rstrip(".")
    try:
        host = host.lower() if host.isascii() else host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    return host if _HOST.fullmatch(host) and _host_fits(host) else None


def _host_fits(host: str) -> bool:
    """Within a host name's lengths: MAX_LABEL_CHARS a label, MAX_HOST_CHARS in all."""
    return len(host) <= MAX_HOST_CHARS and all(len(label) <= MAX_LABEL_CHARS for label in host.split("."))


def _query(query: str) -> str:
    """'?' and the query without tracking parameters and empty pairs; '' if none remain."""
    kept = "&".join(pair for pair in query.split("&") if pair and not _is_tracking(pair))
    return f"?{kept}" if kept else ""


def _is_tracking(pair: str) -> bool:
    key = pair.split("=", 1)[0].lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def parse_date(value: Any, field: str, warnings: list[str]) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 string or a YAML timestamp."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    date_only = isinstance(value, str) and len(value.strip()) <= 10
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        warnings.append(f"{field}: date without a time, taken as midnight UTC")
        parsed = datetime.combine(value, time(0), tzinfo=UTC)
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise FieldError(field, f"not an ISO 8601 date: {text[:40]!r}") from None
        if date_only:
            warnings.append(f"{field}: date without a time, taken as midnight UTC")
    else:
        raise FieldError(field, f"expected a date, got {_describe(value)}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        if not date_only:
            warnings.append(f"{field}: no time zone offset, taken as UTC")
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise FieldError(field, "date out of range") from None
    if parsed < MIN_DATE:
        raise FieldError(field, f"implausible date {parsed.date().isoformat()} (before 1990)")
    return parsed


@lru_cache(maxsize=16384)
def domain_of(value: str) -> str | None:
    """Provider identity: lower-case IDNA domain without a leading `www.`; None if invalid.

    Accepts a bare domain or a URL; the result is also a safe file name (`_HOST`).
    """
    host = value.strip()
    if "://" in host:
        try:
            host = urlsplit(host).hostname or ""
        except ValueError:
            return None
    valid = _valid_host(host.split("/", 1)[0].split(":", 1)[0])
    return valid.removeprefix("www.") if valid else None


@lru_cache(maxsize=4096)  # a corpus has tens of topics, named again seed after seed
def safe_slug(text: str) -> str:
    """File-system and URL safe ASCII slug; empty when nothing usable remains."""
    slug = slugify(text, max_length=MAX_SLUG_CHARS, word_boundary=False, save_order=True)
    slug = re.sub(r"[^a-z0-9-]+", "", slug).strip("-")
    if slug in RESERVED_SLUGS:
        slug = f"{slug}-"  # still unique, no longer a device name
    return slug


class _Normalizer:
    """Holds the limits and the warnings list while one seed is walked."""

    def __init__(self, limits: LimitsConfig, now: datetime) -> None:
        self.limits = limits
        self.now = now
        self.warnings: list[str] = []

    def title(self, value: Any, field: str) -> str:
        raw = text_field(value, field)
        title = clean_text(raw) if raw is not None else ""
        if not title:
            raise FieldError(field, "missing or empty title")
        return _truncate(title, self.limits.max_title_chars, field, self.warnings)

    def excerpt(self, value: Any, field: str) -> str | None:
        try:
            raw = text_field(value, field)
        except FieldError as exc:
            self.warnings.append(f"{exc.field}: {exc.reason}; dropped")
            return None
        if raw is None:
            return None
        # Bound the work before parsing: a 10 MB excerpt is cut first, then cleaned.
        raw = raw[: self.limits.max_excerpt_chars * 4]
        text = clean_text(raw)
        return _truncate(text, self.limits.max_excerpt_chars, field, self.warnings) or None

    def link(self, item: Mapping[str, Any], prefix: str) -> str:
        """The article's canonical link: `webUrl`, else `originalUrl` (never an AMP URL)."""
        problems = []
        for key in ("webUrl", "originalUrl"):
            field = f"{prefix}{key}"
            try:
                url = canonical_url(item.get(key), field)
            except FieldError as exc:
                problems.append(exc)
                continue
            if url is not None:
                for problem in problems:
                    self.warnings.append(f"{problem.field}: {problem.reason}; used {key}")
                return url
        if problems:
            raise problems[0]
        raise FieldError(f"{prefix}webUrl", "missing: neither webUrl nor originalUrl is set")

    def provider(self, value: Any, url: str, field: str) -> Provider:
        domain = None
        name = None
        if isinstance(value, Mapping):
            try:
                raw_domain = text_field(value.get("domain"), f"{field}.domain")
            except FieldError as exc:
                self.warnings.append(f"{exc.field}: {exc.reason}; taken from the URL")
                raw_domain = None
            if raw_domain and raw_domain.strip():
                domain = domain_of(raw_domain)
                if domain is None:
                    self.warnings.append(f"{field}.domain: not a valid domain name; taken from the URL")
            try:
                raw_name = text_field(value.get("name"), f"{field}.name")
                name = clean_text(raw_name)[:200] or None if raw_name else None
            except FieldError as exc:
                self.warnings.append(f"{exc.field}: {exc.reason}; the domain is shown instead")
        elif value is not None:
            self.warnings.append(f"{field}: expected a mapping, got {_describe(value)}; ignored")
        if not domain:
            # A canonical URL (scheme://host[:port]/...) has a valid, lower-case host.
            domain = url.split("/", 3)[2].partition(":")[0].removeprefix("www.")
        return Provider(domain=domain, name=name)

    def image(self, value: Any, field: str) -> Image | None:
        """The largest usable image of an `images` list."""
        if value is None:
            return None
        if not isinstance(value, list):
            self.warnings.append(f"{field}: expected a list, got {_describe(value)}; ignored")
            return None
        best: Image | None = None
        for index, raw in enumerate(value[: self.limits.max_images]):
            where = f"{field}[{index}]"
            if not isinstance(raw, Mapping):
                self.warnings.append(f"{where}: expected a mapping; dropped")
                continue
            try:
                url = canonical_url(raw.get("url"), f"{where}.url")
            except FieldError as exc:
                self.warnings.append(f"{exc.field}: {exc.reason}; image dropped")
                continue
            if url is None:
                continue
            width = self._dimension(raw.get("width"), f"{where}.width")
            height = self._dimension(raw.get("height"), f"{where}.height")
            image = Image(url=url, width=width, height=height)
            if best is None or _area(image) > _area(best):
                best = image
        return best

    def _dimension(self, value: Any, field: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_IMAGE_SIDE:
            self.warnings.append(f"{field}: not a plausible pixel size; dropped")
            return None
        return value

    def article(self, item: Mapping[str, Any], prefix: str) -> Article:
        url = self.link(item, prefix)
        title = self.title(item.get("title"), f"{prefix}title")
        published = parse_date(item.get("publishedDateTime"), f"{prefix}publishedDateTime", self.warnings)
        if published is None:
            raise FieldError(f"{prefix}publishedDateTime", "missing publication date")
        updated = None
        try:
            updated = parse_date(item.get("updatedDateTime"), f"{prefix}updatedDateTime", self.warnings)
        except FieldError as exc:
            self.warnings.append(f"{exc.field}: {exc.reason}; dropped")
        if updated is not None and (updated <= published or updated > self.now):
            if updated > self.now:
                self.warnings.append(f"{prefix}updatedDateTime: in the future; dropped")
            updated = None
        return Article(
            url=url,
            title=title,
            excerpt=self.excerpt(item.get("excerpt"), f"{prefix}excerpt"),
            published=published,
            updated=updated,
            provider=self.provider(item.get("provider"), url, f"{prefix}provider"),
            image=self.image(item.get("images"), f"{prefix}images"),
        )

    def topics(self, value: Any) -> tuple[Topic, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.warnings.append(f"topics: expected a list, got {_describe(value)}; ignored")
            return ()
        topics: dict[str, Topic] = {}
        for index, raw in enumerate(value[: self.limits.max_topics]):
            field = f"topics[{index}]"
            if not isinstance(raw, str):
                self.warnings.append(f"{field}: expected text, got {_describe(raw)}; dropped")
                continue
            name = clean_text(raw)[:100]
            slug = safe_slug(name)
            if not slug:
                self.warnings.append(f"{field}: {raw[:40]!r} has no usable letters or digits; dropped")
                continue
            topics.setdefault(slug, Topic(slug=slug, name=name))
        if len(value) > self.limits.max_topics:
            self.warnings.append(f"topics: only the first {self.limits.max_topics} kept")
        return tuple(topics.values())

    def related(self, value: Any, primary: str) -> tuple[Article, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.warnings.append(f"related: expected a list, got {_describe(value)}; ignored")
            return ()
        limit = self.limits.max_related
        if len(value) > limit:
            self.warnings.append(f"related: {len(value)} items, only the first {limit} kept")
        seen = {primary}
        articles = []
        for index, raw in enumerate(value[:limit]):
            prefix = f"related[{index}]."
            if not isinstance(raw, Mapping):
                self.warnings.append(f"related[{index}]: expected a mapping, got {_describe(raw)}; dropped")
                continue
            try:
                article = self.article(raw, prefix)
            except FieldError as exc:
                self.warnings.append(f"{exc.field}: {exc.reason}; related item dropped")
                continue
            if article.url in seen:
                continue  # the primary itself, or cited twice
            seen.add(article.url)
            articles.append(article)
        return tuple(articles)

    def body(self, text: str) -> str | None:
        text = _XML_UNSAFE.sub("", unicodedata.normalize("NFC", text)).strip()
        if not text:
            return None
        text = _truncate(text, self.limits.max_body_chars, "body", self.warnings)
        return _markdown().render(text).strip() or None

    def optional_int(self, value: Any, field: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.warnings.append(f"{field}: expected a whole number, got {_describe(value)}; ignored")
            return None
        if not -MAX_INT <= value <= MAX_INT:
            self.warnings.append(f"{field}: {value:.3g} is out of range; ignored")
            return None
        return value

    def optional_bool(self, value: Any, field: str) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        self.warnings.append(f"{field}: expected true or false, got {_describe(value)}; ignored")
        return None


def _area(image: Image) -> int:
    return (image.width or 0) * (image.height or 0)


def normalize(meta: Mapping[str, Any], body: str, limits: LimitsConfig, now: datetime) -> Normalized:
    """Normalize one seed's front matter and body; raises FieldError if unusable."""
    walker = _Normalizer(limits, now)
    primary = walker.article(meta, "")
    related = walker.related(meta.get("related"), primary.url)
    if primary.image is None:
        # The story's best image: the primary's own, else the best of its coverage.
        candidates = [a.image for a in related if a.image is not None]
        if candidates:
            primary = primary._replace(image=max(candidates, key=_area))
    story = Story(
        article=primary,
        topics=walker.topics(meta.get("topics")),
        related=related,
        body_html=walker.body(body) if body else None,
        published_flag=walker.optional_bool(meta.get("published"), "published"),
        quality=walker.optional_int(meta.get("quality"), "quality"),
    )
    return Normalized(story=story, warnings=tuple(walker.warnings))

