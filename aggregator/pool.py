"""The worker processes every parallel step uses (parsing seeds, scanning folders,
rendering feeds): forked, never holding the writer lock, never outliving the parent."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing.connection
import os
import pickle
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from aggregator import lock

MAX_WORKERS = 8  # beyond this, SQLite's single writer is the bottleneck anyway
# A fork copies into the child the locks other threads hold at that moment, SQLite's
# among them (in its memory: which connection of the process holds the database's write
# lock), and no thread there will ever release them: a child writing the state would wait
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


@contextlib.contextmanager
def forked(task: Callable[[], None]) -> Iterator[None]:
    """`task` run in a forked process while the caller's block runs; its failure is
    raised when the block ends. When the block fails, the process is killed: the
    block's failure is the one raised, and nothing waits for work that no longer counts.

    The process sees the parent's memory as it was at the fork, so `task` may use large
    data without it being copied or pickled. A fork, not a thread: the worker pools the
    caller may start meanwhile fork too, and forking beside a running thread can leave a
    child holding a lock that nobody will ever release. The parent must keep its own
    SQLite connections open until the block ends (SQLite's locks are per process: the
    child's connection counts on the parent's).
    """
    receive, send = get_context("fork").Pipe(duplex=False)
    gc.freeze()
    try:
        with FORKING:
            child = os.fork()
    except BaseException:
        gc.unfreeze()
        receive.close()
        send.close()
        raise
    if child == 0:
        _run_forked(task, send)
    send.close()
    try:
        yield
    except BaseException:
        os.kill(child, signal.SIGKILL)
        raise
    else:
        failure = _outcome(receive, child)
    finally:
        receive.close()
        os.waitpid(child, 0)
        gc.unfreeze()
    if failure is not None:
        raise failure


def _outcome(receive: multiprocessing.connection.Connection, child: int) -> BaseException | None:
    try:
        found: BaseException | None = receive.recv()
    except EOFError:
        return ChildProcessError(f"a worker process died (pid {child})")
    return found


def _run_forked(task: Callable[[], None], send: multiprocessing.connection.Connection) -> None:
    status = 0
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):  # not the parent's handlers: stop
            signal.signal(signum, signal.SIG_DFL)
        worker_init()
        task()
        send.send(None)
    except BaseException as exc:  # every failure goes back to the parent
        status = 1
        send.send(_portable(exc))
    finally:
        os._exit(status)


def _portable(exc: BaseException) -> BaseException:
    """`exc`, or a `ChildProcessError` naming it if it does not survive pickling (an
    exception whose constructor takes other arguments than it keeps cannot be rebuilt)."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # any failure to rebuild it
        return ChildProcessError(f"{type(exc).__name__}: {exc}")
    return exc


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
