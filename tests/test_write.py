"""Writing below the feeds folder: atomic, write-if-changed, never outside it. No CLI."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from aggregator import write
from aggregator.write import TEMP_MARK, clean_temporaries, existing, remove

OLD_NS = 1_600_000_000_000_000_000  # an mtime in the past, set by hand: no sleeping


@pytest.fixture
def feeds(tmp_path: Path) -> Path:
    root = tmp_path / "feeds"
    root.mkdir()
    return root


def write_if_changed(root: Path, rel: str, data: bytes) -> bool:
    """One file written as the publisher writes any: a batch of one (fsynced, not synced
    with the file system)."""
    with write.batch(root) as one:
        changed = one.add(rel, data)
    return changed


def every_file(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# --- one file --------------------------------------------------------------------------------


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


@pytest.mark.parametrize("rel", ["../x.xml", "topics/../../x.xml", "/tmp/x.xml", "/x.xml", "", ".", "topics/.."])
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


def test_a_batch_looks_at_each_file_for_a_link_after_its_folder_was_seen(feeds: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.xml").write_bytes(b"keep")
    (feeds / "topics").mkdir()
    os.symlink(tmp_path / "outside.xml", feeds / "topics" / "linked.rss.xml")
    os.symlink(feeds / "topics" / "inside.xml", feeds / "topics" / "alias.rss.xml")
    with pytest.raises(ValueError) as caught, write.batch(feeds) as files:
        files.add("topics/ai.rss.xml", b"<rss>ai</rss>")  # the folder is resolved once, here
        files.add("topics/alias.rss.xml", b"<rss>alias</rss>")  # a link inside: written where it leads
        files.add("topics/linked.rss.xml", b"x")
    assert str(caught.value) == "refusing to write outside the feeds folder: 'topics/linked.rss.xml'"
    assert (tmp_path / "outside.xml").read_bytes() == b"keep"
    with write.batch(feeds) as files:
        files.add("topics/ai.rss.xml", b"<rss>ai</rss>")
        files.add("topics/alias.rss.xml", b"<rss>alias</rss>")
    assert (feeds / "topics" / "inside.xml").read_bytes() == b"<rss>alias</rss>"
    assert files.written == [("topics/ai.rss.xml", True), ("topics/alias.rss.xml", True)]


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


def test_a_batch_puts_its_files_in_place_only_once_all_are_durable(feeds: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    write_if_changed(feeds, "a/same.xml", b"<same/>")
    os.utime(feeds / "a/same.xml", ns=(OLD_NS, OLD_NS))
    events: list[object] = []
    make_durable = write._make_durable

    def durable(pending: list[tuple[Path, Path]]) -> None:
        # Every temporary file written, none in place yet.
        events.append(("durable", sorted(t.name for t, _ in pending), every_file(feeds)))
        make_durable(pending)

    monkeypatch.setattr(write, "_make_durable", durable)
    monkeypatch.setattr(write, "_fsync_dir", lambda folder: events.append(("folder", folder)))
    with write.batch(feeds) as files:
        for rel in ("a/1.xml", "a/2.xml", "b/1.xml", "a/same.xml"):
            files.add(rel, b"<same/>" if rel == "a/same.xml" else rel.encode())
        assert not (feeds / "a/1.xml").exists()
    assert files.written == [("a/1.xml", True), ("a/2.xml", True), ("b/1.xml", True), ("a/same.xml", False)]
    temps = sorted(f"{d}/.{n}.{os.getpid()}{TEMP_MARK}" for d, n in [("a", "1.xml"), ("a", "2.xml"), ("b", "1.xml")])
    assert events[0] == ("durable", ["1.xml", "1.xml", "2.xml"], sorted(["a/same.xml", *temps]))
    assert sorted(events[1:], key=str) == [("folder", (feeds / "a").resolve()), ("folder", (feeds / "b").resolve())]
    assert every_file(feeds) == ["a/1.xml", "a/2.xml", "a/same.xml", "b/1.xml"]
    assert (feeds / "b/1.xml").read_bytes() == b"b/1.xml"
    assert (feeds / "a/same.xml").stat().st_mtime_ns == OLD_NS  # held its bytes: left alone


def test_many_files_are_made_durable_by_one_sync_of_their_file_system_a_few_by_an_fsync_each(
        feeds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if write._SYNCFS is None:
        pytest.skip("syncfs is Linux's")
    synced: list[int] = []
    fsynced: list[int] = []
    monkeypatch.setattr(write, "_SYNCFS", lambda fd: synced.append(fd) or 0)
    monkeypatch.setattr(write.os, "fsync", fsynced.append)
    monkeypatch.setattr(write, "_fsync_dir", lambda folder: None)
    with write.batch(feeds) as files:
        for n in range(write.SYNCFS_MIN_FILES):
            files.add(f"topics/{n}.xml", b"x")
    assert (len(synced), len(fsynced)) == (1, 0)
    with write.batch(feeds) as files:  # a feed's four files: no flush of the whole file system
        for n in range(4):
            files.add(f"providers/{n}.xml", b"x")
    assert (len(synced), len(fsynced)) == (1, 4)
    assert len(every_file(feeds)) == write.SYNCFS_MIN_FILES + 4


def test_a_batch_that_fails_puts_nothing_in_place_and_leaves_no_temporary_file(feeds: Path) -> None:
    write_if_changed(feeds, "a/1.xml", b"old")
    with pytest.raises(RuntimeError), write.batch(feeds) as files:
        files.add("a/1.xml", b"new")
        files.add("a/2.xml", b"new")
        raise RuntimeError("rendering failed")
    assert every_file(feeds) == ["a/1.xml"] and (feeds / "a/1.xml").read_bytes() == b"old"


def _many(files: write.Batch) -> None:
    for n in range(write.SYNCFS_MIN_FILES):
        files.add(f"a/{n}.xml", b"new")


def test_a_failed_sync_of_many_files_falls_back_to_an_fsync_each_which_names_the_file(
        feeds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if write._SYNCFS is None:
        pytest.skip("syncfs is Linux's")
    write_if_changed(feeds, "a/0.xml", b"old")
    monkeypatch.setattr(write, "_SYNCFS", lambda fd: -1)  # an error, maybe another writer's
    monkeypatch.setattr(write, "_fsync_dir", lambda folder: None)
    fsynced: list[int] = []
    monkeypatch.setattr(write.os, "fsync", fsynced.append)
    with write.batch(feeds) as files:
        _many(files)
    assert len(fsynced) == write.SYNCFS_MIN_FILES and (feeds / "a/0.xml").read_bytes() == b"new"

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(write.os, "fsync", full)
    with pytest.raises(OSError) as caught, write.batch(feeds) as files:
        for n in range(write.SYNCFS_MIN_FILES):
            files.add(f"a/{n}.xml", b"newer")
    assert (caught.value.errno, caught.value.filename) == (errno.ENOSPC, str((feeds / "a/0.xml").resolve()))
    assert {(feeds / f"a/{n}.xml").read_bytes() for n in range(write.SYNCFS_MIN_FILES)} == {b"new"}
    assert len(every_file(feeds)) == write.SYNCFS_MIN_FILES  # no temporary file left


def test_a_rename_failing_half_way_leaves_whole_files_and_no_temporary_one(
        feeds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replace = os.replace
    renamed: list[str] = []

    def failing(src: str, dst: str) -> None:
        if len(renamed) == 2:
            raise KeyboardInterrupt
        replace(src, dst)
        renamed.append(dst)

    monkeypatch.setattr(write.os, "replace", failing)
    with pytest.raises(KeyboardInterrupt), write.batch(feeds) as files:
        for n in range(5):
            files.add(f"a/{n}.xml", f"<x>{n}</x>".encode())
    assert every_file(feeds) == ["a/0.xml", "a/1.xml"]  # in place, whole; the rest never was
    assert (feeds / "a/1.xml").read_bytes() == b"<x>1</x>"


def test_a_file_added_twice_to_one_batch_is_refused(feeds: Path) -> None:
    with pytest.raises(ValueError, match="added twice"), write.batch(feeds) as files:
        files.add("a/1.xml", b"one")
        files.add("a/1.xml", b"two")
    assert every_file(feeds) == []
