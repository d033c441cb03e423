"""The forked helpers every parallel step uses. No CLI."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from aggregator import pool


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
        with pool.FORKING:  # every SQLite call of the thread, its connection's close too (as the hub's)
            conn = sqlite3.connect(db, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES ('thread')")
            writing.set()
            threading.Event().wait(0.3)  # the fork below is asked for meanwhile
            conn.execute("COMMIT")
            conn.close()

    thread = threading.Thread(target=hub_write)
    thread.start()
    assert writing.wait(10)
    with pool.fork_pool(1) as executor:
        executor.submit(_child_write, db).result()
    thread.join()
    with sqlite3.connect(db) as check:
        assert sorted(row[0] for row in check.execute("SELECT x FROM t")) == ["child", "thread"]


def _child_write(db: Path) -> None:
    conn = sqlite3.connect(db, timeout=2, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")  # "database is locked" after 2 s if the lock came along
    conn.execute("INSERT INTO t VALUES ('child')")
    conn.execute("COMMIT")
    conn.close()
