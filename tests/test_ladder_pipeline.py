"""The measurement ladder end to end: recorded power readings through the broker to InfluxDB."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fleetprint.mqtt import Topics
from fleetprint.schema import Cpu, Inventory, Report, Sample, encode

from processes import collector_config, connected_client, start_collector, wait_until

T0 = datetime(2026, 11, 2, 8, tzinfo=timezone.utc)
HOST = "ladder-host"
SITE_CONFIG = """
[sites.dc1]
zone = "DEU"
pue = 1.4
"""


def test_each_point_says_where_its_power_came_from(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    config = collector_config(tmp_path / "collector.toml", mosquitto, influxdb, influx_db, "ladder-collector")
    config.write_text(config.read_text() + SITE_CONFIG)
    collector = start_collector(config, tmp_path / "collector.log")
    publisher = connected_client(mosquitto.port, "test-ladder-publisher")
    topics = Topics()
    readings = [{"wall": 320.0, "rapl_package": 160.0, "rapl_dram": 25.0}, {"rapl_package": 150.0},
                {}, {"wall": 170_000.0}, {"battery": 18.5}]
    try:
        inventory = Inventory(host_id=HOST, taken_at=T0, kind="server", ram_gb=96, ram_modules=6, site="dc1",
                              cpu=Cpu(model="Intel Xeon Gold 6130", sockets=2, cores=32, threads=64))
        publisher.publish(topics.inventory(HOST), encode(inventory), qos=1, retain=True).wait_for_publish(5)
        samples = [Sample(ts=T0 + timedelta(seconds=30 * i), interval_s=30, cpu_util_pct=35.0, power_w=power)
                   for i, power in enumerate(readings)]
        publisher.publish(topics.report(HOST), encode(Report(host_id=HOST, seq=1, samples=samples)),
                          qos=1).wait_for_publish(5)
        rows = wait_until(lambda: len(r := influxdb.query(f"SELECT * FROM fp_host WHERE host = '{HOST}'",
                                                           influx_db)) == 5 and r, what="5 points", watch=[collector])
        health = wait_until(lambda: influxdb.query("SELECT last(power_readings_rejected) AS n FROM fp_collector",
                                                   influx_db), what="the rejection count", watch=[collector])
    finally:
        publisher.publish(topics.inventory(HOST), b"", qos=1, retain=True).wait_for_publish(5)
        publisher.disconnect()
        publisher.loop_stop()
        assert collector.stop() == 0
    assert [row["power_source"] for row in rows] == ["wall", "components", "modelled", "modelled", "battery"]
    assert rows[0]["power_w"] == 320.0
    assert rows[3]["power_w"] < 1000, "the 170 kW reading was refused"
    assert health[0]["n"] == 1
    for row in rows:
        assert row["zone"] == "DEU" and row["pue"] == 1.4 and row["grid_source"] == "boavizta"
        assert row["usage_gwp_gco2e"] == pytest.approx(row["energy_wh"] * 1.4 * row["gwp_gco2e_per_kwh"] / 1000)
