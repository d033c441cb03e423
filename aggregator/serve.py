"""Serve `feeds/` over HTTP (aiohttp): right content types, conditional GET, gzip.

A plain GET or HEAD of a file (what readers polling a feed send, again and again) is
answered by a short path of our own, with the same headers and bytes as aiohttp's
handler gives; anything else on a connection (another method, a body, a query, a
header that changes how the connection behaves) hands the connection to aiohttp for
good, the bytes not yet answered included.

Only regular files below the feeds folder are reachable: no directory listing, no
hidden files, no path leading outside (the state lives elsewhere anyway).

The server may face anyone: a malformed request gets a 4xx and costs at most one
short log line, a connection that is slow to send its headers or sits idle is
closed within seconds, and the number of open connections is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import os
import re
import signal
import socket
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import unquote_to_bytes

from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE
from aiohttp.typedefs import Handler

from aggregator import pool, render
from aggregator.errors import ServeError
from aggregator.formats import FORMATS, archive
from aggregator.formats.rss import RSS
from aggregator.model import digest

if TYPE_CHECKING:
    from aggregator.hub import Hub

log = logging.getLogger(__name__)

# Every feed format's files, and the pages: what `feeds/` holds and nothing else.
CONTENT_TYPES = {
    **{fmt.suffix: f"{fmt.media_type}; charset=utf-8" for fmt in FORMATS},
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# Pages change within seconds of a seed; a short max-age lets caches help without hiding
# a new story for long; revalidation is cheap (304).
CACHE_CONTROL = "public, max-age=60"
# A feed's max-age follows how often it really gets new items (its RSS `<ttl>`, derived
# from its items' dates): a quarter of that, within these bounds, so that a cache never
# hides a new item for long.
FEED_MAX_AGE_MIN = 60
FEED_MAX_AGE_MAX = 3600
# An archive document with a newer one after it is sealed: it changes only when one of
# its own items is edited or deleted, so caches may keep it for a day. The newest one
# still gains items and is cached like its feed.
ARCHIVE_CACHE_CONTROL = "public, max-age=86400"
_TTL = re.compile(rb"<ttl>(\d+)</ttl>")

# Feeds are public: web-based readers on any origin may fetch them (CORS), and read the
# validators they need to poll cheaply.
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Content-Length",
}
CORS_PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since, Cache-Control",
    "Access-Control-Max-Age": "86400",
}

# Every text on a page comes from seeds that strangers wrote. Besides its escaping, a page
# is served with a policy under which no script, plugin, frame or form runs, styles come
# only from this site and images from the web (the outlets' thumbnails; the empty icon
# is a data: URL); a visitor who
# follows a link tells the outlet nothing of where they came from. No response is sniffed
# into another type than the one it is served as.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src http: https: data:;"
                               " base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
EVERY_RESPONSE = {"X-Content-Type-Options": "nosniff"}

# Slow or idle clients must not hold connections for long: a request's headers must
# arrive completely within HEADER_TIMEOUT of the connection opening or of their first
# byte, a keep-alive connection is closed after IDLE_TIMEOUT without a request, and
# beyond MAX_CONNECTIONS open connections a new one is closed at once.
HEADER_TIMEOUT = 10.0
IDLE_TIMEOUT = 15.0
MAX_CONNECTIONS = 512
# At the limit, one warning per interval: refusals under a flood must not flood the log.
LIMIT_WARNING_INTERVAL = 60.0
# At stop, requests in progress get this long to finish; SIGTERM must end the process within seconds.
STOP_GRACE = 1.0
STOP_TIMEOUT = 5.0

# Longer names or paths cannot be one of our files: NAME_MAX is 255 bytes on every common
# file system, and published paths are a folder, a slug and a suffix.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 1024
# Below this size gzip saves too little to be worth a second representation.
GZIP_MIN_BYTES = 512
# Compressed bodies are kept so a poll costs no compression; bounded, least recently used out.
GZIP_CACHE_BYTES = 64 * 1024 * 1024
# The same for the files' own bytes (a file over a sixteenth of it is read at each request).
BODY_CACHE_BYTES = 64 * 1024 * 1024
# What a request path names, and the headers that depend on other files, is looked up
# again after this long: a second is as long as a cache may see a stale Cache-Control.
ROUTE_SECONDS = 1.0
MAX_ROUTES = 10_000
# aiohttp's log lines about a malformed request quote the request: cut to this many characters.
LOG_EXCERPT_CHARS = 200
AIOHTTP_LOGGERS = ("aiohttp.server", "aiohttp.access", "aiohttp.web")

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_QVALUE = re.compile(r"0(\.\d{0,3})?|1(\.0{0,3})?")
_ENTITY_TAG = re.compile(r'(?:W/)?("[^"]*")')
# The short path takes requests whose head is at most this long and holds no header that
# asks for more than a file: those go to aiohttp, which knows every rule of HTTP/1.1.
SHORT_HEAD_BYTES = 8192
SHORT_HEADERS = 64  # at most this many header lines (aiohttp refuses more than 128)
_AIOHTTP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "proxy-connection", "expect",
                              "upgrade"})
_REQUEST_LINE = re.compile(rb"(?:GET|HEAD) /[!-~]* HTTP/1\.1")
_HEADER_LINE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e]*")
_PARTIAL_LINE = re.compile(rb"[\t\x20-\x7e]*\r?")
# The 304s kept by request head: at most this many (each head at most SHORT_HEAD_BYTES).
MAX_REVALIDATED = 1024


def parse_bind(text: str) -> tuple[str, int]:
    """`HOST:PORT` or `:PORT` (127.0.0.1 by default); ValueError when malformed."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return (host.strip("[]") or "127.0.0.1"), int(port)


def _authority(host: str, port: int) -> str:
    """`host:port` as written in a URL: an IPv6 address in brackets, its zone's `%` escaped."""
    if ":" in host:
        host = "[" + host.replace("%", "%25") + "]"
    return f"{host}:{port}"


def content_type(name: str) -> str | None:
    """The media type a file of ours is served as, by its name; None for any other file."""
    for suffix, media_type in CONTENT_TYPES.items():
        if name.endswith(suffix):
            return media_type
    return None


def _excerpt(text: str) -> str:
    """One printable line of at most LOG_EXCERPT_CHARS characters."""
    line = _CONTROL.sub("?", " ".join(text.split()))
    return line if len(line) <= LOG_EXCERPT_CHARS else line[: LOG_EXCERPT_CHARS - 3] + "..."


def _path_segments(raw_path: str) -> list[str]:
    """The decoded segments of a request path, after the leading `/`.

    HTTPBadRequest when the path cannot name any file: a broken `%` escape, bytes that
    are not UTF-8, a control character (NUL would even stop the path at the OS).
    """
    if _BAD_ESCAPE.search(raw_path):
        raise web.HTTPBadRequest(text="malformed percent-encoding in the path\n")
    try:
        path = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        raise web.HTTPBadRequest(text="the path is not UTF-8\n") from None
    if _CONTROL.search(path):
        raise web.HTTPBadRequest(text="control character in the path\n")
    return (path.removeprefix("/") or "index.html").split("/")


class _Snapshot(NamedTuple):
    """One file as read in one go, with what the caches know it by."""

    data: bytes
    stamp: tuple[int, ...]  # `_stamp`: a publish replaces the file, changing it
    digest: str
    mtime: float
    last_modified: str  # the HTTP date of `mtime`


def _stamp(st: os.stat_result) -> tuple[int, ...]:
    """What tells one version of a file from another without reading it. The change time
    too: no one can set it, so a rewrite in place that keeps the size and the mtime
    (`cp -p`, a restore) still counts as a change."""
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


def _regular_stamp(path: Path) -> tuple[int, ...] | None:
    """The `_stamp` of the regular file at `path` (a link is not followed); None if none is there."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return _stamp(st) if stat.S_ISREG(st.st_mode) else None


class _Route(NamedTuple):
    """What a request path was found to name, kept for ROUTE_SECONDS: the file, and the
    headers that depend on other files than itself (its feed's RSS twin, a newer archive
    document) or on the settings."""

    target: Path
    media_type: str
    headers: dict[str, str]
    until: float  # time.monotonic() after which it is looked up again


class _Files:
    """Resolves request paths to served files; caches bodies, digests and gzip bodies by stat.

    A request costs one `stat` of its file when the caches hold it: a poll answered 304
    reads nothing, and a 200 sends bytes already in memory.
    """

    def __init__(self, root: Path, advertised: Callable[[], Advertised]) -> None:
        self.root = root.resolve()
        self.advertised = advertised
        self._bodies: OrderedDict[Path, _Snapshot] = OrderedDict()
        self._bodies_bytes = 0
        self._routes: dict[str, _Route] = {}
        self._gzipped: OrderedDict[Path, tuple[tuple[int, ...], bytes]] = OrderedDict()
        self._gzipped_bytes = 0
        self._cache_controls: dict[Path, tuple[tuple[int, int], str]] = {}  # RSS twin -> (stat, header)

    def resolve(self, raw_path: str) -> tuple[Path, str] | None:
        """The file a request path names and its content type; None if it names nothing we serve."""
        parts = _path_segments(raw_path)
        if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
            return None
        names = [part.encode() for part in parts]
        if max(map(len, names)) > MAX_NAME_BYTES or len(b"/".join(names)) > MAX_PATH_BYTES:
            return None
        try:
            target = self.root.joinpath(*parts).resolve()
            if not target.is_relative_to(self.root) or not target.is_file():
                return None
        except (OSError, ValueError):  # whatever the OS makes of a name the checks above let through
            return None
        media_type = content_type(target.name)
        return (target, media_type) if media_type else None

    def route(self, raw_path: str) -> _Route | None:
        """`resolve`, with the headers of the file found, looked up once every ROUTE_SECONDS."""
        now = time.monotonic()
        route = self._routes.get(raw_path)
        if route is not None and route.until > now:
            return route
        found = self.resolve(raw_path)
        if found is None:
            self._routes.pop(raw_path, None)
            return None
        target, media_type = found
        headers = {
            "Cache-Control": self.cache_control(target),
            "Vary": "Accept-Encoding",
            **CORS,
            **EVERY_RESPONSE,
            **(PAGE_HEADERS if media_type.startswith("text/html") else {}),
            **self.advertised().links(target.relative_to(self.root).as_posix()),
        }
        if len(self._routes) >= MAX_ROUTES:
            self._routes.clear()
        route = self._routes[raw_path] = _Route(target, media_type, headers, now + ROUTE_SECONDS)
        return route

    def forget(self, raw_path: str) -> None:
        """The file a route named is gone or was replaced: look the path up afresh next time."""
        self._routes.pop(raw_path, None)

    def read(self, target: Path) -> _Snapshot:
        """The file's bytes and digest: from memory when a `stat` says it is the one read
        last, else read in one go (feeds are small).

        When read, stat and bytes come from one open file: a publish that replaces the
        file in between cannot pair the new stat with the old bytes in the caches.
        """
        # The route found `target` as a regular file inside the folder. Not following a link
        # here means a file replaced by one since is looked up again, not read through it.
        found = _regular_stamp(target)
        if found is None:
            raise FileNotFoundError(target)
        cached = self._bodies.get(target)
        if cached is not None and cached.stamp == found:
            self._bodies.move_to_end(target)
            return cached
        with os.fdopen(os.open(target, os.O_RDONLY | os.O_NOFOLLOW), "rb") as handle:
            st = os.fstat(handle.fileno())
            data = handle.read()
        snapshot = _Snapshot(data, _stamp(st), digest(data), st.st_mtime,
                             formatdate(st.st_mtime, usegmt=True))
        if cached is not None:
            self._bodies_bytes -= len(cached.data)
            del self._bodies[target]
        if len(data) <= BODY_CACHE_BYTES // 16:
            self._bodies[target] = snapshot
            self._bodies_bytes += len(data)
            while self._bodies_bytes > BODY_CACHE_BYTES:
                _, evicted = self._bodies.popitem(last=False)
                self._bodies_bytes -= len(evicted.data)
        return snapshot

    def unchanged(self, target: Path, stamp: tuple[int, ...]) -> bool:
        """Whether `target` is still the regular file `read` found with this stamp."""
        return _regular_stamp(target) == stamp

    def cache_control(self, target: Path) -> str:
        """`Cache-Control` of a served file: a feed's from the refresh hint of its RSS twin,
        and so of its newest archive document; a day for its sealed ones.

        One stat per request; the twin is read again only when a publish replaced it.
        """
        rel = target.relative_to(self.root).as_posix()
        key = render.key_of_path(rel)
        page = render.archive_key(rel)
        if page is not None:
            key, number = page
            if (self.root / archive.page_path(key, number + 1)).is_file():
                return ARCHIVE_CACHE_CONTROL
        if key is None:
            return CACHE_CONTROL
        twin = self.root / render.feed_path(key, RSS)
        try:
            st = twin.stat()
            stamp = (st.st_size, st.st_mtime_ns)
            cached = self._cache_controls.get(twin)
            if cached is None or cached[0] != stamp:
                # Anywhere in the file: a long site title can push the channel's <ttl> far;
                # an item's text never holds a literal tag (it is escaped).
                found = _TTL.search(twin.read_bytes())
                age = min(max(int(found.group(1)) * 60 // 4, FEED_MAX_AGE_MIN), FEED_MAX_AGE_MAX) if found else None
                cached = stamp, f"public, max-age={age}" if age else CACHE_CONTROL
                self._cache_controls[twin] = cached
        except OSError:
            return CACHE_CONTROL
        return cached[1]

    def gzipped(self, target: Path, snapshot: _Snapshot) -> bytes:
        """The gzip body of a snapshot; mtime=0 makes it a function of the bytes alone."""
        cached = self._gzipped.get(target)
        if cached and cached[0] == snapshot.stamp:
            self._gzipped.move_to_end(target)
            return cached[1]
        body = gzip.compress(snapshot.data, mtime=0)
        if cached:
            self._gzipped_bytes -= len(cached[1])
        self._gzipped[target] = (snapshot.stamp, body)
        self._gzipped_bytes += len(body)
        while self._gzipped_bytes > GZIP_CACHE_BYTES:
            _, (_, evicted) = self._gzipped.popitem(last=False)
            self._gzipped_bytes -= len(evicted)
        return body


def _qvalue(params: str) -> float:
    """The `q` of one Accept-Encoding element: 1 when absent, 0 when malformed."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            value = value.strip()
            return float(value) if _QVALUE.fullmatch(value) else 0.0
    return 1.0


def _prefers_gzip(accept_encoding: str) -> bool:
    """Whether gzip is acceptable and wanted at least as much as identity (RFC 9110 12.5.3).

    Identity is always acceptable: it is what we send when gzip is not chosen. It only
    competes with gzip when the client gives it a weight, by name or through `*`.
    """
    weights: dict[str, float] = {}
    for element in accept_encoding.split(","):
        coding, _, params = element.partition(";")
        if coding.strip():
            weights[coding.strip().lower()] = _qvalue(params)
    anything = weights.get("*", 0.0)
    gzip_weight = weights.get("gzip", weights.get("x-gzip", anything))
    return gzip_weight > 0 and gzip_weight >= weights.get("identity", anything)


def _not_modified(header: Callable[[str], str | None], etag: str, mtime: float) -> bool:
    """Whether the request's validators (`header(name)`: its value, or None) match."""
    if_none_match = header("If-None-Match")
    if if_none_match is not None:  # takes precedence over If-Modified-Since (RFC 9110)
        # Weak comparison: a cache may have turned our strong tag into W/"...".
        return if_none_match.strip() == "*" or etag in _ENTITY_TAG.findall(if_none_match)
    since = header("If-Modified-Since")
    if since:
        try:
            return int(mtime) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, OverflowError):  # not a date, or one out of range
            return False
    return False


@web.middleware
async def _last_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A failure nobody foresaw: one short log line and a 500, not a traceback per request."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        log.error("%s", _excerpt(f"{request.method} {request.raw_path}: {type(exc).__name__}: {exc}"))
        raise web.HTTPInternalServerError() from None


class Advertised:
    """What the served feeds are announced with: their base URL and WebSub hubs (a `Link`
    header for each hub and one for the feed's self URL). Replaced whole when it changes."""

    def __init__(self, base_url: str = "", hubs: tuple[str, ...] = ()) -> None:
        self.base_url, self.hubs = base_url, hubs

    def links(self, path: str) -> dict[str, str]:
        if not self.hubs or not render.subscribable(path):
            return {}
        links = [f'<{hub}>; rel="hub"' for hub in self.hubs] + [f'<{self.base_url}{path}>; rel="self"']
        return {"Link": ", ".join(links)}


class _Answer(NamedTuple):
    """What a GET of a file gets: 200 with the body, or 304 with none."""

    status: int
    headers: dict[str, str]
    body: bytes
    route: _Route  # what the path was found to name
    stamp: tuple[int, ...]  # the version of the file answered with


def _answer(files: _Files, raw_path: str, header: Callable[[str], str | None]) -> _Answer | None:
    """The answer to a GET (or HEAD) of `raw_path`, whose headers `header(name)` gives;
    None when it names no file we serve. HTTPBadRequest for a path that names none ever."""
    route = files.route(raw_path)
    if route is None:
        return None
    try:
        snapshot = files.read(route.target)
    except OSError:
        files.forget(raw_path)
        return None
    compress = len(snapshot.data) >= GZIP_MIN_BYTES and _prefers_gzip(header("Accept-Encoding") or "")
    # Each representation has its own strong ETag (RFC 9110 8.8.3): a cache revalidating
    # the gzip bytes must not be told that the identity bytes are the same.
    etag = f'"{snapshot.digest}-gzip"' if compress else f'"{snapshot.digest}"'
    headers = {"ETag": etag, "Last-Modified": snapshot.last_modified, **route.headers}
    if _not_modified(header, etag, snapshot.mtime):
        return _Answer(304, headers, b"", route, snapshot.stamp)
    headers["Content-Type"] = route.media_type
    if compress:
        headers["Content-Encoding"] = "gzip"
    return _Answer(200, headers, files.gzipped(route.target, snapshot) if compress else snapshot.data, route,
                   snapshot.stamp)


def make_app(root: Path, advertised: Callable[[], Advertised] = Advertised, hub: Hub | None = None,
             files: _Files | None = None) -> web.Application:
    """The aiohttp application; `files`: the caches, when the short path shares them."""
    files = files or _Files(root, advertised)

    async def handle(request: web.Request) -> web.StreamResponse:
        answer = _answer(files, request.rel_url.raw_path, request.headers.get)
        if answer is None:
            raise web.HTTPNotFound()
        if answer.status == 304:
            return web.Response(status=304, headers=answer.headers)
        return web.Response(body=answer.body, headers=answer.headers)  # HEAD: aiohttp sends the headers only

    app = web.Application(middlewares=[_last_guard])
    if hub is not None:
        hub.add_routes(app)  # before the catch-all GET: its path is no file of ours

    async def preflight(request: web.Request) -> web.StreamResponse:
        """A browser asking whether a page of another origin may fetch a feed: yes, to read."""
        return web.Response(status=204, headers={**CORS, **CORS_PREFLIGHT})

    app.router.add_get(r"/{tail:[\s\S]*}", handle)  # HEAD too; any path, a decoded newline too: handle() judges it
    app.router.add_route("OPTIONS", r"/{tail:[\s\S]*}", preflight)
    return app


class _OneLineLog(logging.Filter):
    """aiohttp logs a full traceback for each malformed request (a garbage request line, a
    header without a colon): anyone could grow the log by kilobytes a request. One line
    naming the error says as much."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message = f"{message}: {type(exc).__name__}: {exc}"
        record.msg, record.args = _excerpt(message), None
        record.exc_info = record.exc_text = record.stack_info = None
        return True


_ONE_LINE_LOG = _OneLineLog()


class _Revalidated(NamedTuple):
    """A 304 given to a request head, kept to give again while nothing it came from changed."""

    raw_path: str
    route: _Route  # while the route lookup gives this very one, its headers hold
    stamp: tuple[int, ...]  # while the file has this version, the validators match
    response: bytes  # the status line and headers, up to the Date header


class _ShortPath:
    """Answers a plain GET or HEAD of a file from the caches aiohttp's handler uses, with
    the same status, headers and body; None for any other request (aiohttp takes it).

    A reader polls with the same request head each time: the 304 it got is kept by that
    head (bounded), and given again after one `lstat` says the file is the same.
    """

    def __init__(self, files: _Files) -> None:
        self.files = files
        self._date = (0, b"")  # (second, its Date and Server headers): one formatting a second
        self._revalidated: dict[bytes, _Revalidated] = {}

    def respond(self, head: bytes) -> bytes | None:
        """The whole response to the request whose head (without its blank line) is `head`."""
        known = self._revalidated.get(head)
        if known is not None and self.files.route(known.raw_path) is known.route \
                and self.files.unchanged(known.route.target, known.stamp):
            return known.response + self._now()
        head_lines = head.split(b"\r\n")
        if not _well_formed(head_lines):
            return None
        line, *fields = (part.decode("ascii") for part in head_lines)  # well formed: printable ASCII
        method, target, _ = line.split(" ")
        if "?" in target or "#" in target:
            return None
        headers: dict[str, str] = {}
        for field in fields:
            name, _, value = field.partition(":")
            name = name.lower()
            value = value.strip(" \t")
            if name in headers or name.startswith("sec-websocket-") \
                    or (name in _AIOHTTP_HEADERS and (name, value.lower()) != ("connection", "keep-alive")):
                return None
            headers[name] = value
        if "host" not in headers:  # HTTP/1.1 requires it: aiohttp answers 400
            return None
        try:
            answer = _answer(self.files, target, lambda name: headers.get(name.lower()))
        except web.HTTPException:
            return None
        if answer is None:
            return None
        reason = "OK" if answer.status == 200 else "Not Modified"
        lines = [f"HTTP/1.1 {answer.status} {reason}", *(f"{k}: {v}" for k, v in answer.headers.items())]
        if answer.status == 200:
            lines.append(f"Content-Length: {len(answer.body)}")
        response = ("\r\n".join(lines) + "\r\n").encode()
        if answer.status == 304:
            if len(self._revalidated) >= MAX_REVALIDATED:
                self._revalidated.clear()
            self._revalidated[head] = _Revalidated(target, answer.route, answer.stamp, response)
        response += self._now()
        return response if method == "HEAD" or answer.status == 304 else response + answer.body

    def _now(self) -> bytes:
        """The headers every response ends with: Date (this second) and Server, and the blank line."""
        second = int(time.time())
        if self._date[0] != second:
            date = formatdate(second, usegmt=True)
            self._date = (second, f"Date: {date}\r\nServer: {SERVER_SOFTWARE}\r\n\r\n".encode())
        return self._date[1]


def _may_be_short(begun: bytes) -> bool:
    """Whether a head begun with these bytes may still be one for the short path: when
    not (another method or version, bytes that are no HTTP, a malformed header line, a
    line ended by a bare LF or CR, too many headers), aiohttp takes it at once, and
    answers at once as it would have, rather than when the head is complete."""
    start = begun[:5]
    if not (b"GET /".startswith(start) or b"HEAD ".startswith(start)):
        return False
    *complete, partial = begun.split(b"\r\n")
    return (not complete or _well_formed(complete)) and _PARTIAL_LINE.fullmatch(partial) is not None


def _well_formed(lines: list[bytes]) -> bool:
    """Whether the lines of a head (the request line first) are what the short path
    takes: a GET or HEAD in HTTP/1.1, at most SHORT_HEADERS header lines, each a token,
    a colon and a value of printable ASCII."""
    return len(lines) <= SHORT_HEADERS + 1 and _REQUEST_LINE.fullmatch(lines[0]) is not None \
        and all(_HEADER_LINE.fullmatch(line) for line in lines[1:])


class _Connections:
    """The open client connections, for the connection limit and the header deadline.

    aiohttp's keepalive_timeout (the idle timeout) is all it has against a client that
    never completes a request; the header deadline is a shorter one of our own. A
    connection the short path still answers has the idle timeout here.
    """

    def __init__(self, header_timeout: float, max_connections: int, idle_timeout: float = IDLE_TIMEOUT,
                 short_path: _ShortPath | None = None) -> None:
        self.header_timeout = header_timeout
        self.idle_timeout = idle_timeout
        self.short_path = short_path
        self.max_connections = max_connections
        self._open: dict[asyncio.BaseTransport, _Connection] = {}
        self._next_limit_warning = float("-inf")

    def admit(self, transport: asyncio.BaseTransport, connection: _Connection) -> bool:
        if len(self._open) >= self.max_connections:
            now = asyncio.get_running_loop().time()
            if now >= self._next_limit_warning:
                self._next_limit_warning = now + LIMIT_WARNING_INTERVAL
                log.warning("%d connections open, the limit: closing new ones until some end", len(self._open))
            return False
        self._open[transport] = connection
        return True

    def release(self, transport: asyncio.BaseTransport) -> None:
        self._open.pop(transport, None)

    def close_short(self) -> None:
        """At stop: close the connections the short path answers (aiohttp closes its own).
        Each has answered every request it read: what is written is still sent."""
        for transport, connection in list(self._open.items()):
            if connection.short:
                transport.close()

    @web.middleware
    async def headers_received(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Runs once a request's headers are complete: its connection's deadline is met."""
        connection = self._open.get(request.transport) if request.transport else None
        if connection:
            connection.disarm()
        return await handler(request)


class _Connection(asyncio.Protocol):
    """One client connection behind the connection limit and a deadline for the headers:
    answered by the short path while its requests are plain GETs and HEADs of files,
    then by aiohttp's protocol for good. The deadline runs from the connection opening,
    or from the first byte that comes after the last complete request, until the next
    request's headers are complete."""

    def __init__(self, connections: _Connections, make_protocol: Callable[[], asyncio.Protocol]) -> None:
        self._connections = connections
        self._make_protocol = make_protocol
        self._protocol: asyncio.Protocol | None = None  # aiohttp's, once it has the connection
        self._transport: asyncio.Transport | None = None  # None: refused at the limit
        self._deadline: asyncio.TimerHandle | None = None
        self._idle: asyncio.TimerHandle | None = None  # the short path's keep-alive timeout
        self._quiet_since = 0.0  # when the short path last answered all it had read
        self._buffer = b""  # what the short path has read and not answered yet
        self._paused = False  # the client reads too slowly: read no more until it catches up

    @property
    def short(self) -> bool:
        """Whether the short path still answers this connection."""
        return self._transport is not None and self._protocol is None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._connections.admit(transport, self):
            transport.close()
            return
        assert isinstance(transport, asyncio.Transport)  # a stream server's
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:  # as aiohttp does: a peer that vanished is found out
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self._arm()
        if self._connections.short_path is None:
            self._hand_over()

    def data_received(self, data: bytes) -> None:
        if self._transport is None:
            return
        if self._protocol is not None:
            self._arm()
            self._protocol.data_received(data)
            return
        self._buffer += data
        self._serve_buffered()

    def _serve_buffered(self) -> None:
        """Answer every complete request read, in order, while the short path can."""
        short, transport = self._connections.short_path, self._transport
        assert short is not None and transport is not None
        while not self._paused:
            end = self._buffer.find(b"\r\n\r\n", 0, SHORT_HEAD_BYTES + 4)
            if end < 0:
                if len(self._buffer) > SHORT_HEAD_BYTES or not _may_be_short(self._buffer):
                    self._hand_over()
                elif self._buffer:  # a request has begun: its headers have a deadline
                    self._arm()
                else:
                    self._rest()
                return
            try:
                response = short.respond(self._buffer[:end])
            except Exception:  # aiohttp's handler answers it, and says what went wrong
                response = None
            if response is None:
                self._hand_over()
                return
            self._buffer = self._buffer[end + 4:]
            self.disarm()
            transport.write(response)

    def _rest(self) -> None:
        """All read is answered: the connection may stay idle for the idle timeout. One
        timer for a whole run of requests, not one per request: it checks when it fires."""
        loop = asyncio.get_running_loop()
        self._quiet_since = loop.time()
        if self._idle is None:
            self._idle = loop.call_later(self._connections.idle_timeout, self._idle_over)

    def _idle_over(self) -> None:
        self._idle = None
        if self._transport is None or self._protocol is not None or self._buffer:
            return  # aiohttp's, or a request has begun (its header deadline runs)
        left = self._quiet_since + self._connections.idle_timeout - asyncio.get_running_loop().time()
        if left > 0:
            self._idle = asyncio.get_running_loop().call_later(left, self._idle_over)
        else:
            self._transport.close()

    def _hand_over(self) -> None:
        """aiohttp's protocol takes the connection, with what is read and not answered."""
        assert self._transport is not None
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        self._protocol = protocol = self._make_protocol()
        protocol.connection_made(self._transport)
        if self._paused:
            protocol.pause_writing()
        buffered, self._buffer = self._buffer, b""
        if buffered:
            self._arm()
            protocol.data_received(buffered)

    def eof_received(self) -> bool | None:
        return self._protocol.eof_received() if self._protocol is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is None:
            return
        self.disarm()
        if self._idle is not None:
            self._idle.cancel()
        self._connections.release(self._transport)
        if self._protocol is not None:
            self._protocol.connection_lost(exc)

    def pause_writing(self) -> None:
        self._paused = True
        if self._protocol is not None:
            self._protocol.pause_writing()
        elif self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._paused = False
        if self._protocol is not None:
            self._protocol.resume_writing()
        elif self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()
            self._serve_buffered()

    def _arm(self) -> None:
        if self._deadline is None:
            loop = asyncio.get_running_loop()
            self._deadline = loop.call_later(self._connections.header_timeout, self._expire)

    def disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self._transport is not None:
            self._transport.close()


def _reason(exc: OSError | UnicodeError) -> str:
    """Why a bind failed, as a short lower-case phrase: "address already in use"."""
    if isinstance(exc, UnicodeError):  # a host name the IDNA codec refuses
        return "invalid host name"
    if exc.errno and not isinstance(exc, socket.gaierror):
        return os.strerror(exc.errno).lower()
    return (exc.strerror or str(exc)).lower()


class FeedServer:
    """The HTTP server in a background thread with its own event loop."""

    def __init__(self, root: Path, host: str, port: int, *, header_timeout: float = HEADER_TIMEOUT,
                 idle_timeout: float = IDLE_TIMEOUT, max_connections: int = MAX_CONNECTIONS,
                 hub: Hub | None = None, sock: socket.socket | None = None, announce: bool = True) -> None:
        """`sock`: a socket already listening, shared with other serving processes;
        `announce`: log where it serves (the one process of several that speaks for all)."""
        self.root, self.host, self.port = root, host, port
        self.hub = hub
        self.sock = sock
        self.announce = announce
        self.advertised = Advertised()
        self.header_timeout, self.idle_timeout, self.max_connections = header_timeout, idle_timeout, max_connections
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._listener: asyncio.Server | None = None
        self._runner: web.AppRunner | None = None
        self._connections: _Connections | None = None

    @property
    def url(self) -> str:
        """The base URL served, `http://[::1]:8000/` for an IPv6 host; the bound port once started."""
        return f"http://{_authority(self.host, self.port)}/"

    def start(self) -> None:
        """Listen and serve in the background; ServeError, and nothing left running, when that fails."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)  # served before the first publish: empty, not an error
        except OSError as exc:
            raise ServeError(f"cannot serve {self.root}: {_reason(exc)}") from exc
        for name in AIOHTTP_LOGGERS:
            logging.getLogger(name).addFilter(_ONE_LINE_LOG)
        loop = asyncio.new_event_loop()
        try:
            self._listener, self._runner = loop.run_until_complete(self._listen())
        except BaseException:
            _close(loop)
            raise
        self.port = self._listener.sockets[0].getsockname()[1]  # the bound port, when asked for port 0
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="feed-server", daemon=True)
        self._thread.start()
        if self.announce:
            log.info("serving %s on %s", self.root, self.url)

    async def _listen(self) -> tuple[asyncio.Server, web.AppRunner]:
        files = _Files(self.root, lambda: self.advertised)
        app = make_app(self.root, lambda: self.advertised, self.hub, files)
        connections = _Connections(self.header_timeout, self.max_connections, self.idle_timeout, _ShortPath(files))
        self._connections = connections
        app.middlewares.append(connections.headers_received)
        runner = web.AppRunner(app, access_log=None, keepalive_timeout=self.idle_timeout, shutdown_timeout=STOP_GRACE)
        await runner.setup()
        make_protocol = runner.server
        assert make_protocol is not None  # set by setup()
        try:
            if self.sock is not None:
                listener = await asyncio.get_running_loop().create_server(
                    lambda: _Connection(connections, make_protocol), sock=self.sock)
            else:
                listener = await asyncio.get_running_loop().create_server(
                    lambda: _Connection(connections, make_protocol), self.host, self.port)
        except (OSError, UnicodeError) as exc:
            await runner.cleanup()
            raise ServeError(f"cannot serve on {_authority(self.host, self.port)}: {_reason(exc)}") from exc
        return listener, runner

    async def _close(self) -> None:
        assert self._listener is not None and self._runner is not None  # set by start()
        self._listener.close()
        if self._connections is not None:
            self._connections.close_short()
        await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=STOP_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=STOP_TIMEOUT)
        if not thread.is_alive():
            _close(loop)


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Close a loop that is not running, with the threads it resolved host names in."""
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket for several serving processes to share."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, address = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(1024)
        except BaseException:
            sock.close()
            raise
    except (OSError, UnicodeError) as exc:
        raise ServeError(f"cannot serve on {_authority(host, port)}: {_reason(exc)}") from exc
    sock.setblocking(False)
    return sock


def _serve_in_child(feeds: Path, host: str, sock: socket.socket, advertised: Advertised) -> int:
    """Fork a process that serves `sock` too, until SIGTERM or its parent's end; its pid."""
    pid = os.fork()
    if pid:
        return pid
    status = 0
    try:
        pool.worker_init()  # dies with the parent
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        server = FeedServer(feeds, host, sock.getsockname()[1], sock=sock, announce=False)
        server.advertised = advertised
        server.start()
        while not stop.wait(0.5):
            pass
        server.stop()
    except BaseException:  # nothing to report to: the parent logs, and serves on
        status = 1
    finally:
        os._exit(status)


def serve_forever(feeds: Path, host: str, port: int, *, default_links: str | None = None,
                  advertised: Advertised | None = None, workers: int = 1) -> int:
    """`aggregator serve`: only the HTTP server, until SIGTERM/SIGINT.

    `default_links`: the base URL feeds are published with when none is configured;
    when it is not where they are served, the log says how to make their links match.
    `workers`: processes serving the same listening socket, this one included (every
    core answers requests; each keeps its own caches).
    """
    advertised = advertised or Advertised()
    sock = None
    children: list[int] = []
    if workers > 1:  # before any thread starts: forking beside one can deadlock
        sock = _bind(host, port)
        children = [_serve_in_child(feeds, host, sock, advertised) for _ in range(workers - 1)]
    server = FeedServer(feeds, host, sock.getsockname()[1] if sock else port, sock=sock)
    server.advertised = advertised
    try:
        server.start()
    except BaseException:
        _end(children)
        raise
    if default_links is not None and default_links != server.url:
        log.warning("no base URL is configured, so published feeds link to %s, not to %s where they are served "
                    "here: publish with --base-url %s (or set site.base_url) for links that work",
                    default_links, server.url, server.url)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    server.stop()
    _end(children)
    return 0


def _end(children: list[int]) -> None:
    """Stop the serving children, waiting for each a few seconds at most."""
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for pid in children:
        while time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
