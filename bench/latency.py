"""Change-to-feed latency of `aggregator run` (not part of the test suite).

Generates a corpus (default 10,000 seeds), starts the daemon on it, then edits one seed
at a time the way an editor saves (write a temporary file, rename it over the seed) and
measures how long until `feeds/all.atom.xml` carries the edit. Prints p50/p95/max and
saves the figures as JSON.

With `--push`, the daemon also serves the feeds and is a WebSub hub (`--serve --hub`),
a subscriber on loopback (`tests/subscriber.py`) subscribes to the combined Atom feed,
and the figures are also taken until the subscriber has received the edited feed.

    python -m bench.latency --count 10000 --edits 200
    python -m bench.latency --count 1000 --edits 100 --push
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.generate import generate
from bench.run import save
from tests.subscriber import Subscriber, hub_request

TOPIC = "all.atom.xml"


def _edit(path: Path, marker: str, stamp: str) -> None:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'^title: .*$', f'title: "{marker}"', text, count=1, flags=re.MULTILINE)
    # Newest story of the corpus, so it is in the combined feed's top items.
    text = re.sub(r"^publishedDateTime: .*$", f"publishedDateTime: {stamp}", text, count=1, flags=re.MULTILINE)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None,
                        help="default: bench/results/latency.json, or push-latency.json with --push")
    parser.add_argument("--push", action="store_true", help="also measure until a WebSub subscriber has the feed")
    args = parser.parse_args()
    out = args.out or Path("bench/results/push-latency.json" if args.push else "bench/results/latency.json")

    work = args.workdir or Path(tempfile.mkdtemp(prefix="aggregator-latency-"))
    seeds, feeds, state = work / "seeds", work / "feeds", work / "state.sqlite"
    if not seeds.exists():
        generate(seeds, args.count, seed=1)
    files = sorted(p for p in seeds.rglob("*") if p.is_file())
    log = open(work / "daemon.log", "w")  # noqa: SIM115 - lives as long as the daemon
    extra: list[str] = []
    if args.push:
        config = work / "push.yaml"
        config.write_text("websub:\n  allow_private_callbacks: true\n")
        extra = ["--config", str(config), "--serve", "127.0.0.1:0", "--hub"]
    daemon = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "run", "--seeds", str(seeds), "--feeds", str(feeds),
         "--state", str(state), *extra],
        stdout=log, stderr=subprocess.STDOUT,
    )
    subscriber = Subscriber() if args.push else None
    try:
        start = time.monotonic()
        while "cycle trigger=start" not in (work / "daemon.log").read_text():
            if daemon.poll() is not None:
                raise SystemExit("daemon exited:\n" + (work / "daemon.log").read_text())
            time.sleep(0.1)
        print(f"initial publish of {len(files)} seeds: {time.monotonic() - start:.1f} s")
        if subscriber is not None:
            _subscribe(work / "daemon.log", subscriber)
        target = feeds / TOPIC
        latencies, pushed = [], []
        started = datetime.now(UTC)
        for i in range(args.edits):
            marker = f"Latency probe {started:%H%M%S} {i}"  # not in the feed from an earlier run
            # Each edit the newest story yet, in the past (a future date is held back), also
            # after an earlier run on the same folder.
            stamp = (started + timedelta(seconds=i - args.edits)).strftime("%Y-%m-%dT%H:%M:%SZ")
            path = files[(i * 7919) % len(files)]
            began, began_wall = time.monotonic(), time.time()  # the subscriber stamps with time.time()
            _edit(path, marker, stamp)
            needle = marker.encode()
            while needle not in target.read_bytes():
                if time.monotonic() - began > 30:
                    raise SystemExit(f"edit {i} never reached the feed")
                time.sleep(0.005)
            latencies.append(time.monotonic() - began)
            if subscriber is not None:
                pushed.append(_delivered(subscriber, needle, began_wall))
        figures = {"seeds": len(files), "edits": len(latencies), **_summary("change-to-feed", latencies, len(files))}
        if pushed:
            figures["push"] = _summary("change-to-subscriber", pushed, len(files))
        save(out, figures)
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        log.close()
        if subscriber is not None:
            subscriber.close()
        if args.workdir is None:  # ours: gigabytes at 250,000 seeds; a given one is kept to be run again
            shutil.rmtree(work, ignore_errors=True)


def _summary(what: str, latencies: list[float], seeds: int) -> dict[str, float]:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(f"{what} latency over {len(ordered)} edits on {seeds} seeds: "
          f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms")
    return {"p50_s": round(p50, 3), "p95_s": round(p95, 3), "max_s": round(ordered[-1], 3)}


def _subscribe(log: Path, subscriber: Subscriber) -> None:
    """Subscribe to the combined Atom feed through the daemon's hub, and wait until verified."""
    found = re.search(r"serving .* on (http://\S+/)", log.read_text())
    assert found, "the daemon does not serve"
    base = found.group(1)
    status, text = hub_request(base + "hub", hub_mode="subscribe", hub_topic=base + TOPIC,
                               hub_callback=subscriber.url("/bench"), hub_secret="bench")
    if status != 202:
        raise SystemExit(f"subscription refused: {status} {text}")
    subscriber.verifications.get(timeout=30)
    while " subscribed to " not in log.read_text():
        time.sleep(0.05)


def _delivered(subscriber: Subscriber, needle: bytes, began: float) -> float:
    """Seconds from the edit until the subscriber holds a delivery carrying it."""
    while True:
        delivery = subscriber.deliveries.get(timeout=30)
        if needle in delivery.body:
            return delivery.received - began


if __name__ == "__main__":
    main()
