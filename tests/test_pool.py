"""The forked helpers every parallel step uses. No CLI."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from aggregator import pool


def test_a_forked_task_sees_the_parents_memory_and_runs_beside_the_block(tmp_path: Path) -> None:
    data = list(range(100_000))  # large, and never pickled: the child sees it through the fork
    done = tmp_path / "done"
    seen = []

    def task() -> None:
        done.write_text(str(sum(data)))

    with pool.forked(task):
        seen.append(os.getpid())  # the block runs in the parent
    assert done.read_text() == str(sum(data))
    assert seen == [os.getpid()]


def test_a_forked_tasks_failure_is_raised_when_the_block_ends(tmp_path: Path) -> None:
    def task() -> None:
        raise OSError(28, "No space left on device", str(tmp_path / "state.sqlite"))

    ran = []
    with pytest.raises(OSError, match="No space left") as failure, pool.forked(task):
        ran.append(True)
    assert ran == [True]
    assert failure.value.filename == str(tmp_path / "state.sqlite")


def test_a_forked_task_that_dies_is_reported() -> None:
    with pytest.raises(ChildProcessError, match="died"), pool.forked(lambda: os._exit(3)):
        pass


def test_the_blocks_own_failure_comes_first() -> None:
    def task() -> None:
        raise ValueError("the task's")

    with pytest.raises(KeyError), pool.forked(task):
        raise KeyError("the block's")


class _TwoArguments(Exception):
    """Pickles, but cannot be rebuilt: its constructor takes what it does not keep."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")


def test_a_failure_that_cannot_be_rebuilt_is_named() -> None:
    def task() -> None:
        raise _TwoArguments("site.templates", "no such folder")

    with pytest.raises(ChildProcessError, match=r"_TwoArguments: site\.templates: no such folder"), pool.forked(task):
        pass


def test_a_failing_block_stops_the_task_and_its_failure_is_raised(tmp_path: Path) -> None:
    started = tmp_path / "started"

    def task() -> None:
        started.write_text(str(os.getpid()))
        threading.Event().wait()  # would never end

    with pytest.raises(KeyError, match="the block's"), pool.forked(task):
        while not started.exists() or not started.read_text():
            threading.Event().wait(0.01)
        raise KeyError("the block's")
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(int(started.read_text()), 0)


def test_a_fork_waits_for_a_thread_in_sqlite_that_holds_forking(tmp_path: Path) -> None:
    """A child forked while another thread holds SQLite's write lock would inherit that
    lock with no thread to release it (the daemon's WebSub hub writes the state beside the
    publisher, which forks): forks wait while such a thread holds `pool.FORKING`."""
    db = tmp_path / "state.sqlite"
    with sqlite3.connect(db) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t(x)")
    writing = threading.Event()

    def hub_write() -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        with pool.FORKING:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES ('thread')")
            writing.set()
            threading.Event().wait(0.3)  # the fork below is asked for meanwhile
            conn.execute("COMMIT")
        conn.close()

    def child_write() -> None:
        conn = sqlite3.connect(db, timeout=2, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # "database is locked" after 2 s if the lock came along
        conn.execute("INSERT INTO t VALUES ('child')")
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hub_write)
    thread.start()
    assert writing.wait(10)
    with pool.forked(child_write):
        pass
    thread.join()
    with sqlite3.connect(db) as check:
        assert sorted(row[0] for row in check.execute("SELECT x FROM t")) == ["child", "thread"]
