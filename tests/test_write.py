"""Writing below the feeds folder: atomic, write-if-changed, never outside it. No CLI."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from aggregator import write
from aggregator.write import TEMP_MARK, clean_temporaries, existing, remove, write_if_changed

OLD_NS = 1_600_000_000_000_000_000  # an mtime in the past, set by hand: no sleeping


@pytest.fixture
def feeds(tmp_path: Path) -> Path:
    root = tmp_path / "feeds"
    root.mkdir()
    return root


def every_file(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# --- write_if_changed ------------------------------------------------------------------------


def test_write_creates_the_file_and_its_folders(feeds: Path) -> None:
    assert write_if_changed(feeds, "topics/ai.rss.xml", b"<rss/>") is True
    assert (feeds / "topics" / "ai.rss.xml").read_bytes() == b"<rss/>"
    assert every_file(feeds) == ["topics/ai.rss.xml"]


def test_same_bytes_are_not_rewritten_and_keep_their_mtime(feeds: Path) -> None:
    write_if_changed(feeds, "all.atom.xml", b"<feed/>")
    target = feeds / "all.atom.xml"
    os.utime(target, ns=(OLD_NS, OLD_NS))
    inode = target.stat().st_ino
    assert write_if_changed(feeds, "all.atom.xml", b"<feed/>") is False
    assert (target.stat().st_mtime_ns, target.stat().st_ino) == (OLD_NS, inode)


@pytest.mark.parametrize("new", [b"<feed>changed</feed>", b"<feed/ >", b""], ids=["longer", "same-size", "empty"])
def test_different_bytes_replace_the_file_by_rename(feeds: Path, new: bytes) -> None:
    write_if_changed(feeds, "all.atom.xml", b"<feed/>")
    target = feeds / "all.atom.xml"
    os.utime(target, ns=(OLD_NS, OLD_NS))
    inode = target.stat().st_ino
    assert write_if_changed(feeds, "all.atom.xml", new) is True
    assert target.read_bytes() == new
    assert target.stat().st_mtime_ns != OLD_NS
    assert target.stat().st_ino != inode  # a new file renamed over the old one, not rewritten in place


def test_a_write_leaves_no_temporary_file(feeds: Path) -> None:
    for n in range(3):
        write_if_changed(feeds, "providers/example.com.rss.xml", f"<rss>{n}</rss>".encode())
    assert sorted(p.name for p in feeds.rglob("*")) == ["example.com.rss.xml", "providers"]


@pytest.mark.parametrize("rel", ["../x.xml", "topics/../../x.xml", "/tmp/x.xml", "", ".", "topics/.."])
def test_paths_outside_the_feeds_folder_are_refused(feeds: Path, rel: str) -> None:
    with pytest.raises(ValueError) as caught:
        write_if_changed(feeds, rel, b"x")
    assert str(caught.value) == f"refusing to write outside the feeds folder: {rel!r}"
    assert every_file(feeds.parent) == []


def test_a_symlink_leading_out_of_the_feeds_folder_is_refused(feeds: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", feeds / "topics")
    with pytest.raises(ValueError) as caught:
        write_if_changed(feeds, "topics/ai.rss.xml", b"x")
    assert str(caught.value) == "refusing to write outside the feeds folder: 'topics/ai.rss.xml'"
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_a_full_disk_names_the_feed_and_keeps_the_old_file(feeds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_if_changed(feeds, "topics/ai.rss.xml", b"<rss>old</rss>")

    def fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(write.os, "fsync", fsync)
    with pytest.raises(OSError) as caught:
        write_if_changed(feeds, "topics/ai.rss.xml", b"<rss>new</rss>")
    target = (feeds / "topics" / "ai.rss.xml").resolve()
    assert (caught.value.errno, caught.value.strerror, caught.value.filename) == (
        errno.ENOSPC, "No space left on device", str(target))
    assert str(caught.value) == f"[Errno 28] No space left on device: '{target}'"
    assert target.read_bytes() == b"<rss>old</rss>"
    assert every_file(feeds) == ["topics/ai.rss.xml"]  # no temporary file left


def test_an_error_that_names_a_file_is_raised_as_it_is(feeds: Path) -> None:
    (feeds / "topics").write_bytes(b"a file where a folder should be")
    with pytest.raises(NotADirectoryError) as caught:
        write_if_changed(feeds, "topics/ai.rss.xml", b"x")
    assert caught.value.filename == str(feeds.resolve() / "topics" / "ai.rss.xml")


def test_an_interrupted_write_leaves_no_temporary_file(feeds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fsync(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(write.os, "fsync", fsync)
    with pytest.raises(KeyboardInterrupt):
        write_if_changed(feeds, "all.rss.xml", b"x")
    assert every_file(feeds) == []


# --- remove ----------------------------------------------------------------------------------


def test_remove_deletes_an_existing_file(feeds: Path) -> None:
    write_if_changed(feeds, "topics/ai.rss.xml", b"x")
    assert remove(feeds, "topics/ai.rss.xml") is True
    assert every_file(feeds) == []


def test_remove_of_a_missing_file_is_false(feeds: Path) -> None:
    assert remove(feeds, "topics/none.rss.xml") is False


@pytest.mark.parametrize("rel", ["../outside.xml", "/etc/hostname", ""])
def test_remove_refuses_paths_outside_the_feeds_folder(feeds: Path, rel: str) -> None:
    (feeds.parent / "outside.xml").write_bytes(b"keep")
    with pytest.raises(ValueError) as caught:
        remove(feeds, rel)
    assert str(caught.value) == f"refusing to write outside the feeds folder: {rel!r}"
    assert (feeds.parent / "outside.xml").read_bytes() == b"keep"


# --- existing --------------------------------------------------------------------------------


def test_existing_lists_the_files_it_recognizes_relative_and_slash_separated(feeds: Path) -> None:
    for rel in ("all.rss.xml", "topics/ai.atom.xml", "providers/example.com.rss.xml", "index.html", "x/y/z.rss.xml"):
        write_if_changed(feeds, rel, b"x")
    found = existing(feeds, lambda rel: rel.endswith(".rss.xml"))
    assert sorted(found) == ["all.rss.xml", "providers/example.com.rss.xml", "x/y/z.rss.xml"]


def test_existing_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert existing(tmp_path / "nowhere", lambda rel: True) == []


# --- clean_temporaries -----------------------------------------------------------------------


def test_clean_temporaries_removes_only_our_leftovers(feeds: Path) -> None:
    ours = [f".all.rss.xml.123{TEMP_MARK}", f"topics/.ai.atom.xml.9{TEMP_MARK}", f"a/b/.c{TEMP_MARK}"]
    theirs = ["all.rss.xml", f"visible{TEMP_MARK}", ".hidden", f".{TEMP_MARK}.txt"]
    for rel in ours + theirs:
        (feeds / rel).parent.mkdir(parents=True, exist_ok=True)
        (feeds / rel).write_bytes(b"x")
    assert clean_temporaries(feeds) == 3
    assert every_file(feeds) == sorted(theirs)
    assert clean_temporaries(feeds) == 0


def test_clean_temporaries_of_a_missing_folder_is_zero(tmp_path: Path) -> None:
    assert clean_temporaries(tmp_path / "nowhere") == 0


def test_folders_left_to_the_caller_are_synced_once(feeds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[Path] = []
    monkeypatch.setattr(write, "_fsync_dir", synced.append)
    folders: set[Path] = set()
    for name in ("a/1.xml", "a/2.xml", "b/1.xml"):
        assert write.write_if_changed(feeds, name, b"<x/>", folders)
    assert synced == [] and folders == {(feeds / "a").resolve(), (feeds / "b").resolve()}
    write.sync_folders(folders)
    assert sorted(synced) == sorted(folders)
    assert write.write_if_changed(feeds, "c/1.xml", b"<x/>")  # without: at once, as before
    assert synced[-1] == (feeds / "c").resolve()
