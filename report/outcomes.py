"""Budget outcomes over the report's period, recomputed from the stored data, and trajectory paths.

A budget whose period fits in the report's (a daily budget in a monthly report) is judged on
each of its periods that starts within the report's and has data, in full; one whose period is longer (a
yearly budget in a monthly report) is judged on the report's period against its limit pro
rata temporis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from fleetprint.collector.budgets.config import Budget
from fleetprint.collector.budgets.evaluate import BudgetEvaluator
from fleetprint.collector.budgets.periods import limits, period_bounds, trajectory_factor
from fleetprint.report.model import Scope
from fleetprint.report.period import Period
from fleetprint.report.query import ms

PERIODS_PER_YEAR = {"day": 365.25, "week": 365.25 / 7, "month": 12.0, "year": 1.0}


@dataclass(frozen=True)
class BudgetOutcome:
    budget: Budget
    periods: int  # budget periods judged (1 when pro rata)
    exceeded: int  # of which over a limit
    in_progress: bool  # the last one is not over yet
    pro_rata: bool
    spent_kgco2e: float
    limit_kgco2e: float | None
    spent_kwh: float
    limit_kwh: float | None
    trajectory_factor: float

    @property
    def state(self) -> str:
        if self.exceeded:
            return "exceeded"
        return "in progress" if self.in_progress else "within"

    @property
    def ratio(self) -> float:
        """Spend as a share of the limit (carbon's when there is one, else energy's)."""
        if self.limit_kgco2e:
            return self.spent_kgco2e / self.limit_kgco2e
        return self.spent_kwh / self.limit_kwh if self.limit_kwh else 0.0


@dataclass(frozen=True)
class TrajectoryYear:
    year: int
    limit_kgco2e: float | None  # a year's worth of the budget's limits on the trajectory
    limit_kwh: float | None
    spent_kgco2e: float | None  # None for years without data
    spent_kwh: float | None


def in_scope(budget: Budget, scope: Scope) -> bool:
    if scope.service and budget.service != scope.service:
        return False
    if scope.department and budget.department != scope.department:
        return False
    return not scope.site or budget.site == scope.site


def _over(spent: float, limit: float | None) -> bool:
    return limit is not None and spent >= limit


def outcome(evaluator: BudgetEvaluator, budget: Budget, period: Period, now: datetime) -> BudgetOutcome | None:
    """The budget's outcome over the report's period; None when none of its periods has started."""
    first_start, first_end = period_bounds(budget.period, period.start)
    if first_end - first_start > period.end - period.start:
        end = min(period.end, now)
        if end <= period.start:
            return None
        share = (period.end - period.start) / (first_end - first_start)
        limit_kg, limit_kwh = limits(budget, period.start.year)
        spent = evaluator.spend(budget, ms(period.start), ms(end))
        limit_kg = None if limit_kg is None else limit_kg * share
        limit_kwh = None if limit_kwh is None else limit_kwh * share
        over = _over(spent.kgco2e, limit_kg) or _over(spent.kwh, limit_kwh)
        return BudgetOutcome(budget, 1, int(over), period.end > now, True, spent.kgco2e, limit_kg, spent.kwh,
                             limit_kwh, trajectory_factor(budget, period.start.year))
    start = first_start if first_start >= period.start else first_end
    judged = exceeded = 0
    totals = [0.0, 0.0, 0.0, 0.0]  # spent kg, limit kg, spent kWh, limit kWh
    has_kg = has_kwh = in_progress = False
    while start < period.end and start < now:
        end = period_bounds(budget.period, start)[1]
        spent = evaluator.spend(budget, ms(start), ms(min(end, now)))
        if not (spent.kgco2e or spent.kwh):  # no data: nothing to judge
            start = end
            continue
        limit_kg, limit_kwh = limits(budget, start.year)
        judged += 1
        exceeded += _over(spent.kgco2e, limit_kg) or _over(spent.kwh, limit_kwh)
        in_progress = end > now
        totals[0] += spent.kgco2e
        totals[2] += spent.kwh
        if limit_kg is not None:
            has_kg, totals[1] = True, totals[1] + limit_kg
        if limit_kwh is not None:
            has_kwh, totals[3] = True, totals[3] + limit_kwh
        start = end
    if not judged:
        return None
    return BudgetOutcome(budget, judged, exceeded, in_progress, False, totals[0], totals[1] if has_kg else None,
                         totals[2], totals[3] if has_kwh else None, trajectory_factor(budget, period.start.year))


def trajectory_path(evaluator: BudgetEvaluator, budget: Budget, last_year: int, now: datetime,
                    years_ahead: int = 3) -> list[TrajectoryYear]:
    """From the baseline year to `last_year` + `years_ahead`: a year's limits on the path, and the spend."""
    assert budget.trajectory is not None
    per_year = PERIODS_PER_YEAR[budget.period]
    path = []
    for year in range(budget.trajectory.baseline_year, last_year + years_ahead + 1):
        limit_kg, limit_kwh = limits(budget, year)
        start = datetime(year, 1, 1, tzinfo=timezone.utc)
        spent = evaluator.spend(budget, ms(start), ms(min(start.replace(year=year + 1), now))) \
            if year <= last_year and start < now else None
        has_data = spent is not None and (spent.kgco2e or spent.kwh)
        path.append(TrajectoryYear(year, None if limit_kg is None else limit_kg * per_year,
                                   None if limit_kwh is None else limit_kwh * per_year,
                                   spent.kgco2e if has_data else None, spent.kwh if has_data else None))
    return path
