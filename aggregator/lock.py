"""One writer at a time: an advisory lock beside the state file, never in `feeds/`."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aggregator.errors import LockedError

_held: set[int] = set()  # descriptors of locks this process holds


def close_inherited() -> None:
    """In a forked worker: drop the parent's lock descriptors.

    flock() belongs to the open file, which a fork shares: a worker that outlived a
    killed parent would otherwise keep the lock, and every later run would be refused.
    """
    for fd in list(_held):
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


@contextmanager
def writer_lock(state: Path, wait: bool = False, owner: str = "aggregator publish") -> Iterator[None]:
    """Hold the writer lock of `state` (and of the feeds published from it).

    Without `wait`, a second writer fails at once with `LockedError` naming the pid
    that holds it; with `wait`, it blocks until the lock is free. The kernel releases
    the lock when its holder dies, so a crash never leaves a stale lock behind.
    """
    path = state.with_name(state.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            if not wait:
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "pid unknown"
                raise LockedError(
                    f"another aggregator process ({holder}) is writing the feeds "
                    f"(lock {path}); try again when it is done, or pass --wait"
                ) from None
            fcntl.flock(fd, fcntl.LOCK_EX)  # blocks until the holder is done (or dies)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, {owner}\n".encode(), 0)
        _held.add(fd)
        yield
    finally:
        _held.discard(fd)
        os.close(fd)  # closing releases the lock
