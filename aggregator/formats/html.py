"""Each feed's web page, and the front page: what a visitor without a feed reader sees.

The pages are Jinja2 templates (`aggregator/templates/`), autoescaped; a folder given as
`site.templates` overrides any of them by name (`story.html` is one story card). Every
text on a page comes from seeds that strangers wrote: no template marks one safe, and a
link or an image whose URL is not http(s) is left out (`safe_url`). The stylesheet and
the links between pages are relative, so that the pages work wherever `feeds/` is
served; the feeds are linked at their absolute URLs, those readers subscribe to. The
same items and settings always give the same bytes.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aggregator.config import SiteConfig
from aggregator.errors import PageTemplateError
from aggregator.formats.base import PAGE_SUFFIX, Feed, FeedInfo, Format, Names
from aggregator.model import FeedItem, FeedKey, digest

if TYPE_CHECKING:  # Jinja2 is loaded when a page is first rendered: a publish that renders none never pays for it
    import jinja2

STYLESHEET_PATH = "style.css"  # below feeds/, from the template of that name
FRONT_STORIES = 30  # stories on the front page; the combined feed's page has them all
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def environment(override: Path | None) -> jinja2.Environment:
    """The templates: the folder `override` first, if any, then the built-in ones. One
    environment (and so one compiled copy of each template) per state of the folder:
    a file added, changed or removed there is seen by a daemon that keeps running."""
    return _environment(override, _folder_state(override))


def _files(folder: Path) -> list[Path]:
    """Every file below `folder`, in order."""
    return sorted(path for path in folder.rglob("*") if path.is_file())


def _template_files(folder: Path) -> list[Path]:
    """The files of an overriding folder that count: every one (a template may include
    one of its own) but an editor's swap and backup files."""
    return [path for path in _files(folder) if not _scratch(path.name)]


def _scratch(name: str) -> bool:
    return name.startswith(".") or name.endswith(("~", ".swp", ".bak"))


def _folder_state(folder: Path | None) -> tuple[tuple[str, int, int], ...]:
    """Every file of the folder, even one `_template_files` leaves out (a template may
    include a hidden one): Jinja2 does not look at a template again once loaded."""
    if folder is None:
        return ()
    found = []
    for path in _files(folder):
        try:
            st = path.stat()
        except OSError:  # gone since it was listed
            continue
        found.append((path.as_posix(), st.st_mtime_ns, st.st_size))
    return tuple(found)


@functools.lru_cache(maxsize=4)
def _environment(override: Path | None, state: tuple[tuple[str, int, int], ...]) -> jinja2.Environment:
    # `state` is only the cache's key: another state of the folder, another environment.
    import jinja2

    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("aggregator", "templates")]
    if override is not None:
        loaders.insert(0, jinja2.FileSystemLoader(override))
    # Escaped whatever a template is named (an override may include "card.j2"): only the
    # stylesheet is not HTML.
    escape = jinja2.select_autoescape(disabled_extensions=("css",), default_for_string=True, default=True)
    # auto_reload off: no stat of a template each time one is included (once per card);
    # a changed overriding folder is another environment (`environment`).
    return jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=escape,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, auto_reload=False)


TEMPLATE_NAMES = ("base.html", "front.html", "feed.html", "story.html", "subscribe.html", STYLESHEET_PATH)


def check_templates(folder: Path) -> None:
    """Parse each template `folder` overrides; raises `TemplateSyntaxError` naming the file and line."""
    env = environment(folder)
    for name in TEMPLATE_NAMES:
        if (folder / name).is_file():
            env.get_template(name)


def templates_digest(site: SiteConfig) -> str:
    """What the overriding folder holds now: another content rewrites every page."""
    folder = site.templates
    if folder is None:
        return ""
    parts = [path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes()
             for path in _template_files(folder)]
    return digest(b"\0\0".join(parts))


def render_template(site: SiteConfig, name: str, **context: Any) -> bytes:
    import jinja2

    try:
        return environment(site.templates).get_template(name).render(site=site, **context).encode()
    except jinja2.TemplateError as exc:  # an override's mistake: a clear error, not a traceback
        raise PageTemplateError(f"site.templates: {_where(exc, name)}: {exc}") from None


def _where(exc: jinja2.TemplateError, name: str) -> str:
    """The template file and line an error comes from: Jinja2 puts the templates' own
    lines in the traceback; the innermost names the template that failed."""
    import jinja2

    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"{exc.filename or exc.name}, line {exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.endswith(".py")]
    return f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else name


@functools.lru_cache(maxsize=8192)  # a page set repeats its URLs: a story is in several feeds
def safe_url(url: str) -> str | None:
    """`url` if it is an absolute http(s) URL, else None: a seed cannot make a page run a script."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def date_label(moment: datetime) -> str:
    """"4 May 2026": the same in every locale."""
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def _root(key: FeedKey) -> str:
    """The relative way from a feed's page up to `feeds/`."""
    return "../" * key.stem.count("/")


def page_path(key: FeedKey) -> str:
    return key.stem + PAGE_SUFFIX


@dataclass(frozen=True, slots=True)
class CardImage:
    """A story's thumbnail: its URL, its alt text (the title) and its size when known."""

    url: str
    alt: str
    width: int | None
    height: int | None


@dataclass(frozen=True, slots=True)
class CardLink:
    """One of a story's topics: its name and its page."""

    name: str
    href: str


@dataclass(frozen=True, slots=True)
class CardArticle:
    """One of the other outlets' articles on the story."""

    url: str | None
    title: str
    outlet: str
    date: str
    date_label: str


@dataclass(frozen=True, slots=True)
class Card:
    """What a story card shows of one item (`story.html`): attributes rather than a
    dict's keys, the first thing a template's `card.title` tries."""

    url: str | None
    title: str
    outlet: str
    date: str
    date_label: str
    excerpt: str | None
    image: CardImage | None
    topics: list[CardLink]
    related: list[CardArticle]


def card(item: FeedItem, names: Names, site: SiteConfig, root: str) -> Card:
    """What a story card shows of one item."""
    article = item.article
    image = article.image
    image_url = safe_url(image.url) if image is not None and site.thumbnails else None
    story = item.story
    return Card(
        url=safe_url(article.url),
        title=article.title,
        outlet=names.provider(article.provider.domain),
        date=article.published.isoformat(),
        date_label=date_label(article.published),
        excerpt=article.excerpt,
        image=None if image is None or image_url is None else CardImage(image_url, article.title, image.width,
                                                                         image.height),
        topics=[CardLink(names.topic(t.slug), f"{root}topics/{t.slug}{PAGE_SUFFIX}")
                for t in (story.topics if story is not None else ())],
        related=[CardArticle(safe_url(other.url), other.title, names.provider(other.provider.domain),
                             other.published.isoformat(), date_label(other.published))
                 for other in (story.related if story is not None else ())],
    )


def _subscribe(site: SiteConfig, key: FeedKey, title: str) -> list[dict[str, str]]:
    """The feed in each format, at the absolute URL it is known by (its self link)."""
    from aggregator.formats import FORMATS  # this module is one of them

    return [{"label": fmt.label, "title": f"{title} ({fmt.label})", "media_type": fmt.media_type,
             "href": site.base_url + key.stem + fmt.suffix} for fmt in FORMATS if fmt.feed]


def render(feed: Feed) -> bytes:
    """One feed's page: the same items as the feed, newest first, as story cards."""
    key, site = feed.info.key, feed.site
    root = _root(key)
    older = feed.history.prev_archive
    return render_template(
        site, "feed.html", title=feed.info.title, heading=_heading(feed.info, site), description=feed.info.description,
        root=root, subscribe=_subscribe(site, key, feed.info.title), opml=None,
        cards=[card(item, feed.names, site, root) for item in feed.items],
        older=None if older is None else root + older)


def _heading(info: FeedInfo, site: SiteConfig) -> str:
    return info.title.removeprefix(f"{site.title}: ")


class FeedLink:
    """One feed in the front page's navigation."""

    def __init__(self, info: FeedInfo, count: int | None, site: SiteConfig) -> None:
        self.name = _heading(info, site)
        self.href = page_path(info.key)
        self.count = count


def render_front(site: SiteConfig, items: Sequence[FeedItem], names: Names, infos: Sequence[FeedInfo],
                 counts: Mapping[FeedKey, int] | None, opml: str) -> bytes:
    """The front page: the combined feed's newest stories, every topic and provider
    (topics first, each by name, with its item count when known), and how to subscribe."""
    combined = FeedKey("all")
    by_kind: dict[str, list[FeedLink]] = {"topic": [], "provider": []}
    for info in infos:
        if info.key.kind in by_kind:
            by_kind[info.key.kind].append(FeedLink(info, None if counts is None else counts.get(info.key, 0), site))
    for links in by_kind.values():
        links.sort(key=lambda link: (link.name.casefold(), link.href))
    title = f"{site.title}: all stories"
    return render_template(
        site, "front.html", title=site.title, heading=site.title, description=site.description, root="",
        subscribe=_subscribe(site, combined, title), opml=site.base_url + opml,
        cards=[card(item, names, site, "") for item in items[:FRONT_STORIES]],
        all_stories=page_path(combined),
        groups=[{"id": "topics", "heading": "Topics", "feeds": by_kind["topic"]},
                {"id": "providers", "heading": "Outlets", "feeds": by_kind["provider"]}])


def render_stylesheet(site: SiteConfig) -> bytes:
    return render_template(site, STYLESHEET_PATH)


PAGE = Format(name="html", label="Web page", suffix=PAGE_SUFFIX, media_type="text/html", render=render, feed=False)
