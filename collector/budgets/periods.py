"""Budget periods in UTC, and the reduction trajectory's arithmetic."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fleetprint.collector.budgets.config import Budget


def period_bounds(period: str, at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the day, ISO week (from Monday), month or year that contains `at` (UTC)."""
    at = at.astimezone(timezone.utc)
    day = datetime(at.year, at.month, at.day, tzinfo=timezone.utc)
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period == "month":
        start = day.replace(day=1)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        return start, end
    if period == "year":
        start = day.replace(month=1, day=1)
        return start, start.replace(year=start.year + 1)
    raise ValueError(f"unknown period {period!r}")


def trajectory_factor(budget: Budget, year: int) -> float:
    """How much of the baseline limit applies in `year`: (1 - r) ^ (year - baseline), 1 before it."""
    if budget.trajectory is None or year <= budget.trajectory.baseline_year:
        return 1.0
    return (1.0 - budget.trajectory.reduction_pct_per_year / 100.0) ** (year - budget.trajectory.baseline_year)


def limits(budget: Budget, year: int) -> tuple[float | None, float | None]:
    """The (kgCO2e, kWh) limits that apply in `year`."""
    factor = trajectory_factor(budget, year)
    return (None if budget.limit_kgco2e is None else budget.limit_kgco2e * factor,
            None if budget.limit_kwh is None else budget.limit_kwh * factor)
