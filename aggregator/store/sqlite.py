"""The state in an embedded SQLite database (WAL): one writer at a time (see `lock`),
render workers read beside it."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from aggregator.model import Meta
from aggregator.store.feeds import Feeds
from aggregator.store.history import History
from aggregator.store.schema import (
    INDEXES,
    KEPT_TABLES,
    MEMBER_INDEXES,
    MEMBER_TRIGGERS,
    SCHEMA,
    SCHEMA_VERSION,
    TRIGGERS,
)
from aggregator.store.seeds import Seeds
from aggregator.store.stories import Stories
from aggregator.store.subscriptions import Subscriptions


class Store(Seeds, Stories, Feeds, History, Subscriptions):
    """A connection to the state database, with every part of the store on it."""

    def __init__(self, path: Path, readonly: bool = False, beside: tuple[int, int] | None = None) -> None:
        """The state at `path`, created or brought to this version. `readonly`: a render
        worker's view, reads only, beside the writer (WAL). `beside`: a writing connection
        beside the daemon's own (the WebSub hub's), to the file of that identity only
        (never one created or replaced meanwhile), with no schema work."""
        self.path = path
        self._bulk_names: Counter[tuple[str, str, str]] | None = None  # see bulk_load
        if readonly or beside is not None:
            mode = "ro" if readonly else "rw"
            self.db = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, isolation_level=None)
            self.db.execute("PRAGMA busy_timeout=30000")
            self._identity = identity(path)
            if beside is not None:
                if self._identity != beside:
                    self.db.close()
                    raise sqlite3.OperationalError(f"{path} was replaced during the publish")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.execute("PRAGMA cache_size=-32768")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self._identity = identity(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.execute("PRAGMA cache_size=-32768")  # 32 MB; index builds spill to temp files
        version = self._schema_version()
        if version not in (None, SCHEMA_VERSION):
            self._drop_all()  # an older format: safe to rebuild from the seeds
        # One transaction: a run killed here leaves all of the tables or none.
        self.db.executescript(f"BEGIN IMMEDIATE;{SCHEMA}COMMIT;")
        if self.get_meta(Meta.BULK_LOAD):  # a bulk load was killed: finish its last step
            self._end_bulk_load()
        self.db.executescript(INDEXES)
        self.db.executescript(MEMBER_INDEXES)
        self.db.executescript(TRIGGERS)
        self.db.executescript(MEMBER_TRIGGERS)
        self.set_meta(Meta.SCHEMA, SCHEMA_VERSION)

    def _schema_version(self) -> str | None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key=?", (Meta.SCHEMA.value,)).fetchone()
        except sqlite3.OperationalError:
            return None
        return row[0] if row else None

    def _drop_all(self) -> None:
        for (name,) in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
            if name not in KEPT_TABLES:
                self.db.execute(f'DROP TABLE IF EXISTS "{name}"')

    def close(self) -> None:
        self.db.close()

    def replaced(self) -> bool:
        """Whether the database file was deleted or replaced since it was opened."""
        return identity(self.path) != self._identity


def identity(path: Path) -> tuple[int, int] | None:
    """Which file or folder `path` names now (device, inode); None if nothing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino
