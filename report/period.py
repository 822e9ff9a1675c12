"""The report's period in UTC: a month, a year or a range of days, its previous period and its trend buckets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, with a label ("October 2026", "2026", "2026-10-03 to 2026-10-09")."""

    start: datetime
    end: datetime
    kind: str  # "month", "year" or "range"
    label: str

    @property
    def slug(self) -> str:
        """For file names: 2026-10, 2026, 2026-10-03_2026-10-09."""
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "year":
            return f"{self.start:%Y}"
        return f"{self.start:%Y-%m-%d}_{self.end - DAY:%Y-%m-%d}"

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY

    def previous(self) -> Period:
        """The period of the same kind and length just before this one."""
        if self.kind == "month":
            last = self.start - DAY
            return month(last.year, last.month)
        if self.kind == "year":
            return year(self.start.year - 1)
        length = self.end - self.start
        return day_range((self.start - length).date(), (self.start - DAY).date())

    def trend_unit(self) -> str:
        """"day" for periods up to about a quarter, else "month"."""
        return "day" if self.days <= 92 else "month"

    def buckets(self) -> list[tuple[datetime, datetime]]:
        """The trend's [start, end) buckets: days, or calendar months clipped to the period."""
        if self.trend_unit() == "day":
            return [(self.start + i * DAY, self.start + (i + 1) * DAY) for i in range(round(self.days))]
        edges, at = [self.start], self.start
        while at < self.end:
            at = _next_month(at)
            edges.append(min(at, self.end))
        return list(zip(edges, edges[1:]))


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _next_month(at: datetime) -> datetime:
    first = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(month=first.month + 1)


def month(year_: int, month_: int) -> Period:
    start = _utc(date(year_, month_, 1))
    return Period(start, _next_month(start), "month", f"{start:%B %Y}")


def year(year_: int) -> Period:
    return Period(_utc(date(year_, 1, 1)), _utc(date(year_ + 1, 1, 1)), "year", str(year_))


def day_range(first: date, last: date) -> Period:
    """From the first day to the last day, both included."""
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    return Period(_utc(first), _utc(last) + DAY, "range", f"{first:%Y-%m-%d} to {last:%Y-%m-%d}")


def parse_period(month_text: str | None = None, year_text: str | None = None, first: str | None = None,
                 last: str | None = None) -> Period:
    """The period from exactly one of: --month YYYY-MM, --year YYYY, or --from/--to YYYY-MM-DD (both included)."""
    given = [name for name, value in (("--month", month_text), ("--year", year_text),
                                      ("--from/--to", first or last)) if value]
    if len(given) != 1:
        raise ValueError("give one of --month YYYY-MM, --year YYYY or --from YYYY-MM-DD --to YYYY-MM-DD")
    if month_text:
        match = re.fullmatch(r"(\d{4})-(\d{2})", month_text.strip())
        if not match or not 1 <= int(match[2]) <= 12:
            raise ValueError(f"--month {month_text!r}: expected YYYY-MM, e.g. 2026-10")
        return month(int(match[1]), int(match[2]))
    if year_text:
        if not re.fullmatch(r"\d{4}", year_text.strip()):
            raise ValueError(f"--year {year_text!r}: expected YYYY, e.g. 2026")
        return year(int(year_text))
    if not (first and last):
        raise ValueError("--from and --to go together")
    try:
        return day_range(date.fromisoformat(first), date.fromisoformat(last))
    except ValueError as exc:
        raise ValueError(f"--from/--to: {exc}") from None
