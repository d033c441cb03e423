"""The database connection every part of the store shares: transactions and meta keys."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aggregator.model import Meta


class Connection:
    """The part of the store that the others build on: the connection and its meta keys."""

    path: Path
    db: sqlite3.Connection

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def release_memory(self) -> None:
        self.db.execute("PRAGMA shrink_memory")  # the page cache: refilled as it is read again

    def get_meta(self, key: Meta) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key.value,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: Meta, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key.value, value))

    def delete_meta(self, key: Meta) -> None:
        self.db.execute("DELETE FROM meta WHERE key=?", (key.value,))
