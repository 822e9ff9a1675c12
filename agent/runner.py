"""The agent's main loop: a sample each interval, the inventory at start and when it changes.

APScheduler runs the jobs: `coalesce` folds the runs missed while a laptop slept into one,
and `misfire_grace_time` lets a run that is late by less than the grace still happen.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from fleetprint.agent.config import AgentConfig
from fleetprint.agent.inventory import collect_inventory
from fleetprint.agent.publisher import Publisher
from fleetprint.agent.sampler import UsageSampler
from fleetprint.agent.state import SequenceFile

from fleetprint.schema import Report, inventory_digest

log = logging.getLogger(__name__)


class Agent:
    """Samples usage and publishes reports for one host."""

    def __init__(self, config: AgentConfig, host_id: str) -> None:
        self.config = config
        self.host_id = host_id
        self.publisher = Publisher(config.mqtt, host_id)
        self.sampler = UsageSampler()
        self.sequence = SequenceFile(Path(config.state_dir) / "seq")
        self._inventory_digest = ""

    def refresh_inventory(self) -> None:
        """Read the inventory; publish it when it differs from the last one sent."""
        inventory = collect_inventory(self.config.host, self.host_id)
        digest = inventory_digest(inventory)
        if digest != self._inventory_digest:
            self.publisher.set_inventory(inventory)
            self._inventory_digest = digest
            log.info("inventory published (%s)", digest[:12])

    def sample(self) -> None:
        """Take one sample and publish it as a report."""
        report = Report(host_id=self.host_id, seq=self.sequence.next(), samples=[self.sampler.take()])
        self.publisher.publish_report(report)

    def run(self) -> None:
        """Run until SIGTERM or Ctrl-C."""
        sampling = self.config.sampling
        scheduler = BlockingScheduler(timezone="UTC")
        job_defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": int(sampling.misfire_grace_s) or None}
        scheduler.add_job(self.sample, IntervalTrigger(seconds=sampling.interval_s), id="sample", **job_defaults)
        scheduler.add_job(self.refresh_inventory, IntervalTrigger(seconds=sampling.inventory_refresh_s),
                          id="inventory", **job_defaults)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: scheduler.shutdown(wait=False))
        self.refresh_inventory()
        self.publisher.start()
        log.info("agent %s sampling every %.0f s", self.host_id, sampling.interval_s)
        try:
            scheduler.start()
        finally:
            self.publisher.stop()
            log.info("agent stopped")
