"""A year of a simulated laptop, a desktop with two monitors and a thin client, through the real broker,
collector and InfluxDB: the energy stored for each is the workstation model's (collector/impact/
workplace_power.py) at the loads the simulator sent, its monitors' included, and nothing while off; its
manufacture the host model's (declared or fitted, collector/impact/embodied_sources.py), its monitors' too."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from fleetprint.collector.impact.grid import zone_factors
from fleetprint.collector.impact.host_model import build_host_model
from fleetprint.collector.impact.workplace_power import external_monitors, workstation_curve
from fleetprint.simulator.fleet import FleetSpec, generate_fleet
from fleetprint.simulator.load import CHARGER_EFFICIENCY, LoadModel
from fleetprint.simulator.publisher import sample_times

from processes import Program, collector_config, wait_until

SEED = 5  # a desktop with two monitors, a laptop docked to one at the office, a thin client with two
KINDS = {"laptop": 1, "desktop": 1, "thin_client": 1}
INTERVAL_S = 3600
YEAR_S = 365 * 86_400


def test_a_year_of_workstations_stores_the_models_energy(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    prefix = f"wp-test-{uuid.uuid4().hex[:8]}/v1"
    collector = Program(["collector", "run", "-c", str(collector_config(
        tmp_path / "collector.toml", mosquitto, influxdb, influx_db, "wp-collector",
        collector_extra="max_sample_age_days = 400\n"))], tmp_path / "collector.log",
        env={"FLEETPRINT_COLLECTOR_MQTT__TOPIC_PREFIX": prefix})
    try:
        wait_until(lambda: "subscribed to reports" in collector.log_text(), what="the collector's subscription",
                   watch=[collector])
        started = time.time()
        done = subprocess.run(
            [sys.executable, "-m", "fleetprint", "simulate", "--mqtt-port", str(mosquitto.port), "--mqtt-topic-prefix",
             prefix, "--hosts", "3", "--kinds", ",".join(f"{k}={v}" for k, v in KINDS.items()), "--seed", str(SEED),
             "--backfill", "365d", "--interval", str(INTERVAL_S), "--workstation-hours"],
            capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        sent = int(done.stdout.split(" reports with ")[1].split(" samples")[0])
        counts = []  # what InfluxDB said, for the failure's message

        def all_stored() -> bool:
            rows = influxdb.query("SELECT count(cpu_util_pct) FROM fp_host", influx_db)
            counts.append(rows[0]["count"] if rows else 0)
            return counts[-1] == sent

        try:
            wait_until(all_stored, timeout_s=60, what=f"{sent} samples in InfluxDB", watch=[collector])
        except AssertionError as exc:
            raise AssertionError(f"{exc}; InfluxDB counted {counts[-1]}") from None
    finally:
        assert collector.stop() == 0, collector.log_text()

    reference = datetime.fromtimestamp(started, timezone.utc).date()
    fleet = generate_fleet(3, SEED, reference, FleetSpec(kind_shares=KINDS, workstation_hours=True))
    desktop = next(host for host in fleet if host.kind == "desktop")
    assert [m.builtin for m in desktop.monitors] == [False, False]
    for host in fleet:
        inventory = host.inventory(datetime.fromtimestamp(started, timezone.utc))
        curve = workstation_curve(inventory).curve
        monitors_w = sum(m.on_w for m in external_monitors(inventory))
        load = LoadModel(host)
        rows = influxdb.query(f"SELECT cpu_util_pct, interval_s, power_w, energy_wh, monitor_power_w, "
                              f"monitor_energy_wh, power_source, power_model, embodied_gwp_gco2e, "
                              f"monitor_embodied_gwp_gco2e, embodied_source, monitor_embodied_source FROM fp_host "
                              f"WHERE host = '{host.host_id}'", influx_db)
        # Manufacture: the host model's rates, each monitor's until its own lifetime is over.
        model = build_host_model(inventory, zone_factors("WOR"), "x")  # no zone in manufacture
        assert {(row["embodied_source"], row["monitor_embodied_source"]) for row in rows} == {
            (model.embodied_source, model.monitor_embodied_source or None)}
        assert model.embodied_source in ("declared", "fitted") and len(model.monitor_embodied) == len(
            external_monitors(inventory))
        expected_wh = expected_monitor_wh = expected_gco2e = expected_monitor_gco2e = 0.0
        for row in rows:
            ts = row["time"] // 1000
            assert load.on(ts, INTERVAL_S), "a sample while off"
            sent = load.sample(ts, INTERVAL_S)
            assert row["cpu_util_pct"] == sent.cpu_util_pct
            modelled_w = curve.power_w(sent.cpu_util_pct)
            if row["power_source"] == "battery":  # the ladder prefers the measured discharge
                machine_w = sent.power_w["battery"]
                assert machine_w == pytest.approx(modelled_w * CHARGER_EFFICIENCY, rel=0.06)
            else:
                assert row["power_source"] == "modelled"
                machine_w = modelled_w
            expected_wh += (machine_w + monitors_w) * INTERVAL_S / 3600
            expected_monitor_wh += monitors_w * INTERVAL_S / 3600
            at_ms = row["time"]
            if model.amortised_at_ms is None or at_ms < model.amortised_at_ms:
                expected_gco2e += model.embodied.gwp_gco2e_per_h * INTERVAL_S / 3600
            expected_monitor_gco2e += sum(m.rate.gwp_gco2e_per_h * INTERVAL_S / 3600 for m in model.monitor_embodied
                                          if m.amortised_at_ms is None or at_ms < m.amortised_at_ms)
            assert row["power_model"] == f"tec_fit_{host.kind}"
        yearly_wh = sum(row["energy_wh"] for row in rows)
        assert yearly_wh == pytest.approx(expected_wh, rel=1e-6), host.host_id
        assert sum(row["monitor_energy_wh"] or 0.0 for row in rows) == pytest.approx(expected_monitor_wh, rel=1e-6)
        assert sum(row["monitor_embodied_gwp_gco2e"] or 0.0 for row in rows) == pytest.approx(
            expected_monitor_gco2e, rel=1e-6, abs=1e-9)
        assert sum(row["embodied_gwp_gco2e"] for row in rows) == pytest.approx(
            expected_gco2e + expected_monitor_gco2e, rel=1e-6), host.host_id
        # One sample for every hour it was on over the year the backfill ended with (the simulator's
        # clock read just after `started`: this hour's end, or the next one's), none while off.
        end = int(started) // INTERVAL_S * INTERVAL_S
        on_hours = [sum(load.on(ts, INTERVAL_S) for ts in sample_times(last - YEAR_S, last, INTERVAL_S))
                    for last in (end, end + INTERVAL_S)]
        assert len(rows) in on_hours, host.host_id
        facts = influxdb.query(f"SELECT monitor_count, monitors_on_w FROM fp_inventory WHERE host = '{host.host_id}'",
                               influx_db)[0]
        assert (facts["monitor_count"], facts["monitors_on_w"]) == (len(external_monitors(inventory)),
                                                                    pytest.approx(monitors_w))
        assert 1500 < len(rows) < (YEAR_S // INTERVAL_S + 1 if load.never_off else 4000), host.host_id
    laptop = next(host for host in fleet if host.kind == "laptop")
    assert any(m.builtin for m in laptop.monitors)
