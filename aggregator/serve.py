"""Serve `feeds/` over HTTP (aiohttp): right content types, conditional GET, gzip.

Only regular files below the feeds folder are reachable: no directory listing, no
hidden files, no path leading outside (the state lives elsewhere anyway).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from aiohttp import web

from aggregator.model import digest

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".rss.xml": "application/rss+xml; charset=utf-8",
    ".atom.xml": "application/atom+xml; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}
# Feeds change within seconds of a seed; readers poll. A short max-age lets caches
# help without hiding a new story for long; revalidation is cheap (304).
CACHE_CONTROL = "public, max-age=60"


def parse_bind(text: str) -> tuple[str, int]:
    """`HOST:PORT` or `:PORT` (127.0.0.1 by default); ValueError when malformed."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return (host.strip("[]") or "127.0.0.1"), int(port)


def _content_type(name: str) -> str | None:
    for suffix, media_type in CONTENT_TYPES.items():
        if name.endswith(suffix):
            return media_type
    return None


class _Files:
    """Resolves request paths to served files, with an ETag cache keyed by stat."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._etags: dict[Path, tuple[int, int, str]] = {}

    def resolve(self, request_path: str) -> Path | None:
        rel = request_path.lstrip("/") or "index.html"
        parts = rel.split("/")
        if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
            return None
        target = (self.root / rel).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            return None
        if _content_type(target.name) is None:
            return None
        return target

    def read(self, target: Path) -> tuple[bytes, str, float]:
        """(bytes, ETag, mtime) of one file, read in one go: feeds are small.

        Stat and bytes come from one open file: a publish that replaces the file in
        between cannot pair the new stat with the old bytes in the ETag cache.
        """
        with open(target, "rb") as handle:
            st = os.fstat(handle.fileno())
            data = handle.read()
        cached = self._etags.get(target)
        if cached and cached[:2] == (st.st_size, st.st_mtime_ns):
            return data, cached[2], st.st_mtime
        etag = f'"{digest(data)}"'
        self._etags[target] = (st.st_size, st.st_mtime_ns, etag)
        return data, etag, st.st_mtime


def _not_modified(request: web.Request, etag: str, mtime: float) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:  # takes precedence over If-Modified-Since (RFC 9110)
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag in tags or "*" in tags
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            return int(mtime) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False
    return False


def make_app(root: Path) -> web.Application:
    files = _Files(root)

    async def handle(request: web.Request) -> web.StreamResponse:
        target = files.resolve(request.path)
        if target is None:
            raise web.HTTPNotFound()
        try:
            data, etag, mtime = files.read(target)
        except OSError:
            raise web.HTTPNotFound() from None
        headers = {
            "ETag": etag,
            "Last-Modified": formatdate(mtime, usegmt=True),
            "Cache-Control": CACHE_CONTROL,
            "Vary": "Accept-Encoding",
        }
        if _not_modified(request, etag, mtime):
            return web.Response(status=304, headers=headers)
        response = web.Response(body=data, headers=headers)
        response.content_type, _, charset = (_content_type(target.name) or "").partition("; charset=")
        response.charset = charset or None
        if request.method != "HEAD" and len(data) > 512:
            response.enable_compression()  # gzip or deflate, only when the client asks
        return response

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)  # HEAD too
    return app


class FeedServer:
    """The HTTP server in a background thread with its own event loop."""

    def __init__(self, root: Path, host: str, port: int) -> None:
        self.root, self.host, self.port = root, host, port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="feed-server", daemon=True)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)  # served before the first publish: empty, not an error
        self._runner = web.AppRunner(make_app(self.root), access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, self.host, self.port)
        self._loop.run_until_complete(site.start())
        addresses = self._runner.addresses  # the bound port, when asked for port 0
        if addresses:
            self.port = addresses[0][1]
        self._thread.start()
        log.info("serving %s on http://%s:%d/", self.root, self.host, self.port)

    def stop(self) -> None:
        if self._runner is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        future.result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


def serve_forever(feeds: Path, host: str, port: int) -> int:
    """`aggregator serve`: only the HTTP server, until SIGTERM/SIGINT."""
    server = FeedServer(feeds, host, port)
    server.start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0
