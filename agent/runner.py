"""The agent's main loop: a sample each interval, the inventory at start and when it changes.

The ticker runs the jobs: runs missed while the agent was held up fold into one, which
still happens when it is late by less than `sampling.misfire_grace_s`.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from fleetprint.agent.buffer import SampleBuffer
from fleetprint.agent.config import AgentConfig
from fleetprint.agent.forwarder import Forwarder
from fleetprint.agent.inventory import collect_inventory
from fleetprint.agent.power import power_reader_for
from fleetprint.agent.publisher import Publisher
from fleetprint.agent.sampler import sampler_for
from fleetprint.agent.state import SequenceFile
from fleetprint.agent.ticker import Ticker
from fleetprint.health import HealthFile
from fleetprint.schema import inventory_digest

log = logging.getLogger(__name__)


class Agent:
    """Samples usage into the on-disk queue; the forwarder publishes it."""

    def __init__(self, config: AgentConfig, host_id: str) -> None:
        self.config = config
        self.host_id = host_id
        self._ticker = Ticker(config.sampling.misfire_grace_s)
        state_dir = Path(config.state_dir)
        self.publisher = Publisher(config.mqtt, host_id, config.buffer.max_in_flight)
        self.power = power_reader_for(config.power)
        self.sampler = sampler_for(config.services, self.power)
        self.buffer = SampleBuffer(state_dir / "buffer.sqlite3", config.buffer.max_samples)
        self.forwarder = Forwarder(
            self.buffer, self.publisher, SequenceFile(state_dir / "seq"), host_id,
            config.buffer.max_samples_per_report, config.buffer.max_in_flight, config.buffer.max_reports_per_s,
        )
        self._inventory_digest = ""
        interval_s = config.sampling.interval_s
        self.health = HealthFile(config.health_file, "agent", host_id, "sample", interval_s, 3 * interval_s)

    def beat(self) -> None:
        """The health file: alive now, the broker's state, the queue's length."""
        self.health.beat([("broker", self.publisher.link)], f"{len(self.buffer)} samples queued on disk")

    def refresh_inventory(self) -> None:
        """Read the inventory; publish it when it differs from the last one sent."""
        inventory = collect_inventory(self.config.host, self.host_id, power_sources=self.power.statuses())
        digest = inventory_digest(inventory)
        if digest != self._inventory_digest:
            self.publisher.set_inventory(inventory)
            self._inventory_digest = digest
            log.info("inventory published (%s)", digest[:12])

    def sample(self) -> None:
        """Take one sample and queue it on disk for the forwarder."""
        self.buffer.put(self.sampler.take())
        self.beat()
        self.forwarder.wake()  # last: the forwarder runs when this thread is done, not against it for the GIL

    def stop(self) -> None:
        """End `run` from another thread, as SIGTERM does (the Windows service's STOP)."""
        self._ticker.stop()

    def run(self) -> int:
        """Run until SIGTERM or Ctrl-C (0), or until the forwarder or the network loop fails (1: to be
        restarted)."""
        sampling = self.config.sampling
        ticker = self._ticker
        ticker.every(sampling.interval_s, "sample", self.sample)
        # With the next sample's wake-up rather than a wake-up of its own.
        ticker.every(sampling.inventory_refresh_s, "inventory refresh", self.refresh_inventory,
                     slack_s=sampling.interval_s)
        if threading.current_thread() is threading.main_thread():  # a Windows service runs it on another: stop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: ticker.stop())
        self.forwarder.on_failure = ticker.stop
        self.publisher.network.on_failure = ticker.stop
        self.beat()
        self.refresh_inventory()
        self.publisher.start()
        self.forwarder.start()
        log.info("agent %s sampling every %.0f s; %d samples waiting on disk", self.host_id,
                 sampling.interval_s, len(self.buffer))
        try:
            ticker.run()
        finally:
            self.forwarder.stop()
            self.publisher.stop()
            self.buffer.close()
            self.health.stopped()
            log.info("agent stopped; %d samples waiting on disk", len(self.buffer))
        return 1 if self.forwarder.failed or self.publisher.network.failed else 0
