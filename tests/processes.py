"""Running the real `fleetprint` programs as processes in tests, and waiting on conditions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence, TypeVar

from fleetprint.mqtt import MqttSettings, make_client

from services import InfluxDB, Mosquitto

T = TypeVar("T")
TEST_DATA_SINCE = datetime(2026, 1, 1, tzinfo=timezone.utc)


def wait_until(probe: Callable[[], T], timeout_s: float = 30.0, what: str = "condition", poll_s: float = 0.1,
               watch: Sequence[Program] = ()) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout_s`, or as soon
    as one of the `watch`ed programs exits."""
    deadline = time.monotonic() + timeout_s
    while True:
        for program in watch:
            program.assert_running()
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what} (last: {value!r})")
        time.sleep(poll_s)


class Program:
    """A `python -m fleetprint ...` process with its output in a log file."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fleetprint", *args], stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def assert_running(self) -> None:
        """Fail at once, with the program's output, if it has exited."""
        if self.process.poll() is not None:
            raise AssertionError(f"{self.log_path.name} exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM and wait; returns the exit code (kills and fails if it does not stop)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"{self.log_path.name} did not stop on SIGTERM:\n{self.log_text()[-3000:]}")
        self._log.close()
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


def start_collector(config: Path, log_path: Path) -> Program:
    """A `fleetprint collector run` process, returned once it has subscribed to reports."""
    program = Program(["collector", "run", "-c", str(config)], log_path)
    try:
        wait_until(lambda: "subscribed to reports" in program.log_text(), watch=[program],
                   what=f"{log_path.stem} to subscribe")
    except AssertionError:
        program.kill()
        raise
    return program


def retained_payload(mosquitto: Mosquitto, topic: str, client_id: str = "test-retained-reader") -> bytes:
    """The message retained on `topic`, read by a fresh subscriber (fails if there is none)."""
    received: list[bytes] = []
    done = threading.Event()
    client = make_client(MqttSettings(host=mosquitto.host, port=mosquitto.port), client_id)

    def on_message(client, userdata, message) -> None:
        received.append(message.payload)
        done.set()

    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.connect(mosquitto.host, mosquitto.port)
    client.loop_start()
    try:
        assert done.wait(10), f"no retained message on {topic}"
    finally:
        client.disconnect()
        client.loop_stop()
    return received[0]


def connected_client(port: int, client_id: str):
    """A paho MQTT v5 client connected to the test broker, its network loop running."""
    client = make_client(MqttSettings(port=port), client_id)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def collector_config(path: Path, mosquitto: Mosquitto, influxdb: InfluxDB, database: str, collector_id: str,
                     share_group: str = "", collector_extra: str = "") -> Path:
    """A collector.toml for the test services, flushing and reporting health quickly (its health
    file beside the config, `<collector_id>.health.json`).

    Each collector id gets its own share group unless one is given: the broker keeps a
    stopped collector's persistent session in its group and goes on giving it a share. The
    tests' samples are dated on fixed days (so that their references stay fixed): the window of
    sample times the collector takes reaches back to them, whatever day the suite runs on.
    """
    if "max_sample_age_days" not in collector_extra:
        collector_extra = f"max_sample_age_days = {days_since_test_data()}\n{collector_extra}"
    path.write_text(
        f"""
[collector]
id = "{collector_id}"
share_group = "{share_group or collector_id}"
health_interval_s = 1
health_file = "{path.parent / f"{collector_id}.health.json"}"
{collector_extra}
[mqtt]
host = "{mosquitto.host}"
port = {mosquitto.port}
[influxdb]
url = "{influxdb.url}"
database = "{database}"
flush_interval_s = 0.2
""",
        encoding="utf-8",
    )
    return path


def days_since_test_data() -> int:
    """Days from the earliest date the tests' samples use (2026-01-01) to now, with a margin."""
    return (datetime.now(timezone.utc) - TEST_DATA_SINCE).days + 30


def agent_config(path: Path, mosquitto: Mosquitto, host_id: str, state_dir: Path, extra_host: str = "",
                 interval_s: float = 1.0) -> Path:
    """An agent.toml for the test broker, sampling every `interval_s`."""
    path.write_text(
        f"""
state_dir = "{state_dir}"
[host]
id = "{host_id}"
{extra_host}
[mqtt]
host = "{mosquitto.host}"
port = {mosquitto.port}
[sampling]
interval_s = {interval_s}
""",
        encoding="utf-8",
    )
    return path
