"""`aggregator publish` that stops dead at a chosen point, for the crash tests to kill it there.

    python -m tests.crash_hook POINT N MARKER -- publish --seeds ...

At the N-th time any process of the run (the main one or a forked worker) reaches POINT,
it creates the file MARKER and sleeps; the test waits for that file, then kills the whole
process group. So a kill lands at a place the test chose, however fast or loaded the
machine is, and never at a fraction of a timed run. If the run never reaches the point,
it finishes normally.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable
from multiprocessing import Value
from pathlib import Path
from typing import Any

from aggregator import publish, write
from aggregator.cli import main
from aggregator.store import Store


class _OsWithHook:
    """`os` as the writer sees it, with `replace` (the rename of a complete temporary
    file onto the feed) stopping first: the kill then leaves a temporary file behind."""

    def __init__(self, reached: Callable[[], None]) -> None:
        self._reached = reached

    def replace(self, src: Any, dst: Any) -> None:
        self._reached()
        os.replace(src, dst)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


# Where a run can be stopped: each a place where a kill used to be able to do harm.
POINTS: dict[str, Callable[[Callable[[], None]], None]] = {}


def _wrap(owner: Any, name: str, reached: Callable[[], None]) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        reached()
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def _point(name: str, owner: Any, attribute: str) -> None:
    POINTS[name] = lambda reached: _wrap(owner, attribute, reached)


_point("store-seed", Store, "put_good_seed")  # inside a batch's transaction
_point("refresh", Store, "refresh_story")  # re-deriving stories and dirty feeds
_point("end-bulk-load", Store, "_end_bulk_load")  # before the indexes of a cold publish are built
_point("render", publish, "_write_files")  # between feeds rendered and written
_point("record-output", Store, "set_output")  # inside the transaction that records the files written
_point("remove", write, "remove")  # removing a feed that has no items left
POINTS["rename"] = lambda reached: setattr(write, "os", _OsWithHook(reached))


def install(point: str, nth: int, marker: Path) -> None:
    hits = Value("i", 0)  # shared with the forked workers: "the N-th time" counts them all

    def reached() -> None:
        with hits.get_lock():
            hits.value += 1
            now = hits.value
        if now == nth:
            temp = marker.with_name(marker.name + ".tmp")
            temp.write_text(f"{point} {nth} pid {os.getpid()}\n")
            os.replace(temp, marker)
            while True:  # wait here to be killed
                time.sleep(60)

    POINTS[point](reached)


if __name__ == "__main__":
    point, nth, marker, dashes, *args = sys.argv[1:]
    assert dashes == "--", sys.argv
    install(point, int(nth), Path(marker))
    main(args, prog_name="aggregator")
