"""Dates in the three formats feeds use, and whether a date is plausible.

RFC 822 for RSS (pubDate, lastBuildDate) and OPML, RFC 3339 for Atom (updated,
published), W3C-DTF for dc:date. A well-formed date before 1990 or after the time
the lint runs for is still wrong for a news feed, and the service warns about it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

from lxml import etree

from .core import _Lint, _qname

RFC822_STRICT = re.compile(
    r"^((?P<dow>Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(?P<day>\d\d?) "
    r"(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?P<year>\d{4}) "
    r"(?P<hour>\d\d):(?P<minute>\d\d)(:(?P<second>\d\d))? "
    r"(?P<zone>[+-]?\d\d[03]0|UT|GMT|EST|EDT|CST|CDT|MST|MDT|PST|PDT|Z)$"
)
RFC822_LOOSE = re.compile(
    r"^((mon|tue|wed|thu|fri|sat|sun)\s*,\s*)?\d\d?\s+"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\s+\d\d(\d\d)?\s+"
    r"\d\d:\d\d(:\d\d)?\s+(([+-]\d{4})|ut|gmt|est|edt|cst|cdt|mst|mdt|pst|pdt|[a-ik-z])?$"
)
RFC822_ZONES = {
    "UT": 0,
    "GMT": 0,
    "Z": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
}
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d*)?(Z|[+-]\d\d:\d\d)$")
W3CDTF = re.compile(r"^\d\d\d\d(-\d\d(-\d\d(T\d\d:\d\d(:\d\d(\.\d*)?)?(Z|([+-]\d\d:\d\d)))?)?)?$")
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)


def _check_rfc822(ctx: _Lint, el: etree._Element, value: str) -> None:
    """RSS dates: RFC 822 with a 4-digit year; the day of week, when given, must be
    the right one; dates before 1990 or after now are implausible."""
    match = RFC822_STRICT.match(value)
    if not match:
        if _rfc822_loose(value):
            ctx.warn(el, f"Problematical RFC 822 date-time value: {value!r}")
        else:
            ctx.error(el, f"{_qname(el)} must be an RFC-822 date-time: {value!r}")
        return
    try:
        day = date(int(match["year"]), MONTHS.index(match["month"]) + 1, int(match["day"]))
        hour, minute = int(match["hour"]), int(match["minute"])
        second = int(match["second"] or 0)
        moment = datetime(day.year, day.month, day.day, hour, minute, min(second, 59))
    except ValueError as exc:
        ctx.error(el, f"{_qname(el)} must be an RFC-822 date-time: {exc}")
        return
    if match["dow"] and match["dow"] != day.strftime("%a"):
        ctx.error(el, f"Incorrect day of week: {match['dow']} (it was a {day.strftime('%a')})")
        return
    zone = match["zone"]
    if zone in RFC822_ZONES:
        offset = timedelta(hours=RFC822_ZONES[zone])
    else:
        sign = -1 if zone.startswith("-") else 1
        digits = zone.lstrip("+-")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    _check_plausible(ctx, el, moment.replace(tzinfo=timezone(offset)), value)


def _rfc822_loose(value: str) -> bool:
    """The looser RFC 822 grammar (comments, 2-digit years, military zones)."""
    previous, current = "", re.sub(r"\\(.)", "", value)
    while previous != current:
        previous, current = current, re.sub(r"\([^(]*?\)", " ", current)
    return bool(RFC822_LOOSE.match(current.strip().lower()))


def _check_rfc3339(ctx: _Lint, el: etree._Element, value: str) -> None:
    """Atom dates: RFC 3339 date-time with seconds and a time zone; plausible."""
    match = RFC3339.match(value.strip())
    if not match:
        ctx.error(el, f"{_qname(el)} must be an RFC-3339 date-time: {value!r}")
        return
    year, month, day, hour, minute, second = (int(match.group(n)) for n in range(1, 7))
    zone = match.group(8)
    try:
        moment = datetime(year, month, day, hour, min(minute, 59), min(second, 59))
        if hour > 23 or minute > 60 or second > 60:
            raise ValueError("time out of range")
    except ValueError as exc:
        ctx.error(el, f"{_qname(el)} must be an RFC-3339 date-time: {exc}")
        return
    if zone == "Z":
        offset = timedelta(0)
    else:
        sign = -1 if zone.startswith("-") else 1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    _check_plausible(ctx, el, moment.replace(tzinfo=timezone(offset)), value)


def _check_w3cdtf(ctx: _Lint, el: etree._Element, value: str) -> None:
    """dc:date: a W3C-DTF date (a time needs a time zone)."""
    if not W3CDTF.match(value):
        ctx.error(el, f"{_qname(el)} must be an W3CDTF date: {value!r}")
    elif value < "1990-01-01":
        ctx.warn(el, f"Implausible date: {value}")


def _check_plausible(ctx: _Lint, el: etree._Element, moment: datetime, value: str) -> None:
    if moment < EARLIEST_PLAUSIBLE:
        ctx.warn(el, f"Implausible date: {value} (before 1990)")
    elif moment > ctx.now:
        ctx.warn(el, f"Implausible date: {value} (in the future of {ctx.now.isoformat()})")
