"""One writer at a time, whatever happens to the state folder.

The lock is a name in Linux's abstract socket namespace, derived from the absolute path
of the state file and of the feeds folder: a socket bound to it cannot be unlinked from
under its holder (`rm -rf .aggregator` leaves it held), and the kernel releases it when
the holder dies, so a crash never leaves a stale lock. A small file beside the state
says who holds it, for messages only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from aggregator.errors import LockedError
from aggregator.model import digest

WAIT_POLL_SECONDS = 0.2  # how often a waiting writer tries again
_held: list[socket.socket] = []  # the locks this process holds


def close_inherited() -> None:
    """In a forked worker: drop the parent's locks.

    A fork shares the parent's sockets: a worker that outlived a killed parent would
    otherwise keep the lock, and every later run would be refused.
    """
    for sock in _held:
        sock.close()  # the worker's copy of the descriptor; the parent's stays bound
    _held.clear()


def _name(kind: str, path: Path) -> bytes:
    return b"\0aggregator-" + f"{kind}-{digest(str(path.resolve()).encode())}".encode()


def _holder(name: bytes) -> int | None:
    """The pid of the process holding lock `name`, asked of the kernel (SO_PEERCRED)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_NONBLOCK) as probe:
        try:
            probe.connect(name)
            creds = probe.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        except OSError:
            return None
    pid, _, _ = struct.unpack("3i", creds)
    return pid or None


def _try_bind(name: bytes) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.bind(name)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            return None
        raise
    sock.listen(8)  # lets a refused writer ask who holds the lock
    return sock


def _describe(info: Path, pid: int | None) -> str:
    """`pid 123, aggregator run` from the holder's note, as far as it is known."""
    try:
        note = info.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        note = ""
    if pid is None:
        return note or "pid unknown"
    return note if note.startswith(f"pid {pid},") else f"pid {pid}"


def write_note(state: Path, owner: str) -> None:
    """Say who holds the lock, beside the state (again after the state folder is deleted)."""
    with contextlib.suppress(OSError):  # the note is for messages only
        state.parent.mkdir(parents=True, exist_ok=True)
        state.with_name(state.name + ".lock").write_text(f"pid {os.getpid()}, {owner}\n", encoding="utf-8")


@contextmanager
def writer_lock(state: Path, feeds: Path | None = None, *, wait: bool = False, owner: str = "aggregator publish",
                on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the writer lock of `state` and of `feeds` while inside.

    Without `wait`, a second writer fails at once with `LockedError` naming the holder;
    with `wait`, it tries again until the lock is free, calling `on_wait` once with
    what it waits for.
    """
    info = state.with_name(state.name + ".lock")
    names = sorted({_name("state", state), *([_name("feeds", feeds)] if feeds is not None else [])})
    taken: list[socket.socket] = []
    try:
        for name in names:  # always in the same order: two waiting writers never deadlock
            told = False
            while (sock := _try_bind(name)) is None:
                holder = _describe(info, _holder(name))
                what = f"another aggregator process ({holder}) is writing {feeds or 'the feeds'} from the state {state}"
                if not wait:
                    raise LockedError(f"{what}; try again when it is done, or pass --wait")
                if on_wait is not None and not told:
                    on_wait(f"waiting: {what}")
                    told = True
                time.sleep(WAIT_POLL_SECONDS)
            taken.append(sock)
        _held.extend(taken)
        write_note(state, owner)
        yield
    finally:
        for sock in taken:
            if sock in _held:
                _held.remove(sock)
            sock.close()
