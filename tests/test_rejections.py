"""Bad input through the real broker: each message rejected with its reason, valid traffic lands."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fleetprint.mqtt import Topics
from fleetprint.schema import Cpu, Inventory, Report, Sample, encode

from processes import Program, collector_config, connected_client, start_collector, wait_until

GOOD = "good-host"
topics = Topics()
START = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)


def report_json(host_id: str, seq: int, **sample_fields) -> dict:
    """A report as agents of earlier releases sent it (schema 1), which the collector still reads."""
    sample = {"ts": (START + timedelta(seconds=30 * seq)).isoformat(), "interval_s": 30, "cpu_util_pct": 25.0}
    sample.update(sample_fields)
    return {"schema": "fleetprint.report/1", "host_id": host_id, "seq": seq, "samples": [sample]}


def valid_report(seq: int, host: str = GOOD) -> bytes:
    return encode(Report(host_id=host, seq=seq, samples=[
        Sample(ts=START + timedelta(seconds=30 * seq), interval_s=30, cpu_util_pct=25.0)]))


def inventory_of(host: str, site: str | None = None) -> bytes:
    return encode(Inventory(host_id=host, taken_at=START, kind="server", ram_gb=32, site=site,
                            cpu=Cpu(model="Intel Xeon Gold 6130", sockets=1, cores=16, threads=32)))


BAD_MESSAGES: list[tuple[str, str, bytes]] = [
    ("malformed", topics.report(GOOD), b'{"schema": "fleetprint.report/1", "host_id": '),
    ("malformed", topics.report(GOOD), b"\xff\xfe not json"),
    ("wrong_schema", topics.report(GOOD), json.dumps({**report_json(GOOD, 900), "schema": "fleetprint.report/3"}).encode()),
    ("wrong_schema", topics.report(GOOD), json.dumps({k: v for k, v in report_json(GOOD, 901).items() if k != "schema"}).encode()),
    ("invalid", topics.report(GOOD), json.dumps(report_json(GOOD, 902, cpu_util_pct="high")).encode()),
    ("invalid", topics.report(GOOD), json.dumps({**report_json(GOOD, 903), "seq": "7"}).encode()),
    ("host_mismatch", topics.report(GOOD), json.dumps(report_json("other-host", 904)).encode()),
    ("oversize", topics.report(GOOD), b'{"pad": "' + b"x" * (300 * 1024) + b'"}'),
    ("malformed", topics.report(GOOD), json.dumps(report_json(GOOD, 905)).replace('25.0', 'NaN').encode()),
    ("invalid", topics.report(GOOD), json.dumps(report_json(GOOD, 906)).replace("25.0", "1e999").encode()),
    ("malformed", topics.report(GOOD), json.dumps(report_json(GOOD, 906)).replace("25.0", "Infinity").encode()),
    ("invalid", topics.report(GOOD), json.dumps(report_json(GOOD, 907, net_rx_bytes=-5)).encode()),
    ("invalid", topics.report(GOOD), json.dumps(report_json(GOOD, 908, cpu_util_pct=-1.0)).encode()),
    ("invalid", topics.report(GOOD), json.dumps(report_json(GOOD, 909, ts="2026-11-02T08:00:00")).encode()),
    ("invalid", topics.report(GOOD), json.dumps({**report_json(GOOD, 910), "extra": 1}).encode()),
    ("no_inventory", topics.report("stranger"), json.dumps(report_json("stranger", 1)).encode()),
    # Patterns match whole texts: "FRA\n" is no zone (it once passed as one, up to its newline).
    ("invalid", topics.inventory(GOOD), json.dumps({**json.loads(encode(Inventory(
        host_id=GOOD, taken_at=START, kind="server", ram_gb=64, cpu=Cpu(model="Intel Xeon Gold 6130")))),
        "zone": "FRA\n"}).encode()),
]


def test_bad_messages_are_counted_by_reason_and_valid_ones_land(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    collector = start_collector(collector_config(
        tmp_path / "collector.toml", mosquitto, influxdb, influx_db, "reject-collector",
        collector_extra="inventory_wait_s = 0.5"), tmp_path / "collector.log")
    publisher = connected_client(mosquitto.port, "test-hostile-publisher")
    try:
        inventory = Inventory(host_id=GOOD, taken_at=START, kind="server", ram_gb=64,
                              cpu=Cpu(model="Intel Xeon Gold 6130", sockets=1, cores=16, threads=32))
        publisher.publish(topics.inventory(GOOD), encode(inventory), qos=1, retain=True).wait_for_publish(5)
        sent_valid = 0
        for reason, topic, payload in BAD_MESSAGES:  # each bad message followed by a valid one
            publisher.publish(topic, payload, qos=1).wait_for_publish(5)
            sent_valid += 1
            publisher.publish(topics.report(GOOD), valid_report(sent_valid), qos=1).wait_for_publish(5)

        expected: dict[str, int] = {}
        for reason, _, _ in BAD_MESSAGES:
            expected[f"rejected_{reason}"] = expected.get(f"rejected_{reason}", 0) + 1
        fields = ", ".join(f"last({name}) AS {name}" for name in [*expected, "rejected_total", "reports_ok"])

        def health() -> dict | None:
            rows = influxdb.query(f"SELECT {fields} FROM fp_collector", influx_db)
            done = rows and rows[0].get("reports_ok") == sent_valid and rows[0].get("rejected_total") == len(BAD_MESSAGES)
            return rows[0] if done else None

        counts = wait_until(health, timeout_s=20, what="the collector's health point to count every message")
        stored = influxdb.query(f"SELECT seq, power_w FROM fp_host WHERE host = '{GOOD}'", influx_db)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        exit_code = collector.stop()

    assert exit_code == 0
    assert {name: counts[name] for name in expected} == expected
    assert counts["rejected_total"] == len(BAD_MESSAGES)
    assert sorted(row["seq"] for row in stored) == list(range(1, sent_valid + 1))
    assert all(row["power_w"] > 0 for row in stored)
    log = collector.log_text()
    for reason in {reason for reason, _, _ in BAD_MESSAGES}:
        assert f": {reason}: " in log, f"no log line names the reason {reason}"


def test_report_before_its_inventory_is_held_then_stored(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    """As after a collector restart: queued reports arrive before the retained inventories."""
    collector = start_collector(collector_config(
        tmp_path / "collector.toml", mosquitto, influxdb, influx_db, "held-collector"), tmp_path / "collector.log")
    publisher = connected_client(mosquitto.port, "test-early-publisher")
    host = "late-inventory-host"
    try:
        for seq in (1, 2, 3):
            publisher.publish(topics.report(host), json.dumps(report_json(host, seq)).encode(), qos=1).wait_for_publish(5)
        wait_until(lambda: influxdb.query("SELECT last(reports_held) AS n FROM fp_collector", influx_db),
                   what="the reports to be held", watch=[collector])
        publisher.publish(topics.inventory(host), inventory_of(host), qos=1, retain=True).wait_for_publish(5)
        rows = wait_until(lambda: len(r := influxdb.query(f"SELECT seq FROM fp_host WHERE host = '{host}'",
                                                          influx_db)) == 3 and r, what="the held reports stored")
    finally:
        publisher.publish(topics.inventory(host), b"", qos=1, retain=True).wait_for_publish(5)
        publisher.disconnect()
        publisher.loop_stop()
        assert collector.stop() == 0
    assert sorted(row["seq"] for row in rows) == [1, 2, 3]
    assert "no_inventory" not in collector.log_text()


def hostile_payloads(count: int, seed: int = 20261128) -> list[tuple[str, bytes]]:
    """(kind, payload) of many sorts of bad reports for GOOD's topic, reproducibly random."""
    rng = random.Random(seed)
    valid = report_json(GOOD, 1)
    # Each is wrong for every field of a report or a sample (an empty object would be a valid `services`).
    garbage = [None, True, -1, 2**70, -1e308, "", "x" * 300, [], [1, 2], {"a": {"b": []}}, "∞", "2026-13-45T99:99"]
    makers = {
        "bytes": lambda: rng.randbytes(rng.randint(0, 2000)),
        "truncated": lambda: json.dumps(valid).encode()[: rng.randint(0, len(json.dumps(valid)) - 1)],
        "field": lambda: json.dumps({**valid, rng.choice(list(valid) + ["x"]): rng.choice(garbage)}).encode(),
        "sample_field": lambda: json.dumps({**valid, "samples": [{**valid["samples"][0], rng.choice(
            ["ts", "interval_s", "cpu_util_pct", "net_rx_bytes", "power_w", "services", "zz"]): rng.choice(garbage)}]}).encode(),
        "non_finite": lambda: json.dumps(valid).replace("25.0", rng.choice(["NaN", "Infinity", "-Infinity", "1e999"])).encode(),
        "nested": lambda: b"[" * rng.randint(1000, 50_000),
        "host_mismatch": lambda: json.dumps(report_json(f"intruder-{rng.randint(0, 9)}", 1)).encode(),
        "oversize": lambda: b'{"samples": "' + b"z" * (300 * 1024) + b'"}',
    }
    kinds = [k for k in makers if k != "oversize"]
    out = [("oversize", makers["oversize"]()) for _ in range(5)]
    out += [(kind, makers[kind]()) for kind in (rng.choice(kinds) for _ in range(count - len(out)))]
    rng.shuffle(out)
    return out


def test_thousands_of_hostile_messages_never_stop_valid_traffic(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    hostile = hostile_payloads(3000)
    collector = start_collector(collector_config(
        tmp_path / "collector.toml", mosquitto, influxdb, influx_db, "hostile-collector"), tmp_path / "collector.log")
    publisher = connected_client(mosquitto.port, "test-hostile-flood")
    try:
        inventory = Inventory(host_id=GOOD, taken_at=START, kind="server", ram_gb=64,
                              cpu=Cpu(model="Intel Xeon Gold 6130", sockets=1, cores=16, threads=32))
        publisher.publish(topics.inventory(GOOD), encode(inventory), qos=1, retain=True).wait_for_publish(5)
        valid = 0
        for index, (_, payload) in enumerate(hostile):
            publisher.publish(topics.report(GOOD), payload, qos=1).wait_for_publish(5)
            if index % 10 == 0:
                valid += 1
                publisher.publish(topics.report(GOOD), valid_report(valid), qos=1).wait_for_publish(5)

        def health() -> dict | None:
            rows = influxdb.query("SELECT last(rejected_total) AS rejected, last(reports_ok) AS ok, "
                                  "last(rejected_oversize) AS oversize, last(rejected_host_mismatch) AS mismatch, "
                                  "last(rejected_internal_error) AS internal FROM fp_collector", influx_db)
            return rows[0] if rows and rows[0]["rejected"] == len(hostile) and rows[0]["ok"] == valid else None

        counts = wait_until(health, timeout_s=60, what="every hostile message counted", watch=[collector])
        stored = influxdb.query(f"SELECT seq FROM fp_host WHERE host = '{GOOD}'", influx_db)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        assert collector.stop() == 0
    assert counts["oversize"] == sum(kind == "oversize" for kind, _ in hostile)
    assert counts["mismatch"] == sum(kind == "host_mismatch" for kind, _ in hostile)
    assert counts["internal"] is None, "no hostile message reached a code path that failed"
    assert sorted(row["seq"] for row in stored) == list(range(1, valid + 1)), "valid traffic landed whole"


def test_a_report_delivered_twice_is_stored_once(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    collector = start_collector(collector_config(
        tmp_path / "collector.toml", mosquitto, influxdb, influx_db, "dup-collector"), tmp_path / "collector.log")
    publisher = connected_client(mosquitto.port, "test-dup-publisher")
    host = "dup-host"
    try:
        publisher.publish(topics.inventory(host), inventory_of(host), qos=1, retain=True).wait_for_publish(5)
        report = json.dumps(report_json(host, 1)).encode()
        for _ in range(3):
            publisher.publish(topics.report(host), report, qos=1).wait_for_publish(5)
        wait_until(lambda: (r := influxdb.query("SELECT last(reports_ok) AS n FROM fp_collector", influx_db))
                   and r[0]["n"] == 3, what="three deliveries processed", watch=[collector])
        rows = influxdb.query(f"SELECT * FROM fp_host WHERE host = '{host}'", influx_db)
    finally:
        publisher.publish(topics.inventory(host), b"", qos=1, retain=True).wait_for_publish(5)
        publisher.disconnect()
        publisher.loop_stop()
        assert collector.stop() == 0
    assert len(rows) == 1 and rows[0]["seq"] == 1


@contextmanager
def collector_and_hosts(mosquitto, influxdb, database: str, tmp_path: Path, name: str, sites: dict[str, str | None],
                        collector_extra: str = "") -> Iterator[tuple[Program, object]]:
    """A running collector, and a publisher that has published each host's inventory (retained, with
    its site); the inventories are cleared and the collector stopped (exit 0) afterwards."""
    collector = start_collector(collector_config(tmp_path / f"{name}.toml", mosquitto, influxdb, database, name,
                                                 collector_extra=collector_extra), tmp_path / f"{name}.log")
    publisher = connected_client(mosquitto.port, f"test-{name}-publisher")
    try:
        for host, site in sites.items():
            publisher.publish(topics.inventory(host), inventory_of(host, site), qos=1, retain=True).wait_for_publish(5)
        yield collector, publisher
    finally:
        for host in sites:
            publisher.publish(topics.inventory(host), b"", qos=1, retain=True).wait_for_publish(5)
        publisher.disconnect()
        publisher.loop_stop()
        assert collector.stop() == 0


def publish_all(publisher, messages: list[tuple[str, bytes]]) -> None:
    """Publish without waiting for each acknowledgement (so that they arrive together), then wait for all."""
    for info in [publisher.publish(topic, payload, qos=1) for topic, payload in messages]:
        info.wait_for_publish(5)


def test_a_hostile_label_costs_no_other_host_its_data(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    """A site and a service named `x\\ y\\="` once broke the line protocol of every point in their write."""
    hostile_label = 'x\\ y\\="'
    sites = {f"label-host-{n:02d}": "paris" for n in range(20)} | {"label-hostile": hostile_label}
    with collector_and_hosts(mosquitto, influxdb, influx_db, tmp_path, "label-collector", sites) as (
            collector, publisher):
        publish_all(publisher, [  # interleaved, so that each write holds every host's points
            (topics.report(host), json.dumps(report_json(
                host, seq, services={hostile_label: 0.1} if host == "label-hostile" else {})).encode())
            for seq in range(1, 11) for host in sites])
        expected = len(sites) * 10

        def stored() -> list[dict] | None:
            rows = influxdb.query("SELECT count(power_w) AS n FROM fp_host GROUP BY host, site", influx_db)
            return rows if sum(row["n"] for row in rows) == expected else None

        rows = wait_until(stored, timeout_s=30, what=f"{expected} host points", watch=[collector])
        services = influxdb.query("SELECT count(power_w) AS n FROM fp_service WHERE host = 'label-hostile' "
                                  "GROUP BY service, site", influx_db)
    assert {(row["host"], row["site"], row["n"]) for row in rows} == {
        (host, 'x y="' if host == "label-hostile" else "paris", 10) for host in sites}
    assert ('x y="', 'x y="') in {(row["service"], row["site"]) for row in services}


def test_a_replayed_report_is_refused_and_counted(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    """An older `seq` for a sample time already stored under a later one must not overwrite it."""
    host = "replay-host"
    with collector_and_hosts(mosquitto, influxdb, influx_db, tmp_path, "replay-collector", {host: None}) as (
            collector, publisher):
        first = report_json(host, 2)
        replay = {**report_json(host, 1), "samples": [{**first["samples"][0], "cpu_util_pct": 90.0}]}
        for body in (first, replay):
            publisher.publish(topics.report(host), json.dumps(body).encode(), qos=1).wait_for_publish(5)
        counted = wait_until(lambda: (r := influxdb.query(
            "SELECT last(samples_refused_replayed) AS n FROM fp_collector", influx_db)) and r[0]["n"],
            what="the replay counted", watch=[collector])
        rows = influxdb.query(f"SELECT seq, cpu_util_pct FROM fp_host WHERE host = '{host}'", influx_db)
    assert counted == 1
    assert [(row["seq"], row["cpu_util_pct"]) for row in rows] == [(2, 25.0)]


def test_a_host_naming_too_many_services_is_bounded(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    """Each service is a series: one host inventing names must not reach the database's series limit."""
    host = "inventive-host"
    with collector_and_hosts(mosquitto, influxdb, influx_db, tmp_path, "service-limit-collector", {host: None},
                             collector_extra="max_services_per_host = 10") as (collector, publisher):
        publish_all(publisher, [(topics.report(host), json.dumps(report_json(
            host, seq, services={f"svc-{seq}-{n:03d}": 0.002 for n in range(100)})).encode()) for seq in range(1, 4)])
        counted = wait_until(lambda: (r := influxdb.query(
            "SELECT last(reports_ok) AS ok, last(services_over_limit) AS over FROM fp_collector", influx_db))
            and r[0]["ok"] == 3 and r[0], what="three reports stored", watch=[collector])
        per_service = influxdb.query(f"SELECT sum(energy_wh) AS e FROM fp_service WHERE host = '{host}' "
                                     "GROUP BY service", influx_db)
        host_energy = influxdb.query(f"SELECT sum(energy_wh) AS e FROM fp_host WHERE host = '{host}'", influx_db)
    assert counted["over"] == 290  # 90 of the first report's 100 names, then every new name
    assert {row["service"] for row in per_service} == {f"svc-1-{n:03d}" for n in range(10)} | {"unallocated"}
    assert sum(row["e"] for row in per_service) == pytest.approx(host_energy[0]["e"], rel=1e-9)


def test_a_flooding_host_is_rate_limited_and_others_are_not(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    flood, quiet = "flooding-host", "quiet-host"
    limits = "max_services_per_host = 1\nmax_points_per_host_per_s = 0.001\nmax_points_per_host_burst = 6000"
    with collector_and_hosts(mosquitto, influxdb, influx_db, tmp_path, "rate-collector", {flood: None, quiet: None},
                             collector_extra=limits) as (collector, publisher):
        messages = []
        for seq in range(1, 101):  # 100 samples a report: the burst pays for 60 reports
            body = report_json(flood, seq)
            body["samples"] = [{**body["samples"][0], "ts": (START + timedelta(seconds=100 * seq + n)).isoformat(),
                                "interval_s": 1} for n in range(100)]
            messages.append((topics.report(flood), json.dumps(body).encode()))
            if seq % 5 == 0:
                messages.append((topics.report(quiet), valid_report(seq // 5, quiet)))
        publish_all(publisher, messages)
        counts = wait_until(lambda: (r := influxdb.query(
            "SELECT last(rejected_rate_limited) AS limited, last(reports_ok) AS ok FROM fp_collector", influx_db))
            and r[0]["ok"] == 80 and r[0], what="every report processed", watch=[collector])
        # The health point can count the last reports before their points' batch is written: wait for those.
        expected = {flood: 60 * 100, quiet: 20}
        stored = wait_until(lambda: (found := {row["host"]: row["n"] for row in influxdb.query(
            "SELECT count(power_w) AS n FROM fp_host GROUP BY host", influx_db)}) == expected and found,
            what=f"the points stored: {expected}", watch=[collector])
    assert counts["limited"] == 40
    assert stored == {flood: 60 * 100, quiet: 20}
    assert ": rate_limited: " in collector.log_text()


def test_samples_dated_far_from_now_are_refused_and_the_rollups_go_on(mosquitto, influxdb, influx_db,
                                                                      tmp_path: Path) -> None:
    """A sample dated 1600 once froze every rollup (its period's InfluxQL overflowed at every run)."""
    host = "clock-host"
    now = datetime.now(timezone.utc)
    hour_ago = now.replace(minute=0, second=0, microsecond=0) - timedelta(minutes=30)
    samples = [{"ts": ts.isoformat(), "interval_s": 30, "cpu_util_pct": 25.0} for ts in (
        datetime(1600, 1, 1, tzinfo=timezone.utc), hour_ago, now + timedelta(days=400))]
    extra = "max_sample_age_days = 1\n[rollups]\ninterval_s = 1\nlag_s = 0"
    with collector_and_hosts(mosquitto, influxdb, influx_db, tmp_path, "clock-collector", {host: None},
                             collector_extra=extra) as (collector, publisher):
        publisher.publish(topics.report(host), json.dumps({"schema": "fleetprint.report/1", "host_id": host, "seq": 1,
                                                           "samples": samples}).encode(), qos=1).wait_for_publish(5)
        rolled = wait_until(lambda: influxdb.query("SELECT samples FROM fp_service_1h", influx_db),
                            what="the last hour rolled up", watch=[collector])
        # The rollup may run before the next health point carries the refusals: wait for them.
        counts = wait_until(lambda: (rows := influxdb.query(
            "SELECT last(samples_refused_too_old) AS old, last(samples_refused_in_future) AS future, "
            "last(rollup_points_written) AS rolled, last(rollup_failures) AS failures FROM fp_collector", influx_db))
            and rows[0]["old"] is not None and rows[0]["future"] is not None and rows,
            what="the refusals counted", watch=[collector])[0]
        stored = influxdb.query(f"SELECT cpu_util_pct FROM fp_host WHERE host = '{host}'", influx_db)
    assert [row["time"] for row in stored] == [int(hour_ago.timestamp() * 1000)]
    assert rolled[0]["samples"] == 1
    assert (counts["old"], counts["future"], counts["failures"]) == (1, 1, None)
