"""The worker processes every parallel step uses (parsing seeds, scanning folders,
rendering feeds): forked, never holding the writer lock, never outliving the parent."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from aggregator import lock

MAX_WORKERS = 8  # beyond this, SQLite's single writer is the bottleneck anyway
# A fork copies into the child the locks other threads hold at that moment, SQLite's
# among them (in its memory: which connection of the process holds the database's write
# lock), and no thread there will ever release them: a child using the state could wait
# forever. Every fork here holds this lock; a thread that uses SQLite beside the forking
# one (the WebSub hub's) holds it while it does.
FORKING = threading.Lock()


def workers() -> int:
    """How many worker processes a parallel step uses: one per core this process may run
    on (its CPU affinity, as `taskset` or a container's cpuset sets it), at most MAX_WORKERS."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cores or 1, MAX_WORKERS)


@contextlib.contextmanager
def fork_pool(count: int | None = None) -> Iterator[ProcessPoolExecutor]:
    """A pool of `count` (default: `workers()`) forked worker processes, shut down on exit.

    fork: workers start at once and share the parent's pages; "spawn" would re-import
    the caller's __main__ in every worker, which breaks library use from a script. The
    parent's objects are frozen for the collector meanwhile (`gc.freeze`): a worker's
    collector would otherwise walk them all and so copy every page they are on (a
    parent holding hundreds of MB would be held once more by each worker).
    """
    gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=count or workers(), mp_context=get_context("fork"),
                                 initializer=worker_init) as executor:
            with FORKING:  # with "fork", the first task starts every worker
                executor.submit(int)
            yield executor
    finally:
        gc.unfreeze()


def worker_init() -> None:
    """Start of a forked worker: never hold the writer lock, never outlive the parent."""
    lock.close_inherited()
    try:  # Linux: the kernel kills the worker when the process that forked it dies
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before the line above took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass
