"""A budget's spend so far in its period, the forecast to the period's end, and its state.

Spend is read from InfluxDB (InfluxQL), so every collector sees the same truth: the hourly
rollups (`fp_service_1h`, in the rollups' retention policy) for the hours they cover, the raw
`fp_service` points after them. The forecast adds the recent burn rate (spend over the last
`burn_window_h` hours) times the time left. States: `exceeded` (spend over a limit), `at_risk`
(forecast over a limit), `ok`. A budget leaves `at_risk` only once the forecast is
`hysteresis_pct` under the limit, so that a forecast hovering at the limit does not flap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fleetprint.collector.budgets.config import Budget, Evaluation
from fleetprint.collector.budgets.periods import limits, period_bounds, trajectory_factor
from fleetprint.collector.store.influxql import InfluxQL

STATES = ("ok", "at_risk", "exceeded")
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Spend:
    kgco2e: float
    kwh: float


@dataclass(frozen=True)
class BudgetStatus:
    """One budget's evaluation at one moment."""

    budget: Budget
    evaluated_at: datetime
    period_start: datetime
    period_end: datetime
    state: str
    spent: Spend
    forecast: Spend
    limit_kgco2e: float | None
    limit_kwh: float | None
    trajectory_factor: float

    @property
    def level(self) -> int:
        return STATES.index(self.state)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def next_state(previous: str, spent: float, forecast: float, limit: float | None, hysteresis_pct: float) -> str:
    """The state for one limit, given the state announced before (hysteresis on the way down)."""
    if limit is None:
        return "ok"
    if spent >= limit:
        return "exceeded"
    if forecast >= limit:
        return "at_risk"
    if previous in ("at_risk", "exceeded") and forecast >= limit * (1 - hysteresis_pct / 100.0):
        return "at_risk"
    return "ok"


class BudgetEvaluator:
    """Reads spend from InfluxDB and evaluates budgets."""

    def __init__(self, influxql: InfluxQL, settings: Evaluation) -> None:
        self.influxql = influxql
        self.settings = settings

    def _sum(self, measurement: str, where: str, start_ms: int, end_ms: int, embodied: bool) -> Spend:
        if end_ms <= start_ms:
            return Spend(0.0, 0.0)
        rows = self.influxql.query(
            f"SELECT sum(energy_wh) AS e, sum(usage_gwp_gco2e) AS u, sum(embodied_gwp_gco2e) AS m "
            f"FROM {measurement} WHERE {where} AND time >= {start_ms}ms AND time < {end_ms}ms")
        if not rows:
            return Spend(0.0, 0.0)
        row = rows[0]
        grams = (row["u"] or 0.0) + ((row["m"] or 0.0) if embodied else 0.0)
        return Spend(grams / 1000.0, (row["e"] or 0.0) / 1000.0)

    def spend(self, budget: Budget, start_ms: int, end_ms: int) -> Spend:
        """kgCO2e and kWh of the budget's service or department (and site) in [start, end)."""
        where = " AND ".join(f"{tag} = {_quote(value)}" for tag, value in (
            ("service", budget.service), ("department", budget.department), ("site", budget.site)) if value)
        hourly_rollup = self.influxql.rollup("fp_service_1h")
        rolled = self.influxql.query(f"SELECT last(samples) FROM {hourly_rollup}")
        rolled_end = rolled[0]["time"] + HOUR_MS if rolled else start_ms
        split_ms = min(max(start_ms, rolled_end), end_ms)
        hourly = self._sum(hourly_rollup, where, start_ms, split_ms, budget.include_embodied)
        raw = self._sum("fp_service", where, split_ms, end_ms, budget.include_embodied)
        return Spend(hourly.kgco2e + raw.kgco2e, hourly.kwh + raw.kwh)

    def evaluate(self, budget: Budget, now: datetime, previous_state: str = "ok") -> BudgetStatus:
        """Spend so far, the forecast to the end of the period, and the state."""
        start, end = period_bounds(budget.period, now)
        now_ms = int(now.timestamp() * 1000)
        spent = self.spend(budget, int(start.timestamp() * 1000), now_ms)
        window_h = self.settings.burn_window_h
        recent = self.spend(budget, now_ms - int(window_h * HOUR_MS), now_ms)
        left_h = (end - now).total_seconds() / 3600.0
        forecast = Spend(spent.kgco2e + recent.kgco2e / window_h * left_h, spent.kwh + recent.kwh / window_h * left_h)
        limit_kg, limit_kwh = limits(budget, start.year)
        hysteresis = self.settings.hysteresis_pct
        state = STATES[max(STATES.index(next_state(previous_state, spent.kgco2e, forecast.kgco2e, limit_kg, hysteresis)),
                           STATES.index(next_state(previous_state, spent.kwh, forecast.kwh, limit_kwh, hysteresis)))]
        return BudgetStatus(budget, now, start, end, state, spent, forecast, limit_kg, limit_kwh,
                            trajectory_factor(budget, start.year))

