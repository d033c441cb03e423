"""The benchmarks' own parts that make a claim: `bench.floor` writes what Hugo writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.generate import generate
from tests.conftest import REPO, read_feed


def test_the_floor_writes_rss_and_atom_for_the_home_page_and_every_term_newest_first(tmp_path: Path) -> None:
    generate(tmp_path / "seeds", 120, seed=7)
    proc = subprocess.run([sys.executable, "-m", "bench.floor", str(tmp_path / "seeds"), str(tmp_path / "out")],
                          cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    atoms = sorted(out.rglob("*.atom.xml"))
    assert len(atoms) == len(list(out.rglob("*.rss.xml"))) == int(proc.stdout.split()[2])
    assert {p.parent.name for p in atoms} == {"out", "topics", "providers"}
    combined = read_feed((out / "all.atom.xml").read_bytes())
    assert len(combined.entries) == 50
    dates = [entry.published_parsed for entry in combined.entries]
    assert dates == sorted(dates, reverse=True)
    for path in atoms:
        feed = read_feed(path.read_bytes())
        rss = read_feed(path.with_name(path.name.replace(".atom.", ".rss.")).read_bytes())
        assert not feed.bozo and not rss.bozo, path
        assert [e.id for e in feed.entries] == [e.id for e in rss.entries] != []


def test_the_floor_with_every_output_adds_json_pages_and_the_history_beyond_the_newest(tmp_path: Path) -> None:
    generate(tmp_path / "seeds", 260, seed=8)
    proc = subprocess.run([sys.executable, "-m", "bench.floor", str(tmp_path / "seeds"), str(tmp_path / "out"),
                           "--every-output"], cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    atoms = sorted(p for p in out.rglob("*.atom.xml") if "archive" not in p.parts)
    assert len(atoms) == int(proc.stdout.split()[2])
    links = set()
    for path in sorted((tmp_path / "seeds").rglob("*.*")):
        front = path.read_text(encoding="utf-8").split("---", 2)[1]
        links.add(next(line for line in front.splitlines() if line.startswith("webUrl:")).split(": ", 1)[1].strip('"'))
    for path in atoms:
        stem = path.relative_to(out).as_posix().removesuffix(".atom.xml")
        newest = read_feed(path.read_bytes()).entries
        listed = json.loads((out / f"{stem}.json").read_bytes())["items"]
        assert [item["id"] for item in listed] == [e.id for e in newest]
        assert (out / f"{stem}.html").read_text(encoding="utf-8").count("<article>") == len(newest)
        documents = sorted((out / "archive" / stem).glob("*.atom.xml"), key=lambda p: int(p.name.split(".")[0]))
        archived = []
        for n, document in enumerate(documents, 1):
            feed = read_feed(document.read_bytes())
            assert not feed.bozo, document
            assert len(feed.entries) == 100 or (n == len(documents) and 0 < len(feed.entries) < 100), document
            archived[:0] = feed.entries  # the newest document last
        history = newest + archived
        assert len(newest) == 50 or not archived
        dates = [e.published_parsed for e in history]
        assert dates == sorted(dates, reverse=True)
        assert len({e.id for e in history}) == len(history)
        if stem == "all":
            assert {e.id for e in history} == links and len(documents) == 3


def test_the_checked_floor_leaves_out_a_seed_the_publisher_refuses(tmp_path: Path) -> None:
    generate(tmp_path / "seeds", 40, seed=9)
    refused = sorted((tmp_path / "seeds").rglob("*.md"))[3]
    text = refused.read_text(encoding="utf-8")
    url = next(line for line in text.splitlines() if line.startswith("webUrl:")).split(":", 1)[1].strip().strip('"')
    refused.write_text(text.replace(url, "javascript:alert(1)"), encoding="utf-8")
    found = {}
    for checked in (False, True):
        out = tmp_path / f"out-{checked}"
        args = [str(tmp_path / "seeds"), str(out), "--every-output", *(["--checked"] if checked else [])]
        proc = subprocess.run([sys.executable, "-m", "bench.floor", *args], cwd=REPO, capture_output=True, text=True,
                              check=False)
        assert proc.returncode == 0, proc.stderr
        found[checked] = {e.id for e in read_feed((out / "all.atom.xml").read_bytes()).entries}
    assert found[True] == found[False] - {"javascript:alert(1)"} != found[False]
    assert len(found[True]) == 39
