"""Seed files as last seen (size, mtime, digest) with their last good story or their error."""

from __future__ import annotations

import json
from collections.abc import Iterable

from aggregator.model import SeedProblem, SeedRow, folder_of
from aggregator.store.connection import Connection


class Seeds(Connection):
    def seed_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM seeds").fetchone()[0])

    def has_seeds(self) -> bool:
        return self.db.execute("SELECT 1 FROM seeds LIMIT 1").fetchone() is not None

    def folder_digests(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT folder, digest FROM folders").fetchall())

    def set_folder_digests(self, digests: dict[str, str | None]) -> None:
        """Record the folders published in full (None: the folder is gone)."""
        for folder, digest in digests.items():
            if digest is None:
                self.db.execute("DELETE FROM folders WHERE folder=?", (folder,))
            else:
                self.db.execute("INSERT OR REPLACE INTO folders(folder, digest) VALUES (?, ?)", (folder, digest))

    def seed_folders(self) -> set[str]:
        return {folder for (folder,) in self.db.execute("SELECT DISTINCT folder FROM seeds")}

    def seed_stats(self, folders: Iterable[str]) -> dict[str, tuple[int, int]]:
        """(size, mtime_ns) as last seen of the seeds directly in these folders."""
        stats: dict[str, tuple[int, int]] = {}
        for folder in folders:
            stats.update(
                (path, (size, mtime))
                for path, size, mtime in self.db.execute(
                    "SELECT path, size, mtime_ns FROM seeds WHERE folder=?", (folder,)
                )
            )
        return stats

    def seed_rows(self, paths: list[str]) -> dict[str, SeedRow]:
        """What is stored of these seeds (those the state knows)."""
        found: dict[str, SeedRow] = {}
        for start in range(0, len(paths), 500):
            chunk = paths[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for path, digest, url in self.db.execute(
                f"SELECT path, digest, url FROM seeds WHERE path IN ({marks})", chunk
            ):
                found[path] = SeedRow(digest, url)
        return found

    def touch_seed(self, path: str, size: int, mtime_ns: int) -> None:
        """Same content, new stat (a `touch` or a copy): remember the stat only."""
        self.db.execute("UPDATE seeds SET size=?, mtime_ns=? WHERE path=?", (size, mtime_ns, path))

    def put_good_seed(
        self, path: str, size: int, mtime_ns: int, digest: str, url: str, rank: str,
        story_data: bytes, warnings: Iterable[str],
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO seeds(path, folder, size, mtime_ns, digest, url, rank, story, error, warnings)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
            (path, folder_of(path), size, mtime_ns, digest, url, rank, story_data,
             json.dumps(list(warnings), ensure_ascii=False)),
        )

    def put_bad_seed(self, path: str, size: int, mtime_ns: int, digest: str, error: str) -> None:
        """Record the problem; a seed that was good keeps its last good story."""
        updated = self.db.execute(
            "UPDATE seeds SET size=?, mtime_ns=?, digest=?, error=?, warnings='[]' WHERE path=?",
            (size, mtime_ns, digest, error, path),
        ).rowcount
        if not updated:
            self.db.execute(
                "INSERT INTO seeds(path, folder, size, mtime_ns, digest, error, warnings)"
                " VALUES (?, ?, ?, ?, ?, ?, '[]')",
                (path, folder_of(path), size, mtime_ns, digest, error),
            )

    def delete_seed(self, path: str) -> None:
        self.db.execute("DELETE FROM seeds WHERE path=?", (path,))

    def seed_problems(self) -> list[SeedProblem]:
        """Every seed that is unusable now."""
        return [
            SeedProblem(path, error, bool(story))
            for path, error, story in self.db.execute(
                "SELECT path, error, story IS NOT NULL FROM seeds WHERE error IS NOT NULL ORDER BY path"
            )
        ]

    def duplicates(self, url: str) -> list[str]:
        """Paths of the seeds whose last good story has this URL, the winner first."""
        return [
            path
            for (path,) in self.db.execute(
                "SELECT path FROM seeds WHERE url=? AND story IS NOT NULL ORDER BY rank, path", (url,)
            )
        ]
