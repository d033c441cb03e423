"""The least a Python publisher that writes its feeds with feedgen does to match Hugo's output.

`bench.hugo` times this beside `aggregator publish` and Hugo: read every seed, parse its
front matter with yaml-rs, and write RSS and Atom with feedgen for the home page and for
every topic and provider, 50 newest items each, whose content is the excerpt and the
related coverage as a list: what the Hugo site of `bench.hugo` writes, and nothing else.
Both steps run on every core. Nothing is normalized, checked, stored, fsynced or kept
for the next run, and no JSON Feed, archive or page is written. Where this alone is
slower than Hugo, no publisher built on the interpreter and feedgen is faster.

With `--every-output` it also writes, for the same feeds and items, what `aggregator
publish` writes beside them by default: a JSON Feed of the 50 newest items (orjson, as
the publisher does), an HTML page listing them (a Jinja2 template, escaped), and the feed's whole
history as Atom archive documents of 100 entries each, written as text (each entry's
bytes made once and reused by every feed that has it). The feeds are still only Hugo's
(no feed per outlet of the related coverage, whose articles are not items), so this is
less than the publisher writes: the least any publisher on these parts takes for it.
With `--checked` each seed's front matter also goes through the publisher's own checks
(`aggregator.normalize`: every URL, text, date and image of the story and its coverage),
and a seed they refuse is left out, as the publisher leaves it out.

    python -m bench.floor SEEDS OUT [--every-output] [--checked]
"""

from __future__ import annotations

import argparse
import html
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any, NamedTuple

import orjson
import yaml_rs
from feedgen.feed import FeedGenerator
from jinja2 import Environment

PER_ARCHIVE = 100
PAGE = Environment(autoescape=True).from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ name }}</title></head>
<body><h1>{{ name }}</h1>
{% for date, link, title, content, topics, provider in entries %}<article>
<h2><a href="{{ link }}">{{ title }}</a></h2>
<p><time datetime="{{ date.isoformat() }}">{{ date.strftime("%d %B %Y") }}</time> {{ provider }}</p>
<div>{{ content|safe }}</div>
<p>{% for topic in topics %}<a href="../topics/{{ topic }}.html">{{ topic }}</a> {% endfor %}</p>
</article>
{% endfor %}</body></html>
""")

ITEMS = 50
BASE = "http://localhost:8000/"

Entry = tuple[datetime, str, str, str, list[str], str]  # date, link, title, content, topics, provider


def _seed_files(root: str) -> list[str]:
    return sorted(os.path.join(folder, name) for folder, _, names in os.walk(root) for name in names
                  if name.endswith((".md", ".txt")))


class SeedFields(NamedTuple):
    """What the Hugo site of `bench.hugo` and this floor take from a seed of the corpus."""

    title: str
    date: str  # as the seed gives it
    link: str
    excerpt: str
    topics: list[str]  # as given, stripped
    provider: str  # its domain
    related: list[tuple[str, str, str]]  # (url, title, outlet) of each related article with a URL


def seed_fields(seed: dict[str, Any]) -> SeedFields:
    related = [(str(r["webUrl"]), str(r.get("title") or ""), str((r.get("provider") or {}).get("name") or ""))
               for r in seed.get("related") or [] if isinstance(r, dict) and r.get("webUrl")]
    return SeedFields(str(seed.get("title") or ""), str(seed.get("publishedDateTime")),
                      str(seed.get("webUrl") or seed.get("originalUrl") or ""), str(seed.get("excerpt") or ""),
                      [str(t).strip() for t in seed.get("topics") or [] if str(t).strip()],
                      str((seed.get("provider") or {}).get("domain") or "unknown"), related)


_CHECK: Callable[[dict[str, Any], str], bool] | None = None  # set by --checked, before the workers fork


def _checker() -> Callable[[dict[str, Any], str], bool]:
    """Whether a seed passes the publisher's checks (its front matter, its body)."""
    from aggregator.config import LimitsConfig
    from aggregator.errors import FieldError
    from aggregator.normalize import normalize

    limits, now = LimitsConfig(), datetime.now(UTC)

    def check(meta: dict[str, Any], body: str) -> bool:
        try:
            normalize(meta, body, limits, now)
        except FieldError:
            return False
        return True
    return check


def _entry(path: str) -> Entry | None:
    with open(path, encoding="utf-8") as file:
        parts = file.read().split("---", 2)
    if len(parts) < 3:
        return None
    meta = yaml_rs.loads(parts[1])
    if not isinstance(meta, dict) or (_CHECK is not None and not _CHECK(meta, parts[2])):
        return None
    seed = seed_fields(meta)
    try:
        date = datetime.fromisoformat(seed.date)
    except ValueError:
        return None
    if date.tzinfo is None:
        return None
    lines = [f"<p>{html.escape(seed.excerpt)}</p>", "<h3>Related coverage</h3>", "<ul>"]
    lines += [f'<li><a href="{html.escape(url)}">{html.escape(title)}</a> ({html.escape(outlet)})</li>'
              for url, title, outlet in seed.related]
    lines.append("</ul>")
    topics = sorted({topic.lower() for topic in seed.topics})
    return date, seed.link, seed.title, "\n".join(lines), topics, seed.provider


def _entries(paths: list[str]) -> list[Entry]:
    return [entry for entry in map(_entry, paths) if entry is not None]


def _write(job: tuple[str, str, list[Entry]]) -> int:
    """One feed in RSS and Atom: returns the bytes written."""
    out, name, entries = job
    generator = FeedGenerator()
    generator.id(f"{BASE}{name}/")
    generator.title(f"Aggregator: {name}")
    generator.link(href=f"{BASE}{name}/", rel="alternate")
    generator.description(f"The newest stories of {name}")
    generator.updated(entries[0][0])
    for date, link, title, content, _, _ in reversed(entries):  # feedgen puts the last added first
        entry = generator.add_entry()
        entry.id(link)
        entry.guid(link, permalink=True)
        entry.title(title)
        entry.link(href=link)
        entry.published(date)
        entry.updated(date)
        entry.content(content, type="html")
    written = 0
    folder = os.path.join(out, os.path.dirname(name))
    os.makedirs(folder, exist_ok=True)
    for suffix, data in ((".rss.xml", generator.rss_str(pretty=True)), (".atom.xml", generator.atom_str(pretty=True))):
        with open(os.path.join(out, name + suffix), "wb") as file:
            file.write(data)
        written += len(data)
    return written


_ARCHIVED: dict[str, bytes] = {}  # an entry's archive bytes, made once per worker


def _archive_entry(entry: Entry) -> bytes:
    date, link, title, content, topics, provider = entry
    found = _ARCHIVED.get(link)
    if found is None:
        xml = html.escape
        found = _ARCHIVED[link] = "".join([
            f"  <entry>\n    <id>{xml(link)}</id>\n    <title>{xml(title)}</title>\n",
            f"    <updated>{date.isoformat()}</updated>\n    <author><name>{xml(provider)}</name></author>\n",
            f'    <content type="html">{xml(content)}</content>\n    <link href="{xml(link)}"/>\n',
            *(f'    <category term="{xml(topic)}"/>\n' for topic in topics),
            f"    <published>{date.isoformat()}</published>\n  </entry>\n"]).encode()
    return found


def _write_all(job: tuple[str, str, list[Entry]]) -> int:
    """One feed with every output: RSS and Atom (`_write`), JSON Feed, its page and its archive."""
    out, name, entries = job
    newest = entries[:ITEMS]
    written = _write((out, name, newest))
    document = {"version": "https://jsonfeed.org/version/1.1", "title": f"Aggregator: {name}",
                "home_page_url": f"{BASE}{name}.html", "feed_url": f"{BASE}{name}.json",
                "items": [{"id": link, "url": link, "title": title, "content_html": content,
                           "date_published": date.isoformat(), "tags": topics,
                           "authors": [{"name": provider}]}
                          for date, link, title, content, topics, provider in newest]}
    files = [(".json", orjson.dumps(document, option=orjson.OPT_INDENT_2)),
             (".html", PAGE.render(name=name, entries=newest).encode())]
    oldest_first = entries[::-1]
    for number, start in enumerate(range(0, len(oldest_first), PER_ARCHIVE), 1):
        chunk = oldest_first[start:start + PER_ARCHIVE][::-1]
        head = (f"<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\""
                f' xmlns:fh="http://purl.org/syndication/history/1.0">\n  <id>{BASE}{name}</id>\n'
                f"  <title>Aggregator: {name} (archive {number})</title>\n"
                f"  <updated>{chunk[0][0].isoformat()}</updated>\n  <fh:archive/>\n")
        body = b"".join([head.encode(), *map(_archive_entry, chunk), b"</feed>\n"])
        files.append((f"/{number}.atom.xml", body))
    for suffix, data in files:
        path = os.path.join(out, *(["archive"] if suffix.startswith("/") else []), name + suffix)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as file:
            file.write(data)
        written += len(data)
    return written


def _chunks(items: list[Any], count: int) -> Iterator[list[Any]]:
    size = max(1, len(items) // count + 1)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def main() -> None:
    global _CHECK
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("seeds")
    parser.add_argument("out")
    parser.add_argument("--every-output", action="store_true")
    parser.add_argument("--checked", action="store_true")
    args = parser.parse_args()
    seeds, out, every_output = args.seeds, args.out, args.every_output
    _CHECK = _checker() if args.checked else None
    cores = os.cpu_count() or 1
    paths = _seed_files(seeds)
    feeds: dict[str, list[Entry]] = {}
    with ProcessPoolExecutor(cores, mp_context=get_context("fork")) as pool:
        for entries in pool.map(_entries, list(_chunks(paths, cores * 8))):
            for entry in entries:
                feeds.setdefault("all", []).append(entry)
                for topic in entry[4]:  # a term's URL, as Hugo makes it
                    feeds.setdefault(f"topics/{re.sub(r'[^a-z0-9]+', '-', topic).strip('-')}", []).append(entry)
                feeds.setdefault(f"providers/{entry[5]}", []).append(entry)
        jobs = [(out, name, sorted(entries, key=lambda e: e[0], reverse=True)[:None if every_output else ITEMS])
                for name, entries in sorted(feeds.items())]
        written = sum(pool.map(_write_all if every_output else _write, jobs, chunksize=8))
    print(f"{len(paths)} seeds, {len(jobs)} feeds, {written / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
