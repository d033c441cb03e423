"""Shared fixtures: a copy of the shipped seeds, a config, a fixed `now`, a CLI runner."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner, Result

from aggregator.cli import main
from aggregator.config import Config, config_from_mapping

REPO = Path(__file__).resolve().parent.parent
SHIPPED_SEEDS = REPO / "seeds"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BASE_URL = "https://feeds.example.org/news/"


@dataclass
class Site:
    """A temporary site: seeds, feeds and state folders, and a CLI that publishes it."""

    root: Path
    runner: CliRunner

    @property
    def seeds(self) -> Path:
        return self.root / "seeds"

    @property
    def feeds(self) -> Path:
        return self.root / "feeds"

    @property
    def state(self) -> Path:
        return self.root / "state" / "state.sqlite"

    def args(self, *extra: str) -> list[str]:
        return ["--seeds", str(self.seeds), "--feeds", str(self.feeds), "--state", str(self.state), *extra]

    def publish(self, *extra: str) -> Result:
        return self.runner.invoke(main, ["publish", *self.args("--base-url", BASE_URL, *extra)])

    def config(self, limits: dict[str, object] | None = None, **feeds: object) -> Config:
        """This site's config, with the given `feeds:` settings and, if given, `limits:`."""
        mapping: dict[str, object] = {
            "site": {"base_url": BASE_URL},
            "paths": {"seeds": str(self.seeds), "feeds": str(self.feeds), "state": str(self.state)},
            "feeds": feeds,
        }
        if limits is not None:
            mapping["limits"] = limits
        return config_from_mapping(mapping)

    def write_seed(self, rel: str, text: str) -> Path:
        path = self.seeds / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def feed_files(self) -> dict[str, bytes]:
        return feed_files(self.feeds)


def feed_files(feeds: Path) -> dict[str, bytes]:
    """Every file below `feeds`, by relative path, with its bytes."""
    return {str(p.relative_to(feeds)): p.read_bytes() for p in sorted(feeds.rglob("*")) if p.is_file()}


def differing(got: dict[str, bytes], want: dict[str, bytes]) -> list[str]:
    """The outputs that differ: each file byte for byte, except that the archive paging
    follows the order in which items arrived. So for each feed, the entries of its Atom
    file and its archive documents taken together must be the same (by id, byte for
    byte), and its Atom file the same but for the number of the archive it links to."""
    plain = sorted(p for p in {*got, *want} if not p.startswith("archive/")
                   and _unlinked(got.get(p)) != _unlinked(want.get(p)))
    ours, theirs = _history(got), _history(want)
    return plain + sorted(stem for stem in {*ours, *theirs} if ours.get(stem) != theirs.get(stem))


# The archive document a feed's Atom file and its page link to as the older items.
_PREV_ARCHIVE = re.compile(rb'\n *<link href="[^"]*" rel="prev-archive"[^>]*/>|\n<nav class="older".*</nav>')


def _unlinked(data: bytes | None) -> bytes | None:
    return None if data is None else _PREV_ARCHIVE.sub(b"", data)


def _history(files: dict[str, bytes]) -> dict[str, dict[str, bytes]]:
    """Each feed's entries in its Atom file and its archive documents, by id; an entry
    is in one archive document at most."""
    by_feed: dict[str, dict[str, bytes]] = {}
    archived_ids: dict[str, set[str]] = {}
    for path, data in files.items():
        archived = path.startswith("archive/")
        if not archived and not path.endswith(".atom.xml"):
            continue
        stem = path.removeprefix("archive/").rsplit("/", 1)[0] if archived else path.removesuffix(".atom.xml")
        entries = by_feed.setdefault(stem, {})
        seen = archived_ids.setdefault(stem, set()) if archived else set()
        for entry in re.findall(rb"  <entry>\n.*?</entry>\n", data, re.S):
            id_ = re.search(rb"<id>(.*?)</id>", entry).group(1).decode()  # type: ignore[union-attr]
            assert id_ not in seen, f"{id_} twice in the archive of {stem}"
            seen.add(id_)
            assert entries.setdefault(id_, entry) == entry, f"{id_} differs in {path}"
    return by_feed


def read_feed(data: bytes, rel: str = "") -> feedparser.FeedParserDict:
    """A feed read as a feed reader does; it must parse without complaint (bozo == 0)."""
    feed = feedparser.parse(data)
    assert feed.bozo == 0, (rel, feed.get("bozo_exception"))
    return feed


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """An empty site (no seeds yet)."""
    (tmp_path / "seeds").mkdir()
    return Site(root=tmp_path, runner=CliRunner())


@pytest.fixture
def shipped(site: Site) -> Site:
    """A site whose seeds are a copy of the repository's shipped `seeds/`."""
    shutil.rmtree(site.seeds)
    shutil.copytree(SHIPPED_SEEDS, site.seeds)
    return site


def seed_text(
    url: str = "https://www.example.com/news/story-1",
    title: str = "A story",
    published: str = "2024-05-01T10:00:00Z",
    topics: tuple[str, ...] = ("Science",),
    provider: tuple[str, str] | None = ("Example News", "example.com"),
    related: str = "",
    extra: str = "",
    body: str = "",
) -> str:
    """A small valid seed; pieces can be replaced to make it invalid."""
    lines = ["---", f'title: "{title}"', f'excerpt: "About {title}"', f"publishedDateTime: {published}",
             f'webUrl: "{url}"']
    if provider:
        lines += ["provider:", f'  name: "{provider[0]}"', f"  domain: {provider[1]}"]
    lines += ["topics:"] + [f'  - "{t}"' for t in topics] if topics else []
    if related:
        lines += ["related:", related.rstrip("\n")]
    if extra:
        lines.append(extra.rstrip("\n"))
    lines += ['secured: "TOP-SECRET-BLOB-0123456789abcdef"', "---", body]
    return "\n".join(lines) + "\n"


def related_item(url: str, title: str, published: str = "2024-05-02T09:00:00Z",
                 provider: tuple[str, str] = ("Other Outlet", "other.example.net")) -> str:
    return (
        f'  - title: "{title}"\n    publishedDateTime: {published}\n    webUrl: "{url}"\n'
        f'    provider:\n      name: "{provider[0]}"\n      domain: {provider[1]}\n'
    )


def count(output: str, label: str) -> int:
    """The number before `label` in a command's summary ("3 skipped"): one match, the whole number."""
    found = re.findall(rf"(?<!\d)(\d+) {re.escape(label)}\b", output)
    assert len(found) == 1, (label, found, output)
    return int(found[0])


PublishFn = Callable[..., Result]


class Mount:
    """A small tmpfs mounted on a folder, to make a disk full or read-only for real.

    Needs root (CI and these machines run tests as root); elsewhere the tests that need
    it are skipped, except read-only ones, which fall back to taking the write bits.
    """

    def __init__(self, path: Path, size_kib: int) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")

    def remount(self, mode: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.path)], check=True)

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], check=False)


@pytest.fixture
def mounts() -> Iterator[Callable[[Path, int], Mount]]:
    """Mounts tmpfs folders; every one is unmounted at the end, whatever happened."""
    made: list[Mount] = []

    def mount(path: Path, size_kib: int = 4096) -> Mount:
        made.append(Mount(path, size_kib))
        return made[-1]

    yield mount
    for m in reversed(made):
        m.unmount()
