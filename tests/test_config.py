"""Configuration rules on plain values: defaults, every key's validation, the messages that
name what the user typed, and the paths refused before anything is written. No CLI.

Every test runs in an empty temporary folder, so the repository's config is never read.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from aggregator.config import (
    DEFAULT_BASE_URL,
    Config,
    DaemonConfig,
    FeedsConfig,
    LimitsConfig,
    Origin,
    PathsConfig,
    SiteConfig,
    check_paths,
    config_from_mapping,
    load_config,
    served_base_url,
    with_overrides,
)
from aggregator.errors import ConfigError, PathError


@pytest.fixture(autouse=True)
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def config_error(mapping: Any, source: str | None = "cfg.yaml") -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(mapping, source)
    return caught.value


# --- defaults and the file -------------------------------------------------------------------


def test_without_a_file_every_setting_is_its_default() -> None:
    config = load_config(None)
    assert config == Config(SiteConfig(), PathsConfig(), FeedsConfig(), LimitsConfig(), DaemonConfig())
    assert config.site == SiteConfig("Aggregator", "News stories and their related coverage",
                                     "http://localhost:8000/", "en")
    assert config.paths == PathsConfig(Path("seeds"), Path("feeds"), Path(".aggregator/state.sqlite"))
    assert config.feeds == FeedsConfig(max_items=50, opml_format="atom", only_published=False, min_quality=None)
    assert config.daemon == DaemonConfig(rescan_seconds=300, debounce_ms=200, settle_ms=300, serve=None)
    assert config.origin == Origin(source=None, in_file=frozenset(), options=frozenset())


def test_the_default_file_in_the_current_folder_is_read_when_present(empty_cwd: Path) -> None:
    (empty_cwd / "config").mkdir()
    (empty_cwd / "config" / "aggregator.yaml").write_text("site:\n  title: Mine\nfeeds:\n  max_items: 7\n")
    config = load_config(None)
    assert (config.site.title, config.feeds.max_items) == ("Mine", 7)
    assert config.origin == Origin(source="config/aggregator.yaml", in_file=frozenset({"site.title",
                                                                                        "feeds.max_items"}))


@pytest.mark.parametrize("text", ["", "# only a comment\n", "site:\n", "site: {}\n"])
def test_an_empty_file_or_section_gives_the_defaults(empty_cwd: Path, text: str) -> None:
    (empty_cwd / "c.yaml").write_text(text)
    assert load_config(Path("c.yaml")) == Config()


@pytest.mark.parametrize(
    ("content", "key", "message"),
    [
        (None, "--config", "config key '--config': cannot read c.yaml: No such file or directory"),
        (b"site: \xff\n", "--config", "config key '--config': c.yaml is not UTF-8"),
        (b"site: [\n", "(file)", "c.yaml: config key '(file)': invalid YAML: "),
        (b"- a\n- b\n", "(top level)", "c.yaml: config key '(top level)': must be a mapping of sections"),
    ],
    ids=["missing", "not-utf8", "bad-yaml", "a-list"],
)
def test_an_unreadable_or_malformed_file_is_a_config_error(empty_cwd: Path, content: bytes | None, key: str,
                                                           message: str) -> None:
    if content is not None:
        (empty_cwd / "c.yaml").write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_config(Path("c.yaml"))
    assert caught.value.key == key
    assert str(caught.value).startswith(message)


def test_a_file_error_names_the_file_and_the_key(empty_cwd: Path) -> None:
    (empty_cwd / "c.yaml").write_text("feeds:\n  max_items: many\n")
    with pytest.raises(ConfigError) as caught:
        load_config(Path("c.yaml"))
    assert (caught.value.key, caught.value.source) == ("feeds.max_items", "c.yaml")
    assert str(caught.value) == "c.yaml: config key 'feeds.max_items': must be a whole number, got 'many'"


# --- every section and key -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "key", "reason"),
    [
        ({"sites": {}}, "sites", "unknown section (known: site, paths, feeds, limits, daemon, websub)"),
        ({"site": {"titel": "x"}}, "site.titel",
         "unknown key (known: title, description, base_url, language, templates, thumbnails)"),
        ({"paths": {"seed": "x"}}, "paths.seed", "unknown key (known: seeds, feeds, state)"),
        ({"feeds": {"max": 1}}, "feeds.max",
         "unknown key (known: max_items, opml_format, only_published, min_quality, archives,"
         " archive_page_items, tombstones, tombstone_days)"),
        ({"limits": {"max_bytes": 1}}, "limits.max_bytes",
         "unknown key (known: max_seed_bytes, max_related, max_title_chars, max_excerpt_chars, max_body_chars, "
         "max_topics, max_images)"),
        ({"daemon": {"bind": "x"}}, "daemon.bind",
         "unknown key (known: rescan_seconds, debounce_ms, settle_ms, serve)"),
        ({"site": "x"}, "site", "must be a mapping"),
        ({"limits": [1]}, "limits", "must be a mapping"),
        ("text", "(top level)", "must be a mapping of sections"),
    ],
)
def test_unknown_sections_and_keys_are_named(mapping: Any, key: str, reason: str) -> None:
    error = config_error(mapping)
    assert (error.key, error.reason, error.source) == (key, reason, "cfg.yaml")
    assert str(error) == f"cfg.yaml: config key {key!r}: {reason}"


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("site.title", 5, "must be a non-empty string, got 5"),
        ("site.title", "  ", "must be a non-empty string, got '  '"),
        ("site.description", ["a"], "must be a non-empty string, got ['a']"),
        ("site.base_url", 8000, "must be a non-empty string, got 8000"),
        ("site.language", True, "must be a non-empty string, got True"),
        ("site.language", "", "must be a non-empty string, got ''"),
        ("site.title", None, "must not be empty"),
        ("paths.seeds", 5, "must be a path, got 5"),
        ("paths.feeds", "", "must be a path, got ''"),
        ("paths.state", None, "must not be empty"),
        ("feeds.max_items", "10", "must be a whole number, got '10'"),
        ("feeds.max_items", True, "must be a whole number, got True"),
        ("feeds.opml_format", 1, "must be a non-empty string, got 1"),
        ("feeds.only_published", "yes", "must be true or false, got 'yes'"),
        ("feeds.only_published", 1, "must be true or false, got 1"),
        ("feeds.min_quality", 1.5, "must be a whole number, got 1.5"),
        ("limits.max_seed_bytes", "2M", "must be a whole number, got '2M'"),
        ("limits.max_related", 2.0, "must be a whole number, got 2.0"),
        ("limits.max_title_chars", False, "must be a whole number, got False"),
        ("limits.max_excerpt_chars", "4000", "must be a whole number, got '4000'"),
        ("limits.max_body_chars", None, "must not be empty"),
        ("limits.max_topics", [50], "must be a whole number, got [50]"),
        ("limits.max_images", {"n": 1}, "must be a whole number, got {'n': 1}"),
        ("daemon.rescan_seconds", 1.5, "must be a whole number, got 1.5"),
        ("daemon.debounce_ms", True, "must be a whole number, got True"),
        ("daemon.settle_ms", "300", "must be a whole number, got '300'"),
        ("daemon.serve", 8000, "must be a non-empty string, got 8000"),
        ("websub.hubs", 5, "must be a list of non-empty strings, got 5"),
        ("websub.hubs", ["https://hub.example/", ""],
         "must be a list of non-empty strings, got ['https://hub.example/', '']"),
        ("websub.builtin", "on", "must be true or false, got 'on'"),
        ("websub.lease_seconds", "1d", "must be a whole number, got '1d'"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_the_key(key: str, value: Any, reason: str) -> None:
    section, name = key.split(".")
    error = config_error({section: {name: value}})
    assert (error.key, error.reason) == (key, reason)
    assert str(error) == f"cfg.yaml: config key {key!r}: {reason}"


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("feeds.max_items", 0, "must be between 1 and 10000"),
        ("feeds.max_items", 10_001, "must be between 1 and 10000"),
        *[(f"limits.{f.name}", 0, "must be at least 1") for f in dataclasses.fields(LimitsConfig)],
        ("daemon.rescan_seconds", 0, "must be at least 1"),
        ("daemon.debounce_ms", -1, "must not be negative"),
        ("daemon.settle_ms", -1, "must not be negative"),
        ("daemon.serve", "nope", "expected HOST:PORT, got 'nope'"),
        ("daemon.serve", "127.0.0.1:70000", "expected HOST:PORT, got '127.0.0.1:70000'"),
        ("websub.hubs", ["https://hub.example/", "https://hub.example/"], "names a hub twice"),
        ("websub.lease_seconds", 10, "must hold 1 <= min_lease_seconds <= lease_seconds <= max_lease_seconds"
                                     " <= 31622400 (a year)"),
        ("websub.max_subscriptions_per_host", 0, "must be at least 1"),
        ("websub.max_subscriptions", 0, "must be at least 1"),
        ("websub.timeout_seconds", 0, "must be at least 1"),
        ("websub.max_deliveries", 0, "must be at least 1"),
        ("websub.ping_wait_seconds", -1, "must not be negative"),
    ],
)
def test_a_value_out_of_range_is_refused_naming_the_key(key: str, value: Any, reason: str) -> None:
    section, name = key.split(".")
    error = config_error({section: {name: value}})
    assert (error.key, error.reason, error.source) == (key, reason, "cfg.yaml")


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("site.title", "  My feeds ", "My feeds"),
        ("paths.seeds", " in ", Path("in")),
        ("feeds.max_items", 1, 1),
        ("feeds.max_items", 10_000, 10_000),
        ("feeds.only_published", True, True),
        ("feeds.min_quality", None, None),
        ("feeds.min_quality", -3, -3),
        ("limits.max_related", 1, 1),
        ("daemon.debounce_ms", 0, 0),
        ("daemon.serve", ":8080", ":8080"),
        ("daemon.serve", None, None),
        ("websub.hubs", "https://hub.example/", ("https://hub.example/",)),
        ("websub.hubs", ["https://a.example/hub", "http://b.example/"], ("https://a.example/hub", "http://b.example/")),
        ("websub.builtin", True, True),
    ],
)
def test_a_valid_value_is_stored_with_its_type(key: str, value: Any, stored: Any) -> None:
    section, name = key.split(".")
    config = config_from_mapping({section: {name: value}})
    assert getattr(getattr(config, section), name) == stored


def test_an_error_without_a_file_names_only_the_key() -> None:
    error = config_error({"feeds": {"max_items": 0}}, source=None)
    assert str(error) == "config key 'feeds.max_items': must be between 1 and 10000"


# --- site.base_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://example.org/feeds/", "https://example.org/feeds/"),
        ("https://example.org/feeds", "https://example.org/feeds/"),
        ("http://example.org", "http://example.org/"),
        ("https://localhost", "https://localhost/"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/"),
        ("http://[::1]:8000/", "http://[::1]:8000/"),
        ("http://[2001:db8::1]/news", "http://[2001:db8::1]/news/"),
        ("https://example.org:1/", "https://example.org:1/"),
        ("https://example.org:65535/", "https://example.org:65535/"),
        ("  https://example.org/x  ", "https://example.org/x/"),
    ],
)
def test_base_url_is_accepted_with_a_final_slash_added(given: str, stored: str) -> None:
    assert config_from_mapping({"site": {"base_url": given}}).site.base_url == stored


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("https://exa mple.org/", "must not contain white space, got 'https://exa mple.org/'"),
        ("https://example.org/a\tb", "must not contain white space, got 'https://example.org/a\\tb'"),
        ("https://example.org/?a=1", "must have no query or fragment (feed paths are appended to it), "
                                     "got 'https://example.org/?a=1'"),
        ("https://example.org/?", "must have no query or fragment (feed paths are appended to it), "
                                  "got 'https://example.org/?'"),
        ("https://example.org/#top", "must have no query or fragment (feed paths are appended to it), "
                                     "got 'https://example.org/#top'"),
        ("https://user:pw@example.org/", "must not carry a user name or password, got 'https://user:pw@example.org/'"),
        ("https://user@example.org/", "must not carry a user name or password, got 'https://user@example.org/'"),
        ("https://example.org:0/", "has a port outside 1-65535, got 'https://example.org:0/'"),
        ("https://example.org:99999/", "has a port outside 1-65535, got 'https://example.org:99999/'"),
        ("https://example.org:http/", "has a port outside 1-65535, got 'https://example.org:http/'"),
        ("https://exa_mple.org/", "has an invalid host name 'exa_mple.org', got 'https://exa_mple.org/'"),
        ("https://-x.org/", "has an invalid host name '-x.org', got 'https://-x.org/'"),
        ("http://ex<a>.org/", "has an invalid host name 'ex<a>.org', got 'http://ex<a>.org/'"),
        ("ftp://example.org/", "must be an absolute http(s) URL such as https://example.org/feeds/, "
                               "got 'ftp://example.org/'"),
        ("file:///srv/feeds/", "must be an absolute http(s) URL such as https://example.org/feeds/, "
                               "got 'file:///srv/feeds/'"),
        ("/feeds/", "must be an absolute http(s) URL such as https://example.org/feeds/, got '/feeds/'"),
        ("example.org/feeds/", "must be an absolute http(s) URL such as https://example.org/feeds/, "
                               "got 'example.org/feeds/'"),
        ("https:///feeds/", "must be an absolute http(s) URL such as https://example.org/feeds/, "
                            "got 'https:///feeds/'"),
    ],
    ids=repr,
)
def test_base_url_is_refused_naming_the_key_and_the_reason(given: str, reason: str) -> None:
    error = config_error({"site": {"base_url": given}})
    assert (error.key, error.reason) == ("site.base_url", reason)


# --- site.language and feeds.opml_format -----------------------------------------------------


@pytest.mark.parametrize("tag", ["en", "en-GB", "pt-BR", "zh-Hant-TW", "de"])
def test_language_accepts_bcp47_tags(tag: str) -> None:
    assert config_from_mapping({"site": {"language": tag}}).site.language == tag


@pytest.mark.parametrize("tag", ["english!!", "en_US", "english", "en-", "123"])
def test_language_refuses_what_is_not_a_bcp47_tag(tag: str) -> None:
    error = config_error({"site": {"language": tag}})
    assert (error.key, error.reason) == ("site.language",
                                         f"must be a BCP 47 language tag such as en or pt-BR, got {tag!r}")


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_opml_format_accepts_each_feed_format(fmt: str) -> None:
    assert config_from_mapping({"feeds": {"opml_format": fmt}}).feeds.opml_format == fmt


@pytest.mark.parametrize("fmt", ["xml", "ATOM", "rss2"])
def test_opml_format_refuses_anything_else(fmt: str) -> None:
    error = config_error({"feeds": {"opml_format": fmt}})
    assert (error.key, error.reason) == ("feeds.opml_format", f"must be one of rss, atom, json, got {fmt!r}")


# --- command-line overrides and the names of things ------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"base_url": "http://example.org:99999/"}, "--base-url: has a port outside 1-65535, "
                                                    "got 'http://example.org:99999/'"),
        ({"base_url": "ftp://x/"}, "--base-url: must be an absolute http(s) URL such as https://example.org/feeds/, "
                                   "got 'ftp://x/'"),
        ({"base_url": " https://example.org/"}, "--base-url: must not contain white space, "
                                                "got ' https://example.org/'"),
        ({"serve": "nope"}, "--serve: expected HOST:PORT, got 'nope'"),
    ],
)
def test_an_override_error_names_the_option_not_the_key_or_the_file(options: dict[str, str], message: str) -> None:
    config = config_from_mapping({"site": {"base_url": "https://example.org/"}}, "cfg.yaml")
    with pytest.raises(ConfigError) as caught:
        with_overrides(config, **options)
    assert str(caught.value) == message
    assert caught.value.source is None


def test_overrides_replace_the_values_and_are_recorded() -> None:
    config = config_from_mapping({"paths": {"feeds": "out"}}, "cfg.yaml")
    overridden = with_overrides(config, feeds="elsewhere", seeds=None, state="s.db", base_url="https://b.org",
                                serve=":9000")
    assert overridden.paths == PathsConfig(seeds=Path("seeds"), feeds=Path("elsewhere"), state=Path("s.db"))
    assert (overridden.site.base_url, overridden.daemon.serve) == ("https://b.org/", ":9000")
    assert overridden.origin.options == {"paths.feeds", "paths.state", "site.base_url", "daemon.serve"}
    assert overridden.origin.in_file == {"paths.feeds"}
    assert with_overrides(config, feeds=None, base_url=None) == config


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("paths.feeds", "--feeds"),
        ("site.base_url", "--base-url"),
        ("paths.seeds", "config key 'paths.seeds' (cfg.yaml)"),
        ("paths.state", "paths.state (default)"),
    ],
)
def test_origin_names_an_option_a_file_key_or_a_default(key: str, name: str) -> None:
    origin = Origin(source="cfg.yaml", in_file=frozenset({"paths.seeds", "paths.feeds"}),
                    options=frozenset({"paths.feeds", "site.base_url"}))
    assert origin.name(key) == name
    assert origin.given(key) is (key != "paths.state")


def test_served_base_url_applies_only_when_no_base_url_was_configured_or_given() -> None:
    served = "http://[::1]:8000/"
    defaults = config_from_mapping({})
    assert served_base_url(defaults, served).site.base_url == served
    in_file = config_from_mapping({"site": {"base_url": "https://example.org/"}}, "cfg.yaml")
    assert served_base_url(in_file, served).site.base_url == "https://example.org/"
    by_option = with_overrides(defaults, base_url="https://b.org/")
    assert served_base_url(by_option, served).site.base_url == "https://b.org/"
    other_key = config_from_mapping({"site": {"title": "T"}}, "cfg.yaml")
    assert served_base_url(other_key, served).site.base_url == served
    assert defaults.site.base_url == DEFAULT_BASE_URL


# --- check_paths -----------------------------------------------------------------------------


@pytest.fixture
def home(empty_cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder beside the current one (not around it), and a seeds folder."""
    folder = empty_cwd.parent / "home" / "user"
    folder.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(folder))
    (empty_cwd / "seeds").mkdir()
    return folder


def refused(config: Config, **kwargs: bool) -> PathError:
    with pytest.raises(PathError) as caught:
        check_paths(config, **kwargs)
    return caught.value


def given(**options: str) -> Config:
    return with_overrides(config_from_mapping({}), **options)


@pytest.mark.usefixtures("home")
def test_default_paths_are_accepted() -> None:
    assert check_paths(config_from_mapping({})) is None


@pytest.mark.usefixtures("home")
def test_feeds_at_the_root_folder_are_refused() -> None:
    error = refused(given(feeds="/"))
    assert error.key == "paths.feeds"
    assert str(error) == "refusing to write feeds to /: the root folder (given as --feeds /)"


def test_feeds_at_the_root_folder_through_a_symlink_are_refused(home: Path) -> None:
    os.symlink("/", "rootlink")
    error = refused(given(feeds="rootlink"))
    assert str(error) == (f"refusing to write feeds to rootlink, which is /: the root folder "
                          f"(relative to {Path.cwd()}, the current folder; given as --feeds rootlink)")


def test_feeds_at_the_home_folder_are_refused(home: Path) -> None:
    error = refused(given(feeds=str(home)))
    assert str(error) == f"refusing to write feeds to {home}: your home folder (given as --feeds {home})"


def test_feeds_at_a_folder_holding_the_home_folder_are_refused(home: Path) -> None:
    error = refused(given(feeds=str(home.parent)))
    assert str(error) == (f"refusing to write feeds to {home.parent}: it holds your home folder {home} "
                          f"(given as --feeds {home.parent})")


def test_feeds_inside_the_home_folder_are_accepted(home: Path) -> None:
    assert check_paths(given(feeds=str(home / "feeds"))) is None


@pytest.mark.usefixtures("home")
@pytest.mark.parametrize(
    ("feeds", "leads", "where"),
    [
        ("seeds", "", "is"),
        ("seeds/out", "", "is inside"),
        (".", "", "holds"),
        ("seedlink", ", which is {cwd}/seeds", "is"),
        ("seedlink/x", ", which is {cwd}/seeds/x", "is inside"),
    ],
)
def test_feeds_at_inside_or_around_the_seeds_folder_are_refused(feeds: str, leads: str, where: str) -> None:
    os.symlink("seeds", "seedlink")
    error = refused(given(feeds=feeds))
    cwd = Path.cwd()
    assert error.key == "paths.feeds"
    assert str(error) == (f"refusing to write feeds to {feeds}{leads.format(cwd=cwd)}: it {where} the seeds folder "
                          f"seeds (relative to {cwd}, the current folder; given as --feeds {feeds})")


@pytest.mark.usefixtures("home")
def test_state_inside_the_feeds_folder_is_refused() -> None:
    error = refused(given(feeds="out", state="out/state.sqlite"))
    assert error.key == "paths.state"
    assert str(error) == ("refusing to keep the state at out/state.sqlite: it is inside the feeds folder out, and "
                          f"everything there is served (relative to {Path.cwd()}, the current folder; "
                          "given as --state out/state.sqlite)")


def test_state_that_is_a_folder_is_refused(home: Path) -> None:
    (Path.cwd() / "statedir").mkdir()
    error = refused(config_from_mapping({"paths": {"state": "statedir"}}, "cfg.yaml"))
    assert error.key == "paths.state"
    assert str(error) == ("the state must be a file, and statedir is a folder (relative to "
                          f"{Path.cwd()}, the current folder; config key 'paths.state' in cfg.yaml)")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (lambda: given(seeds="nope"),
         "seeds folder not found: nope (relative to {cwd}, the current folder; given as --seeds nope)"),
        (lambda: given(seeds="/nonexistent-seeds"),
         "seeds folder not found: /nonexistent-seeds (given as --seeds /nonexistent-seeds)"),
        (lambda: config_from_mapping({"paths": {"seeds": "nope"}}, "cfg.yaml"),
         "seeds folder not found: nope (relative to {cwd}, the current folder; config key 'paths.seeds' in cfg.yaml)"),
        (lambda: config_from_mapping({}),
         "seeds folder not found: seeds (relative to {cwd}, the current folder; the default; no config file found; "
         "pass --seeds)"),
        (lambda: config_from_mapping({"site": {"title": "T"}}, "cfg.yaml"),
         "seeds folder not found: seeds (relative to {cwd}, the current folder; the default of paths.seeds; "
         "set it in cfg.yaml or pass --seeds)"),
        (lambda: given(seeds="afile"),
         "seeds folder is not a folder: afile (relative to {cwd}, the current folder; given as --seeds afile)"),
    ],
    ids=["option", "absolute", "file-key", "default-no-file", "default-with-file", "not-a-folder"],
)
def test_a_missing_seeds_folder_says_relative_to_what_and_how_it_was_given(empty_cwd: Path, config: Any,
                                                                           message: str) -> None:
    (empty_cwd / "afile").write_text("")
    error = refused(config())
    assert error.key == "paths.seeds"
    assert str(error) == message.format(cwd=Path.cwd())


def test_a_missing_seeds_folder_is_accepted_when_seeds_are_not_needed() -> None:
    assert check_paths(given(seeds="nope"), seeds=False) is None


@pytest.mark.parametrize("hub", ["hub.example.org", "ftp://hub.example.org/", "https:///x", "https://hub.example/ x"])
def test_a_hub_that_is_not_an_http_url_is_refused_naming_its_place(hub: str) -> None:
    error = config_error({"websub": {"hubs": ["https://fine.example/", hub]}})
    assert (error.key, error.reason) == ("websub.hubs[1]", f"must be an absolute http(s) URL, got {hub!r}")


def test_the_feeds_advertise_the_configured_hubs_then_the_daemons_own() -> None:
    config = config_from_mapping({"site": {"base_url": "https://news.example/feeds"},
                                  "websub": {"hubs": ["https://hub.example/"], "builtin": True}})
    assert config.hubs == ("https://hub.example/", "https://news.example/feeds/hub")
    assert config_from_mapping({}).hubs == ()
    assert config.output_digest() != config_from_mapping({"site": {"base_url": "https://news.example/feeds"}}
                                                         ).output_digest()  # every feed is written again
