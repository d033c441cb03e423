"""Publish benchmark (not part of the test suite): cold, no-op, one edit, a new story, one delete.

For each corpus size it generates a deterministic corpus (bench/generate.py), then runs
`aggregator publish` as a real process and reports, as the median of `--repeat` runs
(cold, no-op, an old story edited, a new story added, a story deleted):
wall time, the publish's own time (after interpreter start-up and imports), peak memory
of the whole process tree (main process plus its worker processes, sampled), and feed
files written, of them archive documents (and the most one feed got) and pages.
Each size runs with archives on and off (`feeds.archives`), one after the other, so
that the two are compared on the same machine in the same state. Beside it, the
floor: loading every seed's front matter with PyYAML's CSafeLoader in one process.

    python -m bench.run --sizes 1000 10000 50000 --repeat 3
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import yaml

import aggregator
from aggregator.formats import FORMATS
from bench.generate import generate

WORK = Path("bench/work")


def publisher_env() -> dict[str, str]:
    """The environment the publisher is measured in: as an installed package runs, with
    the bytecode of its modules cached (`cache_bytecode`). Some machines set
    PYTHONDONTWRITEBYTECODE, under which every run of an editable install compiles the
    package again: about 0.1 s of each publish that a user does not pay."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def cache_bytecode() -> None:
    """The package's bytecode written, as `pip install` writes it, before any run is timed."""
    compileall.compile_dir(Path(aggregator.__file__).parent, quiet=1)


def _run_publish(seeds: Path, feeds: Path, state: Path, config: Path) -> dict[str, float]:
    """One `aggregator publish`, with the tree's peak RSS sampled every 20 ms."""
    # To a file, not a pipe: `-v` lists every file written, more than a pipe holds
    # while nobody reads it.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as output:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "publish", "-v", "--config", str(config), "--seeds", str(seeds),
             "--feeds", str(feeds), "--state", str(state)],
            stdout=output, stderr=subprocess.DEVNULL, text=True, env=publisher_env(),
        )
        peak, peak_pss = watch_peak(proc)
        wall = time.perf_counter() - started
        output.seek(0)
        out = output.read()
    if proc.returncode != 0:
        raise SystemExit(f"publish failed ({proc.returncode}):\n{out}")
    own = float(re.search(r"time: ([\d.]+) s", out).group(1))  # type: ignore[union-attr]
    written = int(re.search(r"(\d+) files written", out).group(1))  # type: ignore[union-attr]
    archived = re.findall(r"^wrote (archive/.*)/\d+\.atom\.xml$", out, re.MULTILINE)
    per_feed = max((archived.count(feed) for feed in set(archived)), default=0)
    pages = len(re.findall(r"^wrote .*\.html$", out, re.MULTILINE))
    return {"wall_s": wall, "publish_s": own, "peak_rss_mb": peak / 2**20, "peak_pss_mb": peak_pss / 2**20,
            "files_written": written, "archive_written": len(archived), "archive_per_feed_max": per_feed,
            "pages_written": pages}


def watch_peak(proc: subprocess.Popen[str]) -> tuple[int, int]:
    """(peak RSS, peak PSS) of the process and its workers until it ends."""
    root = psutil.Process(proc.pid)
    peak = peak_pss = 0
    ticks = 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
            if ticks % 10 == 0:
                # PSS splits pages shared by the forked workers among them: the tree's
                # real share. Reading it (smaps) is costly, so every 200 ms only.
                peak_pss = max(peak_pss, sum(p.memory_full_info().pss for p in tree))
        except psutil.Error:
            pass
        ticks += 1
        time.sleep(0.02)
    return peak, peak_pss


def _floor(seeds: Path) -> float:
    """Seconds to load every seed's front matter with yaml.CSafeLoader, one process."""
    started = time.perf_counter()
    for path in sorted(seeds.rglob("*")):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            yaml.load(text.split("---", 2)[1], Loader=yaml.CSafeLoader)
    return time.perf_counter() - started


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}


def _edit(seeds: Path, n: int) -> None:
    path = sorted(p for p in seeds.rglob("*") if p.is_file())[n * 31 % 997]
    text = path.read_text(encoding="utf-8")
    edited = re.sub(r'^title: "', f'title: "Edit {n} ', text, count=1, flags=re.MULTILINE)
    assert edited != text, path
    path.write_text(edited, encoding="utf-8")


def _new_story(seeds: Path, n: int) -> None:
    """A copy of one seed as a new story, dated an hour ago: it enters its feeds' newest
    items, and so their pages and the front page."""
    source = sorted(p for p in seeds.rglob("*") if p.is_file())[n * 17 % 991]
    text = source.read_text(encoding="utf-8")
    url = re.search(r'^webUrl: "([^"]+)"', text, re.MULTILINE).group(1)  # type: ignore[union-attr]
    moment = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = re.sub(r"^publishedDateTime: .*$", f"publishedDateTime: {moment}", text.replace(url, f"{url}-new-{n}"),
                  count=1, flags=re.MULTILINE)
    (seeds / f"new-{n}.md").write_text(text, encoding="utf-8")


def bench_size(size: int, repeat: int, archives: bool) -> dict[str, Any]:
    corpus = WORK / f"corpus-{size}"
    if not corpus.exists():
        generate(corpus, size, seed=size)
    site = WORK / f"site-{size}"
    seeds, feeds, state = site / "seeds", site / "feeds", site / "state.sqlite"
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(corpus, seeds)
    config = site / "aggregator.yaml"
    config.write_text(f"feeds:\n  archives: {'true' if archives else 'false'}\n", encoding="utf-8")
    result: dict[str, Any] = {"seeds": size, "archives": archives}
    result["csafeloader_floor_s"] = round(statistics.median(_floor(seeds) for _ in range(max(1, repeat // 2))), 3)
    cold = []
    for _ in range(repeat):
        shutil.rmtree(feeds, ignore_errors=True)
        for leftover in site.glob("state.sqlite*"):
            leftover.unlink()
        cold.append(_run_publish(seeds, feeds, state, config))
    result["cold"] = median(cold)
    result["seeds_mb"] = sum(p.stat().st_size for p in seeds.rglob("*") if p.is_file()) / 2**20
    result["state_mb"] = sum(p.stat().st_size for p in site.glob("state.sqlite*")) / 2**20  # with its WAL
    # Every format of the registry is written: a format whose files are missing would
    # make the figures look better than what ships.
    result["feed_files"] = {fmt.name: sum(1 for _ in feeds.rglob("*" + fmt.suffix)) for fmt in FORMATS}
    assert all(result["feed_files"].values()), result["feed_files"]
    result["archive_files"] = sum(1 for _ in (feeds / "archive").rglob("*.xml")) if archives else 0
    result["noop"] = median([_run_publish(seeds, feeds, state, config) for _ in range(repeat)])
    edits = []
    for n in range(repeat):
        _edit(seeds, n)
        edits.append(_run_publish(seeds, feeds, state, config))
    result["one_edit"] = median(edits)
    added = []
    for n in range(repeat):
        _new_story(seeds, n)
        added.append(_run_publish(seeds, feeds, state, config))
    result["new_story"] = median(added)
    deletes = []
    for n in range(repeat):
        sorted(p for p in seeds.rglob("*") if p.is_file())[n * 53 % 991].unlink()
        deletes.append(_run_publish(seeds, feeds, state, config))
    result["one_delete"] = median(deletes)
    return result


def _table(results: list[dict[str, Any]]) -> str:
    """One row per size and archive setting; the no-op, edit, new story and delete are
    whole processes (wall), each also as a share of the cold publish's wall time."""
    rows = ["| seeds | archives | CSafeLoader floor | cold (wall / publish) | cold peak PSS (RSS) "
            "| state (of the seeds' size) | no-op | one edit (files; archive docs, most per feed) "
            "| new story (files, of them pages) | one delete (files) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        cold = r["cold"]["wall_s"]
        edit, new, delete = r["one_edit"], r["new_story"], r["one_delete"]

        def share(run: dict[str, float], cold: float = cold) -> str:
            return f"{run['wall_s']:.2f} s ({run['wall_s'] / cold:.2%})"

        rows.append(
            f"| {r['seeds']:,} | {'on' if r['archives'] else 'off'} | {r['csafeloader_floor_s']:.1f} s "
            f"| {cold:.1f} s / {r['cold']['publish_s']:.1f} s "
            f"| {r['cold']['peak_pss_mb']:.0f} MB ({r['cold']['peak_rss_mb']:.0f} MB) "
            f"| {r['state_mb']:.0f} MB ({r['state_mb'] / r['seeds_mb']:.2f}) | {share(r['noop'])} "
            f"| {share(edit)}, {edit['files_written']:.0f}; {edit['archive_written']:.0f} "
            f"({edit['archive_per_feed_max']:.0f}) "
            f"| {share(new)}, {new['files_written']:.0f}, {new['pages_written']:.0f} "
            f"| {share(delete)}, {delete['files_written']:.0f} |"
        )
    return "\n".join(rows)


def sizes_parser(prog: str, description: str | None, out: str) -> argparse.ArgumentParser:
    """The options of a benchmark over corpus sizes: --sizes, --repeat, and --out (its JSON)."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 50_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(out))
    return parser


def save(out: Path, figures: object) -> None:
    """A benchmark's figures, as JSON, for later runs to compare with."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")


def main() -> None:
    args = sizes_parser("python -m bench.run", __doc__, "bench/results/publish.json").parse_args()
    cache_bytecode()
    results = []
    for size in args.sizes:
        for archives in (True, False):
            print(f"benchmarking {size} seeds, archives {'on' if archives else 'off'}...", file=sys.stderr)
            results.append(bench_size(size, args.repeat, archives))
            print(json.dumps(results[-1]), file=sys.stderr)
    print(_table(results))
    meta = {"python": platform.python_version(), "cpus": psutil.cpu_count(), "repeat": args.repeat}
    save(args.out, {"meta": meta, "results": results})


if __name__ == "__main__":
    main()
