"""What the in-process bench scripts share: the collector's Ingest as `collector run` builds it
(default config, no MQTT, no database), and a simulated fleet's messages."""

from __future__ import annotations

from datetime import date, datetime, timezone

from fleetprint.collector.config import load_collector_config
from fleetprint.collector.impact.grid import GridFactors
from fleetprint.collector.ingest import Ingest, ingest_from_config
from fleetprint.collector.stats import Counters
from fleetprint.mqtt import Topics
from fleetprint.schema import encode
from fleetprint.simulator.fleet import FleetSpec, VirtualHost, generate_fleet


def make_ingest() -> Ingest:
    """An Ingest with the collector's defaults and limits; its registry is `ingest.hosts`."""
    config = load_collector_config(None)
    return ingest_from_config(config, Counters(), GridFactors.from_settings(config.grid, config.sites))


def fleet(hosts: int) -> list[VirtualHost]:
    """The bench's simulated fleet (seed 1)."""
    return generate_fleet(hosts, 1, date.today(), FleetSpec())


def inventory_messages(hosts: list[VirtualHost]) -> list[tuple[str, bytes]]:
    """(topic, payload) of each host's inventory, taken now."""
    now = datetime.now(timezone.utc)
    return [(Topics().inventory(host.host_id), encode(host.inventory(now))) for host in hosts]
