"""Budgets end to end: collectors evaluate a budget file against seeded data in the real InfluxDB,
announce state changes on the retained MQTT alert and to a real local webhook receiver (which
fails, then recovers), never twice across a restart, and only one of two collectors does."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from fleetprint.collector.budgets.periods import period_bounds
from fleetprint.collector.store.influx_v1 import InfluxV1Sink
from fleetprint.collector.store.lineprotocol import line
from fleetprint.mqtt import MqttSettings, Topics, make_client
from fleetprint.schema import utc_now
from fleetprint.timestamps import epoch_ms

from processes import Program, collector_config, start_collector, wait_until

SECRET = b"webhook-secret"


class Receiver(http.server.BaseHTTPRequestHandler):
    """A chat tool's incoming webhook: answers 500 to the first `failures` posts, then 200."""

    failures = 2
    attempts: list[dict] = []
    delivered: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        record = {"body": json.loads(body), "signature_ok": hmac.compare_digest(
            self.headers.get("X-Fleetprint-Signature", ""),
            "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest())}
        Receiver.attempts.append(record)
        if len(Receiver.attempts) <= Receiver.failures:
            self.send_response(500)
        else:
            Receiver.delivered.append(record)
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    Receiver.attempts, Receiver.delivered = [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/fleetprint"
    server.shutdown()
    server.server_close()


class AlertWatcher:
    """Keeps the last retained alert per topic."""

    def __init__(self, port: int) -> None:
        self.alerts: dict[str, dict] = {}
        self.client = make_client(MqttSettings(port=port), "test-alert-watcher")
        self.client.on_message = lambda c, u, m: self.alerts.__setitem__(m.topic, json.loads(m.payload)) \
            if m.payload else None
        self.client.on_connect = lambda c, *_: c.subscribe(Topics().all_alerts, qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def state(self, topic: str) -> str | None:
        alert = self.alerts.get(topic)
        return alert["state"] if alert else None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def seed_hourly(sink: InfluxV1Sink, hours: int, grams: float) -> None:
    """Points for service `shop` every hour of the last `hours` hours."""
    now = utc_now()
    sink.write([line("fp_service", {"host": "h1", "service": "shop", "site": "paris"},
                     {"energy_wh": 10.0, "usage_gwp_gco2e": grams, "embodied_gwp_gco2e": 0.0},
                     epoch_ms(now - timedelta(hours=h, minutes=1))) for h in range(hours)])


def start(tmp_path: Path, name: str, mosquitto, influxdb, db: str, budgets: Path) -> Program:
    config = collector_config(tmp_path / f"{name}.toml", mosquitto, influxdb, db, name, share_group="budget-pair",
                              collector_extra="")
    # A second of settling: a collector starting sees the others' statuses and the announced alerts first.
    config.write_text(config.read_text() + f'[budgets]\nfile = "{budgets}"\nleader_settle_s = 1\n')
    return start_collector(config, tmp_path / f"{name}.log")


def evaluations(influxdb, db: str, collector: str, since_ms: int = 0) -> int:
    """The collector's evaluations, as its last health point since `since_ms` counts them (a process
    counts from 0 and writes the counter from its first evaluation on)."""
    rows = influxdb.query(f"SELECT last(budget_evaluations) AS n FROM fp_collector WHERE collector = '{collector}' "
                          f"AND time >= {since_ms}ms", db)
    return rows[0]["n"] if rows else 0


def test_state_changes_are_announced_once(mosquitto, influxdb, influx_db, receiver, tmp_path: Path) -> None:
    now = utc_now()
    _, year_end = period_bounds("year", now)
    hours_left = (year_end - now).total_seconds() / 3600
    # 24 h at 100 g/h: 2.4 kg spent, forecast 2.4 + 0.1 x hours_left; the limit sits between.
    limit_kg = 2.4 + 0.05 * hours_left
    (tmp_path / "secret").write_bytes(SECRET)
    budgets = tmp_path / "budgets.toml"
    budgets.write_text(f"""
[notifications]
webhooks = ["{receiver}"]
webhook_secret_file = "{tmp_path / 'secret'}"
[evaluation]
interval_s = 1
[[budget]]
service = "shop"
period = "year"
limit_kgco2e = {limit_kg}
""")
    topic = Topics().alert("shop/year")
    watcher = AlertWatcher(mosquitto.port)
    sink = InfluxV1Sink(influxdb.url, influx_db)
    first = start(tmp_path, "budget-a", mosquitto, influxdb, influx_db, budgets)
    second = None
    try:
        wait_until(lambda: watcher.state(topic) == "ok", what="the first, quiet, ok", watch=[first])
        seed_hourly(sink, 24, 100.0)
        wait_until(lambda: watcher.state(topic) == "at_risk", what="at_risk", watch=[first])
        wait_until(lambda: len(Receiver.delivered) == 1, timeout_s=20, what="the at_risk webhook after 2 failures")
        assert len(Receiver.attempts) == 3
        seed_hourly(sink, 1, limit_kg * 1000)
        wait_until(lambda: watcher.state(topic) == "exceeded", what="exceeded", watch=[first])
        wait_until(lambda: len(Receiver.delivered) == 2, what="the exceeded webhook")

        # A restart announces nothing again (the webhooks are counted at the end).
        assert first.stop() == 0
        before = evaluations(influxdb, influx_db, "budget-a")
        restarted = epoch_ms(utc_now())
        first = start(tmp_path, "budget-a", mosquitto, influxdb, influx_db, budgets)
        wait_until(lambda: evaluations(influxdb, influx_db, "budget-a", restarted) >= 1,
                   what="an evaluation after the restart", watch=[first])
        assert before > 0

        # Two collectors: the one with the smallest id evaluates; the other takes over when it stops.
        second = start(tmp_path, "budget-b", mosquitto, influxdb, influx_db, budgets)
        wait_until(lambda: evaluations(influxdb, influx_db, "budget-a", restarted) >= 6, what="budget-a evaluating",
                   watch=[first, second])
        assert evaluations(influxdb, influx_db, "budget-b") == 0
        assert first.stop() == 0
        wait_until(lambda: evaluations(influxdb, influx_db, "budget-b") >= 2, what="budget-b taking over",
                   watch=[second])
    finally:
        exit_codes = (first.stop(), second.stop() if second else 0)
        watcher.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        watcher.close()
    assert exit_codes == (0, 0)
    assert [record["body"]["state"] for record in Receiver.delivered] == ["at_risk", "exceeded"]
    assert all(record["signature_ok"] for record in Receiver.attempts)
    at_risk = Receiver.delivered[0]["body"]
    assert at_risk["previous_state"] == "ok" and at_risk["limit_kgco2e"] == pytest.approx(limit_kg, rel=1e-3)
    assert "shop" in at_risk["text"] and "AT RISK" in at_risk["text"]
    states = influxdb.query("SELECT state, state_level FROM fp_budget WHERE budget = 'shop/year'", influx_db)
    assert {row["state"] for row in states} == {"ok", "at_risk", "exceeded"}
