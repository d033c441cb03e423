"""A WebSub subscriber on loopback: answers the hub's verification and records every
delivery, for the tests and the latency benchmark."""

from __future__ import annotations

import http.server
import queue
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Delivery:
    path: str  # the callback path it came to
    body: bytes
    headers: dict[str, str]
    links: list[str]  # every Link header, in order
    received: float  # time.time()


@dataclass
class Subscriber:
    """An HTTP server on 127.0.0.1 whose callbacks behave as `behave[path]` says:
    "ok" (echo the challenge, take deliveries), "refuse" (echo nothing), "split" (echo it
    in two writes), "fail" (500 to
    deliveries), "hang" (hold deliveries until `release` is set), "gone" (410),
    "redirect:<url>" (302 to that URL)."""

    behave: dict[str, str] = field(default_factory=dict)
    deliveries: queue.Queue[Delivery] = field(default_factory=queue.Queue)
    verifications: queue.Queue[dict[str, str]] = field(default_factory=queue.Queue)
    attempts: dict[str, int] = field(default_factory=dict)  # deliveries tried, by path
    release: threading.Event = field(default_factory=threading.Event)
    hanging: threading.Event = field(default_factory=threading.Event)  # a "hang" callback holds a request now
    hanging_since: float = 0.0  # time.time() when the first "hang" request came

    def __post_init__(self) -> None:
        subscriber = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                params = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
                subscriber.verifications.put({"path": path, **params})
                how = subscriber.behave.get(path, "ok")
                if how.startswith("redirect:"):
                    self._answer(302, headers={"Location": how.removeprefix("redirect:") + "?" + query})
                elif how == "refuse":
                    self._answer(404, b"no")
                elif how == "split":  # the challenge in two writes, a moment apart
                    challenge = params.get("hub.challenge", "").encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(challenge)))
                    self.end_headers()
                    self.wfile.write(challenge[:5])
                    self.wfile.flush()
                    time.sleep(0.2)
                    self.wfile.write(challenge[5:])
                else:
                    self._answer(200, params.get("hub.challenge", "").encode())

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                path = self.path.partition("?")[0]
                subscriber.attempts[path] = subscriber.attempts.get(path, 0) + 1
                how = subscriber.behave.get(path, "ok")
                if how == "fail":
                    self._answer(500, b"broken")
                    return
                if how == "gone":
                    self._answer(410)
                    return
                if how == "hang":
                    if not subscriber.hanging.is_set():
                        subscriber.hanging_since = time.time()
                    subscriber.hanging.set()
                    subscriber.release.wait(60)
                    return  # the hub has given up by now: close without an answer
                subscriber.deliveries.put(Delivery(path, body, dict(self.headers), self.headers.get_all("Link") or [],
                                                   time.time()))
                self._answer(204)

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the hub closing a connection it gave up on is expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def hub_request(hub: str, **fields: str) -> tuple[int, str]:
    """POST a form to the hub (`hub_mode=...` for `hub.mode`); (status, body)."""
    data = urllib.parse.urlencode({name.replace("hub_", "hub."): value for name, value in fields.items()}).encode()
    request = urllib.request.Request(hub, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
