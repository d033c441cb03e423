"""The only module that reads seed files: find them, read them, split and parse YAML."""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import yaml
import yaml_rs
from frontmatter.default_handlers import YAMLHandler

from aggregator.errors import SeedError
from aggregator.model import digest

SEED_SUFFIXES = (".txt", ".md")

_YAML = YAMLHandler()  # python-frontmatter's own detection of a leading `---` line
_BOUNDARY = re.compile(r"-{3,}[ \t]*")  # the closing line, as python-frontmatter's boundary

# Seeds are parsed with yaml-rs (YAML 1.2, Rust): about 9x faster than PyYAML's C
# loader, whose Python constructor dominates a large publish. Aliases are replayed only
# within these bounds (a "billion laughs" seed fails fast instead of exploding), and a
# duplicate key is an error rather than a silent last-one-wins.
_ALIAS_LIMITS = yaml_rs.AliasLimits(
    max_total_replayed_events=20_000, max_replay_stack_depth=16, max_alias_expansions_per_anchor=200
)


FileStat = tuple[int, int]  # (size, mtime_ns): plain tuples, 50,000 of them per scan


@dataclass(frozen=True, slots=True)
class RawSeed:
    path: str  # relative to the seeds folder, '/'-separated
    meta: dict[str, Any]
    body: str


class Scope(NamedTuple):
    """The part of the seeds folder a scan looks at, when file events say where the
    changes are: folders ('' or 'a/b/') listed alone, and folders listed with every
    folder below them. A folder that is not there (deleted, moved away) is looked at as
    empty: the seeds the state had in it are gone."""

    folders: frozenset[str]
    trees: frozenset[str]

    def holds(self, folder: str) -> bool:
        return folder in self.folders or any(folder.startswith(tree) for tree in self.trees)


@dataclass(frozen=True, slots=True)
class Scan:
    files: dict[str, FileStat]  # but those of the folders left out as `known` said
    problems: dict[str, str]  # display path -> why it cannot be read at all
    folders: dict[str, str]  # folder ('' or 'a/b/') -> digest of its seeds' names, sizes, mtimes
    unlisted: frozenset[str]  # folders that could not be listed: their seeds are unknown
    by_folder: dict[str, dict[str, FileStat]]  # the same files, folder by folder
    scope: Scope | None = None  # None: the whole seeds folder was listed
    linked: frozenset[str] = frozenset()  # folders holding seeds that are links (to seeds elsewhere)
    count: int = 0  # seed files found, those of the folders left out too


def is_seed_name(name: str) -> bool:
    """A file name that holds a story: hidden files and editors' leftovers (`x.md~`,
    `.x.md.swp`) do not."""
    return name.endswith(SEED_SUFFIXES) and not name.startswith(".")


def scan(root: Path, map_trees: Callable[..., Iterable[list[_Listing]]] = map,
         known: Mapping[str, str] | None = None) -> Scan:
    """Every seed file below `root` with its size and mtime; reads no file content.

    Symlinks are followed only when they lead to a regular file inside `root`;
    symlinked directories are not entered (no loops, nothing outside). A folder that
    cannot be listed is reported and left out of `folders`: its seeds are unknown, not
    gone. `map_trees` lists the top folder's subtrees: a process pool's `map` spreads
    the stat calls, one per seed, over the cores. `known`: folders' digests as stored;
    a folder whose digest is the same has its seeds counted but not kept in `files`
    (none changed), so that a worker does not send them back.
    """
    real_root = os.path.realpath(root)
    known = known or {}
    top = _scan_folder(str(root), "", real_root, known.get(""))
    by_tree: dict[str, dict[str, str]] = {}  # each top subfolder's own, and those below it
    for folder, found in known.items():
        if folder:
            by_tree.setdefault(folder.split("/", 1)[0] + "/", {})[folder] = found
    trees = [(folder, prefix, real_root, by_tree.get(prefix, {})) for folder, prefix in top.subfolders]
    subtrees = map_trees(_scan_tree, trees)
    return _gather(itertools.chain([top], *subtrees))


def scan_scope(root: Path, scope: Scope) -> Scan:
    """Like `scan`, for the part of `root` that `scope` names only."""
    real_root = os.path.realpath(root)
    listings: list[_Listing] = []
    trees = sorted(t for t in scope.trees if not any(t.startswith(o) and t != o for o in scope.trees))
    for prefix in trees:
        if _is_folder(root, prefix):
            listings += _scan_tree((os.path.join(root, prefix), prefix, real_root, {}))
    for prefix in sorted(f for f in scope.folders if not any(f.startswith(t) for t in trees)):
        if _is_folder(root, prefix):
            listings.append(_scan_folder(os.path.join(root, prefix), prefix, real_root))
    return dataclasses.replace(_gather(listings), scope=scope)


def _is_folder(root: Path, prefix: str) -> bool:
    """A folder the whole scan would enter: a real one, not a link to one."""
    path = os.path.join(root, prefix.rstrip("/")) if prefix else str(root)
    return os.path.isdir(path) and (not prefix or not os.path.islink(path))


def _gather(listings: Iterable[_Listing]) -> Scan:
    files: dict[str, FileStat] = {}
    problems: dict[str, str] = {}
    folders: dict[str, str] = {}
    unlisted: set[str] = set()
    by_folder: dict[str, dict[str, FileStat]] = {}
    linked: set[str] = set()
    count = 0
    for listing in listings:
        files.update(listing.files)
        count += listing.count
        problems.update(listing.problems)
        if listing.listed:
            folders[listing.prefix] = listing.digest
            by_folder[listing.prefix] = listing.files
        else:
            unlisted.add(listing.prefix)
        if listing.linked:
            linked.add(listing.prefix)
    return Scan(files=files, problems=problems, folders=folders, unlisted=frozenset(unlisted), by_folder=by_folder,
                linked=frozenset(linked), count=count)


def _scan_tree(where: tuple[str, str, str, Mapping[str, str]]) -> list[_Listing]:
    """One folder and every folder below it (possibly in a worker process)."""
    folder, prefix, real_root, known = where
    listings = []
    pending = [(folder, prefix)]
    while pending:
        folder, prefix = pending.pop()
        listing = _scan_folder(folder, prefix, real_root, known.get(prefix))
        listings.append(listing)
        pending += listing.subfolders
    return listings


@dataclass(slots=True)
class _Listing:
    prefix: str  # the folder relative to the root, with a trailing '/' ('' for the root)
    listed: bool = True
    files: dict[str, FileStat] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    subfolders: list[tuple[str, str]] = field(default_factory=list)
    digest: str = ""  # of the files' names, sizes and mtimes (`_folder_digest`), once listed
    count: int = 0  # seed files found, kept in `files` or not
    linked: bool = False  # holds a seed that is a link: it changes when its target does


def _folder_digest(found: dict[str, FileStat]) -> str:
    return digest(orjson.dumps(sorted(found.items())))


_is_file = stat.S_ISREG


def _linked(entry: os.DirEntry[str], real_root: str, listing: _Listing) -> os.stat_result | None:
    """What a seed that is not a regular file stands for: the file a link inside the
    seeds folder leads to, or None (a link out of it, a FIFO, a socket, a folder...)."""
    if not entry.is_symlink():
        return None
    listing.linked = True
    target = os.path.realpath(entry.path)
    if os.path.commonpath([real_root, target]) != real_root:
        return None  # leads out of seeds/: ignored, never read
    info = os.stat(target)
    return info if _is_file(info.st_mode) else None


def _scan_folder(folder: str, prefix: str, real_root: str, known: str | None = None) -> _Listing:
    """One folder's seeds, its unreadable entries, and its subfolders to scan; the
    seeds are only counted if their digest is `known`."""
    listing = _Listing(prefix)
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        listing.listed = False
        listing.problems[_display(prefix or ".")] = f"cannot list folder: {exc.strerror}"
        return listing
    files = listing.files
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                listing.subfolders.append((entry.path, f"{prefix}{name}/"))
                continue
            if not is_seed_name(name):
                continue
            info = entry.stat(follow_symlinks=False)
            if not _is_file(info.st_mode):
                linked = _linked(entry, real_root, listing)
                if linked is None:
                    continue
                info = linked
        except OSError:
            continue  # vanished or dangling while we looked
        rel = prefix + name
        if not rel.isascii():  # only then can it hold an undecodable byte
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                listing.problems[_display(rel)] = "file name is not valid UTF-8; rename the file"
                continue
        files[rel] = (info.st_size, info.st_mtime_ns)
    listing.digest = _folder_digest(listing.files)
    listing.count = len(listing.files)
    if listing.digest == known:
        listing.files = {}
    return listing


def _display(rel: str) -> str:
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


def read_bytes(root: Path, rel: str, max_bytes: int) -> bytes:
    """The file's bytes, or SeedError when unreadable or over the size limit.

    Plain descriptor calls rather than `open()`: no Path and no buffered file object per
    seed, a third of the time when a cold publish reads 50,000 small files.
    """
    try:
        fd = os.open(os.path.join(root, rel), os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)  # a FIFO never blocks us
        try:
            # Sized by the file, not by the limit: no 2 MiB buffer for an 8 KB seed.
            data = os.read(fd, min(os.fstat(fd).st_size, max_bytes) + 1)
            while len(data) <= max_bytes:  # up to the end, should the file have grown
                more = os.read(fd, max_bytes + 1 - len(data))
                if not more:
                    break
                data += more
        finally:
            os.close(fd)
    except OSError as exc:
        raise SeedError(rel, None, f"cannot read file: {exc.strerror}") from exc
    if len(data) > max_bytes:
        raise SeedError(rel, None, f"file larger than limits.max_seed_bytes ({max_bytes} bytes)")
    return data


def prefetch(root: Path, rels: Iterable[str]) -> None:
    """Ask the kernel to start reading these seeds now (readahead), without waiting.

    Called for the files queued ahead of the parser workers: on a cold page cache the
    disk reads overlap with parsing instead of stalling each worker in turn. Costs a
    few microseconds per file when the files are already cached.
    """
    for rel in rels:
        try:
            fd = os.open(os.path.join(root, rel), os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            continue  # read_bytes reports it
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        except OSError:
            pass
        finally:
            os.close(fd)


def _yaml_reason(message: str) -> str:
    """The parser's reason and position, without the quoted source line.

    yaml-rs quotes the offending line (`1 | secured: "..."`); that line may hold the
    opaque `secured` blob, which must never reach a message.
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    kept = [line for line in lines if not line.startswith("|") and not line.split("|", 1)[0].strip().isdigit()]
    header = kept[0] if kept else "unreadable"
    match = re.match(r"YAML parse error at line (\d+), column (\d+)", header)
    if match:  # the front matter keeps the opening line's newline: its lines are the file's
        header = f"line {match.group(1)}, column {match.group(2)}"
    reason = kept[-1] if len(kept) > 1 else ""
    return f"{header}: {reason}" if reason else header


def _split(text: str) -> tuple[str, str | None]:
    """(front matter, body) of a text whose first line is a boundary; body None if unclosed.

    The same boundaries as python-frontmatter's split, found with str.find instead of a
    multi-line regex over the whole file (a tenth of the time on an 8 KB seed). The
    front matter keeps its leading newline, so YAML line numbers are the file's.
    """
    start = text.find("\n")
    pos = start
    while start >= 0:
        pos = text.find("\n-", pos)
        if pos < 0:
            break
        end = text.find("\n", pos + 1)
        line = text[pos + 1 : end if end >= 0 else len(text)]
        if _BOUNDARY.fullmatch(line):
            return text[start:pos], text[end + 1 :] if end >= 0 else ""
        pos += 1
    return text, None


def _may_have_tag(front: str) -> bool:
    """Whether a `!` stands where a YAML tag can begin: at the start, after white space
    or after a flow indicator. One inside a word ("Splashdown!", an image URL's
    "960x640!/") cannot start one. str.find, not a regex: a regex that must try every
    position costs a hundred times more on an 8 KB front matter."""
    at = front.find("!")
    while at >= 0:
        if at == 0 or front[at - 1] in " \t\n[{,:":
            return True
        at = front.find("!", at + 1)
    return False


def _refuse_tags(rel: str, front: str) -> None:
    """Explicit YAML tags (`!!python/object/apply:...`, `!include`, `!!binary`) are errors.

    yaml-rs ignores tags it does not know and loads the value as plain data; a seed that
    asks for a Python object or a file include is not a seed to publish half-understood.
    """
    # PyYAML's reader refuses characters that yaml-rs accepts (DEL, ESC, C1 controls): the
    # scan would fail before it saw a tag. Blanked, they cannot hide one.
    front = yaml.reader.Reader.NON_PRINTABLE.sub(" ", front)
    try:
        for token in yaml.scan(front, Loader=yaml.CSafeLoader):
            if isinstance(token, yaml.TagToken):
                handle, suffix = token.value
                tag = f"{handle or ''}{suffix or ''}"[:60]
                line = token.start_mark.line + 1
                raise SeedError(rel, None, f"invalid YAML: explicit tag {tag!r} at line {line} is not allowed in seeds")
    except yaml.YAMLError:
        return  # a syntax error: the parser below reports it


def parse(rel: str, data: bytes) -> RawSeed:
    """Split front matter from body and parse the YAML; every failure names the file."""
    if b"\x00" in data:
        raise SeedError(rel, None, "contains NUL bytes: not a text file")
    try:
        text = data.decode("utf-8-sig")  # a BOM must not hide the front matter
    except UnicodeDecodeError as exc:
        raise SeedError(rel, None, f"not valid UTF-8 (byte {exc.start})") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise SeedError(rel, None, "empty file")
    if not _YAML.detect(text):
        raise SeedError(rel, None, "no front matter: the file must start with a '---' line")
    front, body = _split(text)
    if body is None:
        raise SeedError(rel, None, "front matter not closed: no second '---' line")
    if _may_have_tag(front):  # cheap test first: only then look for tags with PyYAML's scanner
        _refuse_tags(rel, front)
    try:
        meta = yaml_rs.loads(front, alias_limits=_ALIAS_LIMITS, duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error)
    except yaml_rs.YAMLDecodeError as exc:
        raise SeedError(rel, None, f"invalid YAML: {_yaml_reason(str(exc))}") from None
    except RecursionError:
        raise SeedError(rel, None, "invalid YAML: nested too deeply") from None
    if not isinstance(meta, dict):
        kind = {list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false"}.get(
            type(meta), "empty" if meta is None else "not a mapping")
        raise SeedError(rel, None, f"front matter is {kind}, not a mapping of fields")
    return RawSeed(path=rel, meta=meta, body=body)
