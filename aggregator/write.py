"""The only module that touches `feeds/`: atomic, write-if-changed, never outside it."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

TEMP_MARK = ".aggregator-tmp"  # our temporary files: hidden, removed on the next run


def _target(root: Path, rel: str) -> Path:
    """`root/rel`, refusing any path that would land outside `root`."""
    root = root.resolve()
    target = (root / rel).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ValueError(f"refusing to write outside the feeds folder: {rel!r}")
    return target


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_if_changed(root: Path, rel: str, data: bytes, synced: set[Path] | None = None) -> bool:
    """Atomically replace `root/rel` with `data` unless it already holds those bytes.

    Temporary file in the same folder, fsync, rename, fsync of the folder: a reader
    sees the old file or the new one, never half of one, even after a crash. With
    `synced`, the folder is added to it instead, for the caller to fsync once with
    `sync_folders` after many files (the rename is atomic either way; the folder's
    fsync makes it durable).
    """
    target = _target(root, rel)
    try:
        if target.stat().st_size == len(data) and target.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}{TEMP_MARK}")
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        if exc.filename is None:  # a full disk says so on write(), with no file name: name the feed
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if synced is None:
        _fsync_dir(target.parent)
    else:
        synced.add(target.parent)
    return True


def sync_folders(folders: set[Path]) -> None:
    """fsync each folder `write_if_changed` left to the caller."""
    for folder in sorted(folders):
        _fsync_dir(folder)


def read_unchanged(root: Path, rel: str, size: int, mtime_ns: int) -> bytes | None:
    """The bytes of `root/rel` if it is still the regular file of this size and mtime
    (as recorded when it was written), else None: not a link, not edited since."""
    target = _target(root, rel)
    if target != root.resolve() / rel:  # reached through a link
        return None
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_size, st.st_mtime_ns) != (size, mtime_ns):
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read()
    finally:
        os.close(fd)
    return data if len(data) == size else None


def remove(root: Path, rel: str) -> bool:
    """Delete `root/rel` if it exists; True when something was removed."""
    target = _target(root, rel)
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    return True


def existing(root: Path, ours: Callable[[str], bool]) -> list[str]:
    """Paths below `root` (relative, '/'-separated) of the files `ours` recognizes."""
    if not root.is_dir():
        return []
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            rel = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            if ours(rel):
                found.append(rel)
    return found


def clean_temporaries(root: Path) -> int:
    """Remove temporary files a killed run left behind; returns how many."""
    removed = 0
    if not root.is_dir():
        return 0
    for folder, _, names in os.walk(root):
        for name in names:
            if name.startswith(".") and name.endswith(TEMP_MARK):
                Path(folder, name).unlink(missing_ok=True)
                removed += 1
    return removed
