"""Budget evaluation against per-service data seeded in the real InfluxDB, each threshold crossed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fleetprint.collector.budgets.config import Budget, Evaluation
from fleetprint.collector.budgets.evaluate import BudgetEvaluator
from fleetprint.collector.rollups import Rollups
from fleetprint.collector.store.influx_v1 import InfluxV1Sink
from fleetprint.collector.store.influxql import InfluxQL
from fleetprint.collector.store.lineprotocol import line
from fleetprint.timestamps import epoch_ms

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)  # day 20 of a 30-day month: 10.5 days left


def shop(**fields) -> Budget:
    return Budget(service="shop", period="month", **fields)


def seed(sink: InfluxV1Sink, service: str, site: str, start: datetime, end: datetime, step: timedelta,
         usage_g: float, embodied_g: float, energy_wh: float, department: str = "") -> None:
    lines, at = [], start
    while at < end:
        lines.append(line("fp_service", {"host": "h1", "service": service, "site": site, "department": department},
                          {"energy_wh": energy_wh, "usage_gwp_gco2e": usage_g, "embodied_gwp_gco2e": embodied_g},
                          epoch_ms(at)))
        at += step
    sink.write(lines)


@pytest.fixture
def evaluator(influxdb, influx_db):
    sink = InfluxV1Sink(influxdb.url, influx_db)
    month_start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    # "shop" in paris: 100 g use + 20 g embodied and 0.5 kWh every hour since the 1st.
    seed(sink, "shop", "paris", month_start, NOW, timedelta(hours=1), 100.0, 20.0, 500.0)
    # "shop" in lyon, same service, another site: 1 kg an hour.
    seed(sink, "shop", "lyon", month_start, NOW, timedelta(hours=1), 1000.0, 0.0, 100.0)
    # The finance department's printers and phones (an asset register's, service unallocated): 50 g an hour.
    seed(sink, "unallocated", "paris", month_start, NOW, timedelta(hours=1), 40.0, 10.0, 200.0, department="finance")
    return BudgetEvaluator(InfluxQL(influxdb.url, influx_db), Evaluation(burn_window_h=24, hysteresis_pct=5)), sink


HOURS_SO_FAR = 19 * 24 + 12
HOURS_LEFT = 10 * 24 + 12


def test_spend_and_forecast_by_site(evaluator) -> None:
    budgets, _ = evaluator
    paris = budgets.evaluate(shop(limit_kgco2e=1000.0, site="paris"), NOW)
    assert paris.spent.kgco2e == pytest.approx(HOURS_SO_FAR * 0.120)
    assert paris.spent.kwh == pytest.approx(HOURS_SO_FAR * 0.5)
    assert paris.forecast.kgco2e == pytest.approx((HOURS_SO_FAR + HOURS_LEFT) * 0.120)
    use_only = budgets.evaluate(shop(limit_kgco2e=1000.0, site="paris", include_embodied=False), NOW)
    assert use_only.spent.kgco2e == pytest.approx(HOURS_SO_FAR * 0.100)
    both_sites = budgets.evaluate(shop(limit_kgco2e=1000.0), NOW)
    assert both_sites.spent.kgco2e == pytest.approx(HOURS_SO_FAR * 1.120)


def test_a_departments_budget_counts_all_its_services(evaluator) -> None:
    budgets, _ = evaluator
    finance = budgets.evaluate(Budget(department="finance", period="month", limit_kgco2e=100.0), NOW)
    assert finance.spent.kgco2e == pytest.approx(HOURS_SO_FAR * 0.050)
    assert finance.spent.kwh == pytest.approx(HOURS_SO_FAR * 0.2)
    assert budgets.evaluate(Budget(service="shop", department="finance", period="month", limit_kwh=1.0),
                            NOW).spent.kwh == 0.0  # the department's share of one service: none here
    assert Budget(department="finance", period="year", limit_kwh=1.0).id == "department=finance/year"
    assert Budget(department="finance", site="paris", period="year", limit_kwh=1.0).label == \
        "department finance at paris"


@pytest.mark.parametrize("limit,state", [
    (100.0, "ok"),  # forecast 86.4 kg
    (80.0, "at_risk"),  # spent 56.6 kg, forecast 86.4 kg
    (50.0, "exceeded"),
])
def test_each_threshold(evaluator, limit: float, state: str) -> None:
    budgets, _ = evaluator
    assert budgets.evaluate(shop(limit_kgco2e=limit, site="paris"), NOW).state == state


def test_the_worst_of_carbon_and_energy_counts(evaluator) -> None:
    budgets, _ = evaluator
    # Carbon fine (86 kg forecast of 100) but energy over (spent 234 kWh of 200).
    assert budgets.evaluate(shop(limit_kgco2e=100.0, limit_kwh=200.0, site="paris"), NOW).state \
        == "exceeded"


def test_hysteresis_from_the_announced_state(evaluator) -> None:
    budgets, _ = evaluator
    budget = shop(limit_kgco2e=88.0, site="paris")  # forecast 86.4: 1.8 % under the limit
    assert budgets.evaluate(budget, NOW, previous_state="ok").state == "ok"
    assert budgets.evaluate(budget, NOW, previous_state="at_risk").state == "at_risk"


def test_rollups_and_raw_points_add_up_the_same(evaluator, influxdb, influx_db) -> None:
    budgets, sink = evaluator
    budget = shop(limit_kgco2e=1000.0, site="paris")
    raw_only = budgets.evaluate(budget, NOW)
    Rollups(InfluxQL(influxdb.url, influx_db), sink, lag_s=0, settle_s=0).run(epoch_ms(NOW) - 5 * 3_600_000)
    with_rollups = budgets.evaluate(budget, NOW)
    assert with_rollups.spent.kgco2e == pytest.approx(raw_only.spent.kgco2e)
    assert with_rollups.forecast.kgco2e == pytest.approx(raw_only.forecast.kgco2e)
