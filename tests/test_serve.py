"""The feeds server over real HTTP: hostile requests, bind errors, slow clients, gzip, IPv6.

Servers run in the test process on a loopback address and port 0, or as `aggregator
serve` where its log matters. Every wait is a blocking read or a poll with a deadline.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Collection, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest

from aggregator.errors import ServeError
from aggregator.serve import Advertised, FeedServer

DEADLINE = 15.0  # generous: shared CI machines are slow; every wait here ends well before on a sound server
LONG = 4 * DEADLINE  # a timeout that must not be the one that acts within a test
SHORT_LOG_LINE = 300  # timestamp, level, and an excerpt of the error

ATOM = (
    '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><title>All</title>'
    + "".join(f"<entry><title>Story {i}</title><id>urn:story:{i}</id></entry>" for i in range(40))
    + "</feed>\n"
).encode()
RSS = b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>All</title></channel></rss>\n'


@pytest.fixture
def feeds(tmp_path: Path) -> Path:
    root = tmp_path / "feeds"
    (root / "topics").mkdir(parents=True)
    (root / "all.atom.xml").write_bytes(ATOM)
    (root / "all.rss.xml").write_bytes(RSS)
    (root / "feeds.opml").write_bytes(b'<?xml version="1.0"?><opml version="2.0"><body/></opml>')
    (root / "index.html").write_bytes(b"<!doctype html><title>Feeds</title>")
    (root / "topics" / "space.atom.xml").write_bytes(ATOM)
    (root / ".hidden.atom.xml").write_bytes(ATOM)
    (tmp_path / "secret.atom.xml").write_bytes(ATOM)
    (root / "outside.atom.xml").symlink_to(tmp_path / "secret.atom.xml")
    return root


@contextmanager
def serving(root: Path, host: str = "127.0.0.1", **options: Any) -> Iterator[FeedServer]:
    server = FeedServer(root, host, 0, **options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fetch(server: FeedServer, path: str, headers: dict[str, str] | None = None,
          method: str = "GET") -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on its own connection; http.client sends the path as given."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=DEADLINE)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def exchange(port: int, data: bytes) -> bytes:
    """Raw bytes sent on a new connection, and all the server answers until it closes."""
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as sock:
        sock.sendall(data)
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:  # closed with our bytes unread: what came before still counts
            pass
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", response)
    assert match, response[:200]
    return int(match.group(1))


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closes the connection before the deadline (nothing more is expected on it)."""
    sock.settimeout(DEADLINE)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def eventually(check: Callable[[], bool]) -> bool:
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return False


def served(server: FeedServer) -> bool:
    """Whether a new connection gets the feed now (not closed at the connection limit)."""
    try:
        return fetch(server, "/all.atom.xml")[0] == 200
    except ConnectionError:  # RemoteDisconnected, reset, broken pipe
        return False


def get(target: bytes, *headers: bytes, method: bytes = b"GET") -> bytes:
    return b"%s %s HTTP/1.1\r\nHost: feeds.test\r\n%sConnection: close\r\n\r\n" % (
        method, target, b"".join(h + b"\r\n" for h in headers))


HOSTILE = [
    get(b"/all.atom.xml%00"),
    get(b"/%00"),
    get(b"/" + b"a" * 300 + b".atom.xml"),
    get(b"/topics/" + b"b" * 300),
    get(b"/" + b"c/" * 600 + b"all.atom.xml"),
    get(b"/%ff%fe"),
    get(b"/topics/%ff%fe.atom.xml"),
    get(b"/%C0%AE%C0%AE/etc/passwd"),
    get(b"/%zz"),
    get(b"/all.atom.xml%"),
    get(b"/all.atom.xml%0d%0aSet-Cookie:%20x=1"),
    get(b"/../state/state.sqlite"),
    get(b"/%2e%2e/%2e%2e/etc/passwd"),
    get(b"/topics/..%2f..%2fetc%2fpasswd"),
    get(b"/.%2e/all.atom.xml"),
    get(b"/..%5c..%5cetc%5cpasswd"),
    get(b"//etc/passwd"),
    get(b"http://evil.test/%00"),
    get(b"/all.atom.xml", b"If-Modified-Since: Mon, 01 Jan 99999999999 00:00:00 GMT"),
    get(b"/all.atom.xml", b"Accept-Encoding: gzip;q=nan, *;q=1e999, " + b"x" * 2000),
    get(b"/all.atom.xml", b'If-None-Match: W/"' + b'\\"' * 500),
    get(b"/all.atom.xml", method=b"POST"),
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),  # TLS hello on the HTTP port
    b"HELLO THERE\r\n\r\n",
    b"GET / HTTP/9.9\r\nHost: feeds.test\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: feeds.test\r\nNoColonHere\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: feeds.test\r\nX-Long: " + b"a" * 10_000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: feeds\x00.test\r\n\r\n",
    b"GET /" + b"d" * 9000 + b" HTTP/1.1\r\nHost: feeds.test\r\n\r\n",
]


def served_port(lines: queue.Queue[str | None]) -> int:
    """The port `aggregator serve` says it serves on, from its log lines."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        if line is None:  # the process ended
            break
        if match := re.search(r"serving .* on http://127\.0\.0\.1:(\d+)/", line):
            return int(match.group(1))
    pytest.fail("aggregator serve did not say where it serves")


def test_hostile_requests_get_a_4xx_and_at_most_one_short_log_line(feeds: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "serve", "--bind", "127.0.0.1:0", "--feeds", str(feeds), "-v"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace", cwd=tmp_path,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        port = served_port(lines)
        requests = [HOSTILE[i % len(HOSTILE)] for i in range(200)]
        statuses = [status_of(exchange(port, request)) for request in requests]
        assert exchange(port, get(b"/all.atom.xml")).endswith(ATOM)  # still serving
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=DEADLINE)
    log = []
    while (line := lines.get_nowait()) is not None:
        log.append(line)

    assert max(statuses) < 500, sorted(set(statuses))
    assert set(statuses) <= {200, 304, 400, 404, 405}
    assert not [line for line in log if "Traceback" in line]
    assert len(log) <= len(requests), "\n".join(log)
    assert max(map(len, log), default=0) <= SHORT_LOG_LINE, "\n".join(log)


@pytest.mark.parametrize(("path", "status"), [
    ("/all.atom.xml%00", 400),
    ("/all.atom.xml%00.html", 400),
    ("/topics%0a/space.atom.xml", 400),
    ("/%ff%fe.atom.xml", 400),  # not UTF-8
    ("/%C0%AE%C0%AE/secret.atom.xml", 400),  # an overlong UTF-8 "..", not UTF-8 either
    ("/%zz.atom.xml", 400),
    ("/all.atom.xml%2", 400),
    ("/" + "a" * 256 + ".atom.xml", 404),
    ("/topics/" + "%C3%A9" * 128 + ".atom.xml", 404),  # 265 bytes once decoded
    ("/" + "topics/" * 200 + "space.atom.xml", 404),
])
def test_paths_that_cannot_name_a_file_get_400_or_404(feeds: Path, path: str, status: int) -> None:
    with serving(feeds) as server:
        assert status_of(exchange(server.port, get(path.encode()))) == status


@pytest.mark.parametrize(("path", "status"), [
    ("/", 200),
    ("/all.atom.xml", 200),
    ("/topics/space.atom.xml", 200),
    ("/topics/sp%61ce.atom.xml", 200),
    ("/all.atom.xml?since=yesterday", 200),
    ("/topics/" + "%C3%A9" * 100 + ".atom.xml", 200),  # a long name, but one a file system takes
    ("/topics/", 404),
    ("/topics", 404),
    ("/.hidden.atom.xml", 404),
    ("/%2ehidden.atom.xml", 404),
    ("/outside.atom.xml", 404),
    ("/../secret.atom.xml", 404),
    ("/%2e%2e/secret.atom.xml", 404),
    ("/topics/%2e%2e%2f%2e%2e%2fsecret.atom.xml", 404),
    ("//secret.atom.xml", 404),
    ("/all.atom.xml/", 404),
    ("/state.sqlite", 404),
])
def test_only_visible_feed_files_below_the_root_are_served(feeds: Path, path: str, status: int) -> None:
    (feeds / "state.sqlite").write_bytes(b"SQLite format 3\x00")
    (feeds / "topics" / ("\u00e9" * 100 + ".atom.xml")).write_bytes(ATOM)
    with serving(feeds) as server:
        assert status_of(exchange(server.port, get(path.encode()))) == status


@pytest.mark.parametrize("since", [
    "Mon, 01 Jan 99999999999 00:00:00 GMT",  # out of range
    "not a date",
    "Mon, 01 Jan 2020 99:00:00 GMT",
])
def test_an_unusable_if_modified_since_is_ignored(feeds: Path, since: str) -> None:
    with serving(feeds) as server:
        status, _, body = fetch(server, "/all.atom.xml", {"If-Modified-Since": since})
    assert (status, body) == (200, ATOM)


def test_an_unforeseen_failure_is_a_500_and_one_log_line(
        feeds: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("disk on fire\n" + "x" * 5000)

    monkeypatch.setattr("aggregator.serve._Files.read", broken)
    caplog.set_level(logging.DEBUG)
    with serving(feeds) as server:
        mark = len(caplog.records)
        assert fetch(server, "/all.atom.xml")[0] == 500
        assert fetch(server, "/index.html")[0] == 500
        records = caplog.records[mark:]
    assert [r.levelname for r in records] == ["ERROR", "ERROR"]
    assert all("RuntimeError: disk on fire" in r.getMessage() and not r.exc_info for r in records)
    assert max(len(r.getMessage()) for r in records) <= SHORT_LOG_LINE


def test_a_busy_port_raises_serve_error_and_leaves_nothing_running(feeds: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        before = set(threading.enumerate())
        server = FeedServer(feeds, "127.0.0.1", port)
        with pytest.raises(ServeError, match=rf"^cannot serve on 127\.0\.0\.1:{port}: address already in use$"):
            server.start()
        assert [t.name for t in set(threading.enumerate()) - before] == []
        server.stop()  # nothing to stop
    server.start()  # the port is free now: the failed start left nothing half done
    try:
        assert server.url == f"http://127.0.0.1:{port}/"
        assert fetch(server, "/all.atom.xml")[0] == 200
    finally:
        server.stop()


def test_headers_sent_slowly_are_cut_off_at_the_header_timeout(feeds: Path) -> None:
    with serving(feeds, header_timeout=1, idle_timeout=LONG) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as stalled:
            stalled.sendall(b"GET /all.atom.xml HT")
            assert closed_by_server(stalled)

        with socket.create_connection(("127.0.0.1", server.port)) as dribbler:
            dribbler.sendall(b"GET /all.atom.xml HTTP/1.1\r\nHost: feeds.test\r\nX-Slow: ")
            dribbler.settimeout(0.1)  # also the pace: one byte per turn, every turn a sign of life
            end = time.monotonic() + DEADLINE
            while time.monotonic() < end:
                try:
                    dribbler.sendall(b"a")
                    if dribbler.recv(1) == b"":
                        break
                except TimeoutError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
            else:
                pytest.fail("a connection sending one header byte at a time was never closed")

        with closing(http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE)) as conn:
            for _ in range(3):  # keep-alive requests on one connection: each in time
                conn.request("GET", "/all.atom.xml")
                response = conn.getresponse()
                assert (response.status, response.read()) == (200, ATOM)


def test_an_idle_keep_alive_connection_is_closed(feeds: Path) -> None:
    with serving(feeds, header_timeout=LONG, idle_timeout=1) as server, \
            closing(http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE)) as conn:
        conn.request("GET", "/all.atom.xml")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, ATOM)
        assert not response.will_close and conn.sock is not None
        assert closed_by_server(conn.sock)


def test_connections_beyond_the_limit_are_closed_until_one_ends(
        feeds: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="aggregator.serve")
    with serving(feeds, max_connections=5, header_timeout=LONG, idle_timeout=LONG) as server:
        held = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE) for _ in range(5)]
        try:
            for conn in held:  # an answer proves the connection counted
                conn.request("GET", "/all.atom.xml")
                assert conn.getresponse().read() == ATOM
            for _ in range(3):
                assert exchange(server.port, get(b"/all.atom.xml")) == b""  # closed without a word
            for conn in held:  # the open ones still work
                conn.request("GET", "/index.html")
                assert conn.getresponse().status == 200
            held.pop().close()
            assert eventually(lambda: served(server))
        finally:
            for conn in held:
                conn.close()
    assert len([r for r in caplog.records if "the limit" in r.getMessage()]) == 1


def test_stalled_connections_at_the_limit_are_dropped_and_service_resumes(feeds: Path) -> None:
    with serving(feeds, max_connections=5, header_timeout=1, idle_timeout=LONG) as server:
        held = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE) for _ in range(5)]
        try:
            for conn in held:
                conn.request("GET", "/all.atom.xml")
                assert conn.getresponse().read() == ATOM
                assert conn.sock is not None
                conn.sock.sendall(b"GET /all.atom.xml HTTP/1.1\r\nHo")  # the next request, stalled
            assert all(conn.sock is not None and closed_by_server(conn.sock) for conn in held)
        finally:
            for conn in held:
                conn.close()
        assert eventually(lambda: served(server))


def decoded(headers: http.client.HTTPMessage, body: bytes) -> bytes:
    """The body as the client reads it, checked against its ETag and Content-Length."""
    assert int(headers["Content-Length"]) == len(body)
    assert headers["Vary"] == "Accept-Encoding"
    if headers["Content-Encoding"] == "gzip":
        assert headers["ETag"].endswith('-gzip"')
        return gzip.decompress(body)
    assert headers["Content-Encoding"] is None and not headers["ETag"].endswith('-gzip"')
    return body


def test_gzip_and_identity_are_two_representations_with_their_own_etags(feeds: Path) -> None:
    with serving(feeds) as server:
        status, plain, body = fetch(server, "/all.atom.xml")
        assert (status, decoded(plain, body)) == (200, ATOM)
        status, zipped, zipped_body = fetch(server, "/all.atom.xml", {"Accept-Encoding": "gzip"})
        assert status == 200 and zipped["Content-Encoding"] == "gzip"
        assert decoded(zipped, zipped_body) == ATOM and len(zipped_body) < len(ATOM)
        assert re.fullmatch(r'"[^"]+"', plain["ETag"]) and re.fullmatch(r'"[^"]+"', zipped["ETag"])  # strong
        assert plain["ETag"] != zipped["ETag"]
        _, again, again_body = fetch(server, "/all.atom.xml", {"Accept-Encoding": "gzip"})
        assert (again["ETag"], again_body) == (zipped["ETag"], zipped_body)  # the same bytes under the same tag

        def revalidate(if_none_match: str, accept_encoding: str) -> tuple[int, http.client.HTTPMessage, bytes]:
            return fetch(server, "/all.atom.xml", {"If-None-Match": if_none_match, "Accept-Encoding": accept_encoding})

        status, headers, body = revalidate(plain["ETag"], "gzip")  # the identity tag does not match gzip bytes
        assert status == 200 and decoded(headers, body) == ATOM and headers["ETag"] == zipped["ETag"]
        status, headers, body = revalidate(zipped["ETag"], "gzip")
        assert (status, headers["ETag"], body) == (304, zipped["ETag"], b"")
        assert revalidate(zipped["ETag"], "identity")[0] == 200
        assert revalidate(plain["ETag"], "identity")[0] == 304
        assert revalidate(f'"other", W/{zipped["ETag"]}', "gzip")[0] == 304  # weak comparison, in a list
        assert revalidate(f'"other",{plain["ETag"]}', "gzip;q=0")[0] == 304
        assert revalidate("*", "gzip")[0] == 304
        assert revalidate('"other"', "gzip")[0] == 200

        for method_headers, expected in ((plain, len(ATOM)), (zipped, len(zipped_body))):
            status, headers, body = fetch(server, "/all.atom.xml", {
                "Accept-Encoding": method_headers["Content-Encoding"] or "identity"}, method="HEAD")
            assert (status, body) == (200, b"")
            assert int(headers["Content-Length"]) == expected and headers["ETag"] == method_headers["ETag"]


@pytest.mark.parametrize(("accept_encoding", "gzipped"), [
    ("gzip", True),
    ("GZIP", True),
    ("deflate, gzip;q=0.8", True),
    ("gzip;q=0.5", True),
    ("*", True),
    ("br;q=1.0, *;q=0.1", True),
    ("gzip, identity;q=0", True),
    ("gzip;q=0", False),
    ("gzip; q=0.000", False),
    ("*;q=0", False),
    ("identity", False),
    ("deflate, br", False),
    ("", False),
    ("gzip;q=bogus", False),
    ("gzip;q=2", False),
    ("gzip;q=0.5, identity;q=1", None),  # identity is preferred; either answer is fine if it is right
    ("gzip;q=1, identity;q=0.5", None),
])
def test_accept_encoding_with_q_values(feeds: Path, accept_encoding: str, gzipped: bool | None) -> None:
    with serving(feeds) as server:
        status, headers, body = fetch(server, "/all.atom.xml", {"Accept-Encoding": accept_encoding})
    assert status == 200 and decoded(headers, body) == ATOM
    if gzipped is not None:
        assert (headers["Content-Encoding"] == "gzip") is gzipped


def test_existing_behaviour_is_kept(feeds: Path) -> None:
    with serving(feeds) as server:
        for path, media_type in (("/all.rss.xml", "application/rss+xml"), ("/all.atom.xml", "application/atom+xml"),
                                 ("/feeds.opml", "text/x-opml"), ("/", "text/html")):
            status, headers, _ = fetch(server, path)
            assert status == 200 and headers["Content-Type"] == f"{media_type}; charset=utf-8"
            assert headers["Cache-Control"] == "public, max-age=60"
        status, headers, _ = fetch(server, "/all.rss.xml")
        assert fetch(server, "/all.rss.xml", {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
        assert fetch(server, "/all.rss.xml", {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})[0] == 200
        assert fetch(server, "/all.rss.xml", method="POST")[0] == 405
        small_status, small, _ = fetch(server, "/all.rss.xml", {"Accept-Encoding": "gzip"})  # too small to compress
        assert small_status == 200 and small["Content-Encoding"] is None and small["ETag"] == headers["ETag"]


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_an_ipv6_address_is_written_in_brackets(feeds: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="aggregator.serve")
    with serving(feeds, "::1") as server:
        assert server.url == f"http://[::1]:{server.port}/"
        assert f"on http://[::1]:{server.port}/" in caplog.text
        with urllib.request.urlopen(server.url + "all.atom.xml", timeout=DEADLINE) as response:
            assert response.read() == ATOM


@pytest.mark.parametrize("base_url", [None, "https://news.example.org/feeds/"])
def test_serve_says_when_default_links_do_not_point_at_it(feeds: Path, tmp_path: Path, base_url: str | None) -> None:
    """Serving rewrites nothing: without a configured base URL, published feeds link to the
    default address, and a server elsewhere says how to make the links match."""
    extra = ["--base-url", base_url] if base_url else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "serve", "--bind", "127.0.0.1:0", "--feeds", str(feeds), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    try:
        assert proc.stderr is not None
        serving = proc.stderr.readline()
        port = int(re.search(r"serving .* on http://127\.0\.0\.1:(\d+)/", serving).group(1))  # type: ignore[union-attr]
        assert exchange(port, get(b"/all.atom.xml")).endswith(ATOM)  # serving: anything it had to say is said
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=DEADLINE) == 0
        rest = proc.stderr.read()  # through the same buffer as the line read above
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    warnings = [line for line in rest.splitlines() if "WARNING" in line]
    if base_url:
        assert warnings == []
    else:
        assert len(warnings) == 1 and "link to http://localhost:8000/" in warnings[0]
        assert f"publish with --base-url http://127.0.0.1:{port}/" in warnings[0]


def test_cors_lets_web_based_readers_fetch_feeds(feeds: Path) -> None:
    with serving(feeds) as server:
        request = urllib.request.Request(server.url + "all.atom.xml", headers={"Origin": "https://reader.example"})
        with urllib.request.urlopen(request, timeout=DEADLINE) as response:
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            assert "ETag" in response.headers["Access-Control-Expose-Headers"]
        preflight = urllib.request.Request(server.url + "topics/space.atom.xml", method="OPTIONS", headers={
            "Origin": "https://reader.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match"})
        with urllib.request.urlopen(preflight, timeout=DEADLINE) as response:
            assert response.status == 204
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            assert "GET" in response.headers["Access-Control-Allow-Methods"]
            assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]


def test_pages_are_served_with_a_policy_that_runs_no_script_and_nothing_is_sniffed(feeds: Path) -> None:
    with serving(feeds) as server:
        status, headers, _ = fetch(server, "/index.html")
        assert status == 200
        policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
        assert policy["default-src"] == "'none'"  # so no script-src, object-src or frame-src either
        assert not {"script-src", "object-src", "frame-src", "child-src", "worker-src"} & set(policy)
        assert policy["frame-ancestors"] == "'none'"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"
        status, headers, _ = fetch(server, "/all.atom.xml")
        assert status == 200
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" not in headers  # a feed is data, read by programs
        status, headers, _ = fetch(server, "/index.html", {"If-None-Match": fetch(server, "/index.html")[1]["ETag"]})
        assert status == 304
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_sealed_archive_documents_are_cached_for_a_day_the_newest_like_its_feed(feeds: Path) -> None:
    (feeds / "all.rss.xml").write_bytes(RSS.replace(b"<title>All</title>", b"<title>All</title><ttl>120</ttl>"))
    for number in (1, 2, 3):
        path = feeds / "archive" / "all" / f"{number}.atom.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(ATOM)
    with serving(feeds) as server:
        ages = {number: fetch(server, f"/archive/all/{number}.atom.xml") for number in (1, 2, 3)}
    for status, headers, _ in ages.values():
        assert status == 200 and headers["Content-Type"] == "application/atom+xml; charset=utf-8"
        assert headers["Access-Control-Allow-Origin"] == "*"
    assert [ages[n][1]["Cache-Control"] for n in (1, 2, 3)] == [
        "public, max-age=86400", "public, max-age=86400", "public, max-age=1800"]


def test_feeds_are_sent_with_their_hubs_and_self_url_as_link_headers(feeds: Path) -> None:
    (feeds / "archive" / "topics" / "space").mkdir(parents=True)
    (feeds / "archive" / "topics" / "space" / "1.atom.xml").write_bytes(ATOM)
    with serving(feeds) as server:
        assert "Link" not in fetch(server, "/all.atom.xml")[1]  # no hub configured: no header
        server.advertised = Advertised("https://news.example/feeds/", ("https://hub.example/", "https://news.example/feeds/hub"))
        _, headers, _ = fetch(server, "/topics/space.atom.xml")
        assert headers["Link"] == ('<https://hub.example/>; rel="hub", <https://news.example/feeds/hub>; rel="hub",'
                                   ' <https://news.example/feeds/topics/space.atom.xml>; rel="self"')
        assert fetch(server, "/all.rss.xml", method="HEAD")[1]["Link"].endswith(
            '<https://news.example/feeds/all.rss.xml>; rel="self"')
        for path in ("/index.html", "/feeds.opml", "/archive/topics/space/1.atom.xml"):  # not topics
            status, headers, _ = fetch(server, path)
            assert status == 200 and "Link" not in headers


def test_what_is_kept_in_memory_never_outlives_the_file(feeds: Path, tmp_path: Path) -> None:
    target = feeds / "topics" / "space.atom.xml"
    with serving(feeds) as server:
        _, first, body = fetch(server, "/topics/space.atom.xml")
        assert body == ATOM
        # Rewritten in place, the same size, a moment later: new bytes and a new ETag at once.
        changed = ATOM.replace(b"<feed", b"<FEED", 1).replace(b"</feed>", b"</FEED>")
        assert len(changed) == len(ATOM)
        target.write_bytes(changed)
        os.utime(target, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
        status, headers, body = fetch(server, "/topics/space.atom.xml", {"If-None-Match": first["ETag"]})
        assert (status, body) == (200, changed) and headers["ETag"] != first["ETag"]
        # Rewritten in place keeping the size and the mtime (`cp -p`, a restore): still seen.
        before = target.stat()
        target.write_bytes(ATOM)
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert fetch(server, "/topics/space.atom.xml")[2] == ATOM
        # Replaced (a publish renames a new file over it): the new one.
        (feeds / "topics" / "new.tmp").write_bytes(ATOM)
        os.replace(feeds / "topics" / "new.tmp", target)
        assert fetch(server, "/topics/space.atom.xml")[2] == ATOM
        # Replaced by a link leading out of the folder, within the second its lookup is
        # kept: never read through the link.
        (tmp_path / "private.atom.xml").write_bytes(b"<feed>private</feed>")
        target.unlink()
        target.symlink_to(tmp_path / "private.atom.xml")
        status, _, body = fetch(server, "/topics/space.atom.xml")
        assert status == 404 and b"private" not in body
        target.unlink()
        assert fetch(server, "/topics/space.atom.xml")[0] == 404


def test_several_serving_processes_share_the_address_and_stop_together(feeds: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", "serve", "--feeds", str(feeds), "--bind",
                             "127.0.0.1:0", "--workers", "3"], stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"serving .* on http://127\.0\.0\.1:(\d+)/", line)
        assert found, line
        port = int(found.group(1))
        children = psutil.Process(proc.pid).children()
        assert len(children) == 2
        for _ in range(30):  # each on its own connection: any of the three may take it
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=DEADLINE)
            conn.request("GET", "/all.atom.xml")
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, ATOM)
            conn.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=DEADLINE) == 0
        assert not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children)
    finally:
        if proc.poll() is None:
            proc.kill()


# --- the short path: plain GETs and HEADs of files, answered without aiohttp's handler ---------


def responses(data: bytes, heads: Collection[int] = ()) -> list[tuple[int, dict[str, str], bytes]]:
    """The HTTP/1.1 responses in `data`, in order: (status, headers, body); a 304 has no
    body, nor have those numbered (from 0) in `heads`, the answers to HEAD requests."""
    found: list[tuple[int, dict[str, str], bytes]] = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        line, *fields = head.decode().split("\r\n")
        headers = dict(field.split(": ", 1) for field in fields)
        status = int(line.split()[1])
        size = 0 if status == 304 or len(found) in heads else int(headers["Content-Length"])
        found.append((status, headers, data[:size]))
        data = data[size:]
    return found


def without_date(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name != "Date"}


def test_pipelined_plain_requests_are_answered_in_order_then_aiohttp_takes_the_connection(feeds: Path) -> None:
    with serving(feeds) as server:
        first = fetch(server, "/all.atom.xml")
        etag = first[1]["ETag"]
        plain = b"GET /all.atom.xml HTTP/1.1\r\nHost: feeds.test\r\n\r\n"
        revalidate = b'GET /all.atom.xml HTTP/1.1\r\nHost: feeds.test\r\nIf-None-Match: %s\r\n\r\n' % etag.encode()
        gzipped = b"GET /all.atom.xml HTTP/1.1\r\nHost: feeds.test\r\nAccept-Encoding: gzip\r\n\r\n"
        # A query is not for the short path: from there on aiohttp answers, the same way.
        queried = b"GET /all.atom.xml?x=1 HTTP/1.1\r\nHost: feeds.test\r\n\r\n"
        requests = [plain, revalidate, gzipped, queried, plain, revalidate, gzipped]
        with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as sock:
            last = b"GET /all.atom.xml HTTP/1.1\r\nHost: feeds.test\r\nConnection: close\r\n\r\n"
            sock.sendall(b"".join(requests) + last)
            data = b"".join(iter(lambda: sock.recv(65536), b""))
    answers = responses(data)
    assert [status for status, _, _ in answers] == [200, 304, 200, 200, 200, 304, 200, 200]
    assert answers[0][2] == answers[3][2] == ATOM and gzip.decompress(answers[2][2]) == ATOM
    short, by_aiohttp = answers[:3], answers[4:7]
    for (_, ours, body), (_, theirs, body_too) in zip(short, by_aiohttp, strict=True):
        assert without_date(ours) == without_date(theirs) and body == body_too
    assert without_date(answers[0][1]) == without_date(dict(first[1]))


def test_a_request_sent_byte_by_byte_and_a_head_are_answered(feeds: Path) -> None:
    with serving(feeds) as server, socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as sock:
        for byte in b"GET /topics/space.atom.xml HTTP/1.1\r\nHost: feeds.test\r\nConnection: keep-alive\r\n\r\n":
            sock.sendall(bytes([byte]))
        sock.sendall(b"HEAD /all.atom.xml HTTP/1.1\r\nHost: feeds.test\r\n\r\n")
        data = b""
        while data.count(b"\r\n\r\n") < 2 or not data.endswith(b"\r\n\r\n"):
            data += sock.recv(65536)
    (status, _, body), (head_status, headers, head_body) = responses(data, heads={1})
    assert (status, body) == (200, ATOM)
    assert (head_status, head_body, headers["Content-Length"]) == (200, b"", str(len(ATOM)))


@pytest.mark.parametrize("request_bytes", [
    b"GET /all.atom.xml HTTP/1.0\r\n\r\n",  # HTTP/1.0: aiohttp's rules for closing
    b"GET /all.atom.xml HTTP/1.1\nHost: feeds.test\n\n",  # bare LF line ends
    b"GET /all.atom.xml HTTP/1.1\r\nHost: feeds.test\r\nContent-Length: 3\r\n\r\nabc",
    b"GET /all.atom.xml HTTP/1.1\r\nHost: feeds.test\r\n X-Folded: value\r\n\r\n",
    b"OPTIONS /all.atom.xml HTTP/1.1\r\nHost: feeds.test\r\n\r\n",
    b"GET /all.atom.xml HTTP/1.1\r\n\r\n",  # no Host: 400, as HTTP/1.1 says
    b"GET /all.atom.xml HTTP/1.1\r\nHost: feeds.test\r\n" + b"X-Many: a\r\n" * 130 + b"\r\n",  # 400
    # Heads not complete yet, already malformed: aiohttp's 400 comes at once, not at the deadline.
    b"GET /all.atom.xml HTTP/1.1\r\nHost: feeds.test\r\nBad Header: y\r\n",
    b"GET /all.atom.xml HTTP/9.9\r\n",
    b"GET /all\x00.atom.xml HTTP/1.1\r\n",
    b"GET /all.atom.xml HTTP/1.1\r\nHost: feeds.test\rX-Bare-CR: 1\r\n",
])
def test_requests_for_aiohttp_get_its_answer_at_once(feeds: Path, request_bytes: bytes) -> None:
    def status_line() -> bytes:
        with serving(feeds, header_timeout=LONG, idle_timeout=LONG) as server, \
                socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as sock:
            sock.sendall(request_bytes)
            return sock.recv(65536).split(b"\r\n", 1)[0]  # at once: not after the header deadline

    ours = status_line()
    with pytest.MonkeyPatch.context() as patch:  # aiohttp alone, from the first byte
        patch.setattr("aggregator.serve._may_be_short", lambda begun: False)
        patch.setattr("aggregator.serve._ShortPath.respond", lambda self, head: None)
        alone = status_line()
    assert re.fullmatch(rb"HTTP/1\.[01] [1-5]\d\d .*", ours) and ours == alone


def test_stopping_closes_connections_the_short_path_keeps_open(feeds: Path) -> None:
    server = FeedServer(feeds, "127.0.0.1", 0, idle_timeout=LONG)
    server.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE)
        conn.request("GET", "/all.atom.xml")
        assert conn.getresponse().read() == ATOM
    finally:
        server.stop()
    assert conn.sock is not None and closed_by_server(conn.sock)
    conn.close()


def test_a_poll_answered_304_again_and_again_gets_the_new_file_once_it_changes(feeds: Path, tmp_path: Path) -> None:
    target = feeds / "topics" / "space.atom.xml"
    with serving(feeds) as server:
        etag = fetch(server, "/topics/space.atom.xml")[1]["ETag"]
        poll = {"If-None-Match": etag}  # the same request head each time, as a reader polls
        assert [fetch(server, "/topics/space.atom.xml", poll)[0] for _ in range(3)] == [304, 304, 304]
        before = target.stat()  # rewritten in place keeping the size and the mtime
        changed = ATOM.replace(b"<feed", b"<FEED", 1).replace(b"</feed>", b"</FEED>")
        target.write_bytes(changed)
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
        status, headers, body = fetch(server, "/topics/space.atom.xml", poll)
        assert (status, body) == (200, changed) and headers["ETag"] != etag
        target.write_bytes(ATOM)  # the old bytes back: the old ETag matches again
        assert fetch(server, "/topics/space.atom.xml", poll)[0] == 304
        (tmp_path / "private.atom.xml").write_bytes(ATOM)
        target.unlink()
        target.symlink_to(tmp_path / "private.atom.xml")  # within the second its route is kept
        assert fetch(server, "/topics/space.atom.xml", poll)[0] == 404


@pytest.mark.parametrize("header", [b"Proxy-Connection: close", b"Connection: close"])
def test_a_request_asking_to_close_gets_its_answer_and_the_connection_closes(feeds: Path, header: bytes) -> None:
    with serving(feeds, idle_timeout=LONG) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as sock:
        sock.sendall(b"GET /all.atom.xml HTTP/1.1\r\nHost: feeds.test\r\n%s\r\n\r\n" % header)
        data = b"".join(iter(lambda: sock.recv(65536), b""))  # until the server closes it
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(ATOM)
