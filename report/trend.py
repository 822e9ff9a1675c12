"""The trend's buckets (days or months) with the missing data left as gaps, and the unfinished ones marked.

A bucket without any data (before the first samples, a day the agents were all silent, or still
to come) is a gap, not a zero. A bucket with data is partial when the data starts in it (no data
just before it) or when the period is not over at its end: its figure is not a whole day's or
month's, so it is never named the lowest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from fleetprint.impacts import Impacts
from fleetprint.report.period import Period
from fleetprint.report.query import utc


@dataclass(frozen=True)
class TrendPoint:
    start: datetime
    end: datetime
    impacts: Impacts | None  # None: no data in the bucket
    partial: bool = False  # the data starts in it, or the period is not over at its end
    to_come: bool = False  # starts after the data's end (now, for a period not over)


def trend_points(period: Period, rows: Iterable[dict], data_end: datetime, data_just_before: bool) -> list[TrendPoint]:
    """The period's buckets from per-day rows (`time` in ms); `data_just_before`: the day before the period
    has data (so that data in its first bucket does not start there)."""
    buckets = period.buckets()
    sums: list[Impacts | None] = [None] * len(buckets)
    for row in rows:
        at = utc(row["time"])
        for index, (start, end) in enumerate(buckets):
            if start <= at < end:
                sums[index] = (sums[index] or Impacts()).add(row)
                break
    points = []
    for index, ((start, end), impacts) in enumerate(zip(buckets, sums)):
        before = sums[index - 1] is not None if index else data_just_before
        partial = impacts is not None and (not before or end > data_end)
        points.append(TrendPoint(start, end, impacts, partial, start >= data_end))
    return points


@dataclass(frozen=True)
class Gaps:
    """How many buckets have no data: before the first data, still to come, and in between."""

    leading: int
    to_come: int
    inside: int
    first_data: datetime | None  # the first bucket with data


def gaps(points: list[TrendPoint]) -> Gaps:
    with_data = [index for index, point in enumerate(points) if point.impacts is not None]
    leading = with_data[0] if with_data else 0
    to_come = sum(point.to_come and point.impacts is None for point in points)
    missing = len(points) - len(with_data)
    return Gaps(leading, to_come, missing - leading - to_come, points[with_data[0]].start if with_data else None)
