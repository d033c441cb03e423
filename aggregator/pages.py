"""The site's own pages as bytes: the index (every feed, with autodiscovery links in every
format) and the OPML list (every feed once). Pure, like `render`."""

from __future__ import annotations

import html
from collections.abc import Sequence

from aggregator.config import SiteConfig
from aggregator.formats import FORMATS, FeedInfo, Format
from aggregator.render import OPML_PATH, feed_path


def render_index(infos: Sequence[FeedInfo], site: SiteConfig) -> bytes:
    """The HTML index: every feed, with autodiscovery links in the head."""
    head = []
    rows = []
    for info in infos:
        links = []
        for fmt in FORMATS:
            url = site.base_url + feed_path(info.key, fmt)
            label = f"{info.title} ({fmt.label})"
            head.append(
                f'<link rel="alternate" type="{fmt.media_type}" title="{html.escape(label)}" href="{html.escape(url)}">'
            )
            links.append(f'<a href="{html.escape(url)}">{fmt.label}</a>')
        rows.append(f"<li>{html.escape(info.title)}: {' · '.join(links)}</li>")
    opml_url = html.escape(site.base_url + OPML_PATH)
    text = "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{html.escape(site.language)}">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{html.escape(site.title)}: feeds</title>",
            *head,
            f'<link rel="outline" type="text/x-opml" title="All feeds (OPML)" href="{opml_url}">',
            "</head>",
            "<body>",
            f"<h1>{html.escape(site.title)}</h1>",
            f"<p>{html.escape(site.description)}. "
            f'<a href="{opml_url}">All feeds as OPML</a>.</p>',
            "<ul>",
            *rows,
            "</ul>",
            "</body>",
            "</html>",
            "",
        ]
    )
    return text.encode("utf-8")


def render_opml(infos: Sequence[FeedInfo], site: SiteConfig, fmt: Format) -> bytes:
    """OPML 2.0 listing every feed once, in format `fmt`: a reader that imports it
    subscribes to each feed once (the other formats are autodiscovery links in the index)."""
    groups: dict[str, list[str]] = {"all": [], "topic": [], "provider": []}
    for info in infos:
        url = site.base_url + feed_path(info.key, fmt)
        title = html.escape(info.title)
        groups[info.key.kind].append(
            f'      <outline type="rss" text="{title}" title="{title}"'
            f' xmlUrl="{html.escape(url)}" htmlUrl="{html.escape(site.base_url)}"/>'
        )
    labels = {"all": "All stories", "topic": "Topics", "provider": "Providers"}
    body = []
    for kind, outlines in groups.items():
        if outlines:
            body.append(f'    <outline text="{labels[kind]}">')
            body.extend(outlines)
            body.append("    </outline>")
    text = "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<opml version="2.0">',
            "  <head>",
            f"    <title>{html.escape(site.title)}</title>",
            "  </head>",
            "  <body>",
            *body,
            "  </body>",
            "</opml>",
            "",
        ]
    )
    return text.encode("utf-8")
