"""Golden files: the exact bytes rendered from `tests/golden/seeds/`.

Behaviour is checked elsewhere by reading feeds back; this pins the bytes, so that any
change to the output is seen in review. To regenerate after an intended change:

    AGGREGATOR_UPDATE_GOLDEN=1 python -m pytest tests/test_render.py

and read the diff of `tests/golden/expected/` before committing it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from aggregator.publish import publish
from tests.conftest import NOW, REPO, Site, read_feed

GOLDEN = REPO / "tests" / "golden"


def test_rendered_feeds_match_the_golden_files(site: Site) -> None:
    shutil.rmtree(site.seeds)
    shutil.copytree(GOLDEN / "seeds", site.seeds)
    result = publish(site.config(), NOW)
    assert result.errors == ()
    files = site.feed_files()
    expected_dir = GOLDEN / "expected"
    if os.environ.get("AGGREGATOR_UPDATE_GOLDEN"):
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, data in files.items():
            (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / rel).write_bytes(data)
    expected = {
        str(p.relative_to(expected_dir)): p.read_bytes() for p in sorted(expected_dir.rglob("*")) if p.is_file()
    }
    assert sorted(files) == sorted(expected)
    for rel, data in files.items():
        assert data == expected[rel], f"{rel} differs from tests/golden/expected/{rel} (see this module's docstring)"
    for rel, data in files.items():
        if rel.endswith(".xml"):
            read_feed(data, rel)
    assert not any(b"GOLDEN-SECRET" in data for data in files.values())


def test_golden_story_normalization_reads_back(site: Site) -> None:
    shutil.rmtree(site.seeds)
    shutil.copytree(GOLDEN / "seeds", site.seeds)
    publish(site.config(), NOW)
    feed = read_feed((site.feeds / "topics/space.atom.xml").read_bytes(), "topics/space.atom.xml")
    [entry] = feed.entries
    assert entry.title == "Probe lands on the Moon & sends AT&T a photo"
    assert entry.link == "https://www.example.com/space/probe-lands?id=7"
    assert entry.summary == "The lander touched down at 10:14 UTC; engineers say a < b and <3 the team."
    assert entry.published == "2024-03-01T08:14:00+00:00"
    assert [t.term for t in entry.tags] == ["space", "science"]
    assert entry.media_thumbnail[0]["url"] == "https://img.example.com/large.jpg"
    content = entry.content[0].value
    assert "<strong>lander</strong>" in content and "&lt;script&gt;" in content and "<script>" not in content
    assert "https://other.example.org/moon" in content and "javascript" not in content
    rel = "providers/other.example.org.atom.xml"
    provider = read_feed((site.feeds / rel).read_bytes(), rel)
    assert [e.link for e in provider.entries] == ["https://other.example.org/moon", "https://other.example.org/older"]
    assert Path(site.feeds / "topics/science.rss.xml").exists()
