"""The least a Python publisher that writes its feeds with feedgen does to match Hugo's output.

`bench.hugo` times this beside `aggregator publish` and Hugo: read every seed, parse its
front matter with yaml-rs, and write RSS and Atom with feedgen for the home page and for
every topic and provider, 50 newest items each, whose content is the excerpt and the
related coverage as a list: what the Hugo site of `bench.hugo` writes, and nothing else.
Both steps run on every core. Nothing is normalized, checked, stored, fsynced or kept
for the next run, and no JSON Feed, archive or page is written. Where this alone is
slower than Hugo, no publisher built on the interpreter and feedgen is faster.

    python -m bench.floor SEEDS OUT
"""

from __future__ import annotations

import html
import os
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from multiprocessing import get_context
from typing import Any, NamedTuple

import yaml_rs
from feedgen.feed import FeedGenerator

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


def _entry(path: str) -> Entry | None:
    with open(path, encoding="utf-8") as file:
        parts = file.read().split("---", 2)
    if len(parts) < 3:
        return None
    seed = seed_fields(yaml_rs.loads(parts[1]))
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


def _chunks(items: list[Any], count: int) -> Iterator[list[Any]]:
    size = max(1, len(items) // count + 1)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def main() -> None:
    seeds, out = sys.argv[1], sys.argv[2]
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
        jobs = [(out, name, sorted(entries, key=lambda e: e[0], reverse=True)[:ITEMS])
                for name, entries in sorted(feeds.items())]
        written = sum(pool.map(_write, jobs, chunksize=8))
    print(f"{len(paths)} seeds, {len(jobs)} feeds, {2 * len(jobs)} files, {written / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
