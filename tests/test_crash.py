"""Crash safety and concurrency of `aggregator publish`, run as real subprocesses.

* A publish killed with SIGKILL at a point the test picks (seeded: inside a batch's
  transaction, while rendering, between a temporary file and its rename, ...; see
  `tests/crash_hook.py`) never leaves a half-written file in `feeds/` nor a damaged
  state database, and the next publish repairs everything: its feeds are byte-identical
  to a clean cold publish of the same seeds. The run waits at that point until it is
  killed, so how fast the machine is changes nothing.
* Two publishes on the same state never interleave their writes: one waits or says that
  another is running.
* A seed edited while a publish runs is picked up by the next one.

Subprocesses run with the temporary folder as their working directory, so that the
repository's own `config/aggregator.yaml` is not read.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree, html

from tests.conftest import BASE_URL, count, differing, feed_files, read_feed, seed_text

TEMP_MARK = ".aggregator-tmp"  # write.TEMP_MARK; spelled out so the test does not depend on it
CRASH_SEEDS = 1500
CONCURRENCY_SEEDS = 500
KILL_ROUNDS = 12
HOOK_DEADLINE = 300.0  # a run reaches its stopping point long before this, even on a loaded machine
REPO = Path(__file__).resolve().parent.parent


def make_corpus(out: Path, count: int, seed: int) -> None:
    """The benchmark generator's corpus when it is there, else simple seeds of our own."""
    try:
        from bench.generate import generate
    except ImportError:
        rng = random.Random(seed)
        for i in range(count):
            path = out / f"{i // 1000:04d}" / f"{i:06d}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            topics = tuple(rng.sample(["Space", "Health", "Markets", "AI", "Climate", "Sport"], 2))
            path.write_text(seed_text(url=f"https://news{i % 50}.example.com/{i}", title=f"Story {i}",
                                      published=f"20{10 + i % 15}-0{1 + i % 9}-1{i % 10}T10:00:00Z",
                                      topics=topics, provider=(f"News {i % 50}", f"news{i % 50}.example.com")))
        return
    generate(out, count, seed)


class Publisher:
    """`aggregator publish` as a subprocess on one seeds/feeds/state triple."""

    def __init__(self, root: Path, seeds: Path, name: str) -> None:
        self.root = root
        self.seeds = seeds
        self.feeds = root / name / "feeds"
        self.state = root / name / "state" / "state.sqlite"

    def command(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "aggregator", "publish", "--seeds", str(self.seeds), "--feeds",
                str(self.feeds), "--state", str(self.state), "--base-url", BASE_URL, "-q", *extra]

    def start(self, *extra: str, capture: bool = True) -> subprocess.Popen[str]:
        # Its own session: the pid is also the process group of its worker processes.
        pipe = subprocess.PIPE if capture else subprocess.DEVNULL
        return subprocess.Popen(self.command(*extra), cwd=self.root, stdout=pipe, stderr=pipe, text=True,
                                start_new_session=True)

    def start_stopping_at(self, marker: Path, *stops: tuple[str, int], capture: bool = True,
                          ) -> subprocess.Popen[str]:
        """A publish that stops at each (point, nth) until `marker` is deleted (tests/crash_hook.py)."""
        marker.unlink(missing_ok=True)
        command = self.command()
        hooked = [sys.executable, "-m", "tests.crash_hook", str(marker), *(f"{p}:{n}" for p, n in stops), "--",
                  *command[3:]]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        pipe = subprocess.PIPE if capture else subprocess.DEVNULL
        return subprocess.Popen(hooked, cwd=self.root, stdout=pipe, stderr=pipe, text=True, start_new_session=True,
                                env=env)

    def run(self, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        proc = self.start(*extra)
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            kill_group(proc)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def files(self) -> dict[str, bytes]:
        return feed_files(self.feeds)


def kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the process and every worker it forked (its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def temporaries(feeds: Path) -> set[str]:
    return {str(p.relative_to(feeds)) for p in feeds.rglob("*") if TEMP_MARK in p.name} if feeds.exists() else set()


def check_feeds_complete(feeds: Path, since_ns: int) -> int:
    """Every served file is whole and well-formed; returns how many files were checked.

    Temporary files are skipped (the next publish removes them). Every XML file gets a
    strict lxml parse; feedparser reads those written since `since_ns` and the combined feeds.
    """
    checked = 0
    if not feeds.exists():
        return 0
    for path in feeds.rglob("*"):
        if not path.is_file() or TEMP_MARK in path.name:
            continue
        rel = str(path.relative_to(feeds))
        data = path.read_bytes()
        assert data, f"{rel} is empty"
        if rel.endswith(".xml"):
            etree.fromstring(data)  # raises on a truncated or interleaved file
            if path.stat().st_mtime_ns >= since_ns or rel.startswith("all."):
                read_feed(data, rel)
        elif rel.endswith(".json"):
            json.loads(data)  # raises on a truncated file
        elif rel.endswith(".html"):
            assert data.rstrip().endswith(b"</html>"), f"{rel} is cut short"
            html.document_fromstring(data)
        elif rel == "style.css":
            assert data.rstrip().endswith(b"}"), "style.css is cut short"
        elif rel == "feeds.opml":
            etree.fromstring(data)
        else:
            raise AssertionError(f"unexpected file in feeds/: {rel}")
        checked += 1
    return checked


def check_integrity(state: Path) -> None:
    if not state.exists():
        return
    db = sqlite3.connect(f"file:{state}?mode=rw", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        # killed before its first transaction: an empty database, which the next run fills
        if tables:
            db.execute("SELECT count(*) FROM seeds").fetchone()
    finally:
        db.close()


def drop_state(state: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def crash_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seeds = tmp_path_factory.mktemp("crash-corpus") / "seeds"
    make_corpus(seeds, CRASH_SEEDS, seed=2024)
    return seeds


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seeds = tmp_path_factory.mktemp("small-corpus") / "seeds"
    make_corpus(seeds, CONCURRENCY_SEEDS, seed=7)
    return seeds


@pytest.fixture
def reaper() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started: whatever happens, their groups are killed at the end."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.returncode is None or proc.poll() is None:
            kill_group(proc)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # orphaned workers, if any


# --- SIGKILL at points the test picks ----------------------------------------------------

# For each scenario, the stopping points its run surely or likely reaches, with how many
# times at most (the run is stopped at a random one of those times).
STOPS = {
    "cold": [("store-seed", CRASH_SEEDS), ("end-bulk-load", 1), ("render", 40), ("record-output", 80),
             ("rename", 40)],
    "edit": [("store-seed", 25), ("refresh", 25), ("render", 4), ("rename", 3), ("record-output", 4)],
    "delete": [("refresh", 10), ("remove", 2), ("record-output", 2)],
    "recover": [("store-seed", 10), ("refresh", 10), ("render", 3), ("rename", 2), ("record-output", 3)],
}
STOPS["fresh"] = STOPS["cold"]
STOPS["no-state"] = [(point, n) for point, n in STOPS["cold"] if point != "rename"]  # same bytes: no rename
STOPS["restore"] = STOPS["edit"]


def stopped(proc: subprocess.Popen[str], marker: Path) -> str | None:
    """Wait until the run is stopped at one of its points ("point:nth"), or has
    finished (None: it never reached the point)."""
    end = time.monotonic() + HOOK_DEADLINE
    while not marker.exists():
        if proc.poll() is not None:
            return None
        assert time.monotonic() < end, "the run neither reached its stopping point nor finished"
        time.sleep(0.02)
    return marker.read_text().strip()


def run_until_stopped(victim: Publisher, point: str, nth: int, marker: Path,
                      reaper: list[subprocess.Popen[str]]) -> bool:
    """Start a publish that stops at (`point`, `nth`), and SIGKILL it there; False if
    it finished without reaching that point."""
    proc = victim.start_stopping_at(marker, (point, nth))
    reaper.append(proc)
    if stopped(proc, marker) is None:
        _, err = proc.communicate()
        assert proc.returncode == 0, err
        return False
    kill_group(proc)
    return True


def test_sigkill_at_chosen_points_never_corrupts_feeds_or_state(
    tmp_path: Path, crash_corpus: Path, reaper: list[subprocess.Popen[str]]
) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(crash_corpus, seeds)
    files = sorted(p for p in seeds.rglob("*") if p.is_file())

    reference = Publisher(tmp_path, seeds, "reference").run()
    assert reference.returncode == 0, reference.stderr
    expected = Publisher(tmp_path, seeds, "reference").files()
    assert len(expected) > 50

    victim = Publisher(tmp_path, seeds, "victim")
    marker = tmp_path / "stopped-here"
    rng = random.Random(20261127)
    edited: dict[Path, bytes] = {}  # seed -> original bytes, restored before the end
    moved: dict[Path, Path] = {}  # seed -> where it waits outside seeds/
    holding = tmp_path / "holding"
    holding.mkdir()
    kills: list[str] = []
    log = []
    for i in range(KILL_ROUNDS):
        # Vary what the killed run is doing: a cold start, recovery, an incremental update.
        scenario = "cold" if i == 0 else rng.choice(
            ["recover", "edit", "edit", "delete", "restore", "no-state", "no-state", "fresh"])
        if scenario == "edit":
            for path in rng.sample(files, 25):
                if path.exists():
                    data = path.read_bytes()
                    edited.setdefault(path, data)
                    path.write_bytes(data.replace(b'\ntitle: "', f'\ntitle: "Edit {i} '.encode(), 1))
        elif scenario == "delete":
            for path in rng.sample(files, 10):
                if path.exists() and path not in moved:
                    moved[path] = holding / f"{len(moved)}{path.suffix}"
                    os.replace(path, moved[path])
        elif scenario == "restore":
            for path, data in edited.items():
                path.write_bytes(data)
            edited.clear()
        elif scenario == "no-state":
            drop_state(victim.state)
        elif scenario == "fresh":
            drop_state(victim.state)
            shutil.rmtree(victim.feeds, ignore_errors=True)
        point, most = rng.choice(STOPS[scenario])
        nth = rng.randint(1, most)
        run_started_ns = time.time_ns()
        killed = run_until_stopped(victim, point, nth, marker, reaper)
        log.append(f"{i}: {scenario:8} at {point} #{nth}: {'killed' if killed else 'finished first'}")
        if killed:
            kills.append(point)
        check_feeds_complete(victim.feeds, run_started_ns)
        check_integrity(victim.state)
        if killed and point == "rename":
            assert temporaries(victim.feeds), "a run killed before a rename leaves its temporary file"

    for path, data in edited.items():
        path.write_bytes(data)
    for path, where in moved.items():
        os.replace(where, path)
    final = victim.run()
    print("\n" + "\n".join(log))
    assert final.returncode == 0, final.stderr
    assert "Traceback" not in final.stderr
    assert kills[0] in dict(STOPS["cold"]) and len(set(kills)) >= 3, log  # the first run is always stopped
    assert temporaries(victim.feeds) == set()
    check_integrity(victim.state)
    assert differing(victim.files(), expected) == []
    again = victim.run()
    assert again.returncode == 0 and count(again.stdout, "files written") == 0, again.stdout


def test_sigkill_of_the_main_process_alone_leaves_no_stale_lock(
    tmp_path: Path, crash_corpus: Path, reaper: list[subprocess.Popen[str]]
) -> None:
    victim = Publisher(tmp_path, crash_corpus, "victim")
    marker = tmp_path / "stopped-here"
    # No pipes: orphaned workers would hold them open, and reading them would never end.
    # Stopped while storing seeds that the worker processes are still parsing.
    proc = victim.start_stopping_at(marker, ("store-seed", CRASH_SEEDS // 2), capture=False)
    reaper.append(proc)
    assert stopped(proc, marker) == f"store-seed:{CRASH_SEEDS // 2}"
    os.kill(proc.pid, signal.SIGKILL)  # the main process only, as the OOM killer or `kill -9 PID` does
    proc.wait(timeout=30)
    after = victim.run(timeout=60)
    assert after.returncode == 0, after.stderr
    assert check_feeds_complete(victim.feeds, 0) > 0


# --- state loss -------------------------------------------------------------------------------


def test_state_deleted_then_seed_deleted_leaves_no_stale_feed(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.md").write_text(seed_text(url="https://a.example.com/1", topics=("Space",),
                                          provider=("A", "a.example.com")))
    (seeds / "b.md").write_text(seed_text(url="https://example.com/2", topics=("Health",)))
    site = Publisher(tmp_path, seeds, "site")
    assert site.run().returncode == 0
    assert "topics/space.atom.xml" in site.files()
    drop_state(site.state)
    (seeds / "a.md").unlink()
    assert site.run().returncode == 0
    clean = Publisher(tmp_path, seeds, "clean")
    assert clean.run().returncode == 0
    assert sorted(site.files()) == sorted(clean.files())


def test_state_deleted_after_a_kill_is_rebuilt_identically(
    tmp_path: Path, small_corpus: Path, reaper: list[subprocess.Popen[str]]
) -> None:
    reference = Publisher(tmp_path, small_corpus, "reference")
    assert reference.run().returncode == 0
    victim = Publisher(tmp_path, small_corpus, "victim")
    # Halfway through a cold run: its seeds stored, some feeds renamed into place.
    assert run_until_stopped(victim, "rename", 10, tmp_path / "stopped-here", reaper)
    assert temporaries(victim.feeds)
    drop_state(victim.state)
    result = victim.run()
    assert result.returncode == 0, result.stderr
    assert temporaries(victim.feeds) == set()
    assert victim.files() == reference.files()


# --- two writers --------------------------------------------------------------------------------


def test_two_publishes_at_once_one_refuses(
    tmp_path: Path, small_corpus: Path, reaper: list[subprocess.Popen[str]]
) -> None:
    reference = Publisher(tmp_path, small_corpus, "reference")
    assert reference.run().returncode == 0
    shared = Publisher(tmp_path, small_corpus, "shared")
    procs = [shared.start(), shared.start()]
    reaper.extend(procs)
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out, err))
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 3], results
    [(_, _, refused)] = [r for r in results if r[0] == 3]
    assert "another aggregator process" in refused and "--wait" in refused
    assert "Traceback" not in refused
    assert shared.files() == reference.files()
    check_integrity(shared.state)


def test_two_publishes_with_wait_both_succeed_one_after_the_other(
    tmp_path: Path, small_corpus: Path, reaper: list[subprocess.Popen[str]]
) -> None:
    reference = Publisher(tmp_path, small_corpus, "reference")
    assert reference.run().returncode == 0
    shared = Publisher(tmp_path, small_corpus, "shared")
    first = shared.start("--wait")
    second = shared.start("--wait")
    reaper.extend([first, second])
    outs = [p.communicate(timeout=120) for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), outs
    # one of them did the work, the other found nothing left to do
    summaries = [out for out, _ in outs]
    assert sorted(count(s, "read") == 0 for s in summaries) == [False, True], summaries
    assert shared.files() == reference.files()
    assert temporaries(shared.feeds) == set()
    check_integrity(shared.state)


def test_seeds_edited_during_a_publish_are_picked_up_by_the_next(
    tmp_path: Path, crash_corpus: Path, reaper: list[subprocess.Popen[str]]
) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(crash_corpus, seeds)
    files = sorted(p for p in seeds.rglob("*") if p.is_file())
    rng = random.Random(5)
    site = Publisher(tmp_path, seeds, "site")
    marker = tmp_path / "stopped-here"
    # Edits while it parses and stores, while it re-derives, and while it writes feeds.
    stops = [("store-seed", 10), ("store-seed", CRASH_SEEDS // 2), ("end-bulk-load", 1), ("render", 3)]
    proc = site.start_stopping_at(marker, *stops)
    reaper.append(proc)
    for (point, nth), path in zip(stops, rng.sample(files, len(stops)), strict=True):
        assert stopped(proc, marker) == f"{point}:{nth}"
        # rewritten in place (not atomically), as many editors and scripts do
        path.write_bytes(path.read_bytes().replace(b'\ntitle: "', f'\ntitle: "Edited at {point} {nth} '.encode(), 1))
        if point == "render":
            rng.choice(files).unlink()
            (seeds / "new.md").write_text(seed_text(url="https://late.example.org/new", title="Added during the run",
                                                    published="2025-12-31T23:00:00Z"))
        marker.unlink()  # go on
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert site.run().returncode == 0
    assert count(site.run().stdout, "read") == 0  # and nothing is left to pick up after that
    clean = Publisher(tmp_path, seeds, "clean")
    assert clean.run().returncode == 0
    assert differing(site.files(), clean.files()) == []
    assert b"Added during the run" in site.files()["all.atom.xml"]
