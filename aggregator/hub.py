"""The daemon's own WebSub hub: subscribers get each new version of our feeds pushed.

The hub role of the W3C WebSub Recommendation, for our own feeds only, served at `hub`
below the base URL by the daemon's server:

- A subscriber POSTs `hub.mode=subscribe` (or `unsubscribe`), `hub.topic` (a feed's
  self URL), `hub.callback`, and optionally `hub.lease_seconds` and `hub.secret`. The
  request is checked at once (4xx and a reason) and answered 202; the hub then verifies
  the intent with a GET to the callback carrying `hub.challenge`, which must come back as
  the body of a 2xx answer.
- A verified subscription lasts its lease (the asked-for one, within the configured
  bounds); subscribing again renews it. Subscriptions are kept in the state, so they
  survive a restart; the seeds cannot give them back, so a rebuild of the state keeps
  them, and a state deleted behind the daemon's back gets them written again.
- When a feed changes, its whole new body is POSTed to each subscriber with its content
  type, `Link` headers (hub and self) and, with a secret, `X-Hub-Signature:
  sha256=<HMAC of the body>`. A failed delivery is tried again with a growing delay, and
  always with the feed's newest bytes. Each subscription's deliveries run on their own,
  with a timeout, at most `max_deliveries` at once and 4 per host, so a slow or broken
  subscriber never delays the others. A 410 answer ends the subscription.

Strangers choose the URLs this hub calls. Callbacks to loopback, private, link-local,
multicast and reserved addresses are refused (`websub.allow_private_callbacks`
allows them), whatever the host name resolves to at the moment of each request;
redirects are never followed; each callback host has at most
`max_subscriptions_per_host` subscriptions, counting those being verified.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
import sqlite3
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from multidict import CIMultiDict
from yarl import URL

from aggregator import __version__, pool, render
from aggregator.config import HUB_PATH, Config
from aggregator.model import Subscription
from aggregator.ping import describe_failure
from aggregator.serve import content_type
from aggregator.store import Store, identity

log = logging.getLogger(__name__)

# Seconds before each new delivery attempt after a failure; then the change is given up
# (the next change is pushed as usual).
RETRY_SECONDS = (1, 4, 15, 60, 300)
PER_HOST_DELIVERIES = 4
VERIFICATIONS_AT_ONCE = 8
MAX_VERIFYING = 256  # requests accepted and waiting for their verification, all hosts together
VERIFICATIONS_PER_HOST = 2
MAX_REQUEST_BYTES = 8 * 1024  # a subscription request is a few short form fields
MAX_URL_CHARS = 2048
MAX_SECRET_BYTES = 199  # the recommendation: less than 200 bytes
SAVE_RETRY_SECONDS = 5.0  # the state is busy or gone: keep the subscriptions in memory, try again
STATE_BUSY_MS = 1000  # how long one write of the subscriptions waits for a busy state
STOP_SAVE_SECONDS = 2.0  # at stop, the last write of the subscriptions may take this long
USER_AGENT = f"aggregator/{__version__} (WebSub hub)"
LOG_CHARS = 200


def refused_address(text: str) -> str | None:
    """Why an address may not be called back ("loopback", "private"...); None when it is
    a public unicast address. An IPv4 address mapped into IPv6 counts as itself."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one is where the packets go: mapped, 6to4, Teredo.
        inner = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if inner is not None:
            return refused_address(str(inner))
        if address.is_site_local:
            return "site-local"
    for reason in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{reason}"):
            return reason.replace("_", "-")
    return None if address.is_global else "not global"


class Refused(OSError):
    """A callback whose host is, or resolves to, an address the hub does not call."""


class GuardedResolver(AbstractResolver):
    """Resolves callback hosts, keeping only the addresses the hub may call.

    Checked at each connection, not once at subscription time: a host name that resolves
    to a public address when it subscribes and to 127.0.0.1 later is refused then.
    """

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET,
                      ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed = [result for result in found if refused_address(result["host"]) is None]
        if not allowed:
            reasons = sorted({f"{r['host']} ({refused_address(r['host'])})" for r in found})
            raise Refused(f"{host} resolves only to addresses the hub does not call: {', '.join(reasons)}")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def signature(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature` of a delivery: `sha256=` and the hex HMAC of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= LOG_CHARS else line[: LOG_CHARS - 3] + "..."


class BadRequest(Exception):
    """A subscription request the hub refuses: the status and the reason sent back."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Hub:
    """Subscriptions, verification and deliveries, on the server's event loop.

    The daemon gives it the configuration (`configure`, again on SIGHUP), the state
    (`open_state`) and every publish's written files (`changed`), from its own thread.
    """

    def __init__(self, feeds: Path, config: Config) -> None:
        self.feeds = feeds
        self.config = config
        self._subs: dict[tuple[str, str], Subscription] = {}
        self._verifying: Counter[str] = Counter()  # callback host -> requests being verified
        self._due: set[tuple[str, str]] = set()  # subscriptions with a change not yet delivered
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._failing: dict[tuple[str, str], str] = {}
        self._session: aiohttp.ClientSession | None = None
        self._direct: aiohttp.ClientSession | None = None  # with private callbacks allowed
        self._slots = (0, asyncio.Semaphore(1))  # (its size, the semaphore): follows websub.max_deliveries
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        # Verifications have slots of their own: strangers asking to subscribe never take
        # the ones deliveries to existing subscribers need.
        self._verify_slots = asyncio.Semaphore(VERIFICATIONS_AT_ONCE)
        self._verify_host_slots: dict[str, asyncio.Semaphore] = {}
        self._expiry: asyncio.TimerHandle | None = None
        self._state: Path | None = None
        self._db: Store | None = None
        self._db_thread = ThreadPoolExecutor(1, thread_name_prefix="websub-state")  # SQLite: one thread
        self._saving: asyncio.Task[None] | None = None
        self._unsaved = False
        self._removed: set[tuple[str, str]] = set()  # ended, not yet removed from the state
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- from the daemon's thread --------------------------------------------------------

    def configure(self, config: Config) -> None:
        """The settings to use from now on (the base URL the daemon serves at, SIGHUP)."""
        self.config = config

    def open_state(self, state: Path) -> None:
        """Load the subscriptions kept in the state, and keep them there from now on."""
        self._call(self._open_state, state)

    def changed(self, path: str) -> None:
        """A publish has just written this feed file below `feeds/`: push it."""
        self._call(self._push, path)

    def _call(self, function: object, *args: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(function, *args)  # type: ignore[arg-type]

    # --- the server's side -------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/" + HUB_PATH, self.handle)
        app.router.add_get("/" + HUB_PATH, self.describe)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)

    async def _start(self, app: web.Application) -> None:
        self._loop = asyncio.get_running_loop()
        headers = {"User-Agent": USER_AGENT}
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=GuardedResolver(), limit=0),
                                              headers=headers)
        self._direct = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), headers=headers)

    async def _stop(self, app: web.Application) -> None:
        saving = [self._saving] if self._saving is not None else []
        for task in [*self._workers.values(), *self._tasks, *saving]:
            task.cancel()
        await asyncio.gather(*self._workers.values(), *self._tasks, *saving, return_exceptions=True)
        if self._unsaved and self._state is not None:  # one last try, bounded: the server must stop
            try:
                await asyncio.wait_for(self._save_once(), STOP_SAVE_SECONDS)
            except (sqlite3.Error, OSError, TimeoutError) as exc:
                log.warning("hub: the latest subscription changes could not be kept in %s: %s", self._state,
                            str(exc) or "no answer in time")
        for session in (self._session, self._direct):
            if session is not None:
                await session.close()
        if self._expiry is not None:
            self._expiry.cancel()
        db, self._db = self._db, None
        if db is not None:
            with contextlib.suppress(TimeoutError):  # the thread may still wait on a busy state
                await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(self._db_thread, _close, db), 1)
        self._db_thread.shutdown(wait=False)

    async def describe(self, request: web.Request) -> web.Response:
        """Someone looking at the hub's URL: what it is for."""
        return web.Response(status=405, headers={"Allow": "POST"},
                            text="This is a WebSub hub for these feeds: POST subscription requests here.\n")

    async def handle(self, request: web.Request) -> web.Response:
        """A subscribe or unsubscribe request: checked now, verified in the background."""
        try:
            mode, callback, topic, lease, secret = await self._read_request(request)
        except BadRequest as exc:
            return web.Response(status=exc.status, text=f"{exc}\n")
        host = urlsplit(callback).hostname or ""
        self._verifying[host] += 1  # before any wait: requests sent at once count against the caps too
        try:
            self._check_room(mode, callback, topic, host)
            if mode == "subscribe":
                await self._check_callback(callback)
        except BadRequest as exc:
            self._verified(host)
            return web.Response(status=exc.status, text=f"{exc}\n")
        self._spawn(self._verify(mode, callback, topic, lease, secret, host))
        return web.Response(status=202, text=f"{mode} request accepted: the hub will verify it with a GET to"
                                             " hub.callback\n")

    def _check_room(self, mode: str, callback: str, topic: str, host: str) -> None:
        """The caps. A renewal or an unsubscription takes no new room, so it is never
        refused for want of it; requests being verified are bounded on their own."""
        known = (callback, topic) in self._subs
        if mode == "unsubscribe" and not known:
            raise BadRequest(404, "no subscription of this hub.callback to this hub.topic")
        if sum(self._verifying.values()) > MAX_VERIFYING:
            raise BadRequest(503, f"{MAX_VERIFYING} requests are being verified, the most at once; try again later")
        if known:
            return
        websub = self.config.websub
        held = self._verifying[host] + sum(1 for c, _ in self._subs if urlsplit(c).hostname == host)
        if held > websub.max_subscriptions_per_host:
            raise BadRequest(429, f"the callback host {host} has {held - 1} subscriptions and requests, the most"
                                  " this hub keeps for one host")
        if len(self._subs) >= websub.max_subscriptions:
            raise BadRequest(503, "this hub holds as many subscriptions as it keeps; try again later")

    def _verified(self, host: str) -> None:
        """A request's verification is over (or it was refused): it no longer counts."""
        self._verifying[host] -= 1
        if self._verifying[host] <= 0:
            del self._verifying[host]

    async def _read_request(self, request: web.Request) -> tuple[str, str, str, int, str | None]:
        if (request.content_length or 0) > MAX_REQUEST_BYTES or len(await request.read()) > MAX_REQUEST_BYTES:
            raise BadRequest(413, f"a subscription request is at most {MAX_REQUEST_BYTES} bytes")
        try:
            form = await request.post()
        except (ValueError, LookupError) as exc:  # not the form it says, or a charset that is no text encoding
            raise BadRequest(400, f"the body is not a form: {exc}") from None
        fields: dict[str, str] = {}
        for name in ("hub.mode", "hub.callback", "hub.topic", "hub.lease_seconds", "hub.secret"):
            values = form.getall(name, [])
            if len(values) > 1:
                raise BadRequest(400, f"{name} is given {len(values)} times")
            if values and isinstance(values[0], str):
                fields[name] = values[0]
        mode = fields.get("hub.mode", "")
        if mode == "publish":
            raise BadRequest(400, "this hub serves only its own feeds and learns of their changes itself:"
                                  " no hub.mode=publish is needed")
        if mode not in ("subscribe", "unsubscribe"):
            raise BadRequest(400, "hub.mode must be subscribe or unsubscribe")
        callback = _callback(fields.get("hub.callback", ""))
        topic = fields.get("hub.topic", "")
        self._check_topic(topic, must_exist=mode == "subscribe")
        secret = fields.get("hub.secret")
        if secret is not None and not 0 < len(secret.encode()) <= MAX_SECRET_BYTES:
            raise BadRequest(400, f"hub.secret must be 1 to {MAX_SECRET_BYTES} bytes")
        return mode, callback, topic, self._lease(fields.get("hub.lease_seconds")), secret

    def _check_topic(self, topic: str, *, must_exist: bool) -> None:
        base = self.config.site.base_url
        path = topic.removeprefix(base)
        if not topic.startswith(base) or not render.subscribable(path):
            raise BadRequest(400, f"hub.topic {_short(topic)!r} is not a feed of this hub: its feeds are the"
                                  f" RSS, Atom and JSON Feed files below {base}")
        try:
            found = (self.feeds / path).is_file()
        except (OSError, ValueError):  # a name too long for the file system
            found = False
        if must_exist and not found:
            raise BadRequest(404, f"hub.topic {_short(topic)!r}: no such feed")

    def _lease(self, asked: str | None) -> int:
        websub = self.config.websub
        if asked is None or not asked.strip():
            return websub.lease_seconds
        asked = asked.strip()
        if not (asked.isascii() and asked.isdigit() and len(asked) <= 10):
            raise BadRequest(400, f"hub.lease_seconds must be a whole number of seconds, got {_short(asked)!r}")
        return min(max(int(asked), websub.min_lease_seconds), websub.max_lease_seconds)

    async def _check_callback(self, callback: str) -> None:
        """Refuse at once a callback the deliveries would be refused for."""
        if self.config.websub.allow_private_callbacks:
            return
        parts = urlsplit(callback)
        host = parts.hostname or ""
        try:
            if (reason := _literal_refusal(host)) is not None:
                raise Refused(f"{host} is a {reason} address")
            loop = asyncio.get_running_loop()
            found = await asyncio.wait_for(loop.getaddrinfo(host, parts.port or 80, type=socket.SOCK_STREAM),
                                           self.config.websub.timeout_seconds)
            refused = sorted({f"{info[4][0]} ({why})" for info in found
                              if (why := refused_address(str(info[4][0]))) is not None})
            if refused:
                raise Refused(f"{host} resolves to {', '.join(refused)}")
        except Refused as exc:
            raise BadRequest(403, f"hub.callback refused: {exc}; this hub calls back only public addresses") from None
        except (OSError, TimeoutError, UnicodeError) as exc:
            raise BadRequest(400, f"hub.callback host {host!r} cannot be resolved: {str(exc) or 'no answer'}") from None

    # --- verification of intent ------------------------------------------------------------

    async def _verify(self, mode: str, callback: str, topic: str, lease: int, secret: str | None, host: str) -> None:
        try:
            challenge = secrets.token_urlsafe(24)
            query = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
            if mode == "subscribe":
                query["hub.lease_seconds"] = str(lease)
            joint = "" if callback.endswith(("?", "&")) else "&" if "?" in callback else "?"
            url = callback + joint + urlencode(query)
            host_slots = self._verify_host_slots.setdefault(host, asyncio.Semaphore(VERIFICATIONS_PER_HOST))
            try:
                _check_literal(callback, self.config.websub.allow_private_callbacks)
                async with host_slots, self._verify_slots, self._client.get(
                        URL(url, encoded=True), allow_redirects=False, timeout=self._timeout) as response:
                    answer = (await _read_at_most(response, len(challenge) + 64)).decode("utf-8", "replace").strip()
                    if not 200 <= response.status < 300:
                        raise Refused(f"the callback answered HTTP {response.status}")
                    if answer != challenge:
                        raise Refused("the callback did not echo hub.challenge")
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
                log.info("hub: %s of %s to %s not verified: %s", mode, _short(callback), _short(topic),
                         _reason(exc, self._timeout.total))
                return
        finally:
            self._verified(host)
            if host not in self._verifying:
                self._verify_host_slots.pop(host, None)
        key = (callback, topic)
        if mode == "unsubscribe":
            if key in self._subs:
                self._forget(key)
                log.info("hub: %s unsubscribed from %s", _short(callback), _short(topic))
            return
        expires = int(time.time()) + lease
        renewed = key in self._subs
        self._subs[key] = Subscription(callback, topic, secret, expires)
        log.info("hub: %s %s to %s until %s", _short(callback), "renewed its subscription" if renewed
                 else "subscribed", _short(topic), datetime.fromtimestamp(expires, UTC).isoformat())
        self._save()
        self._arm_expiry()

    @property
    def _client(self) -> aiohttp.ClientSession:
        session = self._direct if self.config.websub.allow_private_callbacks else self._session
        assert session is not None  # set on start
        return session

    @property
    def _timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.config.websub.timeout_seconds)

    def _spawn(self, coroutine: object) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- leases ---------------------------------------------------------------------------

    def _arm_expiry(self) -> None:
        """Wake up when the next lease ends."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self._subs:
            soonest = min(sub.expires for sub in self._subs.values())
            delay = max(soonest - time.time(), 0) + 0.05
            self._expiry = asyncio.get_running_loop().call_later(delay, self._expire)

    def _expire(self) -> None:
        now = time.time()
        ended = [key for key, sub in self._subs.items() if sub.expires <= now]
        for key in ended:
            self._forget(key)
            log.info("hub: the lease of %s to %s ended", _short(key[0]), _short(key[1]))
        self._arm_expiry()

    # --- deliveries --------------------------------------------------------------------

    def _push(self, path: str) -> None:
        topic = self.config.site.base_url + path
        now = time.time()
        due = [key for key, sub in self._subs.items() if sub.topic == topic and sub.expires > now]
        if due:
            log.info("hub: %s changed; pushing it to %d subscriptions", _short(topic), len(due))
        for key in due:
            self._due.add(key)
            if key not in self._workers:
                self._workers[key] = asyncio.get_running_loop().create_task(self._deliver(key))

    async def _deliver(self, key: tuple[str, str]) -> None:
        """Deliver the newest version of one subscription's feed until it is taken,
        retrying with a growing delay; a newer change during a retry is what gets sent."""
        attempt = 0
        try:
            while key in self._due:
                self._due.discard(key)
                sub = self._subs.get(key)
                if sub is None or sub.expires <= time.time():
                    return
                reason = await self._post(sub)
                if reason is None:
                    attempt = 0
                    if self._failing.pop(key, None):
                        log.info("hub: %s takes deliveries of %s again", _short(sub.callback), _short(sub.topic))
                    continue
                attempt += 1
                if attempt > len(RETRY_SECONDS) or reason == "gone":
                    self._give_up(sub, reason, attempt)
                    continue
                log.debug("hub: delivery of %s to %s failed (%s); again in %d s", sub.topic, sub.callback,
                          reason, RETRY_SECONDS[attempt - 1])
                self._due.add(key)
                await asyncio.sleep(RETRY_SECONDS[attempt - 1])
        finally:
            self._workers.pop(key, None)

    def _give_up(self, sub: Subscription, reason: str, attempts: int) -> None:
        key = (sub.callback, sub.topic)
        if reason == "gone":  # 410: the subscriber wants no more
            self._forget(key)
            log.info("hub: %s answered 410 Gone: its subscription to %s ends", _short(sub.callback),
                     _short(sub.topic))
            return
        if self._failing.get(key) != reason:
            log.warning("hub: gave up pushing %s to %s after %d attempts: %s", _short(sub.topic),
                        _short(sub.callback), attempts, reason)
        self._failing[key] = reason

    async def _post(self, sub: Subscription) -> str | None:
        """One delivery of the feed's current bytes; None when taken, else why not."""
        path = sub.topic.removeprefix(self.config.site.base_url)
        loop = asyncio.get_running_loop()
        try:
            body = await loop.run_in_executor(None, (self.feeds / path).read_bytes)
        except OSError:
            return None  # the feed is gone: nothing to push
        # Two Link headers, not one with two values: some subscribers read only the first.
        headers = CIMultiDict([
            ("Content-Type", content_type(path) or "application/octet-stream"),
            ("Link", f'<{self.config.hub_url}>; rel="hub"'),
            ("Link", f'<{sub.topic}>; rel="self"'),
        ])
        if sub.secret:
            headers["X-Hub-Signature"] = signature(sub.secret, body)
        host = urlsplit(sub.callback).hostname or ""
        host_slots = self._host_slots.setdefault(host, asyncio.Semaphore(PER_HOST_DELIVERIES))
        if self._slots[0] != self.config.websub.max_deliveries:  # new settings (SIGHUP)
            self._slots = (self.config.websub.max_deliveries, asyncio.Semaphore(self.config.websub.max_deliveries))
        try:
            async with host_slots, self._slots[1]:
                _check_literal(sub.callback, self.config.websub.allow_private_callbacks)
                async with self._client.post(URL(sub.callback, encoded=True), data=body, headers=headers,
                                             allow_redirects=False, timeout=self._timeout) as response:
                    await response.read()
                    if response.status == 410:
                        return "gone"
                    return None if 200 <= response.status < 300 else f"HTTP {response.status}"
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            return _reason(exc, self._timeout.total)

    # --- the state ------------------------------------------------------------------------

    def _open_state(self, state: Path) -> None:
        self._state = state
        self._spawn(self._load())

    async def _load(self) -> None:
        """Read the subscriptions kept in the state, trying again until it can be read."""
        loop = asyncio.get_running_loop()
        failed = None
        while True:
            try:
                kept = await loop.run_in_executor(self._db_thread, self._read_state)
                break
            except (sqlite3.Error, OSError) as exc:
                if str(exc) != failed:
                    log.warning("hub: cannot read the subscriptions kept in %s (%s); trying again", self._state, exc)
                failed = str(exc)
                await asyncio.sleep(SAVE_RETRY_SECONDS)
        now = time.time()
        for sub in kept:
            self._subs.setdefault((sub.callback, sub.topic), sub)
        live = sum(1 for sub in kept if sub.expires > now)
        if kept:
            log.info("hub: %d subscriptions kept in the state", live)
        if set(self._subs.values()) != set(kept):  # some made before, or a state rebuilt: write them
            self._save()
        self._expire()

    def _read_state(self) -> list[Subscription]:
        with pool.FORKING:  # the daemon forks beside this thread (see FORKING)
            if self._db is not None:
                self._db.close()
                self._db = None
            self._db = self._connect()
            return self._db.subscriptions()

    def _connect(self) -> Store:
        """The daemon's state, opened beside it: never created here (the daemon does)."""
        assert self._state is not None
        found = identity(self._state)
        if found is None:
            raise FileNotFoundError(f"{self._state} is not there (yet)")
        store = Store(self._state, beside=found)
        # Short: a busy state is tried again later, and a stop must not wait on it for long.
        store.db.execute(f"PRAGMA busy_timeout={STATE_BUSY_MS}")
        return store

    def _save(self) -> None:
        """Write the subscriptions to the state, in the background, soon."""
        self._unsaved = True
        if self._state is not None and self._saving is None:
            self._saving = asyncio.get_running_loop().create_task(self._save_loop())

    def _forget(self, key: tuple[str, str]) -> None:
        """A subscription ends (unsubscribed, its lease over, 410): out of memory, then of the state."""
        self._subs.pop(key, None)
        self._due.discard(key)
        self._failing.pop(key, None)
        self._removed.add(key)
        self._save()

    async def _save_loop(self) -> None:
        failed: str | None = None
        try:
            while self._unsaved:
                try:
                    await self._save_once()
                except (sqlite3.Error, OSError) as exc:
                    if failed != str(exc):
                        log.warning("hub: cannot keep the subscriptions in %s (%s); they are kept in memory and"
                                    " written when it works again", self._state, exc)
                    failed = str(exc)
                    await asyncio.sleep(SAVE_RETRY_SECONDS)
                    continue
                if failed is not None:
                    log.info("hub: subscriptions kept in %s again", self._state)
                    failed = None
        finally:
            self._saving = None

    async def _save_once(self) -> None:
        """Every subscription in memory, and the removal of those that ended, in one write.
        Rows this process never loaded are left alone: a state it could not read is not
        emptied."""
        self._unsaved = False
        rows, removed = list(self._subs.values()), set(self._removed)
        try:
            await asyncio.get_running_loop().run_in_executor(self._db_thread, self._write_state, rows, removed)
        except BaseException:
            self._unsaved = True
            raise
        self._removed -= removed

    def _write_state(self, rows: list[Subscription], removed: set[tuple[str, str]]) -> None:
        """In the state's own thread. The state may have been deleted and rebuilt meanwhile:
        it is then opened again, and gets them all."""
        with pool.FORKING:  # the daemon forks beside this thread (see FORKING)
            if self._db is not None and self._db.replaced():
                self._db.close()
                self._db = None
            if self._db is None:
                self._db = self._connect()
            with self._db.transaction():
                for callback, topic in removed:
                    self._db.delete_subscription(callback, topic)
                for sub in rows:
                    self._db.put_subscription(sub)


def _close(db: Store) -> None:
    with pool.FORKING:  # the daemon forks beside this thread (see FORKING)
        db.close()


def _callback(text: str) -> str:
    """A callback URL as given, if the hub may ever call it; BadRequest says why not."""
    if not text or len(text) > MAX_URL_CHARS or not text.isascii() or any(ch.isspace() or ord(ch) < 32
                                                                         or ord(ch) == 127 for ch in text):
        raise BadRequest(400, f"hub.callback must be an http(s) URL of at most {MAX_URL_CHARS} ASCII characters"
                              " (percent-encode the others)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise BadRequest(400, f"hub.callback is not a URL, got {_short(text)!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0 or parts.fragment:
        raise BadRequest(400, f"hub.callback must be an absolute http(s) URL without fragment, got {_short(text)!r}")
    if parts.username or parts.password:
        raise BadRequest(400, "hub.callback must not carry a user name or password")
    try:
        URL(text, encoded=True)  # as every request to it will take it
    except ValueError:
        raise BadRequest(400, f"hub.callback is not a URL, got {_short(text)!r}") from None
    return text


async def _read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or its first `limit` bytes: however many writes the other side sent it in."""
    body = b""
    while len(body) < limit:
        chunk = await response.content.read(limit - len(body))
        if not chunk:
            break
        body += chunk
    return body


def _literal_refusal(host: str) -> str | None:
    """Why a host written as an IP address may not be called; None for a public address
    or a host name. The legacy IPv4 forms (`127.1`, `2130706433`, `0x7f.1`, `0`) count:
    the system's resolver would take them for addresses too."""
    try:
        return refused_address(host)
    except ValueError:
        pass
    try:
        return refused_address(socket.inet_ntoa(socket.inet_aton(host)))
    except OSError:
        return None


def _check_literal(callback: str, allow_private: bool) -> None:
    """A literal IP address is never resolved (so not seen by `GuardedResolver`)."""
    host = urlsplit(callback).hostname or ""
    if not allow_private and (reason := _literal_refusal(host)) is not None:
        raise Refused(f"{host} is a {reason} address")


def _reason(exc: BaseException, timeout: float | None) -> str:
    if isinstance(exc, (TimeoutError, aiohttp.ServerTimeoutError)):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, Refused):
        return str(exc)
    cause = getattr(exc, "os_error", None)
    if isinstance(cause, Refused):
        return str(cause)
    return describe_failure(exc)
