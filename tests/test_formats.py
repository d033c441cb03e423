"""The output formats' own rules, with plain values: refresh hints from item dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aggregator.formats.base import MAX_REFRESH_MINUTES, MIN_REFRESH_MINUTES, refresh_minutes
from aggregator.formats.rss import update_period

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
