"""An unreachable broker or database is said at once, with its address and the reason, then at
growing intervals, and its return is said too: by the agent and the collector as processes,
against a port where nothing listens (InfluxDB going down under a running collector:
tests/test_faults.py)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from types import SimpleNamespace

from fleetprint.reach import FIRST_REMINDER_S, MAX_REMINDER_S, ReachLog

from processes import Program, agent_config, collector_config, wait_until
from services import free_port


def test_failures_are_said_at_once_then_at_growing_intervals_and_the_return_once(caplog) -> None:
    now = [0.0]
    reach = ReachLog(logging.getLogger("test.reach"), "broker.example:8883", "samples wait on disk",
                     clock=lambda: now[0])
    logged_at = []
    with caplog.at_level(logging.INFO, logger="test.reach"):
        for second in range(0, 4 * 3600, 5):  # an attempt every 5 s for 4 hours
            now[0] = float(second)
            before = len(caplog.records)
            reach.failed("[Errno 111] Connection refused")
            if len(caplog.records) > before:
                logged_at.append(second)
        now[0] = 4 * 3600.0
        reach.connected()
    assert logged_at[:6] == [0, 60, 120, 240, 480, 960]
    gaps = [b - a for a, b in zip(logged_at, logged_at[1:])]
    assert max(gaps) <= MAX_REMINDER_S + 5 and gaps[-1] >= MAX_REMINDER_S, "at most hourly, and hourly at last"
    assert gaps[0] == FIRST_REMINDER_S
    first, last = caplog.records[0].getMessage(), caplog.records[-1].getMessage()
    assert first == ("cannot reach the broker at broker.example:8883: [Errno 111] Connection refused; "
                     "samples wait on disk, retrying")
    assert last == "connected to the broker at broker.example:8883 after 14400 s and 2880 failed attempts"


def test_a_write_path_says_only_its_failures_and_its_return(caplog) -> None:
    now = [0.0]
    reach = ReachLog(logging.getLogger("test.reach"), "http://db:8086", "reports wait", peer="InfluxDB",
                     clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="test.reach"):
        assert not reach.recovered() and not caplog.records, "a write that succeeds all day says nothing"
        reach.failed("[Errno 111] Connection refused")
        now[0] = 30.0
        reach.failed("[Errno 111] Connection refused")
        now[0] = 42.0
        assert reach.recovered() and not reach.recovered()
    assert [record.getMessage() for record in caplog.records] == [
        "cannot reach InfluxDB at http://db:8086: [Errno 111] Connection refused; reports wait, retrying",
        "connected to InfluxDB at http://db:8086 after 42 s and 2 failed attempts"]


def test_the_reason_paho_does_not_pass_is_read_from_the_exception_being_handled(caplog) -> None:
    reach = ReachLog(logging.getLogger("test.reach"), "127.0.0.1:1", "nothing lost")
    client = SimpleNamespace()
    reach.attach(client)
    with caplog.at_level(logging.WARNING, logger="test.reach"):
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError:
            client.on_connect_fail(client, None)  # as paho calls it
    assert "127.0.0.1:1: [Errno 111] Connection refused; nothing lost" in caplog.text


def test_an_agent_whose_broker_is_down_says_so_at_once(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    closed = SimpleNamespace(host="127.0.0.1", port=port)
    agent = Program(["agent", "run", "-c", str(agent_config(tmp_path / "agent.toml", closed, "unreached-host",
                                                            tmp_path / "state"))], tmp_path / "agent.log")
    try:
        wait_until(lambda: f"cannot reach the broker at 127.0.0.1:{port}: [Errno 111] Connection refused"
                   in agent.log_text(), timeout_s=20, what="the agent to say its broker is unreachable", watch=[agent])
    finally:
        assert agent.stop() == 0
    line = next(line for line in agent.log_text().splitlines() if "cannot reach the broker" in line)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARNING fleetprint\.agent\.publisher: ", line), \
        "log times in ISO 8601 UTC"


def test_a_collector_whose_broker_is_down_says_so_at_once(influxdb, influx_db, tmp_path: Path) -> None:
    port = free_port()
    closed = SimpleNamespace(host="127.0.0.1", port=port)
    config = collector_config(tmp_path / "collector.toml", closed, influxdb, influx_db, "unreached-collector")
    collector = Program(["collector", "run", "-c", str(config)], tmp_path / "collector.log")
    try:
        wait_until(lambda: f"cannot reach the broker at 127.0.0.1:{port}: [Errno 111] Connection refused"
                   in collector.log_text(), timeout_s=20, what="the collector to say its broker is unreachable",
                   watch=[collector])
    finally:
        assert collector.stop() == 0
