"""The `aggregator` command: parses options, calls the library, prints, exits.

Exit codes: 0 done (problems are reported but do not fail the run), 1 with `--strict`
when any seed was skipped (or `check` found a problem), 2 bad usage or configuration,
3 another aggregator process is writing the same state and feeds, 4 an output or the
state cannot be written (disk full, read-only folder, no permission).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from aggregator import __version__, pool
from aggregator.config import Config, check_paths, load_config, with_overrides
from aggregator.errors import AggregatorError, ConfigError, LockedError, OutputError
from aggregator.publish import PublishResult, check, publish

EXIT_STRICT = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_OUTPUT = 4

F = TypeVar("F", bound=Callable[..., Any])


def common_options(func: F) -> F:
    """--config, --seeds, --feeds, --state, -v/-q: the same on every command."""
    options = [
        click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
                     help="Config file [default: config/aggregator.yaml if present, else built-in defaults]."),
        click.option("--seeds", type=click.Path(path_type=Path, file_okay=False),
                     help="Folder of seed files (overrides paths.seeds)."),
        click.option("--feeds", type=click.Path(path_type=Path, file_okay=False),
                     help="Folder the feeds are written to (overrides paths.feeds)."),
        click.option("--state", type=click.Path(path_type=Path, dir_okay=False),
                     help="State database file (overrides paths.state)."),
        click.option("-v", "--verbose", count=True, help="More detail: list every file written."),
        click.option("-q", "--quiet", is_flag=True, help="Only errors and the summary line."),
        click.version_option(__version__, prog_name="aggregator"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


class UsageExit(click.ClickException):
    """Bad usage or configuration (exit 2)."""

    exit_code = EXIT_USAGE


class LockedExit(click.ClickException):
    """Another process holds the writer lock (exit 3)."""

    exit_code = EXIT_LOCKED


class OutputExit(click.ClickException):
    """An output or the state cannot be written (exit 4)."""

    exit_code = EXIT_OUTPUT


def _exit_for(exc: AggregatorError) -> click.ClickException:
    """The exit an error of the library maps to; the message is the error's own."""
    if isinstance(exc, LockedError):
        return LockedExit(str(exc))
    if isinstance(exc, OutputError):
        return OutputExit(str(exc))
    return UsageExit(str(exc))


base_url_option = click.option(
    "--base-url", help="Absolute http(s) URL where the feeds folder is served, ending in / (overrides "
    "site.base_url). Without it, `run --serve` links to the address it serves on.")


def _config(config_path: Path | None, **overrides: Any) -> Config:
    try:
        return with_overrides(load_config(config_path), **overrides)
    except ConfigError as exc:
        raise UsageExit(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aggregator")
def main() -> None:
    """Publish RSS 2.0, Atom 1.0 and JSON Feed 1.1 feeds from a folder of news seed files.

    Each seed (a .md or .txt file with YAML front matter) is one story with its
    related coverage. Feeds are written per topic, per provider and for all stories,
    with an HTML index and an OPML list.

    \b
    Exit codes:
      0  done (skipped seeds and warnings are reported, not fatal)
      1  --strict and at least one seed was skipped; `check` found a problem
      2  bad usage or configuration; a path that would do harm; a missing
         seeds folder; an address already in use
      3  another aggregator process is writing the same feeds (see --wait)
      4  an output or the state cannot be written (disk full, read-only, no
         permission): the message names the path
    """


@main.command("publish")
@common_options
@base_url_option
@click.option("--strict", is_flag=True, help="Exit 1 when any seed was skipped.")
@click.option("--wait", is_flag=True, help="Wait for another running publish or daemon instead of failing.")
def publish_command(config_path: Path | None, seeds: Path | None, feeds: Path | None, state: Path | None,
                    verbose: int, quiet: bool, base_url: str | None, strict: bool, wait: bool) -> None:
    """Regenerate the feeds whose seeds changed, then exit.

    Only seeds whose size, time or content changed are parsed again, and only feeds
    whose bytes change are rewritten.

    \b
    Example:
      aggregator publish --config config/aggregator.yaml --strict
    """
    config = _config(config_path, seeds=seeds, feeds=feeds, state=state, base_url=base_url)
    bar = _progress_bar(quiet)
    try:
        result = publish(config, datetime.now(UTC), wait=wait, progress=bar,
                         on_wait=lambda text: click.echo(text, err=True))
    except AggregatorError as exc:
        raise _exit_for(exc) from None
    finally:
        _progress_bar_done(bar)
    _report(result, verbose, quiet)
    _ping(config, result, quiet)
    if strict and result.skipped:
        sys.exit(EXIT_STRICT)


@main.command("check")
@common_options
def check_command(config_path: Path | None, seeds: Path | None, feeds: Path | None, state: Path | None,
                  verbose: int, quiet: bool) -> None:
    """Validate every seed and print each problem; writes nothing.

    Exits 1 when any seed would be skipped.

    \b
    Example:
      aggregator check --seeds seeds/
    """
    config = _config(config_path, seeds=seeds, feeds=feeds, state=state)
    try:
        result = check(config, datetime.now(UTC))
    except AggregatorError as exc:
        raise _exit_for(exc) from None
    _problems(result.errors, result.warnings, quiet)
    click.echo(f"checked {result.files} seed files: {result.files - len(result.errors)} usable, "
               f"{len(result.errors)} skipped, {len(result.warnings)} warnings")
    if result.errors:
        sys.exit(EXIT_STRICT)


@main.command("run")
@common_options
@base_url_option
@click.option("--serve", "serve", metavar="HOST:PORT",
              help="Also serve the feeds folder over HTTP (overrides daemon.serve), e.g. 127.0.0.1:8000.")
@click.option("--hub", is_flag=True, default=None,
              help="Be a WebSub hub for the feeds, at `hub` below the base URL (sets websub.builtin; needs --serve).")
def run_command(config_path: Path | None, seeds: Path | None, feeds: Path | None, state: Path | None,
                verbose: int, quiet: bool, base_url: str | None, serve: str | None, hub: bool | None) -> None:
    """Run as a daemon: publish at start, then on every change to the seeds.

    Reacts to file-system events within a second, rescans every
    daemon.rescan_seconds as a safety net, and publishes future-dated stories when
    their time comes. Logs one line per cycle. SIGTERM/SIGINT finish the write in
    progress and exit 0; SIGHUP reloads the configuration (a bad one is reported and
    the old one kept). Holds the writer lock while it runs. A failed cycle (disk full,
    read-only folder, seeds folder gone) is retried with a growing delay.

    After each publish that changed feeds, the hubs in websub.hubs are pinged; with
    --hub the daemon is a hub itself and pushes each changed feed to its subscribers.

    \b
    Example:
      aggregator run --config config/aggregator.yaml --serve 127.0.0.1:8000 --hub
    """
    from aggregator.daemon import Daemon

    _logging(verbose, quiet)
    overrides = {"seeds": seeds, "feeds": feeds, "state": state, "serve": serve, "base_url": base_url,
                 "builtin": hub}

    def load() -> Config:  # again on SIGHUP: the command-line options still apply
        return with_overrides(load_config(config_path), **overrides)

    try:
        code = Daemon(load).run()
    except AggregatorError as exc:
        raise _exit_for(exc) from None
    sys.exit(code)


@main.command("serve")
@common_options
@base_url_option
@click.option("--bind", default="127.0.0.1:8000", show_default=True, metavar="HOST:PORT",
              help="Address to listen on.")
@click.option("--workers", type=click.IntRange(1, 64), default=None, show_default="one per core, at most 8",
              help="Processes serving the same address (as nginx's `worker_processes auto`).")
def serve_command(config_path: Path | None, seeds: Path | None, feeds: Path | None, state: Path | None,
                  verbose: int, quiet: bool, base_url: str | None, bind: str, workers: int | None) -> None:
    """Serve the feeds folder over HTTP, without publishing.

    Right content types, ETag and Last-Modified with 304 answers, gzip when asked,
    a short Cache-Control max-age; nothing outside the feeds folder is reachable.
    Serving never rewrites a file: the feeds link to the base URL they were published
    with. When none is configured (no site.base_url, no --base-url) and the address
    served is not the default one, the log says so.

    \b
    Example:
      aggregator serve --bind 127.0.0.1:8000
    """
    from aggregator.serve import Advertised, parse_bind, serve_forever

    _logging(verbose, quiet)
    config = _config(config_path, seeds=seeds, feeds=feeds, state=state, base_url=base_url)
    try:
        host, port = parse_bind(bind)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--bind") from None
    try:
        check_paths(config, seeds=False)
        default_links = None if config.origin.given("site.base_url") else config.site.base_url
        sys.exit(serve_forever(config.paths.feeds, host, port, default_links=default_links,
                               advertised=Advertised(config.site.base_url, config.hubs),
                               workers=workers or pool.workers()))
    except AggregatorError as exc:
        raise _exit_for(exc) from None


def _logging(verbose: int, quiet: bool) -> None:
    import logging  # here: a publish, which logs nothing, does not load it

    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    if not verbose:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        logging.getLogger("watchfiles").setLevel(logging.WARNING)
        logging.getLogger("aiohttp").setLevel(logging.WARNING)


def _problems(errors: Iterable[str], warnings: Iterable[str], quiet: bool) -> None:
    """Errors, and unless quiet the warnings, one per line on stderr."""
    for error in errors:
        click.echo(f"error: {error}", err=True)
    if not quiet:
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)


def _report(result: PublishResult, verbose: int, quiet: bool) -> None:
    _problems(result.errors, result.warnings, quiet)
    if verbose:
        for path in result.written:
            click.echo(f"wrote {path}")
        for path in result.removed:
            click.echo(f"removed {path}")
    lines = [
        f"files: {result.files_seen} seeds, {result.files_read} read, {result.seeds_removed} removed",
        f"stories: {result.stories_published} published, {result.stories_held} held back until their date, "
        f"{result.skipped} skipped",
        f"warnings: {len(result.warnings)}",
        f"feeds: {result.feeds_total} live, {len(result.written)} files written, {len(result.removed)} removed",
        f"time: {result.seconds:.2f} s",
    ]
    if result.next_release:
        lines.insert(2, f"next release: {result.next_release.isoformat()}")
    click.echo("\n".join(lines))


def _ping(config: Config, result: PublishResult, quiet: bool) -> None:
    """Tell the configured WebSub hubs which feeds changed; a hub that cannot be pinged
    is a warning, never a failed publish."""
    if not config.websub.hubs or not result.written:
        return  # nothing to tell anyone: not even the HTTP client is loaded
    from aggregator.ping import ping_and_wait

    pinger = ping_and_wait(config, result.written, lambda line: click.echo(f"warning: {line}", err=True))
    if pinger is not None and not quiet:
        done = sum(1 for count in pinger.pinged.values() if count)
        click.echo(f"websub: {done} of {len(pinger.hubs)} hubs pinged for {pinger.asked} feed URLs")


class _Bar:
    """A click progress bar on a terminal, nothing otherwise (plain summary lines)."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="parsing seeds", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done


def _progress_bar(quiet: bool) -> _Bar | None:
    return _Bar() if not quiet and sys.stderr.isatty() else None


def _progress_bar_done(bar: _Bar | None) -> None:
    if bar is not None and bar.bar is not None:
        bar.bar.__exit__(None, None, None)
