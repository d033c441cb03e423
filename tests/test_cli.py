"""The command line as an operator meets it: refusals, exit codes, what the messages say.

Every slip is refused before anything is written, with exit code 2 and a message that
names what was typed (the option, or the config key and its file); an output that cannot
be written is exit code 4, naming the path, never a traceback.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregator import __version__
from aggregator.cli import main
from aggregator.lock import writer_lock
from tests.conftest import BASE_URL, Mount, Site, count, feed_files, read_feed, seed_text


def listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


# --- paths that would do harm -------------------------------------------------------------


def _guarded(site: Site, home: Path) -> dict[str, Path]:
    """The folders feeds must never go to, for this site."""
    inside = site.seeds / "inner"
    inside.mkdir(exist_ok=True)
    return {"root": Path("/"), "home": home, "seeds": site.seeds, "inside-seeds": inside, "seeds-parent": site.root}


@pytest.mark.parametrize("through_link", [False, True], ids=["direct", "symlink"])
@pytest.mark.parametrize(("target", "reason"), [
    ("root", "the root folder"),
    ("home", "your home folder"),
    ("seeds", "it is the seeds folder"),
    ("inside-seeds", "it is inside the seeds folder"),
    ("seeds-parent", "it holds the seeds folder"),
])
def test_feeds_folder_that_would_do_harm_is_refused(site: Site, tmp_path: Path, target: str, reason: str,
                                                     through_link: bool, tmp_path_factory: pytest.TempPathFactory,
                                                     ) -> None:
    home = tmp_path_factory.mktemp("home")  # not below the site, which is the seeds' parent
    site.write_seed("a.md", seed_text())
    folder = _guarded(site, home)[target]
    if through_link:
        (tmp_path / "link").symlink_to(folder)
        folder = tmp_path / "link"
    before = {p: listing(p) for p in (home, site.root)}
    root_before = set(os.listdir("/"))
    result = site.runner.invoke(main, ["publish", "--seeds", str(site.seeds), "--feeds", str(folder),
                                       "--state", str(tmp_path / "elsewhere" / "state.sqlite")],
                                env={"HOME": str(home)})
    assert result.exit_code == 2, result.output
    assert f"refusing to write feeds to {folder}" in result.output and reason in result.output
    assert f"given as --feeds {folder}" in result.output
    if through_link:
        assert "which is " in result.output  # says where the link leads
    assert {p: listing(p) for p in (home, site.root)} == before
    assert set(os.listdir("/")) == root_before
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("through_link", [False, True], ids=["direct", "symlink"])
def test_state_inside_the_feeds_folder_is_refused(site: Site, tmp_path: Path, through_link: bool) -> None:
    site.write_seed("a.md", seed_text())
    feeds = site.feeds
    if through_link:
        feeds.mkdir()
        (tmp_path / "feeds-link").symlink_to(feeds)
        state = tmp_path / "feeds-link" / "sub" / "state.sqlite"
    else:
        state = feeds / "state.sqlite"
    result = site.runner.invoke(main, ["publish", "--seeds", str(site.seeds), "--feeds", str(feeds),
                                       "--state", str(state)])
    assert result.exit_code == 2, result.output
    assert f"refusing to keep the state at {state}" in result.output and "--state" in result.output
    assert listing(feeds) == set()


def test_state_inside_feeds_in_the_config_file_names_the_key(site: Site, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"paths:\n  seeds: {site.seeds}\n  feeds: {site.feeds}\n  state: {site.feeds}/x.sqlite\n")
    result = site.runner.invoke(main, ["publish", "--config", str(config)])
    assert result.exit_code == 2
    assert f"config key 'paths.state' in {config}" in result.output


@pytest.mark.parametrize("command", ["publish", "check", "run"])
def test_missing_seeds_folder_is_exit_2_saying_relative_to_what(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                command: str) -> None:
    monkeypatch.chdir(tmp_path)  # no config/aggregator.yaml here
    result = CliRunner().invoke(main, [command])
    assert result.exit_code == 2, result.output
    assert (f"seeds folder not found: seeds (relative to {tmp_path}, the current folder; "
            "the default; no config file found; pass --seeds)") in result.output
    assert listing(tmp_path) == set()


def test_a_hub_without_a_server_is_exit_2_naming_the_option_or_the_key(site: Site, tmp_path: Path) -> None:
    result = site.runner.invoke(main, ["run", *site.args("--hub")])
    assert result.exit_code == 2
    assert result.output == ("Error: --hub: the hub is served by the daemon's server: give --serve HOST:PORT"
                             " (or daemon.serve) too\n")
    config = tmp_path / "hub.yaml"
    config.write_text("websub:\n  builtin: true\n")
    result = site.runner.invoke(main, ["run", "--config", str(config), *site.args()])
    assert result.exit_code == 2 and f"config key 'websub.builtin' ({config})" in result.output
    assert not site.feeds.exists()  # refused before anything was written


def test_serve_refuses_to_serve_the_root_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--feeds", "/", "--bind", "127.0.0.1:0"])
    assert result.exit_code == 2 and "refusing to write feeds to /: the root folder" in result.output


# --- values that would end up in every feed -------------------------------------------------


@pytest.mark.parametrize(("base_url", "reason"), [
    ("https://exa mple.org/", "must not contain white space"),
    ("http://example.org/feeds/?x=1", "must have no query or fragment"),
    ("http://example.org/feeds/#top", "must have no query or fragment"),
    ("http://example.org:99999/", "has a port outside 1-65535"),
    ("http://exa<mple.org/", "has an invalid host name"),
    ("ftp://example.org/", "must be an absolute http(s) URL"),
    ("/feeds/", "must be an absolute http(s) URL"),
    ("http://user:secret@example.org/", "must not carry a user name or password"),
])
def test_bad_base_url_is_refused_naming_the_option(site: Site, base_url: str, reason: str) -> None:
    site.write_seed("a.md", seed_text())
    result = site.runner.invoke(main, ["publish", *site.args("--base-url", base_url)])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: --base-url: {reason}"), result.output
    assert not site.feeds.exists()


def test_bad_base_url_in_the_config_file_names_the_key_and_file(site: Site, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text('site:\n  base_url: "http://example.org:99999/"\n')
    result = site.runner.invoke(main, ["publish", "--config", str(config), *site.args()])
    assert result.exit_code == 2
    assert f"{config}: config key 'site.base_url': has a port outside 1-65535" in result.output


def test_base_url_without_a_final_slash_gets_one(site: Site) -> None:
    site.write_seed("a.md", seed_text())
    result = site.runner.invoke(main, ["publish", *site.args("--base-url", "https://example.org/news")])
    assert result.exit_code == 0, result.output
    feed = read_feed((site.feeds / "all.atom.xml").read_bytes())
    assert feed.feed.links[0].href == "https://example.org/news/all.atom.xml"


@pytest.mark.parametrize("language", ["english!!", "en_US", "", "e"])
def test_language_must_be_a_bcp47_tag(site: Site, tmp_path: Path, language: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f'site:\n  language: "{language}"\n')
    result = site.runner.invoke(main, ["publish", "--config", str(config), *site.args()])
    assert result.exit_code == 2 and "'site.language'" in result.output, result.output


@pytest.mark.parametrize("language", ["en", "en-GB", "pt-BR", "zh-Hant-TW"])
def test_bcp47_languages_are_written_as_given(site: Site, tmp_path: Path, language: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f'site:\n  language: "{language}"\n')
    site.write_seed("a.md", seed_text())
    assert site.runner.invoke(main, ["publish", "--config", str(config), *site.args()]).exit_code == 0
    assert read_feed((site.feeds / "all.rss.xml").read_bytes()).feed.language == language


# --- smaller things ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["publish", "check", "run", "serve"])
def test_every_command_takes_version_and_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--version"])
    assert result.exit_code == 0 and result.output.strip() == f"aggregator, version {__version__}"
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "Example:" in result.output


def test_help_lists_every_exit_code() -> None:
    text = CliRunner().invoke(main, ["--help"]).output
    for code in range(5):
        assert f"  {code}  " in text, code


def test_opml_lists_each_feed_once_in_the_configured_format(shipped: Site, tmp_path: Path) -> None:
    from lxml import etree

    assert shipped.publish().exit_code == 0
    opml = etree.fromstring((shipped.feeds / "feeds.opml").read_bytes())
    urls = opml.xpath("//outline/@xmlUrl")
    feeds = [rel for rel in feed_files(shipped.feeds) if rel.endswith(".atom.xml")]
    assert sorted(urls) == sorted(BASE_URL + rel for rel in feeds) and len(set(urls)) == len(urls)
    config = tmp_path / "c.yaml"
    config.write_text(f'site:\n  base_url: "{BASE_URL}"\nfeeds:\n  opml_format: rss\n')
    assert shipped.runner.invoke(main, ["publish", "--config", str(config), *shipped.args()]).exit_code == 0
    opml = etree.fromstring((shipped.feeds / "feeds.opml").read_bytes())
    assert sorted(opml.xpath("//outline/@xmlUrl")) == sorted(u.replace(".atom.xml", ".rss.xml") for u in urls)
    config.write_text("feeds:\n  opml_format: xml\n")
    result = shipped.runner.invoke(main, ["publish", "--config", str(config), *shipped.args()])
    assert result.exit_code == 2 and "'feeds.opml_format'" in result.output


def test_publish_wait_says_once_what_it_waits_for(site: Site) -> None:
    site.write_seed("a.md", seed_text())
    command = [sys.executable, "-m", "aggregator", "publish", "--wait", *site.args()]
    with writer_lock(site.state, site.feeds, owner="a test holding the lock"):
        proc = subprocess.Popen(command, cwd=site.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        ready, _, _ = select.select([proc.stderr], [], [], 60)  # until the waiting writer speaks
        if not ready:
            proc.kill()
        first = proc.stderr.readline() if ready else ""
        assert first.startswith(f"waiting: another aggregator process (pid {os.getpid()}, a test holding the lock)")
    assert proc.wait(timeout=60) == 0
    assert proc.stdout is not None
    rest = proc.stderr.read()  # through the same buffer as the line read above
    assert "waiting" not in rest, rest
    assert count(proc.stdout.read(), "published") == 1


# --- outputs that cannot be written: exit 4, the path named, nothing lost ---------------------


def _publish_process(site: Site) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aggregator", "publish", *site.args("--base-url", BASE_URL)],
                          cwd=site.root, capture_output=True, text=True, timeout=120)


def test_read_only_feeds_folder_is_exit_4_and_keeps_the_feeds(shipped: Site,
                                                             mounts: Callable[[Path, int], Mount]) -> None:
    disk = mounts(shipped.feeds, 8192)
    assert _publish_process(shipped).returncode == 0
    before = shipped.feed_files()
    assert b"1052661" in before["all.atom.xml"]
    (shipped.seeds / "000_c7cb833d7d46032b.txt").unlink()
    disk.remount("ro")
    done = _publish_process(shipped)
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    assert f"Error: cannot write {shipped.feeds}/" in done.stderr and "Read-only file system" in done.stderr
    assert shipped.feed_files() == before
    disk.remount("rw")
    done = _publish_process(shipped)
    assert done.returncode == 0 and count(done.stdout, "files written") > 0, done.stdout  # the deletion lands
    links = [entry.link for entry in read_feed((shipped.feeds / "all.atom.xml").read_bytes()).entries]
    assert not [link for link in links if "1052661" in link]


def test_full_disk_is_exit_4_and_leaves_no_half_file(shipped: Site, mounts: Callable[[Path, int], Mount]) -> None:
    mounts(shipped.feeds, 64)  # far less than the shipped seeds' feeds need
    done = _publish_process(shipped)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "No space left on device" in done.stderr, done.stderr
    assert f"cannot write {shipped.feeds}/" in done.stderr
    for rel, data in shipped.feed_files().items():
        assert "aggregator-tmp" not in rel, rel
        if rel.endswith(".xml"):
            read_feed(data, rel)  # whole, never cut short


def test_read_only_state_folder_is_exit_4_naming_the_state(site: Site, mounts: Callable[[Path, int], Mount]) -> None:
    site.write_seed("a.md", seed_text())
    disk = mounts(site.state.parent, 4096)
    disk.remount("ro")
    done = _publish_process(site)
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr and f"cannot write {site.state}" in done.stderr, done.stderr


def test_a_host_too_long_for_a_file_name_is_an_error_not_a_crash(site: Site) -> None:
    host = "a" * 60 + "." + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + ".com"  # 248 characters: DNS allows it
    site.write_seed("long.md", seed_text(url=f"https://{host}/story", provider=("Long", host)))
    site.write_seed("ok.md", seed_text(url="https://example.com/ok"))
    result = site.publish()
    assert result.exit_code == 0, result.output
    assert "long.md [webUrl]: URL host is not a valid domain name" in result.output
    assert count(result.output, "published") == 1


_MODULES_AFTER = (  # run as `python -m aggregator`, then list what it loaded
    "import runpy, sys\n"
    "try:\n"
    "    runpy.run_module('aggregator', run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
)


def test_a_publish_with_nothing_to_do_loads_no_writer_and_no_http_client(site: Site) -> None:
    site.write_seed("a.md", seed_text())
    command = [sys.executable, "-c", _MODULES_AFTER, "publish", *site.args("--base-url", BASE_URL)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    again = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert "0 files written" in again.stdout
    assert {"feedgen", "lxml", "jinja2"} <= set(first.stderr.split())  # it wrote every feed and page
    assert not {"feedgen", "lxml", "jinja2", "markdown_it", "langcodes", "aiohttp"} & set(again.stderr.split())
