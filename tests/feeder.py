"""The real agent's queue, forwarder and publisher, fed with synthetic samples at test speed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from fleetprint.agent.buffer import SampleBuffer
from fleetprint.agent.forwarder import Forwarder
from fleetprint.agent.publisher import Publisher
from fleetprint.agent.state import RESERVE, SequenceFile
from fleetprint.mqtt import MqttSettings
from fleetprint.schema import Cpu, Inventory, Sample

START = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)


class Feeder:
    """One synthetic host using the agent's store-and-forward path; sample i is at START + 30 s·i."""

    def __init__(self, host_id: str, port: int, state_dir: Path, max_samples: int = 200_000,
                 max_samples_per_report: int = 50, max_in_flight: int = 20, max_reports_per_s: float = 1000,
                 mqtt: MqttSettings | None = None, seq_reserve: int = RESERVE,
                 inventory: Inventory | None = None) -> None:
        self.host_id = host_id
        self.publisher = Publisher(mqtt or MqttSettings(port=port), host_id, max_in_flight)
        self.buffer = SampleBuffer(state_dir / "buffer.sqlite3", max_samples)
        self.forwarder = Forwarder(self.buffer, self.publisher, SequenceFile(state_dir / "seq", seq_reserve), host_id,
                                   max_samples_per_report, max_in_flight, max_reports_per_s)
        self.taken = 0
        self.publisher.set_inventory(inventory or Inventory(
            host_id=host_id, taken_at=START, kind="server", ram_gb=64,
            cpu=Cpu(model="Intel Xeon Gold 6130", sockets=2, cores=32, threads=64)))

    def start(self) -> None:
        self.publisher.start()
        self.forwarder.start()

    def take(self, count: int) -> int:
        """Queue `count` more samples, as the agent's sampling job does; return how many were queued."""
        queued = 0
        for _ in range(count):
            ts = START + timedelta(seconds=30 * self.taken)
            queued += self.buffer.put(Sample(ts=ts, interval_s=30.0, cpu_util_pct=float(self.taken % 101)))
            self.taken += 1
        self.forwarder.wake()
        return queued

    def stop(self) -> None:
        self.forwarder.stop()
        self.publisher.stop()
        self.buffer.close()
