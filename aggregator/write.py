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


class Batch:
    """Files written together, each atomically: to a temporary file in its folder first,
    then all of them made durable at once (`_make_durable`), then each renamed into
    place, and each folder fsynced once. A reader sees every file old or new, never half
    of one, even after a crash; a file that already holds its bytes is left alone.
    `batch()` commits on leaving, or removes the temporary files on an error. A commit
    that fails half-way leaves the files renamed so far in place (new and whole, not
    recorded: the next run looks at them again) and removes the other temporary files.
    Until it commits, a batch holds its files twice on disk: the old and the new."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: list[tuple[str, bool]] = []  # (path below root, whether its bytes changed)
        self._pending: dict[Path, Path] = {}  # target -> its temporary file, to rename on commit
        self._targets: set[Path] = set()  # every file added
        self._root = root.resolve()
        self._folders: dict[str, Path] = {}  # a folder named in the files' paths -> its real path, inside root

    def _target(self, rel: str) -> Path:
        """`_target` with each folder resolved once per batch: a file that is not a link
        then costs one `lstat` rather than one per part of its path, twice."""
        folder, _, name = rel.rpartition("/")
        if name in ("", ".", "..") or rel.startswith("/") or "\0" in rel:
            return _target(self.root, rel)  # the whole path decides: refused, most likely
        parent = self._folders.get(folder)
        if parent is None:
            parent = (self._root / folder).resolve()
            if not parent.is_relative_to(self._root):
                return _target(self.root, rel)  # the whole path decides
            self._folders[folder] = parent
        target = parent / name
        if os.path.islink(target):
            return _target(self.root, rel)  # where the link leads decides
        return target

    def add(self, rel: str, data: bytes) -> bool:
        """`data` for `root/rel`, written to a temporary file unless the file holds it
        already; returns whether it will change."""
        target = self._target(rel)
        if target in self._targets:
            raise ValueError(f"{rel!r} added twice to one batch")
        self._targets.add(target)
        try:
            unchanged = target.stat().st_size == len(data) and target.read_bytes() == data
        except FileNotFoundError:
            unchanged = False
        self.written.append((rel, not unchanged))
        if unchanged:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}{TEMP_MARK}")
        self._pending[target] = temp
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
        pending = list(self._pending.items())
        try:
            _make_durable(pending)
            folders = set()
            for target, temp in pending:
                os.replace(temp, target)
                del self._pending[target]
                folders.add(target.parent)
            _sync_folders(folders)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """The temporary files not yet put in place removed."""
        for temp in self._pending.values():
            temp.unlink(missing_ok=True)
        self._pending.clear()


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


# From this many files on, a batch is made durable by `syncfs` rather than an fsync each.
SYNCFS_MIN_FILES = 32


def _make_durable(pending: list[tuple[Path, Path]]) -> None:
    """The temporary files' bytes on disk ((target, temporary file) pairs).

    A few files are fsynced each. Many are made durable by one `syncfs` per file system
    they are on (Linux): a single journal commit for all of them, where an fsync each
    commits the journal once per file, most of the cost of writing many small files. It
    also flushes whatever else is waiting on that file system, so a small batch (a feed's
    files in the daemon) does not use it. Should `syncfs` report an error, which may be
    another writer's, or be missing (not Linux), each file is fsynced instead: an error
    then names the file it is about. (Before Linux 5.8 `syncfs` reports no write errors.)
    """
    if len(pending) >= SYNCFS_MIN_FILES and _SYNCFS is not None:
        devices: dict[int, Path] = {}
        for _, temp in pending:
            devices.setdefault(temp.parent.stat().st_dev, temp)
        if all(_syncfs(temp) for temp in devices.values()):
            return
    for target, temp in pending:
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        except OSError as exc:  # a full disk may say so only now: name the feed
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        finally:
            os.close(fd)


def _syncfs(temp: Path) -> bool:
    """`syncfs` of the file system `temp` is on; False if it reports an error."""
    assert _SYNCFS is not None
    fd = os.open(temp, os.O_RDONLY)
    try:
        return bool(_SYNCFS(fd) == 0)
    finally:
        os.close(fd)


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        function: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):  # not Linux
        return None
    return function


_SYNCFS = _load_syncfs()


def _sync_folders(folders: set[Path]) -> None:
    """fsync each folder: what makes the renames in it durable."""
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
