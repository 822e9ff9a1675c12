"""The InfluxDB 2.x write path (influxdb-client, /api/v2/write) against a real receiver of it.

Debian has no InfluxDB 2 server; VictoriaMetrics implements `/api/v2/write` and stores each
field as a series named `<measurement>_<field>` with the point's tags.
"""

from __future__ import annotations

import time

import pytest

from fleetprint.collector.store.influx_v2 import InfluxV2Sink
from fleetprint.collector.store.lineprotocol import line
from fleetprint.collector.store.sink import RetryableWriteError

from services import free_port


def test_points_written_through_influxdb_client_arrive(victoria_metrics) -> None:
    sink = InfluxV2Sink(victoria_metrics.url, bucket="fleetprint", org="city", token="secret-token")
    start_ms = (int(time.time()) - 600) * 1000  # recent: VictoriaMetrics drops points older than its retention
    times = [start_ms + 30_000 * i for i in range(3)]
    sink.write([line("fp_v2test", {"host": "web-01", "site": "paris dc1"}, {"power_w": 100.0 + i, "seq": i}, t)
                for i, t in enumerate(times)])
    sink.close()
    series = {s["metric"]["__name__"]: s for s in victoria_metrics.export("fp_v2test_.*")}
    power = series["fp_v2test_power_w"]
    assert power["metric"]["host"] == "web-01" and power["metric"]["site"] == "paris dc1"
    assert power["timestamps"] == times
    assert power["values"] == [100.0, 101.0, 102.0]
    assert series["fp_v2test_seq"]["values"] == [0, 1, 2]


def test_unreachable_server_is_retryable() -> None:
    sink = InfluxV2Sink(f"http://127.0.0.1:{free_port()}", bucket="b", org="o", token="t", timeout_s=2)
    with pytest.raises(RetryableWriteError):
        sink.write([line("m", {}, {"v": 1.0}, 1)])
