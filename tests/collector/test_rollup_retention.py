"""Rollups in a retention policy of their own, kept longer than the raw points, in the real InfluxDB 1.x:
written there and nowhere else, read there by the rollups themselves, the budgets and the report, which
still give the right figures once the raw points of a period are gone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from tqdm import tqdm

from fleetprint.collector.budgets.config import Budget, Evaluation
from fleetprint.collector.budgets.evaluate import BudgetEvaluator
from fleetprint.collector.rollups import Rollups
from fleetprint.collector.store.influx_v1 import InfluxV1Sink
from fleetprint.collector.store.influxql import InfluxQL
from fleetprint.collector.store.lineprotocol import line
from fleetprint.collector.store.sink import RejectedWriteError
from fleetprint.impacts import IMPACT_FIELDS
from fleetprint.report.collect import collect
from fleetprint.report.model import Scope
from fleetprint.report.period import parse_period
from fleetprint.timestamps import epoch_ms

POLICY = "rollups"
ROLLUPS = ("fp_service_1h", "fp_service_1d", "fp_host_1d", "fp_fleet_1h")
HOSTS = {"h1": ("paris", "mail"), "h2": ("lyon", "web")}  # host -> (site, its one service)
TODAY = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
FIRST_DAY = TODAY - timedelta(days=3)  # two whole days of samples, an hour apart, then nothing


def host_line(host: str, at: datetime) -> tuple[str, str, dict[str, float]]:
    """The host's fp_host and fp_service lines at `at`, and their fields (one service has it all)."""
    site, service = HOSTS[host]
    fields = {name: 1.0 + at.hour + (10.0 if host == "h2" else 0.0) + number / 10
              for number, name in enumerate(IMPACT_FIELDS)}
    raw = line("fp_host", {"host": host, "kind": "server", "site": site, "zone": "FRA", "power_source": "wall"},
               {**fields, "interval_s": 3600.0, "pue": 1.2, "gwp_gco2e_per_kwh": 50.0, "grid_source": "boavizta",
                "past_lifetime": False}, epoch_ms(at))
    return raw, line("fp_service", {"host": host, "service": service, "site": site}, fields, epoch_ms(at)), fields


@pytest.fixture
def fleet(influxdb, influx_db):
    """Two days of raw points in the default retention policy, their rollups in POLICY; yields the InfluxQL
    client reading rollups there, the raw sink and the expected sums per service."""
    influxdb.query(f'CREATE RETENTION POLICY "{POLICY}" ON "{influx_db}" DURATION INF REPLICATION 1')
    raw_sink = InfluxV1Sink(influxdb.url, influx_db)
    lines, sums = [], {service: dict.fromkeys(IMPACT_FIELDS, 0.0) for _, service in HOSTS.values()}
    for hour in range(48):
        for host in HOSTS:
            host_point, service_point, fields = host_line(host, FIRST_DAY + timedelta(hours=hour))
            lines += [host_point, service_point]
            for name, value in fields.items():
                sums[HOSTS[host][1]][name] += value
    raw_sink.write(lines)
    influxql = InfluxQL(influxdb.url, influx_db, rollup_retention_policy=POLICY)
    rollups = Rollups(influxql, InfluxV1Sink(influxdb.url, influx_db, retention_policy=POLICY), lag_s=0, settle_s=0)
    # fp_service_1h, fp_service_1d, fp_host_1d, fp_fleet_1h (per site: one host each)
    assert rollups.run(epoch_ms(TODAY - timedelta(days=1))) == 48 * 2 + 2 * 2 + 2 * 2 + 48 * 2
    yield influxql, rollups, raw_sink, sums


def test_rollups_land_in_their_policy_and_the_next_run_reads_where_it_left_off(influxdb, influx_db, fleet) -> None:
    _, rollups, _, sums = fleet
    for measurement in ROLLUPS:
        assert not influxdb.query(f'SELECT count(samples) FROM "autogen"."{measurement}"', influx_db), measurement
        stored = influxdb.query(f'SELECT sum(energy_wh) AS e FROM "{POLICY}"."{measurement}"', influx_db)
        assert stored[0]["e"] == pytest.approx(sum(by_service["energy_wh"] for by_service in sums.values()))
    # The last hour and day rolled up are recomputed, nothing before them: the run found them in POLICY.
    assert rollups.run(epoch_ms(TODAY - timedelta(days=1))) == 2 + 2 + 2 + 2


def test_raw_points_past_their_retention_go_while_the_rollups_of_their_days_stay(influxdb, influx_db, fleet) -> None:
    influxql, rollups, raw_sink, sums = fleet
    influxdb.query(f'ALTER RETENTION POLICY "autogen" ON "{influx_db}" DURATION 1h SHARD DURATION 1h DEFAULT')
    with pytest.raises(RejectedWriteError) as refused:
        raw_sink.write([host_line("h1", FIRST_DAY + timedelta(minutes=30))[0]])
    assert refused.value.reason == "beyond_retention"
    # What InfluxDB's retention enforcement does to shards past the duration:
    influxdb.query('DELETE FROM "fp_host"; DELETE FROM "fp_service"', influx_db)
    assert not influxdb.query('SELECT count(energy_wh) FROM "fp_service"', influx_db)
    rollups.mark(epoch_ms(FIRST_DAY))  # a recomputation of a day whose raw points are gone keeps its rollups
    rollups.run(epoch_ms(TODAY))

    end = FIRST_DAY + timedelta(days=2)
    evaluator = BudgetEvaluator(influxql, Evaluation())
    for service, expected in sums.items():
        spend = evaluator.spend(Budget(service=service, period="month", limit_kwh=1.0), epoch_ms(FIRST_DAY),
                                epoch_ms(end))
        assert spend.kwh == pytest.approx(expected["energy_wh"] / 1000)
        assert spend.kgco2e == pytest.approx((expected["usage_gwp_gco2e"] + expected["embodied_gwp_gco2e"]) / 1000)

    period = parse_period(first=f"{FIRST_DAY:%Y-%m-%d}", last=f"{end - timedelta(days=1):%Y-%m-%d}")
    with tqdm(disable=True) as bar:
        data = collect(lambda: InfluxQL(influxdb.url, influx_db, rollup_retention_policy=POLICY), period, Scope(),
                       None, datetime.now(timezone.utc), 1.0, bar)
    assert set(data.hosts) == set(HOSTS) and all(host.samples == 48 for host in data.hosts.values())
    for service, expected in sums.items():
        assert data.services[service].energy_wh == pytest.approx(expected["energy_wh"])
        assert data.services[service].usage_gwp_gco2e == pytest.approx(expected["usage_gwp_gco2e"])
    assert data.totals.energy_wh == pytest.approx(sum(by_service["energy_wh"] for by_service in sums.values()))
    assert set(data.zones) == {"FRA"} and data.pue == {"paris": (1.2, 1.2), "lyon": (1.2, 1.2)}
