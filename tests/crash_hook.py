"""`aggregator publish` that stops at chosen points, for the crash tests to act there.

    python -m tests.crash_hook MARKER POINT:N [POINT:N ...] -- publish --seeds ...

The N-th time any process of the run (the main one or a forked worker) reaches POINT,
it writes "POINT:N" into the file MARKER and waits until the test deletes that file. The
test meanwhile kills the whole process group, or edits seeds and then deletes MARKER to
let the run go on. So what the test does lands at a place it chose, however fast or
loaded the machine is, and never at a fraction of a timed run. A point the run never
reaches changes nothing.
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

from aggregator import write
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
_point("render", write.Batch, "add")  # between a file rendered and written (feeds, pages, archive)
_point("record-output", Store, "set_output")  # inside the transaction that records the files written
_point("remove", write, "remove")  # removing a feed that has no items left
POINTS["rename"] = lambda reached: setattr(write, "os", _OsWithHook(reached))


def install(marker: Path, stops: list[tuple[str, int]]) -> None:
    for point in {point for point, _ in stops}:
        counted = Value("i", 0)  # shared with the forked workers: "the N-th time" counts them all
        at = {nth for name, nth in stops if name == point}
        POINTS[point](functools.partial(_reached, marker, point, counted, at))


def _reached(marker: Path, point: str, counted: Any, at: set[int]) -> None:
    with counted.get_lock():
        counted.value += 1
        nth = counted.value
    if nth not in at:
        return
    temp = marker.with_name(f"{marker.name}.{os.getpid()}.tmp")
    temp.write_text(f"{point}:{nth}\n")
    os.replace(temp, marker)
    while marker.exists():  # until the test has done its part (or killed us)
        time.sleep(0.01)


if __name__ == "__main__":
    marker, *rest = sys.argv[1:]
    split = rest.index("--")
    specs = [spec.rpartition(":") for spec in rest[:split]]
    install(Path(marker), [(point, int(nth)) for point, _, nth in specs])
    main(rest[split + 1 :], prog_name="aggregator")
