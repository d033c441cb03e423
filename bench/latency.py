"""Change-to-feed latency of `aggregator run` (not part of the test suite).

Generates a corpus (default 10,000 seeds), starts the daemon on it, then edits one seed
at a time the way an editor saves (write a temporary file, rename it over the seed) and
measures how long until `feeds/all.atom.xml` carries the edit. Prints p50/p95/max and
saves the figures as JSON.

    python -m bench.latency --count 10000 --edits 200
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import generate


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
    parser.add_argument("--out", type=Path, default=Path("bench/results/latency.json"))
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="aggregator-latency-"))
    seeds, feeds, state = work / "seeds", work / "feeds", work / "state.sqlite"
    if not seeds.exists():
        generate(seeds, args.count, seed=1)
    files = sorted(p for p in seeds.rglob("*") if p.is_file())
    log = open(work / "daemon.log", "w")  # noqa: SIM115 - lives as long as the daemon
    daemon = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "run", "--seeds", str(seeds), "--feeds", str(feeds),
         "--state", str(state)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        start = time.monotonic()
        while "cycle trigger=start" not in (work / "daemon.log").read_text():
            if daemon.poll() is not None:
                raise SystemExit("daemon exited:\n" + (work / "daemon.log").read_text())
            time.sleep(0.1)
        print(f"initial publish of {len(files)} seeds: {time.monotonic() - start:.1f} s")
        target = feeds / "all.atom.xml"
        latencies = []
        for i in range(args.edits):
            marker = f"Latency probe {i}"
            stamp = f"2026-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"
            path = files[(i * 7919) % len(files)]
            began = time.monotonic()
            _edit(path, marker, stamp)
            needle = marker.encode()
            while needle not in target.read_bytes():
                if time.monotonic() - began > 30:
                    raise SystemExit(f"edit {i} never reached the feed")
                time.sleep(0.005)
            latencies.append(time.monotonic() - began)
        latencies.sort()
        p50 = statistics.median(latencies)
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        figures = {"seeds": len(files), "edits": len(latencies), "p50_s": round(p50, 3),
                   "p95_s": round(p95, 3), "max_s": round(latencies[-1], 3)}
        print(f"change-to-feed latency over {len(latencies)} edits on {len(files)} seeds: "
              f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        log.close()


if __name__ == "__main__":
    main()
