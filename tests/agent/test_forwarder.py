"""Store and forward through the real broker: nothing leaves the disk before the broker has it."""

from __future__ import annotations

import threading
from pathlib import Path

from feeder import Feeder
from netcut import CuttableRelay

from fleetprint.mqtt import MqttSettings, Topics, make_client
from fleetprint.schema import Report, decode_report

from processes import wait_until


class ReportSink:
    """A subscriber that keeps every report it receives."""

    def __init__(self, port: int, host_id: str) -> None:
        self.reports: list[Report] = []
        self._lock = threading.Lock()
        ready = threading.Event()
        self.client = make_client(MqttSettings(port=port), f"sink-{host_id}")
        self.client.on_message = lambda c, u, m: self._keep(m.payload)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_connect = lambda c, *_: c.subscribe(Topics().report(host_id), qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(5)

    def _keep(self, payload: bytes) -> None:
        with self._lock:
            self.reports.append(decode_report(payload))

    def sample_times(self) -> list:
        with self._lock:
            return [s.ts for r in self.reports for s in r.samples]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_backlog_after_an_outage_drains_in_batches(own_mosquitto, tmp_path: Path) -> None:
    relay = CuttableRelay(own_mosquitto.port)
    sink = ReportSink(own_mosquitto.port, "fwd-host")
    feeder = Feeder("fwd-host", relay.port, tmp_path / "agent", max_samples_per_report=40)
    try:
        feeder.start()
        for taken in range(1, 6):  # samples taken one interval apart
            feeder.take(1)
            wait_until(lambda: len(sink.sample_times()) == taken, what="a live sample")
        assert all(len(r.samples) == 1 for r in sink.reports), "one sample per report when up to date"

        relay.cut()
        wait_until(lambda: not feeder.publisher.connected.is_set(), what="the agent to notice the outage")
        feeder.take(300)
        assert len(feeder.buffer) == 300, "samples wait on disk while the broker is unreachable"
        relay.restore()

        wait_until(lambda: len(set(sink.sample_times())) == 305, timeout_s=30, what="the backlog")
        wait_until(lambda: len(feeder.buffer) == 0, what="acknowledged samples to leave the disk")
        catch_up = [r for r in sink.reports if len(r.samples) > 1]
        assert catch_up and max(len(r.samples) for r in catch_up) == 40
        seqs = [r.seq for r in sink.reports]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    finally:
        feeder.stop()
        sink.close()
        relay.close()


def test_evicted_samples_are_reported_once_acknowledged(own_mosquitto, tmp_path: Path) -> None:
    sink = ReportSink(own_mosquitto.port, "small-host")
    feeder = Feeder("small-host", own_mosquitto.port, tmp_path / "agent", max_samples=10, max_samples_per_report=100)
    try:
        feeder.take(25)  # before the publisher starts: 15 evicted
        feeder.start()
        wait_until(lambda: len(sink.sample_times()) == 10, what="the 10 kept samples")
        assert sink.reports[0].dropped_samples == 15
        wait_until(lambda: feeder.buffer.evicted() == 0, what="the eviction count to be cleared")
        feeder.take(1)
        wait_until(lambda: len(sink.reports) == 2, what="the next report")
        assert sink.reports[1].dropped_samples == 0
    finally:
        feeder.stop()
        sink.close()


def test_unacknowledged_samples_are_sent_again_after_a_restart(own_mosquitto, tmp_path: Path) -> None:
    """A broker that never acknowledges (cut before PUBACK) keeps the samples on disk for the next run."""
    relay = CuttableRelay(own_mosquitto.port)
    relay.cut()
    first = Feeder("restart-host", relay.port, tmp_path / "agent")
    first.take(20)
    first.start()
    first.stop()
    sink = ReportSink(own_mosquitto.port, "restart-host")
    second = Feeder("restart-host", own_mosquitto.port, tmp_path / "agent")
    try:
        assert len(second.buffer) == 20
        second.start()
        wait_until(lambda: len(sink.sample_times()) == 20, what="the samples of the previous run")
        wait_until(lambda: len(second.buffer) == 0, what="the disk to empty")
    finally:
        second.stop()
        sink.close()
        relay.close()


def test_reports_nobody_subscribed_to_stay_on_disk(own_mosquitto, tmp_path: Path) -> None:
    """PUBACK reason 16 (no matching subscribers, e.g. right after a broker restart) is not delivery."""
    feeder = Feeder("lonely-host", own_mosquitto.port, tmp_path / "agent")
    try:
        feeder.start()
        feeder.take(30)
        wait_until(lambda: feeder.forwarder.backing_off, what="a report that no subscriber took")
        assert len(feeder.buffer) == 30
        sink = ReportSink(own_mosquitto.port, "lonely-host")
        try:
            wait_until(lambda: len(set(sink.sample_times())) == 30, timeout_s=20, what="delivery once subscribed")
            wait_until(lambda: len(feeder.buffer) == 0, what="the disk to empty")
        finally:
            sink.close()
    finally:
        feeder.stop()


def test_an_unexpected_error_in_the_forwarder_stops_the_agent(mosquitto, tmp_path: Path) -> None:
    """No zombie agent that samples and never sends: the agent is told to stop (and exits 1)."""
    feeder = Feeder("broken-host", mosquitto.port, tmp_path / "agent")
    told = threading.Event()
    feeder.forwarder.on_failure = told.set

    def publish_report(report):
        raise RuntimeError("a bug")

    feeder.publisher.publish_report = publish_report
    try:
        feeder.start()
        feeder.take(1)
        assert told.wait(10), "the agent was not told"
        assert feeder.forwarder.failed
    finally:
        feeder.stop()
