"""Faults with the real services: whatever restarts, every sample taken is stored exactly once.

Each test streams samples through the agent's real store-and-forward path (tests/feeder.py)
and the real collector process, breaks something mid-stream, repairs it, and checks that
InfluxDB holds every sample once. Recovery times are printed (pytest -s shows them).
"""

from __future__ import annotations

import json
import logging
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from feeder import Feeder
from netcut import CuttableRelay

from fleetprint.mqtt import Topics

from processes import Program, collector_config, connected_client, retained_payload, start_collector, wait_until
from services import InfluxDB

TOTAL = 1200
CHUNK = 100


def stored(influxdb, database: str, host: str) -> int:
    rows = influxdb.query(f"SELECT count(power_w) AS n FROM fp_host WHERE host = '{host}'", database)
    return rows[0]["n"] if rows else 0


def series_count(influxdb, database: str, host: str) -> int:
    return len(influxdb.query(f"SELECT count(power_w) FROM fp_host WHERE host = '{host}' GROUP BY *", database))


def start_named(tmp_path: Path, name: str, mosquitto, influxdb, database: str, group: str = "") -> Program:
    config = collector_config(tmp_path / f"{name}.toml", mosquitto, influxdb, database, name, group)
    return start_collector(config, tmp_path / f"{name}.log")


def session_process(collector: Program) -> psutil.Process:
    """The child process holding the collector's MQTT session (collector/mqtt_session.py)."""
    children = psutil.Process(collector.process.pid).children()
    assert len(children) == 1, f"the collector has {len(children)} child processes, expected its MQTT session"
    return children[0]


def stream(feeder: Feeder, count: int) -> None:
    for _ in range(count // CHUNK):
        feeder.take(CHUNK)


def expect_all_stored(influxdb, database: str, host: str, watch=(), timeout_s: float = 60) -> float:
    """Wait until every sample is stored; return how long it took."""
    started = time.monotonic()
    wait_until(lambda: stored(influxdb, database, host) >= TOTAL, timeout_s=timeout_s, poll_s=0.2,
               what=f"{TOTAL} samples stored", watch=watch)
    took = time.monotonic() - started
    assert stored(influxdb, database, host) == TOTAL
    assert series_count(influxdb, database, host) == 1, "one series: no duplicate under other tags"
    return took


def test_collector_killed_mid_stream(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    collector = start_named(tmp_path, "kill9-collector", mosquitto, influxdb, influx_db)
    feeder = Feeder("kill9-host", mosquitto.port, tmp_path / "agent")
    feeder.start()
    try:
        stream(feeder, TOTAL // 3)
        wait_until(lambda: stored(influxdb, influx_db, "kill9-host") > 0, what="the first points", watch=[collector])
        session = session_process(collector)
        collector.kill()
        wait_until(lambda: not session.is_running() or session.status() == psutil.STATUS_ZOMBIE,
                   what="the MQTT session process to end with its collector")
        stream(feeder, TOTAL - TOTAL // 3)
        wait_until(lambda: len(feeder.buffer) == 0, what="the broker to hold every sample")
        collector = start_named(tmp_path, "kill9-collector", mosquitto, influxdb, influx_db)
        took = expect_all_stored(influxdb, influx_db, "kill9-host", watch=[collector])
        print(f"\nfault kill -9 collector: published {TOTAL}, stored {TOTAL}, recovered in {took:.1f} s after restart")
    finally:
        feeder.stop()
        assert collector.stop() == 0


def test_mqtt_session_process_killed_mid_stream(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    """The collector stops with a clear error when its session's process dies; nothing is lost."""
    collector = start_named(tmp_path, "session-collector", mosquitto, influxdb, influx_db)
    feeder = Feeder("session-host", mosquitto.port, tmp_path / "agent")
    feeder.start()
    try:
        stream(feeder, TOTAL // 3)
        wait_until(lambda: stored(influxdb, influx_db, "session-host") > 0, what="the first points",
                   watch=[collector])
        session_process(collector).kill()
        assert collector.process.wait(30) == 1
        assert "MQTT session process ended unexpectedly" in collector.log_text()
        stream(feeder, TOTAL - TOTAL // 3)
        wait_until(lambda: len(feeder.buffer) == 0, what="the broker to hold every sample")
        collector = start_named(tmp_path, "session-collector", mosquitto, influxdb, influx_db)
        expect_all_stored(influxdb, influx_db, "session-host", watch=[collector])
    finally:
        feeder.stop()
        assert collector.stop() == 0


def test_stop_signal_to_every_process(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    """systemd and a terminal signal the collector and its session's process together: the
    collector still writes its last points, acknowledges them and says offline."""
    collector = start_named(tmp_path, "group-collector", mosquitto, influxdb, influx_db)
    feeder = Feeder("group-host", mosquitto.port, tmp_path / "agent")
    feeder.start()
    try:
        stream(feeder, TOTAL)
        wait_until(lambda: len(feeder.buffer) == 0, what="the broker to take every sample")
        session = session_process(collector)
        session.send_signal(signal.SIGTERM)
        collector.process.send_signal(signal.SIGTERM)
        assert collector.stop() == 0, collector.log_text()[-3000:]
        assert retained_payload(mosquitto, "fleetprint/v1/collectors/group-collector/status") == b"offline"
        collector = start_named(tmp_path, "group-collector", mosquitto, influxdb, influx_db)
        expect_all_stored(influxdb, influx_db, "group-host", watch=[collector])
    finally:
        feeder.stop()
        assert collector.stop() == 0


def test_broker_restarted_mid_stream(own_mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    collector = start_named(tmp_path, "brokerfault-collector", own_mosquitto, influxdb, influx_db)
    feeder = Feeder("brokerfault-host", own_mosquitto.port, tmp_path / "agent")
    feeder.start()
    try:
        stream(feeder, TOTAL // 2)
        own_mosquitto.restart()
        restarted = time.monotonic()
        stream(feeder, TOTAL - TOTAL // 2)
        expect_all_stored(influxdb, influx_db, "brokerfault-host", watch=[collector])
        print(f"\nfault broker restart: published {TOTAL}, stored {TOTAL}, "
              f"recovered in {time.monotonic() - restarted:.1f} s after restart")
    finally:
        feeder.stop()
        assert collector.stop() == 0


def test_influxdb_down_for_a_while(mosquitto, own_influxdb, tmp_path: Path) -> None:
    database = "faults"
    collector = start_named(tmp_path, "dbfault-collector", mosquitto, own_influxdb, database)
    feeder = Feeder("dbfault-host", mosquitto.port, tmp_path / "agent")
    feeder.start()
    try:
        stream(feeder, TOTAL // 2)
        wait_until(lambda: stored(own_influxdb, database, "dbfault-host") > 0, what="the first points",
                   watch=[collector])
        own_influxdb.stop()
        stream(feeder, TOTAL - TOTAL // 2)
        down = f"cannot reach InfluxDB at {own_influxdb.url}: [Errno 111] Connection refused"
        wait_until(lambda: down in collector.log_text(), what="the collector to say InfluxDB is down",
                   watch=[collector])
        wait_until(lambda: len(feeder.buffer) == 0, what="the broker to hold every sample")
        own_influxdb.restart()
        took = expect_all_stored(own_influxdb, database, "dbfault-host", watch=[collector])
        back = f"connected to InfluxDB at {own_influxdb.url} after"
        # The points are queryable before the write's response reaches the collector, which then logs.
        wait_until(lambda: back in collector.log_text(), what="the collector to say InfluxDB is back",
                   watch=[collector])
        assert collector.log_text().count(down) == 1, "said once, then at growing intervals (tests/test_reach.py)"
        print(f"\nfault InfluxDB down: published {TOTAL}, stored {TOTAL}, recovered in {took:.1f} s after restart")
    finally:
        feeder.stop()
        assert collector.stop() == 0


def test_agent_offline_for_a_while(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    collector = start_named(tmp_path, "offline-collector", mosquitto, influxdb, influx_db)
    relay = CuttableRelay(mosquitto.port)
    feeder = Feeder("offline-host", relay.port, tmp_path / "agent")
    feeder.start()
    try:
        stream(feeder, TOTAL // 4)
        relay.cut()
        stream(feeder, TOTAL - TOTAL // 4)
        relay.restore()
        took = expect_all_stored(influxdb, influx_db, "offline-host", watch=[collector])
        print(f"\nfault agent offline: published {TOTAL}, stored {TOTAL}, recovered in {took:.1f} s after reconnection")
    finally:
        feeder.stop()
        relay.close()
        assert collector.stop() == 0


def test_agent_disk_full_mid_stream(mosquitto, influxdb, influx_db, small_disk, tmp_path: Path,
                                   caplog: pytest.LogCaptureFixture) -> None:
    """The agent's disk fills while a backlog waits for the broker: the backlog is still delivered,
    samples taken meanwhile are dropped and counted (`agent_dropped_samples`), and what is taken
    once space returns is delivered; report numbers only grow. Every sample queued is stored once."""
    collector = start_named(tmp_path, "disk-collector", mosquitto, influxdb, influx_db)
    relay = CuttableRelay(mosquitto.port)
    # A sequence file written every 5 reports: it too meets the full disk.
    feeder = Feeder("disk-host", relay.port, small_disk.path / "agent", seq_reserve=5)
    feeder.start()
    try:
        queued = feeder.take(TOTAL // 3)
        wait_until(lambda: len(feeder.buffer) == 0, what="the first samples delivered")
        relay.cut()
        queued += feeder.take(TOTAL // 3)  # the backlog
        small_disk.fill()
        for _ in range(2000):  # SQLite may still reuse room in its journal for a few samples
            if not feeder.take(1):
                break
            queued += 1
        assert feeder.take(49) == 0
        dropped = feeder.taken - queued
        assert dropped == 50 and feeder.buffer.evicted() == dropped
        with caplog.at_level(logging.WARNING, "fleetprint.agent"):
            relay.restore()
            wait_until(lambda: stored(influxdb, influx_db, "disk-host") == queued, timeout_s=60, poll_s=0.2,
                       what="the backlog delivered on a full disk", watch=[collector])
            assert not feeder.forwarder.failed
            small_disk.free()
            freed = time.monotonic()
            queued += feeder.take(TOTAL - feeder.taken)
            assert feeder.taken == queued + dropped
            wait_until(lambda: stored(influxdb, influx_db, "disk-host") == queued, timeout_s=60, poll_s=0.2,
                       what="new samples delivered once space returned", watch=[collector])
            took = time.monotonic() - freed
            wait_until(lambda: len(feeder.buffer) == 0, what="the acknowledged samples deleted")
        rows = influxdb.query("SELECT sum(agent_dropped_samples) AS n FROM fp_host WHERE host = 'disk-host'", influx_db)
        assert rows[0]["n"] == dropped
        seqs = [row["seq"] for row in influxdb.query("SELECT seq FROM fp_host WHERE host = 'disk-host'", influx_db)]
        assert seqs == sorted(seqs) and len(seqs) == queued
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        for path in (feeder.buffer.path, small_disk.path / "agent" / "seq"):
            assert sum(f"cannot write {path} " in e for e in errors) == 1, errors
        print(f"\nfault agent disk full: taken {feeder.taken}, stored {queued}, dropped and counted {dropped}, "
              f"recovered in {took:.1f} s after space returned")
    finally:
        feeder.stop()
        relay.close()
        assert collector.stop() == 0


def test_two_collectors_one_killed(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    group = "pair"
    first = start_named(tmp_path, "pair-a", mosquitto, influxdb, influx_db, group)
    second = start_named(tmp_path, "pair-b", mosquitto, influxdb, influx_db, group)
    feeder = Feeder("pair-host", mosquitto.port, tmp_path / "agent", max_samples_per_report=5)
    feeder.start()
    try:
        stream(feeder, TOTAL // 3)

        def both_busy() -> bool:
            rows = influxdb.query("SELECT max(samples_ok) AS n FROM fp_collector GROUP BY collector", influx_db)
            return {row["collector"] for row in rows if row["n"]} == {"pair-a", "pair-b"}

        wait_until(both_busy, what="both collectors to take a share", watch=[first, second])
        second.kill()
        stream(feeder, TOTAL - TOTAL // 3)
        wait_until(lambda: len(feeder.buffer) == 0, what="the broker to hold every sample")
        second = start_named(tmp_path, "pair-b", mosquitto, influxdb, influx_db, group)
        took = expect_all_stored(influxdb, influx_db, "pair-host", watch=[first, second])
        print(f"\nfault one of two collectors killed: published {TOTAL}, stored {TOTAL}, recovered in {took:.1f} s")
    finally:
        feeder.stop()
        assert first.stop() == 0
        assert second.stop() == 0


@pytest.fixture
def small_influxdb(tmp_path: Path) -> Iterator[InfluxDB]:
    """An InfluxDB taking bodies of at most 16 kB (~35 points; each report here brings 100)."""
    server = InfluxDB(max_body_bytes=16_000)
    server.start(tmp_path / "small-influxdb")
    yield server
    server.stop()


def test_batches_larger_than_the_database_takes(mosquitto, small_influxdb, tmp_path: Path) -> None:
    """InfluxDB refuses bodies over its max-body-size (413): the collector halves them, loses nothing."""
    database = "small"
    collector = start_named(tmp_path, "small-collector", mosquitto, small_influxdb, database)
    feeder = Feeder("small-host", mosquitto.port, tmp_path / "agent")
    feeder.start()
    try:
        stream(feeder, TOTAL)
        expect_all_stored(small_influxdb, database, "small-host", watch=[collector])
        assert "writing it in two halves" in collector.log_text()
        splits = wait_until(lambda: small_influxdb.query("SELECT last(writes_split) AS n FROM fp_collector", database),
                            what="the collector's health point", watch=[collector])
        assert splits[0]["n"] > 0
        assert not small_influxdb.query("SELECT last(points_refused) FROM fp_collector", database)  # never counted
    finally:
        feeder.stop()
        assert collector.stop() == 0


def test_restart_with_a_backlog_larger_than_the_window_loses_nothing(mosquitto, influxdb, influx_db,
                                                                       tmp_path: Path) -> None:
    """The broker delivers a restarted collector's queued reports before the retained inventories:
    reports that wait for their inventory must wait, whatever the backlog."""
    config = collector_config(tmp_path / "window.toml", mosquitto, influxdb, influx_db, "window-collector",
                              collector_extra="receive_maximum = 50")
    hosts = [f"window-host-{n}" for n in range(4)]
    collector = start_collector(config, tmp_path / "window-1.log")
    feeders = [Feeder(host, mosquitto.port, tmp_path / host, max_samples_per_report=1) for host in hosts]
    try:
        for feeder in feeders:
            feeder.start()
            feeder.take(1)
        wait_until(lambda: all(stored(influxdb, influx_db, host) == 1 for host in hosts), watch=[collector],
                   what="each host's first sample")
        assert collector.stop() == 0
        for feeder in feeders:
            feeder.take(CHUNK * 2 - 1)
        wait_until(lambda: all(len(feeder.buffer) == 0 for feeder in feeders), what="the broker to hold every sample")
        collector = start_collector(config, tmp_path / "window-2.log")
        wait_until(lambda: all(stored(influxdb, influx_db, host) == CHUNK * 2 for host in hosts), timeout_s=60,
                   poll_s=0.2, watch=[collector], what="every sample of every host stored")
        assert "no_inventory" not in collector.log_text()
    finally:
        for feeder in feeders:
            feeder.stop()
        collector.stop()


def test_held_reports_are_bounded_in_bytes(own_mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    """Large reports from a host that sends no inventory: held by count alone, 4,000 of 255 KB took a
    collector past 2 GB. Now the held bytes are bounded; the host loses its own oldest reports.

    The bounds are small, so that a few hundred reports prove it: 2 MiB held, and 1 MiB waiting in
    the session process (its default, 64 MiB, would alone be most of what is sent). A broker of its
    own: no inventory retained by another test reaches the collector, whose first host model would
    import boaviztapi's device models (~90 MB) while the growth is measured."""
    held_mib = 2
    config = collector_config(tmp_path / "held.toml", own_mosquitto, influxdb, influx_db, "held-bytes-collector",
                              collector_extra=f"inventory_wait_s = 600\nmax_held_bytes = {held_mib * 2**20}\n"
                                              f"max_queued_bytes = {2**20}")
    collector = start_collector(config, tmp_path / "held.log")
    publisher = connected_client(own_mosquitto.port, "test-held-publisher")
    host, count = "no-inventory-host", 300
    sample = {"interval_s": 1, "cpu_util_pct": 10.0, "mem_used_bytes": 1, "net_rx_bytes": 1}
    processes = [psutil.Process(collector.process.pid), session_process(collector)]
    try:
        rss_before = sum(p.memory_info().rss for p in processes)
        size = 0
        for seq in range(1, count + 1):
            payload = json.dumps({"schema": "fleetprint.report/1", "host_id": host, "seq": seq, "samples": [
                {**sample, "ts": f"2026-11-02T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"}
                for n in range(seq, seq + 2300)]}).encode()
            size = len(payload)
            publisher.publish(Topics().report(host), payload, qos=1).wait_for_publish(10)
        most_held = held_mib * 2**20 // size
        counts = wait_until(lambda: (r := influxdb.query(
            "SELECT last(reports_held) AS held, last(rejected_no_inventory) AS rejected FROM fp_collector",
            influx_db)) and r[0]["held"] == count and r[0], timeout_s=60, what="every report taken",
            watch=[collector])
        rss_growth = sum(p.memory_info().rss for p in processes) - rss_before
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        assert collector.stop() == 0
    assert size > 200_000
    assert counts["rejected"] >= count - most_held
    print(f"\nheld {count} reports of {size:,} B ({count * size / 2**20:.0f} MiB) with max_held_bytes = {held_mib} "
          f"MiB: the collector's processes grew by {rss_growth / 2**20:.0f} MiB")
    assert rss_growth < count * size / 2, "the collector kept more than half of what it was sent"
