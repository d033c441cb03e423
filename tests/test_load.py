"""Finding, reading and parsing seed files, on small trees under tmp_path: no CLI."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from aggregator import load
from aggregator.errors import SeedError
from aggregator.load import RawSeed, is_seed_name, parse, read_bytes, scan

SECRET = "TOP-SECRET-BLOB-0123456789abcdef"
SEED = b"---\ntitle: x\n---\n"


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    root = tmp_path / "seeds"
    root.mkdir()
    return root


def put(root: Path, rel: str, data: bytes = SEED) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def seed_error(rel: str, data: bytes) -> SeedError:
    with pytest.raises(SeedError) as caught:
        parse(rel, data)
    return caught.value


# --- which files are seeds -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "is_seed"),
    [
        ("story.md", True), ("story.txt", True), ("000_c7cb833d7d46032b.txt", True), ("a.b.md", True),
        (".hidden.md", False), (".#story.md", False), ("story.md~", False), (".story.md.swp", False),
        ("story.md.swp", False), ("story.tmp", False), ("story.md.tmp", False), ("story.markdown", False),
        ("story.rst", False), ("story", False), ("md", False),
    ],
)
def test_is_seed_name_accepts_md_and_txt_but_not_hidden_or_editor_files(name: str, is_seed: bool) -> None:
    assert is_seed_name(name) is is_seed


def test_scan_finds_md_and_txt_files_recursively_with_size_and_mtime(seeds: Path) -> None:
    put(seeds, "a.md", b"12345")
    put(seeds, "b.txt")
    put(seeds, "2024/05/c.md")
    put(seeds, "x/y/z/d.txt")
    os.utime(seeds / "a.md", ns=(1_700_000_000_000_000_000, 1_700_000_000_123_456_789))
    found = scan(seeds)
    assert sorted(found.files) == ["2024/05/c.md", "a.md", "b.txt", "x/y/z/d.txt"]
    assert found.files["a.md"] == (5, 1_700_000_000_123_456_789)
    assert found.problems == {} and found.unlisted == frozenset()
    assert sorted(found.folders) == ["", "2024/", "2024/05/", "x/", "x/y/", "x/y/z/"]
    assert found.by_folder["2024/05/"] == {"2024/05/c.md": found.files["2024/05/c.md"]}


@pytest.mark.parametrize(
    "rel",
    [".hidden.md", ".#a.md", "a.md~", ".a.md.swp", "a.md.swp", "a.tmp", "a.md.tmp", "notes.rst", "README",
     ".git/x.md", "sub/.cache/y.md", "sub/.z.md"],
)
def test_scan_ignores_hidden_files_hidden_folders_and_editor_leftovers(seeds: Path, rel: str) -> None:
    put(seeds, "keep.md")
    put(seeds, rel, b"garbage")
    found = scan(seeds)
    assert sorted(found.files) == ["keep.md"]
    assert found.problems == {}


def test_scan_ignores_fifos_and_folders_named_like_seeds(seeds: Path) -> None:
    put(seeds, "keep.md")
    os.mkfifo(seeds / "fifo.md")
    (seeds / "folder.md").mkdir()
    found = scan(seeds)
    assert sorted(found.files) == ["keep.md"]
    assert "folder.md/" in found.folders  # a folder is still scanned, by its own contents


def test_scan_ignores_symlinks_leading_out_of_the_seeds_folder(seeds: Path, tmp_path: Path) -> None:
    put(seeds, "keep.md")
    outside = put(tmp_path / "outside", "o.md")
    sibling = put(tmp_path / "seeds-other", "s.md")  # shares the name's prefix, not the folder
    os.symlink(outside, seeds / "absolute-out.md")
    os.symlink("../outside/o.md", seeds / "relative-out.md")
    os.symlink(sibling, seeds / "sibling.md")
    os.symlink("/etc/passwd", seeds / "passwd.md")
    os.symlink(seeds / "absolute-out.md", seeds / "chain-out.md")  # a link to a link that leaves
    os.symlink(tmp_path / "outside", seeds / "outdir")  # a folder link is never entered
    found = scan(seeds)
    assert sorted(found.files) == ["keep.md"]
    assert found.problems == {}


def test_scan_follows_symlinks_to_regular_files_inside_the_seeds_folder(seeds: Path) -> None:
    put(seeds, "a.md", b"1234567")
    put(seeds, "sub/b.md")
    os.symlink("a.md", seeds / "relative.md")
    os.symlink(seeds / "sub" / "b.md", seeds / "absolute.txt")
    os.symlink("sub", seeds / "sublink")  # a folder link is not entered: no duplicates, no loops
    os.symlink("missing.md", seeds / "dangling.md")
    os.mkfifo(seeds / "sub" / "fifo")
    os.symlink("sub/fifo", seeds / "to-fifo.md")
    found = scan(seeds)
    assert sorted(found.files) == ["a.md", "absolute.txt", "relative.md", "sub/b.md"]
    assert found.files["relative.md"][0] == 7  # the target's size
    assert found.problems == {}


def test_scan_of_a_seeds_folder_that_is_itself_a_symlink_follows_links_inside_it(tmp_path: Path) -> None:
    real = tmp_path / "real"
    put(real, "a.md")
    os.symlink("../a.md", put(real, "sub/keep.md").parent / "relative.md")
    os.symlink(real / "a.md", real / "absolute.md")
    os.symlink(real, tmp_path / "seeds")
    found = scan(tmp_path / "seeds")
    assert sorted(found.files) == ["a.md", "absolute.md", "sub/keep.md", "sub/relative.md"]


def test_scan_reports_a_file_name_that_is_not_utf8(seeds: Path) -> None:
    put(seeds, "keep.md")
    (seeds / os.fsdecode(b"bad\xff.md")).write_bytes(SEED)
    found = scan(seeds)
    assert sorted(found.files) == ["keep.md"]
    assert found.problems == {"bad\\xff.md": "file name is not valid UTF-8; rename the file"}


def test_scan_reports_a_folder_it_cannot_list_and_leaves_it_unknown(seeds: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    put(seeds, "keep.md")
    put(seeds, "locked/hidden-from-us.md")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(load.os, "scandir", scandir)
    found = scan(seeds)
    assert sorted(found.files) == ["keep.md"]
    assert found.problems == {"locked/": "cannot list folder: Permission denied"}
    assert found.unlisted == frozenset({"locked/"})
    assert sorted(found.folders) == [""]


def test_scan_of_a_missing_root_is_one_problem(tmp_path: Path) -> None:
    found = scan(tmp_path / "nowhere")
    assert found.files == {} and found.folders == {}
    assert found.problems == {".": "cannot list folder: No such file or directory"}
    assert found.unlisted == frozenset({""})


def test_scan_with_a_mapping_of_subtrees_finds_the_same_as_the_serial_scan(seeds: Path) -> None:
    for rel in ("top.md", "a/b.md", "a/c/d.txt", "e/f.md"):
        put(seeds, rel)
    calls: list[int] = []

    def map_trees(fn: object, items: list[object]) -> list[object]:
        calls.append(len(items))
        return [fn(item) for item in items]  # type: ignore[operator]

    assert scan(seeds, map_trees) == scan(seeds)
    assert calls == [2]  # the top folder's two subtrees


def test_folder_digest_changes_when_a_seed_changes_and_not_otherwise(seeds: Path) -> None:
    put(seeds, "sub/a.md")
    put(seeds, "other/b.md")
    before = scan(seeds).folders
    assert scan(seeds).folders == before
    put(seeds, "sub/a.md", b"---\ntitle: longer\n---\n")
    after = scan(seeds).folders
    assert after["sub/"] != before["sub/"]
    assert after["other/"] == before["other/"]


# --- reading ---------------------------------------------------------------------------------


def test_read_bytes_returns_the_whole_file_up_to_the_limit(seeds: Path) -> None:
    put(seeds, "sub/a.md", b"x" * 100)
    assert read_bytes(seeds, "sub/a.md", 100) == b"x" * 100


def test_read_bytes_refuses_a_file_over_the_limit_naming_it(seeds: Path) -> None:
    put(seeds, "big.md", b"x" * 101)
    with pytest.raises(SeedError) as caught:
        read_bytes(seeds, "big.md", 100)
    assert (caught.value.path, caught.value.field) == ("big.md", None)
    assert str(caught.value) == "big.md: file larger than limits.max_seed_bytes (100 bytes)"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (None, "gone.md: cannot read file: No such file or directory"),
        ("dir", "gone.md: cannot read file: Is a directory"),
    ],
)
def test_read_bytes_errors_are_seed_errors_naming_the_file(seeds: Path, make: str | None, message: str) -> None:
    if make == "dir":
        (seeds / "gone.md").mkdir()
    with pytest.raises(SeedError) as caught:
        read_bytes(seeds, "gone.md", 1000)
    assert caught.value.path == "gone.md"
    assert str(caught.value) == message


def test_read_bytes_does_not_block_on_a_fifo(seeds: Path) -> None:
    os.mkfifo(seeds / "fifo.md")  # nobody writes to it: a blocking open would hang here
    assert read_bytes(seeds, "fifo.md", 1000) == b""


# --- parsing ---------------------------------------------------------------------------------


def test_parse_splits_front_matter_and_body() -> None:
    seed = parse("sub/a.md", b"---\ntitle: Hello\nquality: 14\ntopics: [AI]\n---\nThe *body*.\n")
    assert seed == RawSeed(path="sub/a.md", meta={"title": "Hello", "quality": 14, "topics": ["AI"]},
                           body="The *body*.\n")


@pytest.mark.parametrize(
    ("data", "meta", "body"),
    [
        (b"\xef\xbb\xbf---\ntitle: x\n---\nbody\n", {"title": "x"}, "body\n"),
        (b"---\r\ntitle: x\r\nn: 1\r\n---\r\nbody\r\nline 2\r\n", {"title": "x", "n": 1}, "body\nline 2\n"),
        (b"\xef\xbb\xbf---\r\ntitle: x\r\n---\r\n", {"title": "x"}, ""),
        (b"---\rtitle: x\r---\rbody\r", {"title": "x"}, "body\n"),
        (b"---\ntitle: x\n---", {"title": "x"}, ""),
        (b"---\ntitle: x\n-----  \nbody\n---\nmore\n", {"title": "x"}, "body\n---\nmore\n"),
        (b"---\ntags:\n- a\n- b\n---\n", {"tags": ["a", "b"]}, ""),
    ],
    ids=["bom", "crlf", "bom-crlf", "cr", "no-final-newline", "longer-boundary", "list-at-column-0"],
)
def test_parse_accepts_bom_crlf_and_boundary_variants(data: bytes, meta: dict[str, object], body: str) -> None:
    seed = parse("a.md", data)
    assert (seed.meta, seed.body) == (meta, body)


def test_parse_keeps_yaml_timestamps_as_datetime_and_date() -> None:
    seed = parse("a.md", b"---\npublishedDateTime: 2024-05-01T10:00:00Z\nday: 2024-05-01\n---\n")
    assert seed.meta == {"publishedDateTime": datetime(2024, 5, 1, 10, 0, tzinfo=UTC), "day": date(2024, 5, 1)}


@pytest.mark.parametrize(
    "data",
    [b"---\ntitle: Splashdown!\nimg: http://x.org/960x640!/a.jpg\n---\n", b'---\ntitle: "Wow !important"\n---\n',
     b"---\ntitle: Go !now\n---\n"],
    ids=["inside-a-word", "inside-quotes", "inside-plain-text"],
)
def test_parse_allows_an_exclamation_mark_that_is_not_a_tag(data: bytes) -> None:
    assert "title" in parse("a.md", data).meta


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\n", "empty file"),
        (b"title: x\n", "no front matter: the file must start with a '---' line"),
        (b"\n---\ntitle: x\n---\n", "no front matter: the file must start with a '---' line"),
        (b"---\ntitle: x\n", "front matter not closed: no second '---' line"),
        (b"---", "front matter not closed: no second '---' line"),
        (b"---\n- a\n- b\n---\n", "front matter is a list, not a mapping of fields"),
        (b"---\njust text\n---\n", "front matter is text, not a mapping of fields"),
        (b"---\n42\n---\n", "front matter is a number, not a mapping of fields"),
        (b"---\ntrue\n---\n", "front matter is true/false, not a mapping of fields"),
        (b"---\n---\nbody\n", "front matter is empty, not a mapping of fields"),
        (b"---\ntitle: x\x00\n---\n", "contains NUL bytes: not a text file"),
        (b"---\ntitle: caf\xe9\n---\n", "not valid UTF-8 (byte 14)"),
        (b"---\ntitle: a\ntitle: b\n---\n", "invalid YAML: duplicate mapping key: 'title'"),
        (b"---\ntitle: [unclosed\nother: 1\n---\n",
         "invalid YAML: line 3, column 6: illegal placement of ':' indicator"),
    ],
    ids=["empty", "blank", "no-front-matter", "leading-blank-line", "unclosed", "only-boundary", "list", "text",
         "number", "bool", "empty-front-matter", "nul", "latin-1", "duplicate-key", "syntax"],
)
def test_parse_errors_are_seed_errors_naming_the_file(data: bytes, reason: str) -> None:
    error = seed_error("sub/bad.md", data)
    assert (error.path, error.field, error.reason) == ("sub/bad.md", None, reason)
    assert str(error) == f"sub/bad.md: {reason}"


@pytest.mark.parametrize(
    ("line", "tag"),
    [
        ("title: !!python/object/apply:os.system ['true']", "!!python/object/apply:os.system"),
        ("x: !include other.yaml", "!include"),
        ("secured: !!binary U0VDUkVU", "!!binary"),
        ("topics: !!set {a, b}", "!!set"),
        ("topics: [!!str x]", "!!str"),
    ],
)
def test_parse_refuses_explicit_yaml_tags_naming_the_file_and_line(line: str, tag: str) -> None:
    error = seed_error("t.md", f"---\nok: 1\n{line}\n---\n".encode())
    assert str(error) == f"t.md: invalid YAML: explicit tag {tag!r} at line 3 is not allowed in seeds"


@pytest.mark.parametrize("control", ["\x7f", "\x1b", "\x0c", "\x80"], ids=["DEL", "ESC", "FF", "C1"])
def test_parse_refuses_explicit_tags_even_beside_a_control_character(control: str) -> None:
    data = f"---\nx: !!python/object/apply:os.system ['true']\ntitle: \"a{control}b\"\n---\n".encode()
    assert "explicit tag '!!python/object/apply:os.system'" in seed_error("t.md", data).reason


@pytest.mark.parametrize(
    "front",
    [f'title: x\nsecured: "{SECRET}\n  bad: [\n', f"title: [unclosed\nsecured: {SECRET}\n",
     f"secured: {SECRET}\nsecured: {SECRET}\n", f"secured: !!binary {SECRET}\n"],
    ids=["unclosed-quote", "after-a-syntax-error", "duplicate-key", "tagged"],
)
def test_a_yaml_error_message_never_quotes_the_secured_value(front: str) -> None:
    error = seed_error("s.md", f"---\n{front}---\n".encode())
    assert error.reason.startswith("invalid YAML: ")
    assert SECRET not in str(error)


def test_parse_bounds_alias_expansion() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for name, prev in zip("bcde", "abcd", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    error = seed_error("bomb.md", ("---\n" + "\n".join(lines) + "\n---\n").encode())
    assert error.reason == "invalid YAML: alias expansion limit exceeded for anchor 1: expansions 201, max 200"


def test_parse_bounds_nesting() -> None:
    error = seed_error("deep.md", b"---\nx: " + b"[" * 500 + b"]" * 500 + b"\n---\n")
    assert error.reason.startswith("invalid YAML: ") and error.path == "deep.md"
