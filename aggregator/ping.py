"""Tell external WebSub hubs which feeds changed (`hub.mode=publish`), in the background.

A ping never blocks or fails a publish: it runs on a loop of its own, retried with a
growing delay while the hub cannot be reached or answers 5xx, 408 or 429. A hub that
cannot be pinged is reported once, not once per attempt, and once more when it works
again. The feeds a hub missed are sent with the next ping to it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import TimeoutError as FutureTimeout

import aiohttp

from aggregator import __version__, render
from aggregator.config import Config

log = logging.getLogger(__name__)

# Seconds before each new attempt; after the last one the feeds wait for the next ping.
RETRY_SECONDS = (1, 2, 4, 8, 16, 32)
URLS_PER_REQUEST = 100  # feed URLs in one ping (repeated hub.url)
MAX_MISSED = 10_000  # feed URLs kept for a hub that is down, to send when it is back
USER_AGENT = f"aggregator/{__version__} (WebSub publisher)"
RETRIED_STATUSES = frozenset({408, 429})


class PingFailed(Exception):
    """One attempt failed; `retry`: whether another one may succeed."""

    def __init__(self, reason: str, retry: bool) -> None:
        super().__init__(reason)
        self.retry = retry


class Pinger:
    """Pings `hubs` with the URLs of changed feeds, from a thread and loop of its own.

    `report` receives one line per hub that could not be pinged (and per hub that works
    again): the daemon logs it, a one-off publish prints it.
    """

    def __init__(self, hubs: Iterable[str], timeout: float, report: Callable[[str], None]) -> None:
        self.hubs = tuple(hubs)
        self.timeout = timeout
        self.report = report
        self.pinged: dict[str, int] = dict.fromkeys(self.hubs, 0)  # feed URLs each hub took
        self.asked = 0  # feed URLs given to `ping`
        self._pending: dict[str, set[str]] = {hub: set() for hub in self.hubs}
        self._failing: dict[str, str] = {}  # hub -> the reason reported
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="websub-pings", daemon=True)
        self._thread.start()

    def ping(self, urls: Iterable[str]) -> None:
        """Ping every hub with `urls`, in the background; returns at once."""
        found = set(urls)
        self.asked += len(found)
        if found and self.hubs:
            self._loop.call_soon_threadsafe(self._add, found)

    def close(self, wait: float) -> None:
        """Wait up to `wait` seconds for the pings under way, then stop; a hub that was
        still not pinged by then is reported once."""
        future = asyncio.run_coroutine_threadsafe(self._finish(wait), self._loop)
        try:
            future.result(timeout=wait + 5)
        except FutureTimeout:
            future.cancel()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    # --- on the loop -------------------------------------------------------------------

    def _add(self, urls: set[str]) -> None:
        for hub in self.hubs:
            self._pending[hub].update(urls)
            if hub not in self._tasks:
                self._tasks[hub] = asyncio.get_running_loop().create_task(self._run(hub))

    async def _run(self, hub: str) -> None:
        attempt, reason = 0, "no answer in time"
        urls: list[str] = []  # the ones being sent
        try:
            while self._pending[hub]:
                urls = sorted(self._pending[hub])
                self._pending[hub] = set()
                try:
                    await self._send(hub, urls)
                except PingFailed as exc:
                    attempt, reason = attempt + 1, str(exc)
                    self._pending[hub].update(urls)
                    urls = []
                    if exc.retry and attempt <= len(RETRY_SECONDS):
                        await asyncio.sleep(RETRY_SECONDS[attempt - 1])
                        continue
                    self._give_up(hub, reason, attempt)
                    return
                attempt = 0
                self.pinged[hub] += len(urls)
                if self._failing.pop(hub, None) is not None:
                    self.report(f"WebSub hub {hub} pinged again ({_count(len(urls), 'feed URL')})")
                urls = []
        except asyncio.CancelledError:
            if urls:  # cut off in the middle of a request: not taken
                self._pending[hub].update(urls)
                attempt, reason = attempt + 1, "no answer in time"
            if self._pending[hub]:
                self._give_up(hub, reason, attempt, ended=True)
            raise
        finally:
            self._tasks.pop(hub, None)

    def _give_up(self, hub: str, reason: str, attempts: int, *, ended: bool = False) -> None:
        """Report once; keep the URLs for the next ping (bounded)."""
        missed = self._pending[hub]
        if len(missed) > MAX_MISSED:
            self._pending[hub] = set(sorted(missed)[:MAX_MISSED])
        if self._failing.get(hub) == reason and not ended:
            log.debug("WebSub hub %s still not pinged: %s", hub, reason)
            return
        self._failing[hub] = reason
        when = "when the publish ended" if ended else "for now; the next publish tries again"
        self.report(f"WebSub hub {hub} was not pinged for {_count(len(missed), 'feed URL')}: {reason} "
                    f"(after {_count(attempts, 'attempt')}; gave up {when})")

    async def _send(self, hub: str, urls: list[str]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
        timeout = aiohttp.ClientTimeout(total=self.timeout)  # read at each request: SIGHUP may change it
        for start in range(0, len(urls), URLS_PER_REQUEST):
            form = [("hub.mode", "publish"), *(("hub.url", url) for url in urls[start:start + URLS_PER_REQUEST])]
            try:
                async with self._session.post(hub, data=form, allow_redirects=False, timeout=timeout) as response:
                    if 200 <= response.status < 300:
                        continue
                    retry = response.status >= 500 or response.status in RETRIED_STATUSES
                    raise PingFailed(f"HTTP {response.status} {response.reason or ''}".rstrip(), retry)
            except (aiohttp.ClientError, OSError) as exc:
                raise PingFailed(describe_failure(exc), True) from None
            except TimeoutError:
                raise PingFailed(f"no answer within {self.timeout:g} s", True) from None

    async def _finish(self, wait: float) -> None:
        tasks = list(self._tasks.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=wait)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._session is not None:
            await self._session.close()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def describe_failure(exc: BaseException) -> str:
    """A failed request in a few words: "connection refused", not a traceback."""
    cause = getattr(exc, "os_error", None) or exc
    if isinstance(cause, socket.gaierror) and cause.strerror:  # its errno is no errno of the system's
        return cause.strerror.lower()
    if isinstance(cause, OSError) and cause.errno:
        return os.strerror(cause.errno).lower()
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower()
    return str(exc) or type(exc).__name__


def topics(base_url: str, written: Iterable[str]) -> list[str]:
    """The URLs of the feeds among the files a publish wrote: what hubs are told of."""
    return [base_url + path for path in written if render.subscribable(path)]


def ping_and_wait(config: Config, written: Iterable[str], report: Callable[[str], None]) -> Pinger | None:
    """A one-off publish's pings: sent, then waited for up to `websub.ping_wait_seconds`.
    None when there are no hubs to ping or no feed changed."""
    urls = topics(config.site.base_url, written)
    if not config.websub.hubs or not urls:
        return None
    pinger = Pinger(config.websub.hubs, config.websub.timeout_seconds, report)
    pinger.ping(urls)
    pinger.close(config.websub.ping_wait_seconds)
    return pinger
