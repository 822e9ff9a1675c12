"""`fleetprint budgets status` and `grafana-rules`, against the real InfluxDB."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import yaml

from fleetprint.collector.budgets.config import load_budgets
from fleetprint.collector.store.influx_v1 import InfluxV1Sink
from fleetprint.collector.store.lineprotocol import line
from fleetprint.dashboards.alert_rules import alert_rules
from fleetprint.schema import utc_now
from fleetprint.timestamps import epoch_ms

BUDGETS = """
[[budget]]
service = "shop"
period = "month"
limit_kgco2e = 0.5
trajectory = { baseline_year = 2025, reduction_pct_per_year = 10 }
[[budget]]
service = "mail"
site = "lyon"
period = "day"
limit_kwh = 1000
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fleetprint", "budgets", *args], capture_output=True, text=True,
                          timeout=60)


def test_status_table(influxdb, influx_db, tmp_path: Path) -> None:
    now = utc_now()
    InfluxV1Sink(influxdb.url, influx_db).write([
        line("fp_service", {"host": "h", "service": "shop", "site": "paris"},
             {"energy_wh": 50.0, "usage_gwp_gco2e": 400.0, "embodied_gwp_gco2e": 300.0}, epoch_ms(now - timedelta(minutes=m)))
        for m in (1, 2)])
    (tmp_path / "budgets.toml").write_text(BUDGETS)
    (tmp_path / "collector.toml").write_text(f'[influxdb]\nurl = "{influxdb.url}"\ndatabase = "{influx_db}"\n')
    result = run("status", "-c", str(tmp_path / "collector.toml"), "-b", str(tmp_path / "budgets.toml"))
    assert result.returncode == 0, result.stderr
    shop = next(row for row in result.stdout.splitlines() if row.startswith("shop/month"))
    assert "1.40" in shop and "exceeded" in shop  # 2 x 0.7 kg against 0.5 x 0.9^(year - 2025)
    assert "-10 %/yr from 2025" in shop
    assert any(row.startswith("mail/lyon/day") and " ok " in row for row in result.stdout.splitlines())


def test_grafana_rules_cover_every_budget_and_their_queries_run(influxdb, influx_db, tmp_path: Path) -> None:
    (tmp_path / "budgets.toml").write_text(BUDGETS)
    out = tmp_path / "rules.yaml"
    result = run("grafana-rules", "-b", str(tmp_path / "budgets.toml"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    document = yaml.safe_load(out.read_text())
    assert document == alert_rules(load_budgets(str(tmp_path / "budgets.toml")))
    assert document["apiVersion"] == 1
    rules = document["groups"][0]["rules"]
    assert [rule["title"] for rule in rules] == ["Budget shop/month", "Budget mail/lyon/day"]
    assert len({rule["uid"] for rule in rules}) == 2
    now = utc_now()
    InfluxV1Sink(influxdb.url, influx_db).write([
        line("fp_budget", {"budget": "shop/month", "service": "shop", "period": "month"},
             {"state": "at_risk", "state_level": 1}, epoch_ms(now - timedelta(minutes=1)))])
    for rule in rules:
        assert rule["condition"] == "C" and [d["refId"] for d in rule["data"]] == ["A", "B", "C"]
        query = rule["data"][0]["model"]["query"].replace("$timeFilter", "time > now() - 1h")
        rows = influxdb.query(query, influx_db)
        if rule["title"] == "Budget shop/month":
            assert rows[0]["last"] == 1
        else:
            assert rows == []
