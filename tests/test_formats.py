"""The output formats' own rules, with plain values: refresh hints from item dates."""

from __future__ import annotations

import itertools
import random
import statistics
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from aggregator.config import SiteConfig
from aggregator.formats import feedgen as feedgen_formats
from aggregator.formats.archive import Entry, Page, render_page, written_entries
from aggregator.formats.base import MAX_REFRESH_MINUTES, MIN_REFRESH_MINUTES, FeedInfo, refresh_minutes, rfc822
from aggregator.formats.rss import update_period
from aggregator.model import FeedKey, Image

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def every(step: timedelta, count: int = 6) -> list[datetime]:
    return [T0 - i * step for i in range(count)]


@pytest.mark.parametrize(("dates", "minutes"), [
    ([], MAX_REFRESH_MINUTES),
    ([T0], MAX_REFRESH_MINUTES),
    (every(timedelta(hours=2)), 120),
    (every(timedelta(minutes=40)), 40),
    (every(timedelta(minutes=5)), MIN_REFRESH_MINUTES),
    (every(timedelta(days=3)), MAX_REFRESH_MINUTES),
    ([T0, T0 - timedelta(minutes=30), T0 - timedelta(minutes=90), T0 - timedelta(days=9)], 60),  # the median gap
    ([T0, T0, T0, T0], MIN_REFRESH_MINUTES),  # same-minute items: a burst, not "every 0 minutes"
])
def test_refresh_minutes_is_the_median_gap_between_items_within_bounds(dates: list[datetime], minutes: int) -> None:
    assert refresh_minutes(dates) == minutes
    assert refresh_minutes(list(reversed(dates))) == minutes  # order of the input does not matter


@pytest.mark.parametrize(("minutes", "period"), [
    (15, ("hourly", 4)), (30, ("hourly", 2)), (45, ("hourly", 1)), (60, ("daily", 24)), (120, ("daily", 12)),
    (1440, ("daily", 1)),
])
def test_update_period_is_the_closest_syndication_period(minutes: int, period: tuple[str, int]) -> None:
    assert update_period(minutes) == period


def _entry(n: int, published: datetime) -> Entry:
    """An entry as `entry_xml` writes one, with text that looks like markup (escaped)."""
    id_ = f"urn:uuid:00000000-0000-4000-8000-{n:012d}"
    xml = (f"  <entry>\n    <id>{id_}</id>\n    <title>Story {n} &lt;/entry&gt;  &lt;fh:archive/&gt;</title>\n"
           f"    <updated>{published.isoformat()}</updated>\n"
           f'    <content type="html">&lt;p&gt;&lt;published&gt;x&lt;/published&gt;&lt;/p&gt;</content>\n'
           f"    <published>{published.isoformat()}</published>\n  </entry>\n")
    return Entry(published, id_, published, xml.encode())


def test_an_archive_documents_entries_are_read_back_as_they_were_given() -> None:
    tokyo = timezone(timedelta(hours=9))
    entries = [_entry(n, datetime(2024, 1, 1 + n % 5, 12, tzinfo=tokyo if n % 2 else UTC)) for n in range(12)]
    page = Page(FeedInfo(FeedKey("topic", "space"), "Aggregator: Space", "Stories about Space"), 2, 1, None)
    document = render_page(page, entries, SiteConfig())
    found = written_entries(document)
    assert found is not None
    assert sorted(found) == sorted(entries)
    assert render_page(page, list(reversed(found)), SiteConfig()) == document  # whatever order it is given them in


@pytest.mark.parametrize("damage", [
    lambda d: d[:-1], lambda d: d[: d.index(b"  </entry>\n") + 5] + b"\n</feed>\n", lambda d: b"", lambda d: d.replace(
        b"<published>", b"<published>not a date", 1), lambda d: d.replace(b"  <fh:archive/>\n", b""),
    lambda d: d.replace(b"    <id>", b"    <id >", 1)])
def test_what_is_not_an_archive_document_as_written_gives_no_entries(damage: Callable[[bytes], bytes]) -> None:
    page = Page(FeedInfo(FeedKey("all"), "Aggregator: all stories", "Every story"), 1, None, None)
    document = render_page(page, [_entry(n, datetime(2024, 1, 1, tzinfo=UTC)) for n in range(3)], SiteConfig())
    assert written_entries(damage(document)) is None


def test_rss_dates_are_written_as_the_standard_library_writes_them_in_utc() -> None:
    rng = random.Random(822)
    for _ in range(2000):
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 100 * 365 * 86400),
                                                              microseconds=rng.randint(0, 999_999))
        moment = moment.astimezone(timezone(timedelta(minutes=rng.randint(-14 * 60, 14 * 60))))
        assert rfc822(moment) == format_datetime(moment.astimezone(UTC)), moment


@pytest.mark.parametrize("count", [2, 3, 4, 7, 50])
def test_the_refresh_hint_is_the_median_gap_as_statistics_takes_it(count: int) -> None:
    rng = random.Random(count)
    dates = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 20_000)) for _ in range(count)]
    ordered = sorted(dates, reverse=True)
    gaps = [(a - b).total_seconds() / 60 for a, b in itertools.pairwise(ordered)]
    want = min(max(round(statistics.median(gaps)), MIN_REFRESH_MINUTES), MAX_REFRESH_MINUTES)
    assert refresh_minutes(dates) == want


@pytest.mark.parametrize("image", [Image("https://example.com/a.jpg?w=1&h=2", 640, 427),
                                   Image("https://example.com/a.jpg", 640, None),
                                   Image("https://example.com/a.jpg", None, 427),
                                   Image("https://example.com/a.jpg", None, None), None])
@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_an_items_image_and_outlet_are_the_elements_feedgens_own_extensions_write(image: Image | None,
                                                                                  fmt: str) -> None:
    import feedgen.entry  # noqa: F401  (first: it loads lxml.etree, which feedgen's extensions use)
    from feedgen.ext.dc import DcEntryExtension
    from feedgen.ext.media import MediaEntryExtension
    from lxml import etree

    theirs, ours = etree.Element("item"), etree.Element("item")
    media, dc = MediaEntryExtension(), DcEntryExtension()
    if image is not None:  # as the code before ours gave them to feedgen
        size = {k: str(v) for k, v in (("width", image.width), ("height", image.height)) if v}
        media.thumbnail({"url": image.url, "group": None, **size})
        media.content({"url": image.url, "medium": "image", "group": None, **size})
    image_ext, creator = feedgen_formats._Image(), feedgen_formats._Creator()
    image_ext.image = image
    if fmt == "rss":
        dc.dc_creator("The Outlet & Co")
        creator.creator = "The Outlet & Co"
    for extension in (media, dc):
        getattr(extension, f"extend_{fmt}")(theirs)
    for extension in (image_ext, creator):
        getattr(extension, f"extend_{fmt}")(ours)
    assert etree.tostring(ours) == etree.tostring(theirs)
