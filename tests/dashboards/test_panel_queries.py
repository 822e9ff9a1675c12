"""Every panel's query, with Grafana's macros expanded, against a real InfluxDB filled by a
simulated fleet through the real broker and collector: each returns data, and the key
figures, most read from the rollups, agree with sums computed here from the raw points of the
periods rolled up. The collector keeps its rollups in a retention policy of their own, which the
rollup panels select."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import msgspec
import pytest

from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.store.connect import make_influxql
from fleetprint.collector.store.influx_v1 import InfluxV1Sink
from fleetprint.dashboards.definitions import ROLLUP_POLICY, all_dashboards
from fleetprint.mqtt import MqttSettings, Topics, make_client
from fleetprint.report.deliveries import ReportDeliveries
from fleetprint.report.period import day_range
from fleetprint.schema import Report, Sample, encode, utc_now

from processes import Program, collector_config, wait_until
from services import free_port

HOSTS, DAYS = 12, 3


def expand(query: str, service: str, host: str) -> str:
    """Grafana's macros for the last 30 days, All sites and departments, the rollups' retention policy the dashboards
    select, and an interval fine enough for the collector's health points, which are seconds apart here."""
    # fill(previous) fills every bucket: 30 days of 1 s buckets (2.6 million) take InfluxDB longer than the
    # query's timeout on a busy machine, and such a panel (a state timeline) needs no health points' detail.
    interval = "10m" if "fill(previous)" in query else "1s"
    return (query.replace("$timeFilter", "time > now() - 30d").replace("$__interval", interval)
            .replace("$site", ".*").replace("$department", ".*").replace("$service", service).replace("$host", host)
            .replace("$rollup_rp", ROLLUP_POLICY))


@pytest.fixture(scope="module")
def filled(mosquitto, influxdb, tmp_path_factory):
    """Three days of a 12-host simulated fleet, rolled up, with a budget evaluated, a rejected message,
    a host past the services bound and a scheduled report's failed delivery."""
    tmp = tmp_path_factory.mktemp("dashboards")
    database = "dashboards_fleet"
    influxdb.create_database(database)
    influxdb.query(f'CREATE RETENTION POLICY "{ROLLUP_POLICY}" ON "{database}" DURATION INF REPLICATION 1 '
                   'SHARD DURATION 52w')
    budgets = tmp / "budgets.toml"
    budgets.write_text('[evaluation]\ninterval_s = 1\n[[budget]]\nservice = "mail"\nperiod = "month"\n'
                       'limit_kgco2e = 1\n')
    config = collector_config(tmp / "collector.toml", mosquitto, influxdb, database, "dashboards-collector",
                              collector_extra="max_services_per_host = 8")
    config.write_text(config.read_text() + f'[rollups]\ninterval_s = 1\nlag_s = 0\n[budgets]\nfile = "{budgets}"\n'
                      'leader_settle_s = 0\n')
    collector = Program(["collector", "run", "-c", str(config)], tmp / "collector.log",
                        env={"FLEETPRINT_COLLECTOR_INFLUXDB__ROLLUP_RETENTION_POLICY": ROLLUP_POLICY})
    try:
        wait_until(lambda: "subscribed to reports" in collector.log_text(), watch=[collector], what="subscribed")
        result = subprocess.run(
            [sys.executable, "-m", "fleetprint", "simulate", "--mqtt-port", str(mosquitto.port), "--hosts", str(HOSTS),
             "--seed", "11", "--interval", "1800", "--backfill", f"{DAYS}d"],
            capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        expected = HOSTS * DAYS * 48
        wait_until(lambda: (r := influxdb.query('SELECT count("power_w") AS n FROM "fp_host"', database))
                   and r[0]["n"] >= expected, timeout_s=60, what="the simulated history", watch=[collector])
        client = make_client(MqttSettings(port=mosquitto.port), "dashboards-bad-sender")
        client.connect("127.0.0.1", mosquitto.port)
        client.loop_start()
        # An agent that had to drop samples during an outage says so in its next report.
        # It also names more services than a host may (their share goes to unallocated).
        late = Report(host_id="sim-srv-0001", seq=10**9, dropped_samples=3,
                      samples=[Sample(ts=utc_now() - timedelta(minutes=10), interval_s=60, cpu_util_pct=5.0,
                                      cpu_shares={f"extra-{n}": 0.01 for n in range(12)})])
        client.publish(Topics().report("sim-srv-0001"), encode(late), qos=1).wait_for_publish(5)
        for _ in range(2):  # two rejections, a health point apart, so rates have two points
            client.publish(Topics().report("sim-srv-0001"), b"not json", qos=1).wait_for_publish(5)
            before = len(influxdb.query('SELECT "rejected_total" FROM "fp_collector"', database))
            wait_until(lambda: len(influxdb.query('SELECT "rejected_total" FROM "fp_collector"', database)) > before,
                       what="a health point", watch=[collector])
        # A report that arrives before its host's inventory waits for it (held; none comes here, so it is then
        # refused, adding no host to the figures the tests check).
        held = Report(host_id="held-host", seq=1, samples=[Sample(ts=utc_now() - timedelta(minutes=5), interval_s=60,
                                                                  cpu_util_pct=5.0)])
        client.publish(Topics().report("held-host"), encode(held), qos=1).wait_for_publish(5)
        wait_until(lambda: influxdb.query('SELECT max("reports_held") AS n FROM "fp_collector"', database),
                   what="a health point counting the held report", watch=[collector])
        client.disconnect()
        client.loop_stop()
        wait_until(lambda: influxdb.query(f'SELECT count("energy_wh") FROM "{ROLLUP_POLICY}"."fp_service_1d"', database)
                   and influxdb.query(f'SELECT count("energy_wh") FROM "{ROLLUP_POLICY}"."fp_fleet_1h"', database)
                   and influxdb.query('SELECT count("state_level") FROM "fp_budget"', database),
                   timeout_s=30, what="rollups and a budget evaluation", watch=[collector])
        # The history arrives while the rollup job runs: hours rolled up early are recomputed for their late
        # samples a few seconds later. The panels are checked once every rollup holds what its raw points do.
        wait_until(lambda: caught_up(influxdb, database), timeout_s=60, what="rollups caught up", watch=[collector])
        record_a_delivery(influxdb, database, tmp)
        yield database
    finally:
        assert collector.stop() == 0


def record_a_delivery(influxdb, database: str, tmp) -> None:
    """A scheduled report of the last two days sent to a webhook that is not there: its failed attempt recorded."""
    config = msgspec.convert({
        "influxdb": {"url": influxdb.url, "database": database, "rollup_retention_policy": ROLLUP_POLICY},
        "report": {"output_dir": str(tmp / "reports"), "deliveries": [
            {"name": "fleet-monthly", "formats": ["csv"], "webhook_url": f"http://127.0.0.1:{free_port()}/"}]}},
        CollectorConfig)
    today = utc_now().date()
    deliveries = ReportDeliveries(config, lambda: make_influxql(config.influxdb), InfluxV1Sink(influxdb.url, database),
                                  lambda: None)
    results = deliveries.deliver_now("fleet-monthly", day_range(today - timedelta(days=2), today - timedelta(days=1)),
                                     utc_now())
    assert not results["webhook"][0]


def caught_up(influxdb, database: str) -> bool:
    """Every rollup's energy equals its raw points' up to the end of its last period."""
    for rollup, raw, period_ms in (("fp_service_1h", "fp_service", 3_600_000), ("fp_fleet_1h", "fp_host", 3_600_000),
                                   ("fp_host_1d", "fp_host", 86_400_000)):
        last = influxdb.query(f'SELECT last("samples") FROM "{ROLLUP_POLICY}"."{rollup}"', database)
        until = last[0]["time"] + period_ms
        rolled = influxdb.query(f'SELECT sum("energy_wh") AS e FROM "{ROLLUP_POLICY}"."{rollup}"', database)
        stored = influxdb.query(f'SELECT sum("energy_wh") AS e FROM "{raw}" WHERE time < {until}ms', database)
        if rolled[0]["e"] != pytest.approx(stored[0]["e"], rel=1e-9):
            return False
    return True


def panels() -> list:
    return [
        pytest.param(board["uid"], panel["title"], target["query"], id=f"{board['uid']}:{panel['title']}")
        for board in all_dashboards()
        for panel in board["panels"] for target in panel["targets"]
    ]


@pytest.mark.parametrize("uid,title,query", panels())
def test_every_panel_returns_data(influxdb, filled, uid: str, title: str, query: str) -> None:
    host = influxdb.query('SELECT last("power_w") FROM "fp_host" WHERE "power_source" = \'wall\' GROUP BY "host"',
                          filled)[0]["host"]
    rows = influxdb.query(expand(query, "mail", host), filled)
    assert rows, f"{uid} / {title}: no data"


def test_template_variables_list_values(influxdb, filled) -> None:
    for board in all_dashboards():
        for variable in board["templating"]["list"]:
            assert influxdb.query(variable["query"], filled), variable["name"]


def test_rollup_panels_select_the_policy_the_rollups_are_in_and_only_there(influxdb, filled) -> None:
    for board in all_dashboards():
        if any("$rollup_rp" in target["query"] for panel in board["panels"] for target in panel["targets"]):
            (variable,) = [v for v in board["templating"]["list"] if v["name"] == "rollup_rp"]
            assert variable["current"]["value"] == ROLLUP_POLICY
    assert ROLLUP_POLICY in [row["name"] for row in influxdb.query("SHOW RETENTION POLICIES", filled)]
    for measurement in ("fp_service_1d", "fp_fleet_1h", "fp_host_1d"):
        assert not influxdb.query(f'SELECT count("energy_wh") FROM "autogen"."{measurement}"', filled)


def panel_query(uid: str, title: str, ref: str = "A") -> str:
    board = next(board for board in all_dashboards() if board["uid"] == uid)
    (panel,) = [p for p in board["panels"] if p["title"] == title]
    return next(t["query"] for t in panel["targets"] if t["refId"] == ref)


def rolled_up_until(influxdb, database: str, measurement: str, period_ms: int) -> int:
    """The end of the last period in `measurement`, epoch ms."""
    rows = influxdb.query(f'SELECT last("samples") FROM "{ROLLUP_POLICY}"."{measurement}"', database)
    return rows[0]["time"] + period_ms


def consistent(read, influxdb, database: str, measurement: str, period_ms: int):
    """`read(until_ms)` while the rollup's end stays put (an hour may end, and be rolled up, meanwhile)."""
    while True:
        until = rolled_up_until(influxdb, database, measurement, period_ms)
        result = read(until)
        if rolled_up_until(influxdb, database, measurement, period_ms) == until:
            return result


HOUR_MS, DAY_MS = 3_600_000, 86_400_000


def test_fleet_figures_from_the_hourly_rollup_match_the_raw_points(influxdb, filled) -> None:
    def read(until: int) -> tuple[dict, list[dict], list[dict], list[dict]]:
        figures = {title: next(v for k, v in influxdb.query(expand(panel_query("fp-fleet", title), "mail", "x"),
                                                           filled)[0].items() if k != "time")
                   for title in ("Energy in the range", "Carbon in the range", "Mean fleet power")}
        services = influxdb.query(expand(panel_query("fp-fleet", "Top services"), "mail", "x"), filled)
        kinds = influxdb.query(expand(panel_query("fp-fleet", "Energy by kind: all, and workstations' monitors"),
                                      "mail", "x"), filled)
        raw = influxdb.query('SELECT "energy_wh", "monitor_energy_wh", "usage_gwp_gco2e", "embodied_gwp_gco2e", '
                             f'"kind" FROM "fp_host" WHERE time > now() - 30d AND time < {until}ms', filled)
        return figures, services, kinds, raw

    figures, services, kinds, raw = consistent(read, influxdb, filled, "fp_fleet_1h", HOUR_MS)
    assert figures["Energy in the range"] == pytest.approx(sum(r["energy_wh"] for r in raw) / 1000, rel=1e-9)
    carbon = sum(r["usage_gwp_gco2e"] + r["embodied_gwp_gco2e"] for r in raw) / 1000
    assert figures["Carbon in the range"] == pytest.approx(carbon, rel=1e-9)
    hours: dict[int, float] = {}
    for r in raw:
        hours[r["time"] - r["time"] % HOUR_MS] = hours.get(r["time"] - r["time"] % HOUR_MS, 0.0) + r["energy_wh"]
    assert figures["Mean fleet power"] == pytest.approx(sum(hours.values()) / len(hours), rel=1e-9)
    assert sum(row["kgCO2e"] for row in services) == pytest.approx(carbon, rel=1e-6), "services add up to hosts"
    assert {row["kind"] for row in kinds} == {r["kind"] for r in raw}
    for row in kinds:
        points = [r for r in raw if r["kind"] == row["kind"]]
        assert row["all"] == pytest.approx(sum(r["energy_wh"] for r in points) / 1000, rel=1e-9)
        assert row["monitors"] == pytest.approx(sum(r["monitor_energy_wh"] or 0 for r in points) / 1000,
                                                rel=1e-9, abs=1e-12)


def test_hosts_reporting_and_budget(influxdb, filled) -> None:
    rows = influxdb.query(expand(panel_query("fp-fleet", "Hosts reporting"), "mail", "x"), filled)
    assert rows[0]["count"] == HOSTS
    budget = influxdb.query('SELECT last("state"), last("spent_kgco2e") FROM "fp_budget"', filled)[0]
    assert budget["last"] in ("ok", "at_risk", "exceeded")


def test_per_host_figures_from_the_daily_rollup_match_the_raw_points(influxdb, filled) -> None:
    """Top hosts, the modelled energy by power model and the manufacture GWP by source: the figures over the
    whole days rolled up."""
    def read(until: int) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
        top = influxdb.query(expand(panel_query("fp-fleet", "Top hosts"), "mail", "x"), filled)
        modelled = influxdb.query(expand(panel_query("fp-quality", "Modelled energy by power model"), "mail", "x"),
                                  filled)
        sources = influxdb.query(expand(panel_query("fp-quality", "Manufacture GWP by source"), "mail", "x"), filled)
        raw = influxdb.query('SELECT "energy_wh", "usage_gwp_gco2e", "embodied_gwp_gco2e", "cpu_util_pct", '
                             '"interval_s", "power_source", "power_model", "embodied_source", "host" FROM "fp_host" '
                             f'WHERE time < {until}ms', filled)
        return top, modelled, sources, raw

    top, modelled, sources, raw = consistent(read, influxdb, filled, "fp_host_1d", DAY_MS)
    by_source: dict[str, float] = {}
    for r in raw:
        by_source[r["embodied_source"] or ""] = by_source.get(r["embodied_source"] or "", 0.0) + r["embodied_gwp_gco2e"]
    assert {row["embodied_source"]: row["kgCO2e"] for row in sources} == pytest.approx(
        {source: grams / 1000 for source, grams in by_source.items()}, rel=1e-9)
    assert len(top) == HOSTS
    for row in top:
        points = [r for r in raw if r["host"] == row["host"]]
        assert row["kWh"] == pytest.approx(sum(r["energy_wh"] for r in points) / 1000, rel=1e-9)
        assert row["kgCO2e"] == pytest.approx(sum(r["usage_gwp_gco2e"] + r["embodied_gwp_gco2e"]
                                                  for r in points) / 1000, rel=1e-9)
        assert row["mean W"] == pytest.approx(sum(r["energy_wh"] for r in points) * 3600
                                              / sum(r["interval_s"] for r in points), rel=1e-9)
        cpu = [r["cpu_util_pct"] for r in points if r["cpu_util_pct"] is not None]
        assert row["CPU %"] == pytest.approx(sum(cpu) / len(cpu), rel=1e-9)
    wanted = [r for r in raw if r["power_source"] == "modelled"]
    assert sum(row["kWh"] for row in modelled) == pytest.approx(sum(r["energy_wh"] for r in wanted) / 1000, rel=1e-9)
    latest = {r["host"]: r["power_model"] for r in sorted(wanted, key=lambda r: r["time"])}
    assert {row["host"]: row["power model"] for row in modelled} == latest
    assert set(latest.values()) & {"specpower_published", "specpower_fit", "specpower_published_vm_share",
                                   "specpower_fit_vm_share"}
    panel = next(p for b in all_dashboards() if b["uid"] == "fp-quality" for p in b["panels"]
                 if p["title"] == "Modelled energy by power model")
    fields = panel["transformations"][0]["options"]["fields"]
    assert fields["power model"]["operation"] == "groupby" and fields["kWh"]["aggregations"] == ["sum"]


def test_the_scheduled_reports_panel_says_what_failed(influxdb, filled) -> None:
    rows = influxdb.query(expand(panel_query("fp-quality", "Scheduled reports sent"), "mail", "x"), filled)
    assert [(row["delivery"], row["channel"], row["sent"], row["attempts"]) for row in rows] == [
        ("fleet-monthly", "webhook", False, 1)]
    assert "Connection refused" in rows[0]["detail"]
