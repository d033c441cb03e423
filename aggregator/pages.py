"""The OPML list of every feed, as bytes (the front page and the feeds' pages are in
`formats.html`). Pure, like `render`."""

from __future__ import annotations

import html
from collections.abc import Sequence

from aggregator.config import SiteConfig
from aggregator.formats import FeedInfo, Format
from aggregator.formats.base import page_url
from aggregator.render import feed_path


def render_opml(infos: Sequence[FeedInfo], site: SiteConfig, fmt: Format) -> bytes:
    """OPML 2.0 listing every feed once, in format `fmt`: a reader that imports it
    subscribes to each feed once (the other formats are autodiscovery links in the index)."""
    groups: dict[str, list[str]] = {"all": [], "topic": [], "provider": []}
    for info in infos:
        url = site.base_url + feed_path(info.key, fmt)
        title = html.escape(info.title)
        groups[info.key.kind].append(
            f'      <outline type="rss" text="{title}" title="{title}"'
            f' xmlUrl="{html.escape(url)}" htmlUrl="{html.escape(page_url(site, info.key))}"/>'
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
