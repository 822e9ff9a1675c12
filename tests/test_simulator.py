"""The simulated fleet: pure checks of the fleet and its load, then through the real broker, and
end to end into InfluxDB through a real collector."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import pytest
from click.testing import CliRunner

from fleetprint.mqtt import MqttSettings, make_client
from fleetprint.schema import Report, decode_inventory, decode_report, encode
from fleetprint.simulator import cli as simulator_cli
from fleetprint.simulator.cli import Duration
from fleetprint.simulator.fleet import KINDS, FleetSpec, cpu_table_path, generate_fleet, kind_counts
from fleetprint.simulator.load import LoadModel, activity
from fleetprint.simulator.publisher import sample_times

from processes import Program, collector_config, wait_until

REFERENCE = date(2026, 11, 2)  # a Monday
MONDAY = datetime(2026, 11, 2, tzinfo=ZoneInfo("Europe/Paris"))


def at(day: int, hour: float, tz: str) -> int:
    """Epoch seconds of `hour` local time, `day` days after Monday 2 November 2026."""
    local = datetime(2026, 11, 2, tzinfo=ZoneInfo(tz)) + timedelta(days=day, hours=hour)
    return int(local.timestamp())


@pytest.fixture(scope="module")
def fleet():
    return generate_fleet(100, 7, REFERENCE)


def test_the_fleet_is_reproducible_and_each_host_is_stable_as_the_fleet_grows(fleet) -> None:
    again = generate_fleet(100, 7, REFERENCE)
    assert again == fleet
    assert [encode(h.inventory(MONDAY)) for h in again] == [encode(h.inventory(MONDAY)) for h in fleet]
    assert generate_fleet(100, 8, REFERENCE) != fleet
    small = {host.host_id: host for host in generate_fleet(12, 7, REFERENCE)}
    assert all(host == small[host.host_id] for host in fleet if host.host_id in small)


def test_the_fleet_has_every_kind_several_sites_and_services(fleet) -> None:
    assert kind_counts(100, {"server": 35, "vm": 30, "desktop": 20, "laptop": 15}) == {
        "server": 35, "vm": 30, "desktop": 20, "laptop": 15, "thin_client": 0}
    assert kind_counts(12, {"server": 0.35, "vm": 0.30, "desktop": 0.20, "laptop": 0.15}) == {
        "server": 4, "vm": 4, "desktop": 2, "laptop": 2, "thin_client": 0}
    assert {host.kind for host in fleet} == set(KINDS) - {"thin_client"}  # none by default
    assert all(re.fullmatch(r"sim-(srv|vm|dt|lt)-\d{4}", host.host_id) for host in fleet)
    assert len({host.host_id for host in fleet}) == len(fleet)
    assert len({host.site.name for host in fleet}) >= 4
    assert len({host.site.zone for host in fleet}) >= 3
    assert all(host.site.role == "datacentre" for host in fleet if host.kind in ("server", "vm"))
    server_services = {service.name for host in fleet if host.kind in ("server", "vm") for service, _ in host.services}
    assert len(server_services) >= 5
    assert all(1 <= len(host.services) <= 3 for host in fleet)
    physical = [host for host in fleet if host.purchase_date]
    past = [h for h in physical if (REFERENCE - h.purchase_date).days / 365.25 > h.lifetime_years]
    assert 0.1 < len(past) / len(physical) < 0.5


def test_departments_and_the_estate_without_agents(fleet) -> None:
    """Workstations belong to departments, servers and VMs to IT; the estate's register imports as a
    user's would, and counts devices in proportion to each site's and department's workstations."""
    from fleetprint.collector.assets.csv_register import read_csv
    from fleetprint.simulator.estate import estate_csv

    assert {host.department for host in fleet if host.kind in ("server", "vm")} == {"it"}
    workstations = [host for host in fleet if host.kind in ("desktop", "laptop")]
    assert len({host.department for host in workstations}) >= 4
    assert all(host.inventory(MONDAY).department == host.department for host in fleet)
    register = estate_csv(fleet, "2024-11-02")
    assert register == estate_csv(generate_fleet(100, 7, REFERENCE), "2024-11-02")
    devices = read_csv(register.encode(), "simulated.csv")
    office = [h for h in workstations if h.site.role == "office"]
    phones = sum(d.quantity for d in devices if d.category == "smartphone")
    assert len(office) / 2 <= phones <= len(office) / 2 + len({(h.site.name, h.department) for h in office})
    assert {d.category for d in devices} >= {"smartphone", "tablet", "monitor", "printer", "access_point",
                                             "network_switch", "storage_array"}
    assert {d.department for d in devices} == {h.department for h in office} | {"it"}


def test_cpus_come_from_boaviztapis_table(fleet) -> None:
    with open(cpu_table_path(), newline="", encoding="utf-8") as handle:
        table = {row["name"]: row for row in csv.DictReader(handle)}
    for host in fleet:
        row = table[host.cpu.name]
        inventory = host.inventory(MONDAY)
        assert inventory.cpu.model == host.cpu.name
        assert host.cpu.released <= (host.purchase_date or REFERENCE)
        if host.kind in ("server", "vm"):
            assert re.match(r"Intel Xeon|AMD EPYC", host.cpu.name)
        else:
            assert re.match(r"Intel Core|AMD Ryzen", host.cpu.name)
        if host.kind != "vm":
            assert inventory.cpu.cores == int(float(row["cores"])) * host.sockets
            assert inventory.cpu.threads == int(float(row["threads"])) * host.sockets


def test_power_sources_per_kind(fleet) -> None:
    servers = [host for host in fleet if host.kind == "server"]
    assert sum(host.wall for host in servers) == 7  # 20 % of 35, exactly
    assert any(host.wall for host in generate_fleet(12, 7, REFERENCE))
    assert not any(host.wall for host in fleet if host.kind != "server")
    assert not any(host.rapl for host in fleet if host.kind == "vm")
    assert all(host.battery == (host.kind == "laptop") for host in fleet)
    assert {host.rapl for host in fleet if host.kind != "vm"} == {True, False}


def test_workstations_have_monitors_and_may_sleep() -> None:
    fleet = generate_fleet(40, 5, REFERENCE, FleetSpec(kind_shares={"desktop": 1, "laptop": 1, "thin_client": 1,
                                                                    "server": 1}, workstation_hours=True))
    by_kind = {kind: [host for host in fleet if host.kind == kind] for kind in ("desktop", "laptop", "thin_client")}
    assert all(re.fullmatch(r"sim-tc-\d{4}", host.host_id) for host in by_kind["thin_client"])
    for host in by_kind["desktop"] + by_kind["thin_client"]:
        assert 1 <= len(host.monitors) <= 2 and not any(m.builtin for m in host.monitors)
    for host in by_kind["laptop"]:
        assert [m.builtin for m in host.monitors][0] and len(host.monitors) <= 2
    serials = [m.serial for host in fleet for m in host.monitors if not m.builtin]
    assert len(serials) == len(set(serials)) > 20
    assert all(host.sleeps == (host.kind != "server") for host in fleet)
    assert generate_fleet(40, 5, REFERENCE)[0].monitors == ()  # servers: none
    # Asleep at night and at weekends (save the few never switched off); reporting in the morning.
    models = [LoadModel(host) for host in fleet if host.sleeps]
    night, saturday, morning = at(2, 3, "Europe/Paris"), at(5, 11, "Europe/Paris"), at(2, 11, "Europe/Paris")
    assert sum(m.on(night, 300) for m in models) == sum(m.on(saturday, 300) for m in models) < len(models) / 4
    assert all(m.on(morning, 300) for m in models)
    assert all(LoadModel(host).on(night, 300) for host in fleet if not host.sleeps)


def test_inventories_and_reports_validate_with_the_wire_schema(fleet) -> None:
    end = at(7, 0, "UTC")
    for host in fleet:
        inventory = host.inventory(MONDAY)
        assert decode_inventory(encode(inventory)) == inventory
        model = LoadModel(host)
        report = Report(host_id=host.host_id, seq=1,
                        samples=[model.sample(ts, 300) for ts in sample_times(end - 86_400, end, 300)])
        assert decode_report(encode(report)) == report


def test_load_is_a_pure_function_of_host_and_time(fleet) -> None:
    ts = at(2, 11, "UTC")
    assert [LoadModel(h).sample(ts, 30) for h in fleet] == [LoadModel(h).sample(ts, 30) for h in fleet]
    assert LoadModel(fleet[0]).sample(ts, 30) != LoadModel(fleet[0]).sample(ts + 30, 30)


def test_daily_and_weekly_patterns() -> None:
    paris = ZoneInfo("Europe/Paris")
    monday, sunday, saturday = (datetime(2026, 11, d, tzinfo=paris) for d in (2, 8, 7))
    assert activity("office", monday.replace(hour=10)) > 5 * activity("office", monday.replace(hour=3))
    assert activity("office", monday.replace(hour=10)) > 5 * activity("office", sunday.replace(hour=10))
    assert activity("public", monday.replace(hour=20)) > activity("public", monday.replace(hour=10)) > activity(
        "public", monday.replace(hour=4))
    assert activity("nightly", monday.replace(hour=2)) > 10 * activity("nightly", monday.replace(hour=15))
    # The weekly full backup runs longer, on Saturday night.
    assert activity("nightly", saturday.replace(hour=5)) > 10 * activity("nightly", monday.replace(hour=5))


def test_end_user_machines_are_busy_in_office_hours_on_weekdays(fleet) -> None:
    users = [host for host in fleet if host.kind in ("desktop", "laptop")]
    for host in users:
        model = LoadModel(host)
        for day in range(5):  # Monday to Friday
            office = model.sample(at(day, 10.5, host.site.tz), 300).cpu_util_pct
            assert office > model.sample(at(day, 3, host.site.tz), 300).cpu_util_pct
            assert office > model.sample(at(6, 10.5, host.site.tz), 300).cpu_util_pct  # Sunday


def test_service_shares_and_power_channels(fleet) -> None:
    seen = defaultdict(set)
    for host in fleet:
        model = LoadModel(host)
        for ts in sample_times(at(0, 0, "UTC"), at(7, 0, "UTC"), 3600):
            sample = model.sample(ts, 3600)
            assert sum(sample.cpu_shares.values()) <= sample.cpu_util_pct / 100
            assert set(sample.cpu_shares) == ({s.name for s, _ in host.services} if host.process_rules else set())
            channels = set(sample.power_w)
            allowed = ({"wall"} if host.wall else set()) | ({"battery"} if host.battery else set()) | (
                {"rapl_package", "rapl_dram"} if host.rapl else set())
            assert channels <= allowed, host.host_id
            seen[host.host_id] |= channels
            if "wall" in channels and "rapl_package" in channels:
                assert sample.power_w["wall"] > sample.power_w["rapl_package"]
    assert all("wall" in seen[h.host_id] for h in fleet if h.wall)
    assert all("battery" in seen[h.host_id] for h in fleet if h.kind == "laptop")
    assert not any(seen[h.host_id] for h in fleet if h.kind == "vm")


def test_durations() -> None:
    duration = Duration()
    assert [duration.convert(text, None, None) for text in ("90s", "15m", "2h", "3d", "2w", "1d12h")] == [
        90, 900, 7200, 259_200, 1_209_600, 129_600]
    for bad in ("", "2", "h", "2x", "1h 2m", "0s"):
        with pytest.raises(click.BadParameter):
            duration.convert(bad, None, None)
    assert sample_times(1000, 1000 + 6 * 3600, 300)[0] == 1200
    assert len(sample_times(0, 6 * 3600, 300)) == 72


def simulate(mosquitto, prefix: str, *args: str) -> str:
    """Run `fleetprint simulate` against the test broker; its printed summary."""
    done = subprocess.run(
        [sys.executable, "-m", "fleetprint", "simulate", "--mqtt-port", str(mosquitto.port),
         "--mqtt-topic-prefix", prefix, *args],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


class Subscriber:
    """Everything published under a prefix, by topic."""

    def __init__(self, mosquitto, prefix: str) -> None:
        self.received: dict[str, list[bytes]] = defaultdict(list)
        subscribed = threading.Event()
        self.client = make_client(MqttSettings(host=mosquitto.host, port=mosquitto.port),
                                  f"sim-test-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/hosts/+/+", qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = lambda c, u, message: self.received[message.topic].append(message.payload)
        self.client.connect(mosquitto.host, mosquitto.port)
        self.client.loop_start()
        assert subscribed.wait(10), "no subscription"

    def count(self, kind: str) -> int:
        return sum(len(payloads) for topic, payloads in self.received.items() if topic.endswith(f"/{kind}"))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_backfill_through_the_broker_from_two_processes(mosquitto) -> None:
    """Retained inventories, then reports in time order with growing seq, chunked as asked."""
    prefix = f"sim-test-{uuid.uuid4().hex[:8]}/v1"
    subscriber = Subscriber(mosquitto, prefix)
    try:
        summary = simulate(mosquitto, prefix, "--hosts", "5", "--backfill", "2h", "--interval", "300",
                           "--samples-per-report", "5", "--seed", "3", "--processes", "2")
        # 24 samples per host in reports of 5, 5, 5, 5, 4.
        wait_until(lambda: subscriber.count("report") == 25, timeout_s=10, what="25 reports")
    finally:
        subscriber.close()
    assert "sent 30 messages" in summary and "5 inventories, 25 reports with 120 samples" in summary
    received = subscriber.received
    hosts = {host.host_id for host in generate_fleet(5, 3, REFERENCE)}
    assert {topic.split("/")[-2] for topic in received} == hosts
    for host_id in hosts:
        inventory = decode_inventory(received[f"{prefix}/hosts/{host_id}/inventory"][0])
        assert inventory.host_id == host_id
        reports = [decode_report(p) for p in received[f"{prefix}/hosts/{host_id}/report"]]
        assert [len(r.samples) for r in reports] == [5, 5, 5, 5, 4]
        times = [s.ts for r in reports for s in r.samples]
        assert all(b - a == timedelta(seconds=300) for a, b in zip(times, times[1:]))
        assert [r.seq for r in reports] == sorted({r.seq for r in reports})
        assert all(r.seq == int(r.samples[-1].ts.timestamp()) // 300 for r in reports)


def test_live_mode_sends_one_aligned_sample_per_host_per_interval(mosquitto) -> None:
    prefix = f"sim-test-{uuid.uuid4().hex[:8]}/v1"
    subscriber = Subscriber(mosquitto, prefix)
    try:
        started = time.time()
        summary = simulate(mosquitto, prefix, "--hosts", "3", "--interval", "1", "--duration", "3s")
        finished = time.time()
        wait_until(lambda: subscriber.count("status") == 6, timeout_s=10, what="online and offline statuses")
    finally:
        subscriber.close()
    assert "3 inventories, 9 reports with 9 samples, 6 statuses" in summary
    for host in generate_fleet(3, 1, REFERENCE):
        topic = f"{prefix}/hosts/{host.host_id}"
        assert subscriber.received[f"{topic}/status"] == [b"online", b"offline"]
        times = [s.ts.timestamp() for p in subscriber.received[f"{topic}/report"] for s in decode_report(p).samples]
        assert len(times) == 3 and all(ts == int(ts) for ts in times)
        assert times == [times[0], times[0] + 1, times[0] + 2] and started < times[0] and times[-1] <= finished


def test_simulated_backfill_lands_in_influxdb(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    prefix = f"sim-test-{uuid.uuid4().hex[:8]}/v1"
    collector = Program(["collector", "run", "-c", str(collector_config(
        tmp_path / "collector.toml", mosquitto, influxdb, influx_db, "sim-collector"))], tmp_path / "collector.log",
        env={"FLEETPRINT_COLLECTOR_MQTT__TOPIC_PREFIX": prefix})
    try:
        wait_until(lambda: "subscribed to reports" in collector.log_text(), what="the collector's subscription",
                   watch=[collector])
        summary = simulate(mosquitto, prefix, "--hosts", "12", "--backfill", "6h", "--interval", "300", "--seed", "7")

        def per_host() -> dict[str, int]:
            return {row["host"]: row["count"] for row in influxdb.query(
                "SELECT count(cpu_util_pct) FROM fp_host GROUP BY host", influx_db)}

        wait_until(lambda: sum(per_host().values()) >= 12 * 72, timeout_s=30, what="864 samples in InfluxDB",
                   watch=[collector])
    finally:
        assert collector.stop() == 0, collector.log_text()
    assert "simulated 12 hosts (4 servers, 4 VMs, 2 desktops, 2 laptops), seed 7, interval 300 s" in summary
    assert "12 inventories, 12 reports with 864 samples" in summary
    assert "24 acknowledged by the broker" in summary

    fleet = generate_fleet(12, 7, REFERENCE)
    assert per_host() == {host.host_id: 72 for host in fleet}
    for host in fleet[:2]:
        rows = influxdb.query(f"SELECT cpu_util_pct FROM fp_host WHERE host = '{host.host_id}'", influx_db)
        times = [row["time"] for row in rows]
        assert {b - a for a, b in zip(times, times[1:])} == {300_000}
        assert times[-1] - times[0] == (6 * 3600 - 300) * 1000
    inventories = influxdb.query("SELECT count(ram_gb) FROM fp_inventory GROUP BY host", influx_db)
    assert {row["host"]: row["count"] for row in inventories} == {host.host_id: 1 for host in fleet}
    services = influxdb.query("SELECT count(power_w) FROM fp_service GROUP BY service", influx_db)
    assert {row["service"] for row in services} >= {"workplace"} and len(services) >= 3
    sources = {row["value"] for row in influxdb.query('SHOW TAG VALUES FROM fp_host WITH KEY = "power_source"',
                                                      influx_db)}
    assert {"modelled", "wall"} <= sources
    wall = [host.host_id for host in fleet if host.wall]
    rows = influxdb.query(f"SELECT count(power_w) FROM fp_host WHERE host = '{wall[0]}' AND power_source = 'wall'",
                          influx_db)
    assert rows and rows[0]["count"] >= 60  # a BMC misses a reading now and then


def test_to_ends_a_backfill_in_the_past_only() -> None:
    runner = CliRunner()
    live = runner.invoke(simulator_cli.simulate, ["--backfill", "1d", "--to", "2026-01-01", "--live"])
    assert live.exit_code == 2 and "--to ends a --backfill, without --live" in live.output
    future = runner.invoke(simulator_cli.simulate, ["--backfill", "1d", "--to", "2999-01-01"])
    assert future.exit_code == 2 and "2999-01-01T00:00:00 is in the future" in future.output
