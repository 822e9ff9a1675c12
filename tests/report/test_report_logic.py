"""The report's pure logic: periods, what-if arithmetic, budget outcomes over a period, number formatting."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from fleetprint.collector.budgets.config import Budget, Trajectory
from fleetprint.collector.budgets.evaluate import Spend
from fleetprint.impacts import Impacts
from fleetprint.report.outcomes import outcome, trajectory_path
from fleetprint.report.period import day_range, month, parse_period, year
from fleetprint.report.query import ms
from fleetprint.report.render_html import change, num
from fleetprint.report.whatif import HOURS_PER_YEAR, HostEmbodied, extend_lifetimes


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_periods_parse_and_know_their_previous_and_buckets() -> None:
    october = parse_period(month_text="2026-10")
    assert (october.start, october.end, october.kind, october.label) == (utc(2026, 10, 1), utc(2026, 11, 1), "month",
                                                                         "October 2026")
    assert october.previous() == month(2026, 9)
    assert parse_period(month_text="2026-01").previous() == month(2025, 12)
    assert month(2026, 12).end == utc(2027, 1, 1)
    assert len(october.buckets()) == 31 and october.buckets()[-1] == (utc(2026, 10, 31), utc(2026, 11, 1))
    assert october.trend_unit() == "day" and october.slug == "2026-10"

    y = parse_period(year_text="2024")
    assert (y.start, y.end, y.previous()) == (utc(2024, 1, 1), utc(2025, 1, 1), year(2023))
    assert y.trend_unit() == "month" and len(y.buckets()) == 12 and y.buckets()[1] == (utc(2024, 2, 1), utc(2024, 3, 1))

    week = parse_period(first="2026-10-05", last="2026-10-11")
    assert (week.start, week.end, week.days) == (utc(2026, 10, 5), utc(2026, 10, 12), 7)
    assert week.previous() == day_range(date(2026, 9, 28), date(2026, 10, 4))
    assert week.slug == "2026-10-05_2026-10-11"
    assert parse_period(first="2026-10-05", last="2026-10-05").days == 1


@pytest.mark.parametrize("kwargs", [{}, {"month_text": "2026-13"}, {"month_text": "2026-1"}, {"year_text": "26"},
                                    {"first": "2026-10-05"}, {"first": "2026-10-05", "last": "2026-10-01"},
                                    {"month_text": "2026-10", "year_text": "2026"}, {"first": "2026-02-30",
                                                                                     "last": "2026-03-01"}])
def test_bad_periods_are_refused(kwargs) -> None:
    with pytest.raises(ValueError):
        parse_period(**kwargs)


def host(kind: str, years: float, total_kg: float, period_kg: float, past: bool = False) -> HostEmbodied:
    return HostEmbodied(kind, years * HOURS_PER_YEAR, total_kg * 1000, period_kg * 1000, past)


def test_keeping_hardware_longer_spreads_its_manufacture_over_more_years() -> None:
    whatif = extend_lifetimes([host("server", 4, 4000, 100), host("server", 5, 1000, 20),
                               host("laptop", 4, 400, 10), host("server", 4, 2000, 0, past=True)], years=1)
    server, laptop = whatif.rows
    assert server.kind == "server" and server.hosts == 2 and server.mean_lifetime_years == pytest.approx(4.5)
    assert server.per_year_kg == pytest.approx(4000 / 4 + 1000 / 5)
    assert server.kept_per_year_kg == pytest.approx(4000 / 5 + 1000 / 6)
    assert server.saving_per_year_kg == pytest.approx(200 + 1000 / 30)
    assert server.kept_period_kg == pytest.approx(100 * 4 / 5 + 20 * 5 / 6)
    assert server.saving_period_kg == pytest.approx(20 + 20 / 6)
    assert laptop.saving_per_year_kg == pytest.approx(100 - 80)
    assert whatif.total.hosts == 3
    assert whatif.total.saving_per_year_kg == pytest.approx(server.saving_per_year_kg + laptop.saving_per_year_kg)
    assert whatif.past_hosts == 1 and whatif.past_replacement_per_year_kg == pytest.approx(500)
    assert extend_lifetimes([host("server", 4, 4000, 100)], years=2).total.saving_per_year_kg == pytest.approx(
        1000 - 4000 / 6)
    with pytest.raises(ValueError):
        extend_lifetimes([], years=0)


class FakeEvaluator:
    """Spends a fixed amount per hour: kgCO2e and kWh."""

    def __init__(self, kg_per_h: float, kwh_per_h: float) -> None:
        self.kg_per_h, self.kwh_per_h = kg_per_h, kwh_per_h
        self.calls: list[tuple[int, int]] = []

    def spend(self, budget: Budget, start_ms: int, end_ms: int) -> Spend:
        self.calls.append((start_ms, end_ms))
        hours = (end_ms - start_ms) / 3_600_000
        return Spend(self.kg_per_h * hours, self.kwh_per_h * hours)


def test_daily_budgets_are_judged_day_by_day_in_a_month() -> None:
    budget = Budget(service="mail", period="day", limit_kwh=30.0)
    result = outcome(FakeEvaluator(1.0, 1.0), budget, month(2026, 10), now=utc(2026, 11, 28))
    assert (result.periods, result.exceeded, result.pro_rata, result.in_progress) == (31, 0, False, False)
    assert result.spent_kwh == pytest.approx(31 * 24) and result.limit_kwh == pytest.approx(31 * 30)
    assert result.limit_kgco2e is None and result.state == "within"
    over = outcome(FakeEvaluator(1.0, 1.5), budget, month(2026, 10), now=utc(2026, 11, 28))
    assert over.exceeded == 31 and over.state == "exceeded"
    assert outcome(FakeEvaluator(0.0, 0.0), budget, month(2026, 10), now=utc(2026, 11, 28)) is None  # no data


def test_weeks_starting_in_the_period_are_judged_in_full_and_a_running_one_is_in_progress() -> None:
    evaluator = FakeEvaluator(1.0, 0.0)
    budget = Budget(service="mail", period="week", limit_kgco2e=1000.0)
    result = outcome(evaluator, budget, month(2026, 11), now=utc(2026, 11, 28, 12))
    # Mondays 2, 9, 16 and 23 November; the last one runs to now.
    assert result.periods == 4 and result.in_progress and result.state == "in progress"
    assert evaluator.calls[0] == (ms(utc(2026, 11, 2)), ms(utc(2026, 11, 9)))
    assert evaluator.calls[-1] == (ms(utc(2026, 11, 23)), ms(utc(2026, 11, 28, 12)))
    assert result.spent_kgco2e == pytest.approx(3 * 168 + 5.5 * 24)


def test_a_yearly_budget_in_a_monthly_report_is_judged_pro_rata_on_its_trajectory() -> None:
    budget = Budget(service="mail", period="year", limit_kgco2e=3650.0,
                    trajectory=Trajectory(baseline_year=2024, reduction_pct_per_year=10))
    result = outcome(FakeEvaluator(0.5, 0.0), budget, month(2026, 10), now=utc(2026, 11, 28))
    assert result.pro_rata and result.periods == 1
    assert result.trajectory_factor == pytest.approx(0.81)
    assert result.limit_kgco2e == pytest.approx(3650 * 0.81 * 31 / 365)
    assert result.spent_kgco2e == pytest.approx(0.5 * 24 * 31)
    assert result.exceeded == 1  # 372 kg against 251 kg
    path = trajectory_path(FakeEvaluator(0.5, 0.0), budget, 2026, now=utc(2026, 11, 28))
    assert [p.year for p in path] == [2024, 2025, 2026, 2027, 2028, 2029]
    assert [p.limit_kgco2e for p in path] == pytest.approx([3650 * 0.9 ** n for n in range(6)])
    assert path[2].spent_kgco2e == pytest.approx(0.5 * (utc(2026, 11, 28) - utc(2026, 1, 1)).total_seconds() / 3600)
    assert path[3].spent_kgco2e is None
    assert outcome(FakeEvaluator(1, 1), budget, month(2026, 12), now=utc(2026, 11, 28)) is None


def test_figures_are_formatted_for_people() -> None:
    assert [num(v) for v in (0, 26083.52, 85.96, 0.005327, -1234.5)] == ["0", "26,084", "86.0", "0.00533", "-1,234"]
    assert change(110, 100) == ("+10.0 % vs previous period", "up")
    assert change(90, 100)[1] == "down" and change(90, None) == ("", "") and change(5, 0) == ("", "")
    impacts = Impacts().add({"energy_wh": 2000, "usage_gwp_gco2e": 500, "embodied_gwp_gco2e": 250, "usage_pe_mj": None})
    assert (impacts.energy_kwh, impacts.kgco2e, impacts.usage_pe_mj) == (2.0, 0.75, 0.0)
    assert (impacts + impacts).embodied_kgco2e == 0.5
