"""Configuration: defaults, loading `config/aggregator.yaml`, validation.

Every key is optional. An unknown key or a bad value raises `ConfigError` naming the
key (`feeds.max_items`), so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from aggregator.errors import ConfigError
from aggregator.model import digest

DEFAULT_CONFIG_PATH = Path("config/aggregator.yaml")


@dataclass(frozen=True, slots=True)
class SiteConfig:
    title: str = "Aggregator"
    description: str = "News stories and their related coverage"
    base_url: str = "http://localhost:8000/"
    language: str = "en"


@dataclass(frozen=True, slots=True)
class PathsConfig:
    seeds: Path = Path("seeds")
    feeds: Path = Path("feeds")
    state: Path = Path(".aggregator/state.sqlite")


@dataclass(frozen=True, slots=True)
class FeedsConfig:
    max_items: int = 50
    only_published: bool = False
    min_quality: int | None = None


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
class Config:
    site: SiteConfig = field(default_factory=SiteConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    feeds: FeedsConfig = field(default_factory=FeedsConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)

    def output_fingerprint(self) -> str:
        """A hash of every setting that changes rendered bytes (not paths or limits)."""
        relevant = {
            "site": dataclasses.asdict(self.site),
            "feeds": dataclasses.asdict(self.feeds),
        }
        return digest(json.dumps(relevant, sort_keys=True).encode())

    def parse_fingerprint(self) -> str:
        """A hash of the settings that change what a seed normalizes to (the limits)."""
        return digest(json.dumps(dataclasses.asdict(self.limits), sort_keys=True).encode())


_SECTIONS: dict[str, type[Any]] = {
    "site": SiteConfig,
    "paths": PathsConfig,
    "feeds": FeedsConfig,
    "limits": LimitsConfig,
    "daemon": DaemonConfig,
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
    if base == "Path":
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(key, f"must be a path, got {value!r}")
        return Path(value.strip())
    raise AssertionError(f"unhandled config type {annotation}")


def _validate(config: Config) -> Config:
    """Range checks that types alone cannot express."""
    base = config.site.base_url
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("site.base_url", f"must be an absolute http(s) URL, got {base!r}")
    if not base.endswith("/"):
        config = dataclasses.replace(
            config, site=dataclasses.replace(config.site, base_url=base + "/")
        )
    if not 1 <= config.feeds.max_items <= 10_000:
        raise ConfigError("feeds.max_items", "must be between 1 and 10000")
    for name in (f.name for f in dataclasses.fields(LimitsConfig)):
        if getattr(config.limits, name) < 1:
            raise ConfigError(f"limits.{name}", "must be at least 1")
    if config.daemon.rescan_seconds < 1:
        raise ConfigError("daemon.rescan_seconds", "must be at least 1")
    for key in ("debounce_ms", "settle_ms"):
        if getattr(config.daemon, key) < 0:
            raise ConfigError(f"daemon.{key}", "must not be negative")
    if config.daemon.serve is not None:
        from aggregator.serve import parse_bind

        try:
            parse_bind(config.daemon.serve)
        except ValueError as exc:
            raise ConfigError("daemon.serve", str(exc)) from None
    return config


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
        return _validate(Config(**sections))
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
    site = config.site
    if options.get("base_url") is not None:
        site = dataclasses.replace(site, base_url=options["base_url"])
    new_paths = config.paths
    for key in ("seeds", "feeds", "state"):
        if options.get(key) is not None:
            new_paths = dataclasses.replace(new_paths, **{key: Path(options[key])})
    daemon = config.daemon
    if options.get("serve") is not None:
        daemon = dataclasses.replace(daemon, serve=options["serve"])
    return _validate(dataclasses.replace(config, site=site, paths=new_paths, daemon=daemon))
