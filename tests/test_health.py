"""`fleetprint agent|collector health`: the real programs beat, the check reads the beats' age
(set by the test's clock or `--max-age`, never waited out), a broker or database outage is said but
is no reason to fail, and a stopped or killed program fails."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from fleetprint.health import HealthFile, Link, check

from processes import Program, agent_config, collector_config, start_collector, wait_until
from services import free_port

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def health(program: str, config: Path, *options: str) -> tuple[int, str]:
    """`fleetprint <program> health -c CONFIG ...`: exit code and its one line."""
    result = subprocess.run([sys.executable, "-m", "fleetprint", program, "health", "-c", str(config), *options],
                            capture_output=True, text=True, timeout=30)
    assert len(result.stdout.splitlines()) == 1 and not result.stderr, result.stdout + result.stderr
    return result.returncode, result.stdout.strip()


def test_the_check_judges_the_last_beat_by_its_age_and_reports_the_links(tmp_path: Path) -> None:
    path, clock = tmp_path / "health.json", [T0]
    file = HealthFile(path, "agent", "node-7", "sample", 30, 90, clock=lambda: clock[0])
    assert check(path, "agent") == (False, f"unhealthy: no health file {path}: the agent is not running "
                                           "(or runs with another config)")
    broker = Link("mqtt.example.org:8883", since=T0 - 600).failed("[Errno 111] Connection refused").failed("timed out")
    file.beat([("broker", broker)], "20 samples queued on disk")
    down = ("broker mqtt.example.org:8883 unreachable since 2027-01-15T07:50:00Z (2 failed attempts, last: "
            "timed out); 20 samples queued on disk")
    assert check(path, "agent", now=T0 + 89) == (True, f"healthy: agent node-7: last sample 89 s ago (every 30 s); "
                                                       f"{down}")
    assert check(path, "agent", now=T0 + 95) == (False, "unhealthy: agent node-7: no sample for 95 s (every 30 s, "
                                                        f"stale after 90 s); {down}")
    assert check(path, "agent", max_age_s=100, now=T0 + 95)[0]
    assert check(path, "agent", ready=True, now=T0 + 1) == (False, f"not ready: agent node-7: broker down; {down}")
    file.beat([("broker", broker.restored())])
    assert check(path, "agent", ready=True, now=T0 + 1)[0]
    clock[0] = T0 + 5
    file.stopped()
    assert check(path, "agent", now=T0 + 6) == (False, "unhealthy: agent node-7 stopped at 2027-01-15T08:00:05Z")
    assert json.loads(path.read_text())["pid"] and path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["health.json"], "no temporary file left behind"


def test_an_agent_is_healthy_while_it_samples_and_unhealthy_once_killed(mosquitto, tmp_path: Path) -> None:
    config = agent_config(tmp_path / "agent.toml", mosquitto, "healthy-host", tmp_path / "state")
    agent = Program(["agent", "run", "-c", str(config)], tmp_path / "agent.log")
    try:
        code, line = wait_until(lambda: (lambda r: " up since" in r[1] and r)(health("agent", config)),
                                what="a sample taken while connected", watch=[agent])
        assert code == 0 and line.startswith("healthy: agent healthy-host: last sample ")
        assert f"broker 127.0.0.1:{mosquitto.port} up since" in line
        assert health("agent", config, "--ready")[0] == 0
    finally:
        agent.kill()
    code, line = wait_until(lambda: (lambda r: r[0] == 1 and r)(health("agent", config, "--max-age", "0.5")),
                            timeout_s=10, what="the killed agent's beat to age")
    assert line.startswith("unhealthy: agent healthy-host: no sample for ") and "(every 1 s, stale after 0.5 s)" in line
    assert health("agent", config, "--max-age", "3600")[0] == 0, "its file says no more than its age"


def test_an_agent_without_its_broker_stays_healthy_and_says_so(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    closed = SimpleNamespace(host="127.0.0.1", port=port)
    config = agent_config(tmp_path / "agent.toml", closed, "queueing-host", tmp_path / "state")
    agent = Program(["agent", "run", "-c", str(config)], tmp_path / "agent.log")
    try:
        code, line = wait_until(lambda: (lambda r: "3 samples queued" in r[1] and r)(health("agent", config)),
                                what="three samples queued, each a beat", watch=[agent])
        assert code == 0 and f"broker 127.0.0.1:{port} unreachable since " in line
        assert "[Errno 111] Connection refused)" in line
        code, line = health("agent", config, "--ready")
        assert code == 1 and line.startswith("not ready: agent queueing-host: broker down; ")
    finally:
        assert agent.stop() == 0
    code, line = health("agent", config)
    assert code == 1 and line.startswith("unhealthy: agent queueing-host stopped at ")


def test_a_collector_is_healthy_while_it_loops_and_unhealthy_once_killed(mosquitto, influxdb, influx_db,
                                                                         tmp_path: Path) -> None:
    config = collector_config(tmp_path / "collector.toml", mosquitto, influxdb, influx_db, "healthy-collector")
    collector = start_collector(config, tmp_path / "collector.log")
    try:
        code, line = wait_until(lambda: (lambda r: r[0] == 0 and r)(health("collector", config, "--ready")),
                                what="a ready collector", watch=[collector])
        assert line.startswith("healthy: collector healthy-collector: last main-loop pass ")
        assert f"broker 127.0.0.1:{mosquitto.port} up since" in line and f"InfluxDB {influxdb.url} up since" in line
    finally:
        collector.kill()
    code, line = wait_until(lambda: (lambda r: r[0] == 1 and r)(health("collector", config, "--max-age", "0.5")),
                            timeout_s=10, what="the killed collector's beat to age")
    assert line.startswith("unhealthy: collector healthy-collector: no main-loop pass for ")


def test_a_collector_retrying_its_database_stays_healthy_and_says_so(own_influxdb, influx_db, tmp_path: Path) -> None:
    closed = SimpleNamespace(host="127.0.0.1", port=free_port())
    config = collector_config(tmp_path / "collector.toml", closed, own_influxdb, "fleetprint", "lonely-collector")
    collector = Program(["collector", "run", "-c", str(config)], tmp_path / "collector.log")
    try:
        wait_until(lambda: health("collector", config)[0] == 0, what="a healthy collector", watch=[collector])
        own_influxdb.stop()
        # The health point it writes every second now fails: the loop retries, and beats meanwhile.
        code, line = wait_until(lambda: (lambda r: "InfluxDB" in r[1] and "unreachable" in r[1] and r)(
            health("collector", config, "--max-age", "5")), what="the database outage in the health line",
            watch=[collector])
        assert code == 0 and f"broker 127.0.0.1:{closed.port} unreachable since" in line
        # The file counts the failed writes: a beat that saw three came from between the retries
        # (the loop's own pass beats before its first write). The broker's link, first in the line,
        # counts its own attempts.
        influxdb_attempts = r"InfluxDB \S+ unreachable since \S+ \((\d+) failed attempts?, last: "

        def three_failed_writes(result: tuple[int, str]) -> tuple[int, str] | None:
            found = re.search(influxdb_attempts, result[1])
            return result if found and int(found.group(1)) >= 3 else None

        code, line = wait_until(lambda: three_failed_writes(health("collector", config, "--max-age", "3")),
                                what="a beat between retries", watch=[collector])
        assert code == 0 and re.search(influxdb_attempts + r"\[Errno 111\] Connection refused", line), line
        assert health("collector", config, "--ready")[0] == 1
    finally:
        assert collector.stop() == 0
    assert health("collector", config)[1].startswith("unhealthy: collector lonely-collector stopped at ")


def test_a_health_file_that_cannot_be_written_is_said_once_and_costs_nothing_else(tmp_path: Path, caplog) -> None:
    file = HealthFile(tmp_path / "missing-dir" / "health.json", "collector", "c1", "main-loop pass", 10, 70)
    with caplog.at_level(logging.ERROR, logger="fleetprint.health"):
        for _ in range(3):
            file.beat([("broker", Link("mqtt:8883"))])
    assert [record.getMessage().split(" (")[0] for record in caplog.records] == [
        f"cannot write the health file {tmp_path / 'missing-dir' / 'health.json'}"]
