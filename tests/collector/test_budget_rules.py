"""Budget arithmetic: periods, the reduction trajectory, states with hysteresis, the file's checks."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from fleetprint.collector.budgets.config import Budget, Trajectory, load_budgets
from fleetprint.collector.budgets.evaluate import next_state
from fleetprint.collector.budgets.periods import limits, period_bounds, trajectory_factor
from fleetprint.config import ConfigError


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.mark.parametrize("period,at,start,end", [
    ("day", utc(2026, 11, 28, 13, 5), utc(2026, 11, 28), utc(2026, 11, 29)),
    ("week", utc(2026, 11, 28, 13, 5), utc(2026, 11, 23), utc(2026, 11, 30)),  # Saturday -> Monday
    ("week", utc(2026, 11, 30, 0, 0), utc(2026, 11, 30), utc(2026, 12, 7)),
    ("month", utc(2026, 12, 31, 23, 59), utc(2026, 12, 1), utc(2027, 1, 1)),
    ("month", utc(2028, 2, 29, 12), utc(2028, 2, 1), utc(2028, 3, 1)),
    ("year", utc(2026, 11, 28), utc(2026, 1, 1), utc(2027, 1, 1)),
])
def test_period_bounds(period: str, at: datetime, start: datetime, end: datetime) -> None:
    assert period_bounds(period, at) == (start, end)


def test_trajectory_shrinks_the_limit_every_year_after_the_baseline() -> None:
    budget = Budget(service="payroll", period="month", limit_kgco2e=100.0, limit_kwh=400.0,
                    trajectory=Trajectory(baseline_year=2025, reduction_pct_per_year=8))
    assert trajectory_factor(budget, 2024) == 1.0 and trajectory_factor(budget, 2025) == 1.0
    assert trajectory_factor(budget, 2026) == pytest.approx(0.92)
    assert trajectory_factor(budget, 2030) == pytest.approx(0.92 ** 5)
    assert limits(budget, 2027) == (pytest.approx(100 * 0.92 ** 2), pytest.approx(400 * 0.92 ** 2))
    assert limits(Budget(service="mail", period="year", limit_kwh=10.0), 2040) == (None, 10.0)


def test_states_and_hysteresis() -> None:
    assert next_state("ok", 50, 90, 100, 5) == "ok"
    assert next_state("ok", 50, 100, 100, 5) == "at_risk"
    assert next_state("ok", 100, 100, 100, 5) == "exceeded"
    # Hovering just under the limit after at_risk: stays at_risk until 5 % under.
    assert next_state("at_risk", 50, 99, 100, 5) == "at_risk"
    assert next_state("at_risk", 50, 95.5, 100, 5) == "at_risk"
    assert next_state("at_risk", 50, 94.9, 100, 5) == "ok"
    assert next_state("ok", 50, 99, 100, 5) == "ok"
    assert next_state("exceeded", 0, 0, None, 5) == "ok"


@pytest.mark.parametrize("text,key,reason", [
    ("[[budget]]\nservice = 'a'\nperiod = 'month'\n", "budget[0]", "limit_kgco2e, limit_kwh or both"),
    ("[[budget]]\nperiod = 'month'\nlimit_kwh = 1\n", "budget[0]", "the service, the department, or both"),
    ("[[budget]]\nservice = 'a'\nperiod = 'fortnight'\nlimit_kwh = 1\n", "budget[0].period", "Invalid enum"),
    ("[[budget]]\nservice = 'a'\nperiod = 'day'\nlimit_kwh = -1\n", "budget[0].limit_kwh", "> 0"),
    ("[[budget]]\nservice = 'a'\nperiod = 'day'\nlimit_kwh = 1\n[[budget]]\nservice = 'a'\nperiod = 'day'\n"
     "limit_kwh = 2\n", "budget[1]", "a second budget for a/day"),
    ("[[budget]]\nservice = 'a'\nperiod = 'day'\nlimit_kwh = 1\nwebhooks = ['ftp://x']\n", "budget[0].webhooks",
     "not an http(s) URL"),
    ("[[budget]]\nservice = 'a'\nperiod = 'day'\nlimit_kwh = 1\ntrajectory = { baseline_year = 2025 }\n",
     "budget[0].trajectory", "reduction_pct_per_year"),
])
def test_bad_budget_files_name_the_budget_and_the_reason(tmp_path: Path, text: str, key: str, reason: str) -> None:
    path = tmp_path / "budgets.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_budgets(str(path))
    assert caught.value.key == key
    assert reason in caught.value.reason
