"""The daemon's own WebSub hub, against `aggregator run --hub` as a real process and a
real subscriber on loopback (`tests/subscriber.py`). Every wait is for an event (a log
line, a request arriving), with a generous deadline."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import re
import shutil
import signal
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import feedparser
import pytest
import yaml

from aggregator.hub import _literal_refusal, refused_address, signature
from tests.conftest import Site, seed_text
from tests.subscriber import Subscriber, hub_request
from tests.test_daemon import DEADLINE, Daemon, eventually

TOPIC = "topics/space.atom.xml"


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    running = Subscriber()
    yield running
    running.close()


def start(site: Site, tmp_path: Path, base_url: str | None = None, **websub: Any) -> Daemon:
    """`aggregator run --serve 127.0.0.1:0 --hub`, callbacks on loopback allowed unless told."""
    config = tmp_path / "hub.yaml"
    data: dict[str, Any] = {"websub": {"allow_private_callbacks": True, **websub}}
    if base_url:
        data["site"] = {"base_url": base_url}
    config.write_text(yaml.safe_dump(data))
    if not (site.seeds / "first.md").exists():
        site.write_seed("first.md", seed_text(url="https://example.com/first", topics=("Space",)))
    return Daemon(site, "--config", str(config), "--hub")


@pytest.fixture
def stop_all() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()


def subscribe(daemon: Daemon, subscriber: Subscriber, path: str, topic: str = TOPIC, **fields: str) -> None:
    mark = daemon.mark()
    status, text = hub_request(daemon.base + "hub", hub_mode="subscribe", hub_topic=daemon.base + topic,
                               hub_callback=subscriber.url(path), **fields)
    assert status == 202, text
    daemon.wait_log(rf"hub: \S+{re.escape(path)} (subscribed|renewed its subscription) to"
                    rf" {re.escape(daemon.base + topic)}", since=mark)


def edit(site: Site, title: str) -> float:
    site.write_seed("first.md", seed_text(url="https://example.com/first", title=title, topics=("Space",)))
    return time.time()


def test_feeds_advertise_the_hub_in_their_bytes_and_headers(site: Site, tmp_path: Path,
                                                          stop_all: list[Daemon]) -> None:
    daemon = start(site, tmp_path)
    stop_all.append(daemon)
    hub = daemon.base + "hub"
    for path in ("all.rss.xml", TOPIC, "topics/space.json"):
        status, headers, body = daemon.get(path)
        assert status == 200
        assert headers["Link"] == f'<{hub}>; rel="hub", <{daemon.base}{path}>; rel="self"'
        parsed = feedparser.parse(body)
        if path.endswith(".json"):
            assert json.loads(body)["hubs"] == [{"type": "WebSub", "url": hub}]
        else:
            rels = {(link["rel"], link["href"]) for link in parsed.feed.links}
            assert ("hub", hub) in rels and ("self", daemon.base + path) in rels
    _, headers, _ = daemon.get("index.html")
    assert "Link" not in headers  # a page is not a topic


def test_a_subscriber_is_verified_then_gets_each_changed_feed_signed(site: Site, tmp_path: Path,
                                                                     subscriber: Subscriber,
                                                                     stop_all: list[Daemon]) -> None:
    daemon = start(site, tmp_path)
    stop_all.append(daemon)
    subscribe(daemon, subscriber, "/cb?id=7", hub_secret="s3cret", hub_lease_seconds="7200")
    check = subscriber.verifications.get(timeout=DEADLINE)
    assert check["path"] == "/cb" and check["id"] == "7"  # the callback's own query is kept
    assert check["hub.mode"] == "subscribe" and check["hub.topic"] == daemon.base + TOPIC
    assert check["hub.lease_seconds"] == "7200" and len(check["hub.challenge"]) >= 20

    edited = edit(site, "Edited for the subscriber")
    delivery = subscriber.deliveries.get(timeout=DEADLINE)
    print(f"edit to delivery: {delivery.received - edited:.3f} s")
    assert b"Edited for the subscriber" in delivery.body
    assert delivery.body == daemon.get(TOPIC)[2]  # the whole feed, as served
    assert delivery.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert delivery.links == [f'<{daemon.base}hub>; rel="hub"', f'<{daemon.base}{TOPIC}>; rel="self"']
    expected = "sha256=" + hmac.new(b"s3cret", delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["X-Hub-Signature"] == expected == signature("s3cret", delivery.body)
    assert feedparser.parse(delivery.body).entries[0].title == "Edited for the subscriber"


def test_unsubscribe_and_an_ended_lease_stop_deliveries(site: Site, tmp_path: Path, subscriber: Subscriber,
                                                        stop_all: list[Daemon]) -> None:
    daemon = start(site, tmp_path, min_lease_seconds=1)
    stop_all.append(daemon)
    for path in ("/stays", "/leaves"):
        subscribe(daemon, subscriber, path)
    subscribe(daemon, subscriber, "/short", hub_lease_seconds="2")
    mark = daemon.mark()
    status, _ = hub_request(daemon.base + "hub", hub_mode="unsubscribe", hub_topic=daemon.base + TOPIC,
                            hub_callback=subscriber.url("/leaves"))
    assert status == 202
    daemon.wait_log(r"hub: \S+/leaves unsubscribed from", since=mark)
    daemon.wait_log(r"hub: the lease of \S+/short to \S+ ended", since=mark)

    mark = daemon.mark()
    edit(site, "After they left")
    daemon.wait_log(rf"hub: {re.escape(daemon.base + TOPIC)} changed; pushing it to 1 subscriptions", since=mark)
    assert subscriber.deliveries.get(timeout=DEADLINE).path == "/stays"
    assert "/leaves" not in subscriber.attempts and "/short" not in subscriber.attempts


def test_subscriptions_survive_a_restart(site: Site, tmp_path: Path, subscriber: Subscriber,
                                         stop_all: list[Daemon]) -> None:
    daemon = start(site, tmp_path)
    stop_all.append(daemon)
    subscribe(daemon, subscriber, "/kept", topic="topics/space.rss.xml")
    assert daemon.stop(signal.SIGTERM) == 0
    # The topic is the feed's URL: the new daemon (on another port) publishes the same URLs.
    again = start(site, tmp_path, base_url=daemon.base)
    stop_all.append(again)
    again.wait_log(r"hub: 1 subscriptions kept in the state", since=0)
    edit(site, "After the restart")
    delivery = subscriber.deliveries.get(timeout=DEADLINE)
    assert delivery.path == "/kept" and b"After the restart" in delivery.body


def test_failing_and_hanging_subscribers_are_retried_and_delay_no_one(site: Site, tmp_path: Path,
                                                                      subscriber: Subscriber,
                                                                      stop_all: list[Daemon]) -> None:
    daemon = start(site, tmp_path, timeout_seconds=5)
    stop_all.append(daemon)
    subscriber.behave.update({"/fail": "fail", "/hang": "hang"})
    for path in ("/fail", "/hang", "/healthy"):
        subscribe(daemon, subscriber, path)
    edit(site, "Pushed to all three")
    delivery = subscriber.deliveries.get(timeout=DEADLINE)
    assert delivery.path == "/healthy"
    # The hub holds the hanging request for 5 s (websub.timeout_seconds); the subscriber
    # never answers it. The healthy one did not wait for that: it got its feed before the
    # hanging request had run out of time, whichever of the two the hub sent first.
    assert subscriber.hanging.wait(DEADLINE)
    assert delivery.received < subscriber.hanging_since + 5
    eventually(lambda: subscriber.attempts.get("/fail", 0) >= 2)
    eventually(lambda: subscriber.attempts.get("/hang", 0) >= 2)  # after its timeout, tried again
    with pytest.raises(queue.Empty):
        subscriber.deliveries.get(timeout=0.5)  # and the healthy one got it once


def test_a_410_ends_the_subscription(site: Site, tmp_path: Path, subscriber: Subscriber,
                                     stop_all: list[Daemon]) -> None:
    daemon = start(site, tmp_path)
    stop_all.append(daemon)
    subscriber.behave["/gone"] = "gone"
    subscribe(daemon, subscriber, "/gone")
    mark = daemon.mark()
    edit(site, "One too many")
    daemon.wait_log(r"hub: \S+/gone answered 410 Gone: its subscription to \S+ ends", since=mark)
    assert subscriber.attempts["/gone"] == 1


def test_callbacks_to_private_addresses_are_refused_with_the_switch_off(site: Site, tmp_path: Path,
                                                                        subscriber: Subscriber,
                                                                        stop_all: list[Daemon]) -> None:
    daemon = start(site, tmp_path, allow_private_callbacks=False)
    stop_all.append(daemon)
    port = subscriber.server.server_address[1]
    for callback in (f"http://127.0.0.1:{port}/cb", f"http://localhost:{port}/cb",
                     f"http://[::ffff:127.0.0.1]:{port}/cb", f"http://2130706433:{port}/cb", f"http://127.1:{port}/",
                     f"http://0:{port}/cb", f"http://[2002:7f00:1::]:{port}/", "http://10.1.2.3/cb",
                     "http://169.254.169.254/x"):
        status, text = hub_request(daemon.base + "hub", hub_mode="subscribe", hub_topic=daemon.base + TOPIC,
                                   hub_callback=callback)
        assert status == 403, (callback, text)
        assert "hub.callback refused" in text and "only public addresses" in text
    status, text = hub_request(daemon.base + "hub", hub_mode="subscribe", hub_topic=daemon.base + TOPIC,
                               hub_callback="http://a..b.example/cb")
    assert status == 400 and "cannot be resolved" in text
    with pytest.raises(queue.Empty):
        subscriber.verifications.get(timeout=1)


def test_bad_requests_are_refused_with_a_reason(site: Site, tmp_path: Path, subscriber: Subscriber,
                                                stop_all: list[Daemon]) -> None:
    daemon = start(site, tmp_path)
    stop_all.append(daemon)
    hub, cb = daemon.base + "hub", subscriber.url("/cb")
    ours = daemon.base + TOPIC
    cases = [
        ({"hub_mode": "publish", "hub_topic": ours, "hub_callback": cb}, 400, "no hub.mode=publish is needed"),
        ({"hub_mode": "watch", "hub_topic": ours, "hub_callback": cb}, 400, "hub.mode must be"),
        ({"hub_mode": "subscribe", "hub_topic": "https://elsewhere.example/feed.xml", "hub_callback": cb}, 400,
         "is not a feed of this hub"),
        ({"hub_mode": "subscribe", "hub_topic": daemon.base + "topics/space.html", "hub_callback": cb}, 400,
         "is not a feed of this hub"),
        ({"hub_mode": "subscribe", "hub_topic": daemon.base + "topics/none.atom.xml", "hub_callback": cb}, 404,
         "no such feed"),
        ({"hub_mode": "unsubscribe", "hub_topic": ours, "hub_callback": cb}, 404,
         "no subscription of this hub.callback to this hub.topic"),
        ({"hub_mode": "subscribe", "hub_topic": ours, "hub_callback": "ftp://example.org/x"}, 400,
         "hub.callback must be an absolute http(s) URL"),
        ({"hub_mode": "subscribe", "hub_topic": ours, "hub_callback": cb, "hub_secret": "x" * 200}, 400,
         "hub.secret must be"),
        ({"hub_mode": "subscribe", "hub_topic": ours, "hub_callback": cb, "hub_lease_seconds": "soon"}, 400,
         "hub.lease_seconds must be"),
        ({"hub_mode": "subscribe", "hub_topic": ours, "hub_callback": cb, "hub_lease_seconds": "\u00b2"}, 400,
         "hub.lease_seconds must be"),
        ({"hub_mode": "subscribe", "hub_topic": ours, "hub_callback": cb, "hub_lease_seconds": "9" * 5000}, 400,
         "hub.lease_seconds must be"),
        ({"hub_mode": "subscribe", "hub_topic": ours, "hub_callback": "http://[::1/cb"}, 400, "is not a URL"),
        ({"hub_mode": "subscribe", "hub_topic": ours, "hub_callback": "http://[foo]/"}, 400, "is not a URL"),
        ({"hub_mode": "subscribe", "hub_topic": ours, "hub_callback": "http://[2606:4700::6810:85e5]x/cb"}, 400,
         "is not a URL"),
        ({"hub_mode": "subscribe", "hub_topic": ours, "hub_callback": "http://example.org/caf\u00e9"}, 400,
         "ASCII characters (percent-encode the others)"),
        ({"hub_mode": "subscribe", "hub_topic": daemon.base + "topics/" + "a" * 300 + ".atom.xml",
          "hub_callback": cb}, 404, "no such feed"),
    ]
    for fields, status, reason in cases:
        got, text = hub_request(hub, **fields)
        assert (got, reason in text) == (status, True), (fields, text)
    malformed = [(b"\xff\xfe=\xff&hub.mode=\xff", "application/x-www-form-urlencoded", 400),
                 (b'{"hub.mode": "subscribe"}', "application/json", 400),
                 (b"hub.mode=subscribe&" + b"a" * 20_000, "application/x-www-form-urlencoded", 413),
                 (b"hub.mode=subscribe", "application/x-www-form-urlencoded; charset=rot13", 400),
                 (b"hub.mode=subscribe", "application/x-www-form-urlencoded; charset=no-such-thing", 400)]
    for body, content_type, status in malformed:
        request = urllib.request.Request(hub, data=body, headers={"Content-Type": content_type}, method="POST")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        assert caught.value.code == status
    status, headers, _ = daemon.get("hub")
    assert (status, headers["Allow"]) == (405, "POST")
    assert subscriber.verifications.empty()


def test_a_callback_that_redirects_or_does_not_echo_is_not_subscribed(site: Site, tmp_path: Path,
                                                                     subscriber: Subscriber,
                                                                     stop_all: list[Daemon]) -> None:
    daemon = start(site, tmp_path)
    stop_all.append(daemon)
    subscriber.behave.update({"/moved": "redirect:" + subscriber.url("/target"), "/mute": "refuse",
                              "/slow": "split"})
    subscribe(daemon, subscriber, "/slow?")  # the challenge comes in two writes; the query is joined right
    check = subscriber.verifications.get(timeout=DEADLINE)
    assert check["path"] == "/slow" and check["hub.mode"] == "subscribe"
    for path, reason in (("/moved", "answered HTTP 302"), ("/mute", "answered HTTP 404")):
        mark = daemon.mark()
        status, _ = hub_request(daemon.base + "hub", hub_mode="subscribe", hub_topic=daemon.base + TOPIC,
                                hub_callback=subscriber.url(path))
        assert status == 202
        daemon.wait_log(rf"hub: subscribe of \S+{path} to \S+ not verified: the callback {reason}", since=mark)
    paths = [subscriber.verifications.get(timeout=DEADLINE)["path"] for _ in range(2)]
    assert paths == ["/moved", "/mute"]  # never followed to /target
    assert subscriber.verifications.empty()


def test_subscriptions_per_callback_host_are_capped(site: Site, tmp_path: Path, subscriber: Subscriber,
                                                    stop_all: list[Daemon]) -> None:
    daemon = start(site, tmp_path, max_subscriptions_per_host=2)
    stop_all.append(daemon)
    subscribe(daemon, subscriber, "/first")
    status, text = hub_request(daemon.base + "hub", hub_mode="subscribe", hub_topic=daemon.base + TOPIC,
                               hub_callback=subscriber.url("/second"))
    assert status == 202
    status, text = hub_request(daemon.base + "hub", hub_mode="subscribe", hub_topic=daemon.base + TOPIC,
                               hub_callback=subscriber.url("/third"))
    assert status == 429 and "the most this hub keeps for one host" in text
    subscribe(daemon, subscriber, "/first")  # at the cap, a renewal takes no new room
    # Sent at once, before any is verified, they still count against the cap.
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: hub_request(daemon.base + "hub", hub_mode="subscribe",
                                                      hub_topic=daemon.base + "all.json",
                                                      hub_callback=subscriber.url(f"/burst{n}"))[0], range(8)))
    assert answers.count(202) == 0 and answers.count(429) == 8


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.0.0.8", "private"), ("192.168.1.1", "private"),
    ("172.16.5.4", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("0.0.0.0", "unspecified"),
    ("::ffff:127.0.0.1", "loopback"), ("100.64.0.1", "not global"), ("fc00::1", "private"),
    ("93.184.215.14", None), ("2606:4700::6810:85e5", None),
    ("2002:7f00:1::", "loopback"), ("2002:a00:1::", "private"), ("2002:5db8:d70e::", None),  # 6to4
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, its client 127.0.0.1
    ("fec0::1", "site-local"),
])
def test_which_addresses_the_hub_calls_back(address: str, reason: str | None) -> None:
    assert refused_address(address) == reason


@pytest.mark.parametrize(("host", "reason"), [
    ("127.1", "loopback"), ("2130706433", "loopback"), ("0x7f.1", "loopback"), ("017700000001", "loopback"),
    ("0", "unspecified"), ("10.1", "private"), ("[::1]", None), ("example.org", None), ("93.184.215.14", None),
])
def test_hosts_written_as_addresses_in_any_form_are_judged_as_addresses(host: str, reason: str | None) -> None:
    assert _literal_refusal(host) == reason


def test_a_deleted_state_gets_the_subscriptions_back(site: Site, tmp_path: Path, subscriber: Subscriber,
                                                     stop_all: list[Daemon]) -> None:
    daemon = start(site, tmp_path)
    stop_all.append(daemon)
    subscribe(daemon, subscriber, "/kept")
    mark = daemon.mark()
    shutil.rmtree(site.state.parent)
    edit(site, "After the state went")
    daemon.wait_log(r"rebuilding it from the seeds", since=mark)
    assert subscriber.deliveries.get(timeout=DEADLINE).path == "/kept"

    def kept() -> list[tuple[str, ...]]:
        with sqlite3.connect(site.state) as db:
            return db.execute("SELECT callback, topic FROM subscriptions").fetchall()

    assert eventually(kept) == [(subscriber.url("/kept"), daemon.base + TOPIC)]
