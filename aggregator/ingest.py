"""Seed files to outcomes: read, parse and normalize, on every core for many files.

Runs in worker processes: it reads seeds and never touches the state or `feeds/`. Each
file gives one `Outcome`, a named tuple (it crosses from worker to writer by pickle,
50,000 times in a large publish, and tuples take pickle's fast path).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from aggregator import load, model, pool
from aggregator.config import LimitsConfig
from aggregator.errors import FieldError, SeedError
from aggregator.model import StoryRows, seed_rank
from aggregator.normalize import normalize
from aggregator.store.codec import pack_story, story_rows

# Below this many files to parse, worker processes cost more than they save.
PARALLEL_MIN_FILES = 400
# Chunks queued ahead of the writer: enough that workers never wait while it applies a
# batch, few enough that outcomes waiting in memory stay in the tens of megabytes.
CHUNK_FILES = 64
CHUNKS_AHEAD_PER_WORKER = 16


class SeedJob(NamedTuple):
    """One seed file to process."""

    root: Path  # the seeds folder
    path: str  # below it, '/'-separated
    size: int  # as scanned
    mtime_ns: int
    known_digest: str | None  # of its bytes when last read: the same bytes need no parse
    limits: LimitsConfig
    now: datetime


class Unchanged(NamedTuple):
    """The file's bytes are what they were: only its stat is new."""

    path: str
    size: int
    mtime_ns: int


class Parsed(NamedTuple):
    """A usable story."""

    path: str
    size: int
    mtime_ns: int
    digest: str  # of the file's bytes
    url: str  # the story's canonical URL: its identity
    rank: str  # orders seeds of the same URL (`model.seed_rank`)
    story_data: bytes  # `codec.pack_story`
    rows: StoryRows
    warnings: tuple[str, ...]


class Failed(NamedTuple):
    """A seed that cannot be used, and why."""

    path: str
    size: int
    mtime_ns: int
    digest: str  # of the file's bytes ("" when they could not be read)
    error: str


Outcome = Unchanged | Parsed | Failed


def _scrub(messages: Iterable[str], secret: object) -> tuple[str, ...]:
    """Never let the opaque `secured` value reach a message, whatever went wrong."""
    if not isinstance(secret, str) or len(secret) < 8:
        return tuple(messages)
    return tuple(m.replace(secret, "[secured]") for m in messages)


def process(job: SeedJob) -> Outcome:
    """Read, parse and normalize one seed. Never raises for a bad seed."""
    path, size, mtime_ns = job.path, job.size, job.mtime_ns
    try:
        data = load.read_bytes(job.root, path, job.limits.max_seed_bytes)
    except SeedError as exc:
        return Failed(path, size, mtime_ns, "", str(exc))
    digest = model.digest(data)
    if digest == job.known_digest:
        return Unchanged(path, size, mtime_ns)
    secret: object = None
    try:
        raw = load.parse(path, data)
        secret = raw.meta.get("secured")
        result = normalize(raw.meta, raw.body, job.limits, job.now)
    except SeedError as exc:
        return Failed(path, size, mtime_ns, digest, _scrub([str(exc)], secret)[0])
    except FieldError as exc:
        return Failed(path, size, mtime_ns, digest, _scrub([str(SeedError(path, exc.field, exc.reason))], secret)[0])
    except (RecursionError, MemoryError):
        return Failed(path, size, mtime_ns, digest, f"{path}: too deeply nested or too large to walk")
    story = result.story
    story_data = pack_story(story)
    return Parsed(path, size, mtime_ns, digest, story.url, seed_rank(story), story_data,
                  story_rows(story, story_data), _scrub((f"{path}: {w}" for w in result.warnings), secret))


def _process_chunk(jobs: list[SeedJob]) -> list[Outcome]:
    return [process(job) for job in jobs]


def outcomes(jobs: list[SeedJob]) -> Iterator[Outcome]:
    """Process jobs in order, on every core when there are enough of them."""
    workers = pool.workers()
    if len(jobs) < PARALLEL_MIN_FILES or workers < 2:
        yield from (process(job) for job in jobs)
        return
    with pool.fork_pool(workers) as executor:
        # A bounded window of chunks in flight keeps memory flat on huge corpora.
        pending: list[Future[list[Outcome]]] = []
        for start in range(0, len(jobs), CHUNK_FILES):
            chunk = jobs[start : start + CHUNK_FILES]
            load.prefetch(chunk[0].root, (job.path for job in chunk))  # read ahead while queued
            pending.append(executor.submit(_process_chunk, chunk))
            if len(pending) >= workers * CHUNKS_AHEAD_PER_WORKER:
                yield from pending.pop(0).result()
        for future in pending:
            yield from future.result()
