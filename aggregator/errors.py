"""The exceptions the library raises; the CLI catches `AggregatorError`."""

from __future__ import annotations


class AggregatorError(Exception):
    """Base class of every error the tool reports to its user."""


class ConfigError(AggregatorError):
    """A configuration key is unknown or has a bad value."""

    def __init__(self, key: str, reason: str, source: str | None = None, *, name: str | None = None) -> None:
        """`name` is what the user typed when it was an option (`--base-url`)."""
        self.key = key
        self.reason = reason
        self.source = source
        where = f"{source}: " if source and name is None else ""
        super().__init__(f"{where}{name or f'config key {key!r}'}: {reason}")


class PathError(ConfigError):
    """A path that is missing or would do harm; the message says how it was given."""

    def __init__(self, key: str, message: str) -> None:
        AggregatorError.__init__(self, message)
        self.key = key
        self.reason = message
        self.source = None


class SeedError(AggregatorError):
    """A seed file (or one field of it) cannot be used."""

    def __init__(self, path: str, field: str | None, reason: str) -> None:
        self.path = path
        self.field = field
        self.reason = reason
        at = f" [{field}]" if field else ""
        super().__init__(f"{path}{at}: {reason}")


class FieldError(Exception):
    """Raised inside the normalizer; turned into a `SeedError` naming the file."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class LockedError(AggregatorError):
    """Another process holds the writer lock on the state and `feeds/`."""


class OutputError(AggregatorError):
    """An output or the state cannot be written (disk full, read-only, no permission)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot write {path}: {reason}")


class PageTemplateError(AggregatorError):
    """A page template fails while a page is rendered (an override that uses what does
    not exist): the message names the template and the reason."""


class ServeError(AggregatorError):
    """The HTTP server cannot start: the address is in use or cannot be bound."""
