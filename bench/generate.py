"""Deterministic generator of a synthetic seed corpus, for benchmarks.

Usage::

    python -m bench.generate OUT_DIR --count N [--seed S]

Each generated file is one story shaped like the real example seed
(``seed-example/000_c7cb833d7d46032b.txt``): YAML front matter between ``---``
lines with the primary article's fields, about nine ``related`` articles from
other outlets, and an opaque ``secured`` blob, about 8 KB in all; a few files
also have a Markdown body.

What the corpus exercises:

* 40 topics and 300 providers with zipf-like popularity (a few very common
  ones, a long tail); a topic is sometimes spelled in another case or with
  surrounding spaces, and a provider sometimes under another name.
* Related coverage shared between stories: stories are grouped into news
  events, and the stories of one event cite articles from a common pool,
  sometimes including another story's primary article.
* Tracking parameters (``utm_*``, ``fbclid``, ``via``, ``td``) on some URLs,
  so that one article appears under several spellings of its URL.
* Publication dates between 2015 and 2025 (all in the past), with ``Z`` and
  ``+hh:mm`` offsets, some quoted and some left for YAML to parse.
* Images on most articles, ``published`` true and false, ``null`` values.

The same ``count`` and ``seed`` give byte-identical files. Files are spread
over numbered subfolders of at most 1000 files each. The YAML is formatted
directly (no YAML library) so that 50,000 files take seconds; strings are
emitted with ``json`` encoding, which is a valid YAML double-quoted scalar.

From Python: ``generate(Path("out"), 1000, seed=0)``.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

FILES_PER_DIR = 1000
RECENT_EVENTS = 64
NEW_EVENT_PROBABILITY = 0.35
MAX_POOL = 40

# Probabilities of the optional shapes of the data.
P_Z_OFFSET = 0.6  # a date written with Z rather than +hh:mm
P_QUOTED_DATE = 0.4  # a date quoted rather than left for YAML to parse
P_PRIMARY_TRACKED = 0.08  # the primary webUrl carries a tracking parameter
P_RELATED_TRACKED = 0.1  # a related citation carries a tracking parameter
P_DUPLICATE = 0.02  # a related article cited twice in one story
P_PRIMARY_CITED = 0.2  # a primary article later cited by another story
P_UPDATED = 0.35  # updatedDateTime present ...
P_UPDATED_NULL = 0.05  # ... of which null
P_PRIMARY_AMP = 0.6
P_RELATED_AMP = 0.5
P_PRIMARY_IMAGE = 0.75
P_RELATED_IMAGE = 0.8
P_IMAGE_QUERY = 0.3
P_NULL_EXCERPT = 0.03
P_PUBLISHED = 0.55
P_LOCALE = 0.3
P_ALT_PROVIDER_NAME = 0.03
P_TOPIC_LOWER, P_TOPIC_UPPER, P_TOPIC_SPACED = 0.03, 0.05, 0.06  # cumulative
P_BODY = 0.08
P_BODY_MD = 0.6  # a story with a body is a .md file
P_MD = 0.05  # other .md files
P_BODY_LIST = 0.5

# Events happen in this window; articles are dated from 6 hours before an event to
# 3 days after it, so every date falls within 2015-2025 (all in the past).
_EPOCH_START = datetime(2015, 1, 2, tzinfo=UTC)
_EPOCH_END = datetime(2025, 12, 27, tzinfo=UTC)
_DATE_SPAN_S = int((_EPOCH_END - _EPOCH_START).total_seconds())

_NON_SLUG = re.compile(r"[^a-z0-9]+")

_q = json.JSONEncoder(ensure_ascii=False).encode
"""Quote a str as a YAML double-quoted scalar (a JSON string is one)."""

# fmt: off
TOPICS: tuple[str, ...] = (
    "AI", "Markets", "Climate", "Elections", "Security", "Health", "Space",
    "Energy", "Smartphones", "Football", "Crypto", "Semiconductors",
    "Electric Vehicles", "Inflation", "Startups", "Privacy", "Gaming",
    "Streaming", "Aviation", "Real Estate", "Trade", "Vaccines", "Wildfires",
    "Formula 1", "Cricket", "Open Source", "Quantum Computing", "Biotech",
    "Retail", "Immigration", "Supreme Court", "Education", "Mental Health",
    "Movies", "Music", "Olympics", "Économie", "Santé publique", "Ocean Science",
    "Archaeology",
)

_REAL_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("Reuters", "reuters.com"), ("Associated Press", "apnews.com"),
    ("BBC News", "bbc.com"), ("The Guardian", "theguardian.com"),
    ("The New York Times", "nytimes.com"), ("CNN", "cnn.com"),
    ("The Washington Post", "washingtonpost.com"), ("CNBC", "cnbc.com"),
    ("Bloomberg", "bloomberg.com"), ("The Verge", "theverge.com"),
    ("Ars Technica", "arstechnica.com"), ("TechCrunch", "techcrunch.com"),
    ("Wired", "wired.com"), ("Financial Times", "ft.com"),
    ("The Wall Street Journal", "wsj.com"), ("Al Jazeera", "aljazeera.com"),
    ("NPR", "npr.org"), ("Politico", "politico.com"), ("Axios", "axios.com"),
    ("Engadget", "engadget.com"), ("Gizmodo", "gizmodo.com"),
    ("MarketWatch", "marketwatch.com"), ("Forbes", "forbes.com"),
    ("Business Insider", "businessinsider.com"), ("Fortune", "fortune.com"),
    ("The Register", "theregister.com"), ("ZDNET", "zdnet.com"),
    ("Euronews", "euronews.com"), ("DW", "dw.com"), ("France 24", "france24.com"),
    ("The Independent", "independent.co.uk"), ("Sky News", "news.sky.com"),
    ("The Hindu", "thehindu.com"), ("Times of India", "timesofindia.indiatimes.com"),
    ("ABC News", "abcnews.go.com"), ("CBS News", "cbsnews.com"),
    ("NBC News", "nbcnews.com"), ("USA Today", "usatoday.com"),
    ("Los Angeles Times", "latimes.com"), ("The Atlantic", "theatlantic.com"),
    ("Vox", "vox.com"), ("Space.com", "space.com"), ("SpaceNews", "spacenews.com"),
    ("STAT", "statnews.com"), ("Nature", "nature.com"),
    ("Scientific American", "scientificamerican.com"),
    ("Carbon Brief", "carbonbrief.org"), ("Inside Climate News", "insideclimatenews.org"),
    ("BleepingComputer", "bleepingcomputer.com"), ("The Record", "therecord.media"),
    ("MIT Technology Review", "technologyreview.com"), ("Nasdaq", "nasdaq.com"),
    ("Yahoo Finance", "finance.yahoo.com"), ("ESPN", "espn.com"),
    ("Variety", "variety.com"), ("Le Monde", "lemonde.fr"),
    ("Der Spiegel", "spiegel.de"), ("El País", "elpais.com"),
    ("The Japan Times", "japantimes.co.jp"), ("ABC Australia", "abc.net.au"),
    ("CBC News", "cbc.ca"), ("The Irish Times", "irishtimes.com"),
    ("Computer Weekly", "computerweekly.com"), ("CSO Online", "csoonline.com"),
)

_CITIES: tuple[tuple[str, str], ...] = (
    ("Springfield", "com"), ("Riverton", "com"), ("Lakeside", "com"),
    ("Brookhaven", "com"), ("Fairview", "com"), ("Kingsport", "com"),
    ("Ashford", "co.uk"), ("Wexley", "co.uk"), ("Harrowgate", "co.uk"),
    ("Maple Ridge", "ca"), ("Port Alder", "ca"), ("Bellamy", "com.au"),
    ("Coral Bay", "com.au"), ("Dunmore", "ie"), ("Westbury", "com"),
    ("Clearwater", "com"), ("Oakvale", "com"), ("Pinecrest", "com"),
    ("Stonebridge", "com"), ("Redfield", "com"), ("Silverton", "com"),
    ("Elmwood", "com"), ("Greystone", "co.uk"), ("Hollis", "com"),
    ("Northgate", "com"), ("Easton", "com"), ("Middleburg", "com"),
    ("Cedar Falls", "com"), ("Hartwell", "com"), ("Baymouth", "co.nz"),
)
_MASTHEADS: tuple[str, ...] = (
    "Times", "Herald", "Gazette", "Tribune", "Post", "Courier", "Chronicle",
    "Journal", "Observer", "Daily News", "Sentinel", "Ledger",
)
# fmt: on

N_PROVIDERS = 300


def _providers() -> list[tuple[str, str]]:
    """The 300 providers (display name, domain), most popular first."""
    out = list(_REAL_PROVIDERS)
    i = 0
    while len(out) < N_PROVIDERS:
        city, tld = _CITIES[i % len(_CITIES)]
        mast = _MASTHEADS[(i // len(_CITIES) + i) % len(_MASTHEADS)]
        i += 1
        domain = f"{city}{mast}".replace(" ", "").lower() + "." + tld
        if any(d == domain for _, d in out):
            continue
        out.append((f"The {city} {mast}", domain))
    return out


PROVIDERS: list[tuple[str, str]] = _providers()


def _zipf_cum(n: int, s: float) -> list[float]:
    return list(accumulate(1.0 / (rank**s) for rank in range(1, n + 1)))


_TOPIC_CUM = _zipf_cum(len(TOPICS), 1.0)
_PROVIDER_CUM = _zipf_cum(len(PROVIDERS), 1.05)

# fmt: off
_SUBJECTS: tuple[str, ...] = (
    "Regulators", "Officials", "Researchers", "Investors", "Lawmakers",
    "The central bank", "Apple", "Microsoft", "Google", "Amazon", "Meta",
    "Nvidia", "Tesla", "OpenAI", "SpaceX", "NASA", "The EU", "The WHO",
    "AT&T", "Procter & Gamble", "Johnson & Johnson", "Samsung", "Toyota",
    "The UN", "Scientists", "The Senate", "The government", "Unions",
    "Shareholders", "Airlines", "Hospitals", "Farmers", "Police",
    "Startups", "The S&P 500", "Teachers", "Voters", "Doctors",
)
_VERBS: tuple[str, ...] = (
    "unveil", "reject", "approve", "delay", "warn over", "push for",
    "investigate", "cut", "expand", "back", "challenge", "scrap",
    "confirm", "weigh", "announce", "pause", "defend", "rethink",
)
_OBJECTS: tuple[str, ...] = (
    "new rules", "a record deal", "sweeping changes", "a $2bn plan",
    "price rises", "a data breach", "job cuts", "a surprise forecast",
    "emergency measures", "a landmark agreement", "safety concerns",
    "a long-delayed launch", "tougher limits", "a major outage",
    "an overhaul", "a new strategy", "fresh funding", "a court ruling",
)
_QUALIFIERS: tuple[str, ...] = (
    "", "", "", " amid growing pressure", " after months of talks",
    " as costs soar", " in a blow to rivals", " despite criticism",
    " ahead of key vote", " for the first time", " as demand slows",
)
_TITLE_FORMS: tuple[str, ...] = (
    "{S} {V} {O}{Q}",
    "{S} {V} {O}{Q}",
    "{S} {V} {O}, sources say",
    "Analysis: why {S} {V} {O}",
    "{S} {V} {O}, report says",
    "What it means that {S} {V} {O}",
    "Live updates: {S} {V} {O}",
    "{S} {V} {O} \u2014 here\u2019s what we know",
)
_SENTENCES: tuple[str, ...] = (
    "{S} said on {D} that it would {V} {O}, a decision expected to ripple"
    " through the sector.",
    "The announcement follows weeks of speculation and comes as {S} faces"
    " scrutiny over {O}.",
    "Critics said the plan did not go far enough, while supporters called it"
    " long overdue.",
    "Analysts at several banks said the impact could reach {N} billion over"
    " the next two years.",
    "The move affects roughly {N} million people, according to figures"
    " released on {D}.",
    "Officials declined to say when further details would be published.",
    "It is the latest in a series of decisions that have reshaped the"
    " industry since the pandemic.",
    "{S} did not respond to a request for comment.",
    "Here is what we know so far, and what happens next.",
    "Markets reacted quickly, with shares of rivals moving sharply in early"
    " trading.",
)
_BODY_PARAGRAPHS: tuple[str, ...] = (
    "Our desk has followed this story since the first reports. The key"
    " question now is how quickly the changes take effect, and who pays for"
    " them.",
    "Several outlets reported slightly different figures; the numbers below"
    " are the ones confirmed on the record.",
    "We will update this summary as new coverage comes in. Corrections are"
    " noted at the end of the page.",
)
_BODY_LIST: tuple[str, ...] = (
    "- what was announced, and by whom",
    "- the timeline for the next steps",
    "- how rivals and regulators responded",
    "- the open questions that remain",
)
_CATEGORIES: tuple[str, ...] = (
    "news", "news", "news", "business", "technology", "science", "politics",
    "health", "sports", "entertainment",
)
_LOCALES: tuple[str, ...] = ("en-US", "en-GB", "en-IN", "fr-FR")
_OFFSETS: tuple[int, ...] = (60, 120, -240, -300, 330, 540, -420, 600, 0, 180)
_TRACKING: tuple[str, ...] = (
    "utm_source=twitter&utm_medium=social",
    "utm_source=rss&utm_medium=feed&utm_campaign=rss",
    "utm_source=newsletter&utm_medium=email&utm_campaign=daily",
    "fbclid=IwAR0{R}",
    "via=indexdotco",
    "td=amp-keepreading-btm",
    "utm_campaign=share&utm_content={R}",
)
_SECTIONS: tuple[str, ...] = (
    "news", "world", "business", "technology", "science", "politics",
    "health", "climate", "markets", "sport",
)
_IMAGE_SIZES: tuple[tuple[int, int], ...] = (
    (1200, 800), (1200, 675), (1600, 900), (1024, 576), (800, 450),
    (1920, 1080), (2048, 1365), (640, 427), (1000, 688), (480, 610),
)
# fmt: on


@dataclass(slots=True)
class _Article:
    """One article, pre-rendered as a ``related`` list item."""

    url: str
    head: str
    tail: str

    def related(self, url: str | None = None) -> str:
        return f"{self.head}    webUrl: {_q(url or self.url)}\n{self.tail}"


@dataclass(slots=True)
class _Event:
    """A news event: stories about it cite articles from a shared pool."""

    topics: list[str]
    when: datetime
    subject: str
    verb: str
    obj: str
    category: str
    pool: list[_Article] = field(default_factory=list)


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.counter = 0
        self.recent: deque[_Event] = deque(maxlen=RECENT_EVENTS)

    # ---- small helpers -------------------------------------------------
    def _hex(self, n: int) -> str:
        return f"{self.rng.getrandbits(4 * n):0{n}x}"

    def _date(self, moment: datetime) -> str:
        """Format with a random offset; quote some of them."""
        rng = self.rng
        if rng.random() < P_Z_OFFSET:
            text = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            minutes = rng.choice(_OFFSETS)
            local = moment + timedelta(minutes=minutes)
            sign = "+" if minutes >= 0 else "-"
            hh, mm = divmod(abs(minutes), 60)
            text = local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{hh:02d}:{mm:02d}"
        return _q(text) if rng.random() < P_QUOTED_DATE else text

    def _tracked(self, url: str) -> str:
        param = self.rng.choice(_TRACKING).replace("{R}", self._hex(12))
        return url + ("&" if "?" in url else "?") + param

    # ---- content ------------------------------------------------------
    def _new_event(self) -> _Event:
        rng = self.rng
        k = rng.choices((1, 1, 1, 2, 2, 3))[0]
        topics: list[str] = []
        for t in rng.choices(TOPICS, cum_weights=_TOPIC_CUM, k=k):
            if t not in topics:
                topics.append(t)
        when = _EPOCH_START + timedelta(seconds=rng.randrange(_DATE_SPAN_S))
        return _Event(
            topics=topics,
            when=when,
            subject=rng.choice(_SUBJECTS),
            verb=rng.choice(_VERBS),
            obj=rng.choice(_OBJECTS),
            category=rng.choice(_CATEGORIES),
        )

    def _title(self, ev: _Event) -> str:
        rng = self.rng
        form = rng.choice(_TITLE_FORMS)
        text = form.format(S=ev.subject, V=ev.verb, O=ev.obj, Q=rng.choice(_QUALIFIERS))
        return text[0].upper() + text[1:]

    def _excerpt(self, ev: _Event, when: datetime) -> str:
        rng = self.rng
        parts = rng.sample(_SENTENCES, 2)
        day = when.strftime("%A")
        return " ".join(p.format(S=ev.subject, V=ev.verb, O=ev.obj, D=day, N=rng.randint(2, 90)) for p in parts)

    def _url(self, domain: str, when: datetime, title: str) -> str:
        """A unique article URL in one of a few common CMS shapes."""
        rng = self.rng
        self.counter += 1
        n = self.counter
        host = domain if domain.count(".") > 1 else "www." + domain
        sec = rng.choice(_SECTIONS)
        form = rng.randrange(6)
        if form == 4:
            return f"https://{host}/{sec}/article{n}.ece"
        if form == 5:
            return f"https://{host}/news/ReadArticle.aspx?ArticleID={n}&section={sec}"
        slug = "-".join(_NON_SLUG.sub(" ", title.lower()).split()[:9])
        if form == 0:
            return f"https://{host}/{sec}/{when:%Y/%m/%d}/{slug}/"
        if form == 1:
            return f"https://{host}/{sec}/{slug}-{n}"
        if form == 2:
            return f"https://{host}/{when:%Y/%m/%d}/{sec}/{slug}.html"
        return f"https://{host}/article/{slug}-{n:x}{n % 97:02d}"

    @staticmethod
    def _amp(url: str) -> tuple[str, str]:
        amp = url + ("&amp=1" if "?" in url else "?amp=1")
        rest = amp.split("://", 1)[1]
        host = rest.split("/", 1)[0]
        cdn_host = host.replace("-", "--").replace(".", "-")
        return amp, f"https://{cdn_host}.cdn.ampproject.org/c/s/{rest}"

    def _image(self, domain: str, when: datetime) -> tuple[str, int, int]:
        rng = self.rng
        w, h = rng.choice(_IMAGE_SIZES)
        prefix = rng.choice(("cdn", "images", "i", "static", "media"))
        url = f"https://{prefix}.{domain}/{when:%Y/%m}/{self._hex(24)}.jpg"
        if rng.random() < P_IMAGE_QUERY:
            url += f"?width={w}&quality=85"
        return url, w, h

    def _provider(self) -> tuple[str, str]:
        rng = self.rng
        name, domain = rng.choices(PROVIDERS, cum_weights=_PROVIDER_CUM)[0]
        if rng.random() < P_ALT_PROVIDER_NAME:
            name = domain.split(".")[0]
        return name, domain

    def _article(self, ev: _Event) -> _Article:
        """A related-coverage article of this event."""
        rng = self.rng
        name, domain = self._provider()
        when = ev.when + timedelta(minutes=rng.randrange(-360, 4320))
        title = self._title(ev)
        url = self._url(domain, when, title)
        excerpt = "null" if rng.random() < P_NULL_EXCERPT else _q(self._excerpt(ev, when))
        head = f"  - title: {_q(title)}\n    excerpt: {excerpt}\n    publishedDateTime: {self._date(when)}\n"
        tail = []
        if rng.random() < P_RELATED_AMP:
            amp, cdn = self._amp(url)
            tail.append(f"    ampWebUrl: {_q(amp)}\n    cdnAmpWebUrl: {_q(cdn)}\n")
        tail.append(
            "    type: article\n"
            f"    provider:\n      name: {_q(name)}\n      domain: {domain}\n"
            f"    quality: {rng.randrange(1, 120)}\n"
        )
        if rng.random() < P_RELATED_IMAGE:
            img, w, h = self._image(domain, when)
            tail.append(
                f"    images:\n      - url: {_q(img)}\n"
                f"        width: {w}\n        height: {h}\n        isCached: true\n"
            )
        return _Article(url=url, head=head, tail="".join(tail))

    def _topic_spelling(self, topic: str) -> str:
        r = self.rng.random()
        if r < P_TOPIC_LOWER:
            return topic.lower()
        if r < P_TOPIC_UPPER:
            return topic.upper()
        if r < P_TOPIC_SPACED:
            return f" {topic} "
        return topic

    def _secured(self) -> str:
        rng = self.rng
        blob = base64.b64encode(rng.randbytes(rng.randrange(300, 480))).decode()
        iv = base64.b64encode(rng.randbytes(16)).decode()
        return f"{blob};{iv}"

    def _body(self) -> str:
        rng = self.rng
        parts = rng.sample(_BODY_PARAGRAPHS, rng.randint(1, 2))
        if rng.random() < P_BODY_LIST:
            parts.append("What we are watching:\n\n" + "\n".join(_BODY_LIST))
        return "\n" + "\n\n".join(parts) + "\n"

    def _pick_event(self) -> _Event:
        rng = self.rng
        if self.recent and rng.random() >= NEW_EVENT_PROBABILITY:
            return rng.choice(self.recent)
        ev = self._new_event()
        self.recent.append(ev)
        ev.pool.extend(self._article(ev) for _ in range(6))
        return ev

    def _primary(self, ev: _Event, out: list[str]) -> _Article:
        """Render the primary article's fields; return it as a citable article."""
        rng = self.rng
        name, domain = self._provider()
        when = ev.when + timedelta(minutes=rng.randrange(-120, 1440))
        title = self._title(ev)
        url = self._url(domain, when, title)
        web_url = self._tracked(url) if rng.random() < P_PRIMARY_TRACKED else url
        out += [
            "---\n",
            f"category: {ev.category}\n",
            f"title: {_q(title)}\n",
            f"excerpt: {_q(self._excerpt(ev, when))}\n",
            f"publishedDateTime: {self._date(when)}\n",
        ]
        r = rng.random()
        if r < P_UPDATED_NULL:
            out.append("updatedDateTime: null\n")
        elif r < P_UPDATED:
            updated = when + timedelta(minutes=rng.randrange(5, 2880))
            out.append(f"updatedDateTime: {self._date(updated)}\n")
        out.append(f"originalUrl: {_q(url)}\nwebUrl: {_q(web_url)}\n")
        if rng.random() < P_PRIMARY_AMP:
            amp, cdn = self._amp(url)
            out.append(f"ampWebUrl: {_q(amp)}\ncdnAmpWebUrl: {_q(cdn)}\n")
        published = "true" if rng.random() < P_PUBLISHED else "false"
        out.append(
            "type: article\n"
            f"quality: {rng.randrange(1, 120)}\n"
            f"heat: {rng.choice((-1, -1, 0, rng.randrange(1, 100)))}\n"
            f"published: {published}\n"
        )
        if rng.random() < P_LOCALE:
            out.append(f"locale: {rng.choice(_LOCALES)}\n")
        out.append(f"\nprovider:\n  name: {_q(name)}\n  domain: {domain}\n")
        out.append("\ntopics:\n")
        out.extend(f"  - {_q(self._topic_spelling(t))}\n" for t in ev.topics)
        if rng.random() < P_PRIMARY_IMAGE:
            img, w, h = self._image(domain, when)
            out.append(f"\nimages:\n  - url: {_q(img)}\n    width: {w}\n    height: {h}\n")
        return _Article(
            url=url,
            head=(f"  - title: {_q(title)}\n    excerpt: null\n    publishedDateTime: {self._date(when)}\n"),
            tail=(
                "    type: article\n"
                f"    provider:\n      name: {_q(name)}\n      domain: {domain}\n"
                f"    quality: {rng.randrange(1, 120)}\n"
            ),
        )

    def _related(self, ev: _Event, out: list[str]) -> None:
        """Render related coverage: some from the event's pool, some fresh."""
        rng = self.rng
        n_related = rng.randint(6, 12)
        n_shared = min(len(ev.pool), rng.randint(3, n_related - 2))
        shared = rng.sample(ev.pool, n_shared)
        fresh = [self._article(ev) for _ in range(n_related - n_shared)]
        out.append("\nrelated:\n")
        for art in shared + fresh:
            tracked = rng.random() < P_RELATED_TRACKED
            out.append(art.related(self._tracked(art.url) if tracked else None))
        if shared and rng.random() < P_DUPLICATE:  # same article, once tracked
            out.append(shared[0].related(self._tracked(shared[0].url)))
        ev.pool.extend(fresh)

    def story(self) -> tuple[str, str]:
        """Render one story; returns (text, file extension)."""
        rng = self.rng
        ev = self._pick_event()
        out: list[str] = []
        primary = self._primary(ev, out)
        self._related(ev, out)
        out.append(f"\nsecured: {_q(self._secured())}\n---\n")
        if rng.random() < P_PRIMARY_CITED:  # later stories may cite this one
            ev.pool.append(primary)
        if len(ev.pool) > MAX_POOL:
            del ev.pool[: MAX_POOL // 4]
        has_body = rng.random() < P_BODY
        if has_body:
            out.append(self._body())
        md = (has_body and rng.random() < P_BODY_MD) or rng.random() < P_MD
        return "".join(out), "md" if md else "txt"


def generate(out_dir: Path, count: int, seed: int = 0) -> None:
    """Write ``count`` seed files under ``out_dir``, deterministically from ``seed``.

    Files go to ``out_dir/0000/``, ``out_dir/0001/``, ... with at most
    ``FILES_PER_DIR`` files each; existing files of the same name are replaced.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    gen = _Generator(seed)
    out_dir = Path(out_dir)
    for i in range(count):
        current_dir = out_dir / f"{i // FILES_PER_DIR:04d}"
        if i % FILES_PER_DIR == 0:
            current_dir.mkdir(parents=True, exist_ok=True)
        text, ext = gen.story()
        name = f"{i:06d}_{gen._hex(16)}.{ext}"
        with open(current_dir / name, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description="Generate a deterministic synthetic seed corpus for benchmarks.",
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="output folder")
    parser.add_argument("--count", type=int, required=True, metavar="N", help="number of seed files")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be >= 0")
    start = time.perf_counter()
    generate(args.out_dir, args.count, args.seed)
    elapsed = time.perf_counter() - start
    print(
        f"wrote {args.count} seed files to {args.out_dir} in {elapsed:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
