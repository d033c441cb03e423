"""Configuration: defaults, loading `config/aggregator.yaml`, validation.

Every key is optional. An unknown key or a bad value raises `ConfigError` naming the
key (`feeds.max_items`), so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from aggregator.errors import ConfigError, PathError
from aggregator.model import digest

DEFAULT_CONFIG_PATH = Path("config/aggregator.yaml")
DEFAULT_BASE_URL = "http://localhost:8000/"
DEFAULT_LANGUAGE = "en"  # valid: the one tag accepted without loading the language registry
HUB_PATH = "hub"  # the daemon's own WebSub hub, below the base URL
# A host name (letters, digits, hyphens: RFC 1123) or an IPv4 address, as the operator's
# own base URL may carry it. Stricter than the normalizer's host rule on purpose: article
# URLs come from the wild (underscores happen), the base URL is ours to get right.
_BASE_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?")
# The command-line option that overrides each key: an error names what the user typed.
OPTIONS = {
    "site.base_url": "--base-url",
    "paths.seeds": "--seeds",
    "paths.feeds": "--feeds",
    "paths.state": "--state",
    "daemon.serve": "--serve",
    "websub.builtin": "--hub",
}


@dataclass(frozen=True, slots=True)
class SiteConfig:
    title: str = "Aggregator"
    description: str = "News stories and their related coverage"
    base_url: str = DEFAULT_BASE_URL
    language: str = DEFAULT_LANGUAGE
    templates: Path | None = None  # a folder of templates overriding the built-in ones by name
    thumbnails: bool = True  # the outlets' images on the pages (each one a request to the outlet)


@dataclass(frozen=True, slots=True)
class PathsConfig:
    seeds: Path = Path("seeds")
    feeds: Path = Path("feeds")
    state: Path = Path(".aggregator/state.sqlite")


@dataclass(frozen=True, slots=True)
class FeedsConfig:
    max_items: int = 50
    opml_format: str = "atom"
    only_published: bool = False
    min_quality: int | None = None
    archives: bool = True  # RFC 5005 archive documents: every item the feed still has
    archive_page_items: int = 100  # items per archive document
    tombstones: bool = False  # RFC 6721 deleted-entry elements in the Atom subscription document
    tombstone_days: int = 7  # how long a deletion stays announced

    @property
    def tombstone_seconds(self) -> int:
        """How long a deletion stays announced."""
        return self.tombstone_days * 86400

    @property
    def history(self) -> bool:
        """Whether each feed's members are kept: archives and tombstones both need them."""
        return self.archives or self.tombstones


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    """Bounds that keep the worst seed cheap; see README "What happens to bad input"."""

    max_seed_bytes: int = 2 * 1024 * 1024
    max_related: int = 200
    max_title_chars: int = 400
    max_excerpt_chars: int = 4000
    max_body_chars: int = 200_000
    max_topics: int = 50
    max_images: int = 20


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    rescan_seconds: int = 300
    debounce_ms: int = 200
    settle_ms: int = 300
    serve: str | None = None


@dataclass(frozen=True, slots=True)
class WebSubConfig:
    """Push (WebSub): hubs the feeds advertise and ping, and the daemon's own hub."""

    hubs: tuple[str, ...] = ()  # external hubs: advertised in every feed, pinged after each publish
    builtin: bool = False  # the daemon's own hub, at `hub` below the base URL (needs daemon.serve)
    allow_private_callbacks: bool = False  # let the hub call back loopback and private addresses
    lease_seconds: int = 10 * 86400  # a subscription's lease when the subscriber asks for none
    min_lease_seconds: int = 3600  # asked-for leases are brought within these bounds
    max_lease_seconds: int = 30 * 86400
    max_subscriptions_per_host: int = 100  # subscriptions (and ones being verified) per callback host
    max_subscriptions: int = 10_000  # the same, all hosts together
    timeout_seconds: int = 10  # for each request to a subscriber or a hub
    max_deliveries: int = 32  # requests to subscribers at once, all hosts together
    ping_wait_seconds: int = 5  # how long a one-off publish waits for its pings before it exits


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the settings came from, so that a message names what the user typed."""

    source: str | None = None  # the config file read; None: built-in defaults only
    in_file: frozenset[str] = frozenset()  # keys the file sets ("paths.feeds")
    options: frozenset[str] = frozenset()  # keys set by a command-line option

    def name(self, key: str) -> str:
        """`--feeds`, `config key 'paths.feeds' (config/aggregator.yaml)` or `paths.feeds (default)`."""
        if key in self.options:
            return OPTIONS[key]
        if key in self.in_file:
            return f"config key '{key}' ({self.source})"
        return f"{key} (default)"

    def given(self, key: str) -> bool:
        return key in self.options or key in self.in_file


@dataclass(frozen=True, slots=True)
class Config:
    site: SiteConfig = field(default_factory=SiteConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    feeds: FeedsConfig = field(default_factory=FeedsConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    websub: WebSubConfig = field(default_factory=WebSubConfig)
    origin: Origin = field(default_factory=Origin, compare=False, repr=False)

    def output_digest(self) -> str:
        """A hash of every setting that changes rendered bytes (not paths or limits)."""
        relevant = {
            "site": dataclasses.asdict(self.site),
            "feeds": dataclasses.asdict(self.feeds),
            "hubs": self.hubs,
        }
        return digest(json.dumps(relevant, sort_keys=True, default=str).encode())

    @property
    def hub_url(self) -> str:
        """Where the daemon's own hub is served: `hub` below the base URL."""
        return self.site.base_url + HUB_PATH

    @property
    def hubs(self) -> tuple[str, ...]:
        """Every hub the feeds advertise: the configured ones, then the daemon's own."""
        return (*self.websub.hubs, self.hub_url) if self.websub.builtin else self.websub.hubs

    def parse_digest(self) -> str:
        """A hash of the settings that change what a seed normalizes to (the limits)."""
        return digest(json.dumps(dataclasses.asdict(self.limits), sort_keys=True).encode())


_SECTIONS: dict[str, type[Any]] = {
    "site": SiteConfig,
    "paths": PathsConfig,
    "feeds": FeedsConfig,
    "limits": LimitsConfig,
    "daemon": DaemonConfig,
    "websub": WebSubConfig,
}


def _check_value(key: str, annotation: str, value: Any) -> Any:
    """Coerce one YAML value to the field's declared type or raise naming the key."""
    optional = annotation.endswith("| None")
    base = annotation.removesuffix(" | None")
    if value is None:
        if optional:
            return None
        raise ConfigError(key, "must not be empty")
    if base == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"must be a whole number, got {value!r}")
        return value
    if base == "bool":
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, got {value!r}")
        return value
    if base == "str":
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(key, f"must be a non-empty string, got {value!r}")
        return value.strip()
    if base == "tuple[str, ...]":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(key, f"must be a list of non-empty strings, got {value!r}")
        return tuple(v.strip() for v in value)
    if base == "Path":
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(key, f"must be a path, got {value!r}")
        return Path(value.strip())
    raise AssertionError(f"unhandled config type {annotation}")


def _base_url(base: str) -> str:
    """The base URL as feeds use it (a `/` added at the end); ValueError says what is wrong."""
    if any(ch.isspace() for ch in base):
        raise ValueError(f"must not contain white space, got {base!r}")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an absolute http(s) URL such as https://example.org/feeds/, got {base!r}")
    if "?" in base or "#" in base:
        raise ValueError(f"must have no query or fragment (feed paths are appended to it), got {base!r}")
    if "@" in parts.netloc:
        raise ValueError(f"must not carry a user name or password, got {base!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"has a port outside 1-65535, got {base!r}") from None
    host = parts.hostname or ""
    if port == 0 or not (_BASE_HOST.fullmatch(host) or _ipv6(host)):
        reason = "a port outside 1-65535" if port == 0 else f"an invalid host name {host!r}"
        raise ValueError(f"has {reason}, got {base!r}")
    return base if base.endswith("/") else base + "/"


def _ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def _valid_language(tag: str) -> bool:
    """Whether `tag` is a valid BCP 47 language tag; the registry is loaded only for a
    language other than the default, which needs no check."""
    import langcodes

    return bool(langcodes.tag_is_valid(tag))


def _check_ranges(config: Config) -> Config:
    """Range checks that types alone cannot express; raises naming the config key."""
    try:
        base = _base_url(config.site.base_url)
    except ValueError as exc:
        raise ConfigError("site.base_url", str(exc)) from None
    config = dataclasses.replace(config, site=dataclasses.replace(config.site, base_url=base))
    language = config.site.language
    if "_" in language or (language != DEFAULT_LANGUAGE and not _valid_language(language)):
        raise ConfigError("site.language", f"must be a BCP 47 language tag such as en or pt-BR, got {language!r}")
    templates = config.site.templates
    if templates is not None:
        if not templates.is_dir():
            where = "" if templates.is_absolute() else f" (relative to {Path.cwd()}, the current folder)"
            raise ConfigError("site.templates", f"must be a folder of templates, {templates}{where} is not one")
        from jinja2 import TemplateSyntaxError

        from aggregator.formats.html import check_templates

        try:
            check_templates(templates)
        except TemplateSyntaxError as exc:
            raise ConfigError("site.templates",
                              f"{templates / (exc.name or '')}, line {exc.lineno}: {exc.message}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError("site.templates", f"cannot read a template in {templates}: {exc}") from None
    if not 1 <= config.feeds.max_items <= 10_000:
        raise ConfigError("feeds.max_items", "must be between 1 and 10000")
    if not 10 <= config.feeds.archive_page_items <= 10_000:
        raise ConfigError("feeds.archive_page_items", "must be between 10 and 10000")
    if not 1 <= config.feeds.tombstone_days <= 365:
        raise ConfigError("feeds.tombstone_days", "must be between 1 and 365")
    from aggregator.formats import FORMATS

    names = [fmt.name for fmt in FORMATS if fmt.feed]
    if config.feeds.opml_format not in names:
        raise ConfigError("feeds.opml_format", f"must be one of {', '.join(names)}, got {config.feeds.opml_format!r}")
    for name in (f.name for f in dataclasses.fields(LimitsConfig)):
        if getattr(config.limits, name) < 1:
            raise ConfigError(f"limits.{name}", "must be at least 1")
    if config.daemon.rescan_seconds < 1:
        raise ConfigError("daemon.rescan_seconds", "must be at least 1")
    for key in ("debounce_ms", "settle_ms"):
        if getattr(config.daemon, key) < 0:
            raise ConfigError(f"daemon.{key}", "must not be negative")
    _check_websub(config.websub)
    if config.daemon.serve is not None:
        from aggregator.serve import parse_bind

        try:
            parse_bind(config.daemon.serve)
        except ValueError as exc:
            raise ConfigError("daemon.serve", str(exc)) from None
    return config


def _check_websub(websub: WebSubConfig) -> None:
    for n, hub in enumerate(websub.hubs):
        parts = urlsplit(hub)
        if parts.scheme not in ("http", "https") or not parts.hostname or any(ch.isspace() for ch in hub):
            raise ConfigError(f"websub.hubs[{n}]", f"must be an absolute http(s) URL, got {hub!r}")
    if len(set(websub.hubs)) != len(websub.hubs):
        raise ConfigError("websub.hubs", "names a hub twice")
    if not 1 <= websub.min_lease_seconds <= websub.lease_seconds <= websub.max_lease_seconds <= 366 * 86400:
        raise ConfigError("websub.lease_seconds", "must hold 1 <= min_lease_seconds <= lease_seconds"
                          " <= max_lease_seconds <= 31622400 (a year)")
    for key in ("max_subscriptions_per_host", "max_subscriptions", "timeout_seconds", "max_deliveries"):
        if getattr(websub, key) < 1:
            raise ConfigError(f"websub.{key}", "must be at least 1")
    if websub.ping_wait_seconds < 0:
        raise ConfigError("websub.ping_wait_seconds", "must not be negative")


def _validate(config: Config) -> Config:
    """`_check_ranges`, with the error naming the key as the user gave it."""
    try:
        return _check_ranges(config)
    except ConfigError as exc:
        origin = config.origin
        if exc.key in origin.options:
            raise ConfigError(exc.key, exc.reason, name=OPTIONS[exc.key]) from None
        raise ConfigError(exc.key, exc.reason, origin.source if exc.key in origin.in_file else None) from None


def config_from_mapping(data: Any, source: str | None = None) -> Config:
    """Build a validated `Config` from the parsed YAML mapping."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("(top level)", "must be a mapping of sections", source)
    sections: dict[str, Any] = {}
    try:
        for name, value in data.items():
            if name not in _SECTIONS:
                raise ConfigError(str(name), f"unknown section (known: {', '.join(_SECTIONS)})")
            cls = _SECTIONS[name]
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise ConfigError(str(name), "must be a mapping")
            known = {f.name: f for f in dataclasses.fields(cls)}
            kwargs = {}
            for key, raw in value.items():
                if key not in known:
                    raise ConfigError(
                        f"{name}.{key}", f"unknown key (known: {', '.join(known)})"
                    )
                kwargs[key] = _check_value(f"{name}.{key}", str(known[key].type), raw)
            sections[name] = cls(**kwargs)
        in_file = frozenset(f"{name}.{key}" for name, value in data.items() if value for key in value)
        return _validate(Config(**sections, origin=Origin(source=source, in_file=in_file)))
    except ConfigError as exc:
        if source and exc.source is None:
            raise ConfigError(exc.key, exc.reason, source) from None
        raise


def load_config(path: Path | None) -> Config:
    """Read the config file, or the defaults when there is none.

    An explicit `path` must exist; without one, `config/aggregator.yaml` in the
    current directory is used when present.
    """
    if path is None:
        if not DEFAULT_CONFIG_PATH.is_file():
            return _validate(Config())
        path = DEFAULT_CONFIG_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("--config", f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("--config", f"{path} is not UTF-8") from exc
    try:
        data = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError("(file)", f"invalid YAML: {exc}", str(path)) from exc
    return config_from_mapping(data, str(path))


def with_overrides(config: Config, **options: Any) -> Config:
    """Apply command-line options (None means not given), validated like the file."""
    given = {key: value for key, value in options.items() if value is not None}
    sections: dict[str, Any] = {"site": config.site, "paths": config.paths, "daemon": config.daemon,
                                "websub": config.websub}
    keys = set()
    for key, value in given.items():
        section = next(s for s in sections if f"{s}.{key}" in OPTIONS)
        if section == "paths":
            value = Path(value)
        sections[section] = dataclasses.replace(sections[section], **{key: value})
        keys.add(f"{section}.{key}")
    origin = dataclasses.replace(config.origin, options=config.origin.options | keys)
    return _validate(dataclasses.replace(config, **sections, origin=origin))


def served_base_url(config: Config, url: str) -> Config:
    """The config with `url` (the address the daemon serves on) as its base URL, unless
    one was configured: the feeds' links then follow the server."""
    if config.origin.given("site.base_url"):
        return config
    return dataclasses.replace(config, site=dataclasses.replace(config.site, base_url=url))


def _where(config: Config, key: str, path: Path) -> str:
    """How a path was given and what it is relative to, for a message."""
    origin = config.origin
    notes = [] if path.is_absolute() else [f"relative to {Path.cwd()}, the current folder"]
    if key in origin.options:
        notes.append(f"given as {OPTIONS[key]} {path}")
    elif key in origin.in_file:
        notes.append(f"config key '{key}' in {origin.source}")
    elif origin.source is None:
        notes.append(f"the default; no config file found; pass {OPTIONS[key]}")
    else:
        notes.append(f"the default of {key}; set it in {origin.source} or pass {OPTIONS[key]}")
    return f" ({'; '.join(notes)})"


def _refuse(config: Config, key: str, reason: str) -> PathError:
    path = getattr(config.paths, key.split(".")[1])
    return PathError(key, f"{reason}{_where(config, key, path)}")


def check_paths(config: Config, *, seeds: bool = True) -> None:
    """Refuse, before anything is written, paths that would do harm: feeds at the root
    or home folder, at or around the seeds folder, and the state inside the served folder.

    Symbolic links are followed: a link to the root folder is the root folder. With
    `seeds`, the seeds folder must exist.
    """
    paths = config.paths
    feeds = paths.feeds.resolve()
    leads = "" if str(feeds) == os.path.abspath(paths.feeds) else f", which is {feeds}"
    try:
        home = Path.home().resolve()
    except RuntimeError:  # no home folder known: nothing to protect there
        home = Path(feeds.anchor, "\0")
    if feeds == Path(feeds.anchor):
        raise _refuse(config, "paths.feeds", f"refusing to write feeds to {paths.feeds}{leads}: the root folder")
    if home.is_relative_to(feeds):
        what = "your home folder" if feeds == home else f"it holds your home folder {home}"
        raise _refuse(config, "paths.feeds", f"refusing to write feeds to {paths.feeds}{leads}: {what}")
    if seeds and not paths.seeds.is_dir():
        what = "is not a folder" if paths.seeds.exists() else "not found"
        raise _refuse(config, "paths.seeds", f"seeds folder {what}: {paths.seeds}")
    seeds_dir = paths.seeds.resolve()
    if feeds.is_relative_to(seeds_dir) or seeds_dir.is_relative_to(feeds):
        where = "is" if feeds == seeds_dir else "is inside" if feeds.is_relative_to(seeds_dir) else "holds"
        raise _refuse(config, "paths.feeds",
                      f"refusing to write feeds to {paths.feeds}{leads}: it {where} the seeds folder {paths.seeds}")
    state = paths.state.resolve()
    if state.is_relative_to(feeds):
        raise _refuse(config, "paths.state", f"refusing to keep the state at {paths.state}: it is inside the "
                      f"feeds folder {paths.feeds}, and everything there is served")
    if state.is_dir():
        raise _refuse(config, "paths.state", f"the state must be a file, and {paths.state} is a folder")
