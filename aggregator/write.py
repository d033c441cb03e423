"""The only module that touches `feeds/`: atomic, write-if-changed, never outside it."""

from __future__ import annotations

import contextlib
import ctypes
import os
import stat
from collections.abc import Callable, Iterator
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


def write_if_changed(root: Path, rel: str, data: bytes) -> bool:
    """Atomically replace `root/rel` with `data` unless it already holds those bytes
    (a batch of one file: see `Batch`)."""
    with batch(root) as one:
        changed = one.add(rel, data)
    return changed


class Batch:
    """Files written together, each atomically: to a temporary file in its folder first,
    then all of them made durable at once (`_make_durable`), then each renamed into
    place, and each folder fsynced once. A reader sees every file old or new, never half
    of one, even after a crash; a file that already holds its bytes is left alone.
    `batch()` commits on leaving, or removes the temporary files on an error."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: list[tuple[str, bool]] = []  # (path below root, whether its bytes changed)
        self._pending: list[tuple[Path, Path]] = []  # (temporary file, target) to rename on commit

    def add(self, rel: str, data: bytes) -> bool:
        """`data` for `root/rel`, written to a temporary file unless the file holds it
        already; returns whether it will change."""
        target = _target(self.root, rel)
        try:
            unchanged = target.stat().st_size == len(data) and target.read_bytes() == data
        except FileNotFoundError:
            unchanged = False
        self.written.append((rel, not unchanged))
        if unchanged:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}{TEMP_MARK}")
        self._pending.append((temp, target))
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            if exc.filename is None:  # a full disk says so on write(), with no file name: name the feed
                raise OSError(exc.errno, exc.strerror, str(target)) from exc
            raise
        return True

    def commit(self) -> None:
        """Every file added made durable, then put in place; the folders fsynced."""
        pending, self._pending = self._pending, []
        done = 0
        try:
            _make_durable(pending)
            folders = set()
            for temp, target in pending:
                os.replace(temp, target)
                done += 1
                folders.add(target.parent)
            sync_folders(folders)
        except BaseException:
            _unlink(pending[done:])
            raise

    def discard(self) -> None:
        """The temporary files not yet put in place removed."""
        _unlink(self._pending)
        self._pending.clear()


def _unlink(pending: list[tuple[Path, Path]]) -> None:
    for temp, _ in pending:
        temp.unlink(missing_ok=True)


@contextlib.contextmanager
def batch(root: Path) -> Iterator[Batch]:
    """A `Batch` of files below `root`, committed when the block ends without an error."""
    files = Batch(root)
    try:
        yield files
    except BaseException:
        files.discard()
        raise
    files.commit()


def _make_durable(pending: list[tuple[Path, Path]]) -> None:
    """The temporary files' bytes on disk. One file is fsynced. Many are made durable
    by one `syncfs` per file system they are on (Linux): a single journal commit for all
    of them, where an fsync each would commit the journal once per file, most of the cost
    of writing many small files. Elsewhere, each is fsynced."""
    if len(pending) > 1 and _SYNCFS is not None:
        devices: dict[int, Path] = {}
        for temp, _ in pending:
            devices.setdefault(temp.parent.stat().st_dev, temp)
        for temp in devices.values():
            _syncfs(temp)
        return
    for temp, target in pending:
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        except OSError as exc:  # a full disk may say so only now: name the feed
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        finally:
            os.close(fd)


def _syncfs(temp: Path) -> None:
    assert _SYNCFS is not None
    fd = os.open(temp, os.O_RDONLY)
    try:
        if _SYNCFS(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), str(temp.parent))
    finally:
        os.close(fd)


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        function: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):  # not Linux
        return None
    return function


_SYNCFS = _load_syncfs()


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
