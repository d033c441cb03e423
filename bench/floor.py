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
the publisher does), an HTML page listing them (a Jinja2 template, escaped), and the
feed's history beyond them as Atom archive documents of 100 entries each, written as
text (each entry's bytes made once, where its seed is parsed, for every feed that has
it). The feeds are still only Hugo's (no feed per outlet of the related coverage, whose
articles are not items), so this is less than the publisher writes: the least any
publisher on these parts takes for it.
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
{% for e in entries %}<article>
<h2><a href="{{ e.link }}">{{ e.title }}</a></h2>
<p><time datetime="{{ e.date.isoformat() }}">{{ e.date.strftime("%d %B %Y") }}</time> {{ e.provider }}</p>
<div>{{ e.content|safe }}</div>
<p>{% for topic in e.topics %}<a href="../topics/{{ topic }}.html">{{ topic }}</a> {% endfor %}</p>
</article>
{% endfor %}</body></html>
""")

ITEMS = 50
BASE = "http://localhost:8000/"


class Entry(NamedTuple):
    """One item, as every output of every feed that has it takes it."""

    date: datetime
    link: str
    title: str
    content: str  # HTML: the excerpt and the related coverage as a list
    topics: list[str]
    provider: str
    archived: bytes  # its Atom <entry> for the archive documents (with --every-output)


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


# Set in the parent before the workers fork, which inherit them.
_CHECK: Callable[[dict[str, Any], str], bool] | None = None  # --checked
_EVERY_OUTPUT = False  # --every-output
_FEEDS: dict[str, list[Entry]] = {}  # every feed's items, newest first, before the writing workers fork


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
    content = "\n".join(lines)
    return Entry(date, seed.link, seed.title, content, topics, seed.provider,
                 _archived(date, seed.link, seed.title, content, topics, seed.provider) if _EVERY_OUTPUT else b"")


def _archived(date: datetime, link: str, title: str, content: str, topics: list[str], provider: str) -> bytes:
    xml = html.escape
    return "".join([
        f"  <entry>\n    <id>{xml(link)}</id>\n    <title>{xml(title)}</title>\n",
        f"    <updated>{date.isoformat()}</updated>\n    <author><name>{xml(provider)}</name></author>\n",
        f'    <content type="html">{xml(content)}</content>\n    <link href="{xml(link)}"/>\n',
        *(f'    <category term="{xml(topic)}"/>\n' for topic in topics),
        f"    <published>{date.isoformat()}</published>\n  </entry>\n"]).encode()


def _entries(paths: list[str]) -> list[Entry]:
    return [entry for entry in map(_entry, paths) if entry is not None]


def _write_file(path: str, data: bytes) -> int:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as file:
        file.write(data)
    return len(data)


def _write_feed(out: str, name: str) -> int:
    """A feed's newest items in RSS and Atom, and with --every-output in JSON Feed and
    its page: returns the bytes written."""
    newest = _FEEDS[name][:ITEMS]
    generator = FeedGenerator()
    generator.id(f"{BASE}{name}/")
    generator.title(f"Aggregator: {name}")
    generator.link(href=f"{BASE}{name}/", rel="alternate")
    generator.description(f"The newest stories of {name}")
    generator.updated(newest[0].date)
    for item in reversed(newest):  # feedgen puts the last added first
        entry = generator.add_entry()
        entry.id(item.link)
        entry.guid(item.link, permalink=True)
        entry.title(item.title)
        entry.link(href=item.link)
        entry.published(item.date)
        entry.updated(item.date)
        entry.content(item.content, type="html")
    files = [(".rss.xml", generator.rss_str(pretty=True)), (".atom.xml", generator.atom_str(pretty=True))]
    if _EVERY_OUTPUT:
        document = {"version": "https://jsonfeed.org/version/1.1", "title": f"Aggregator: {name}",
                    "home_page_url": f"{BASE}{name}.html", "feed_url": f"{BASE}{name}.json",
                    "items": [{"id": e.link, "url": e.link, "title": e.title, "content_html": e.content,
                               "date_published": e.date.isoformat(), "tags": e.topics,
                               "authors": [{"name": e.provider}]} for e in newest]}
        files += [(".json", orjson.dumps(document, option=orjson.OPT_INDENT_2)),
                  (".html", PAGE.render(name=name, entries=newest).encode())]
    return sum(_write_file(os.path.join(out, name + suffix), data) for suffix, data in files)


def _write_archive(out: str, name: str, number: int) -> int:
    """Archive document `number` (from 1, the oldest) of a feed, which holds its items
    beyond the newest, as the publisher's archive does: returns the bytes written."""
    entries = _FEEDS[name][ITEMS:]
    end = len(entries) - (number - 1) * PER_ARCHIVE  # the items newest first: the oldest are at the end
    chunk = entries[max(0, end - PER_ARCHIVE):end]
    head = (f"<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\""
            f' xmlns:fh="http://purl.org/syndication/history/1.0">\n  <id>{BASE}{name}</id>\n'
            f"  <title>Aggregator: {name} (archive {number})</title>\n"
            f"  <updated>{chunk[0].date.isoformat()}</updated>\n  <fh:archive/>\n")
    body = b"".join([head.encode(), *(e.archived for e in chunk), b"</feed>\n"])
    return _write_file(os.path.join(out, "archive", f"{name}/{number}.atom.xml"), body)


def _write(job: tuple[str, str, int]) -> int:
    out, name, number = job
    return _write_archive(out, name, number) if number else _write_feed(out, name)


def _chunks(items: list[Any], count: int) -> Iterator[list[Any]]:
    size = max(1, len(items) // count + 1)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def main() -> None:
    global _CHECK, _EVERY_OUTPUT
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("seeds")
    parser.add_argument("out")
    parser.add_argument("--every-output", action="store_true")
    parser.add_argument("--checked", action="store_true")
    args = parser.parse_args()
    _CHECK = _checker() if args.checked else None
    _EVERY_OUTPUT = args.every_output
    cores = os.cpu_count() or 1
    paths = _seed_files(args.seeds)
    with ProcessPoolExecutor(cores, mp_context=get_context("fork")) as pool:
        for entries in pool.map(_entries, list(_chunks(paths, cores * 8))):
            for entry in entries:
                _FEEDS.setdefault("all", []).append(entry)
                for topic in entry.topics:  # a term's URL, as Hugo makes it
                    _FEEDS.setdefault(f"topics/{re.sub(r'[^a-z0-9]+', '-', topic).strip('-')}", []).append(entry)
                _FEEDS.setdefault(f"providers/{entry.provider}", []).append(entry)
    for entries in _FEEDS.values():
        entries.sort(key=lambda e: e.date, reverse=True)
    jobs = [(args.out, name, 0) for name in sorted(_FEEDS)]
    if _EVERY_OUTPUT:  # each archive document on its own, so that no worker is left with a large feed's all
        jobs += [(args.out, name, number) for name, entries in sorted(_FEEDS.items())
                 for number in range(1, (len(entries) - ITEMS + PER_ARCHIVE - 1) // PER_ARCHIVE + 1)]
    with ProcessPoolExecutor(cores, mp_context=get_context("fork")) as pool:  # forked now: they share the feeds
        written = sum(pool.map(_write, jobs, chunksize=8))
    print(f"{len(paths)} seeds, {len(_FEEDS)} feeds, {written / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
