"""Server benchmark (not part of the test suite): `aggregator serve` against nginx, with wrk.

Both serve the same published feeds folder on loopback, one after the other for each
case, so that they are compared on the same machine in the same state:

- 200: a full GET of a feed;
- 304: a conditional GET with the ETag each server gave;
- gzip: a GET with `Accept-Encoding: gzip` (nginx compresses on the fly, level 1 by
  default; ours keeps the compressed body of each file);

at each connection count, `--repeat` times, interleaved. Prints requests per second (the
median), the ratio ours / nginx, and our server's memory before, at its peak and after
the load; saves the figures as JSON. Needs Debian's `wrk` and `nginx`.

    python -m bench.serve --seeds 1000 --connections 64 256 --duration 10 --repeat 3 [--workers 2]
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

from bench.generate import generate
from bench.run import save

WORK = Path("bench/work")
PATH = "/all.atom.xml"
CASES = {
    "200": {},
    "304": {"If-None-Match": None},  # each server's own ETag
    "gzip": {"Accept-Encoding": "gzip"},
}
NGINX_CONF = """
worker_processes auto;
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    include /etc/nginx/mime.types;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    gzip on;
    gzip_types *;
    gzip_min_length 512;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def _feeds(seeds: int) -> Path:
    """A feeds folder published from a generated corpus of `seeds` seeds."""
    site = WORK / f"serve-{seeds}"
    feeds = site / "feeds"
    if not (feeds / PATH.lstrip("/")).exists():
        corpus = WORK / f"corpus-{seeds}"
        if not corpus.exists():
            generate(corpus, seeds, seed=seeds)
        subprocess.run([sys.executable, "-m", "aggregator", "publish", "-q", "--seeds", str(corpus),
                        "--feeds", str(feeds), "--state", str(site / "state.sqlite")], check=True)
    return feeds


def _wrk(url: str, headers: dict[str, str], connections: int, duration: int) -> float:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", url]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"errors from {url}:\n{out}")
    if "Socket errors" in out:
        print(out, file=sys.stderr)
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert found, out
    return float(found.group(1))


def _headers(case: str, url: str) -> dict[str, str]:
    headers = {}
    for name, value in CASES[case].items():
        if value is None:  # the ETag this server gives
            with urllib.request.urlopen(url, timeout=5) as response:
                value = response.headers["ETag"]
        headers[name] = value
    return headers


class _Memory:
    """Peak RSS of a process tree, sampled in the background."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def now(self) -> int:
        return sum(p.memory_info().rss for p in [self.root, *self.root.children(recursive=True)])

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.now())

    def __enter__(self) -> _Memory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1000, help="corpus size of the feeds served")
    parser.add_argument("--connections", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="aggregator serve --workers")
    parser.add_argument("--out", type=Path, default=Path("bench/results/serve.json"))
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (Debian: apt-get install {tool})")
    feeds = _feeds(args.seeds).resolve()
    prefix = Path(tempfile.mkdtemp(prefix="aggregator-nginx-"))
    nginx_port, our_port = _free_port(), _free_port()
    (prefix / "nginx.conf").write_text(NGINX_CONF.format(prefix=prefix, port=nginx_port, root=feeds))
    nginx = subprocess.Popen(["nginx", "-c", str(prefix / "nginx.conf"), "-p", str(prefix), "-g", "daemon off;"])
    ours = subprocess.Popen([sys.executable, "-m", "aggregator", "serve", "-q", "--feeds", str(feeds),
                             "--bind", f"127.0.0.1:{our_port}", "--workers", str(args.workers)])
    servers = {"nginx": f"http://127.0.0.1:{nginx_port}{PATH}", "aggregator": f"http://127.0.0.1:{our_port}{PATH}"}
    try:
        for name, url in servers.items():
            _wait_up(url, nginx if name == "nginx" else ours)
        memory = _Memory(ours.pid)
        before = memory.now()
        rows: list[dict[str, Any]] = []
        with memory:
            for case in CASES:
                for connections in args.connections:
                    runs: dict[str, list[float]] = {name: [] for name in servers}
                    for _ in range(args.repeat):
                        for name, url in servers.items():
                            runs[name].append(_wrk(url, _headers(case, url), connections, args.duration))
                    row = {"case": case, "connections": connections,
                           **{f"{name}_rps": round(statistics.median(r)) for name, r in runs.items()}}
                    row["ratio"] = round(row["aggregator_rps"] / row["nginx_rps"], 3)
                    rows.append(row)
                    print(f"{case:>5} c={connections:<4} nginx {row['nginx_rps']:>8} req/s   aggregator "
                          f"{row['aggregator_rps']:>8} req/s   ratio {row['ratio']:.2f}", flush=True)
        after = memory.now()
        size = (feeds / PATH.lstrip("/")).stat().st_size
        figures = {"seeds": args.seeds, "path": PATH, "bytes": size, "duration_s": args.duration,
                   "workers": args.workers,
                   "repeat": args.repeat, "rows": rows,
                   "aggregator_rss_mb": {"before": round(before / 2**20, 1), "peak": round(memory.peak / 2**20, 1),
                                         "after": round(after / 2**20, 1)}}
        print(f"aggregator serve RSS: {figures['aggregator_rss_mb']} MB ({PATH}, {size} bytes)")
        save(args.out, figures)
    finally:
        for proc in (ours, nginx):
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    main()
