"""The hosts this collector knows: their latest inventory and impact model."""

from __future__ import annotations

import dataclasses
import logging
import threading
from datetime import datetime, timezone

import msgspec

from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.impact.embodied import amortised_at_ms
from fleetprint.collector.impact.grid import ZoneFactors, zone_factors
from fleetprint.collector.impact.host_model import HostModel, build_host_model
from fleetprint.schema import Inventory

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class HostRegistry:
    """Host id -> HostModel, rebuilt only when a host's inventory says something new.

    Models are shared between hosts of identical hardware, zone and kind, so that a fleet
    of many alike machines costs one boaviztapi call per configuration.
    """

    def __init__(self, config: CollectorConfig) -> None:
        self._config = config
        self._models: dict[str, HostModel] = {}
        self._by_config: dict[bytes, HostModel] = {}
        self._zones: dict[str, ZoneFactors] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._models)

    def get(self, host_id: str) -> HostModel | None:
        return self._models.get(host_id)

    def zones_in_use(self) -> set[str]:
        with self._lock:
            return {model.zone.zone for model in self._models.values()}

    def site_and_zone(self, inventory: Inventory) -> tuple[str, str]:
        """The host's site, and its zone: the inventory's, else its site's, else the default."""
        site = inventory.site or self._config.impact.default_site
        site_settings = self._config.sites.get(site)
        zone = inventory.zone or (site_settings.zone if site_settings else None) or self._config.impact.default_zone
        return site, zone

    def service_weights(self, inventory: Inventory, site: str) -> dict[str, float]:
        """The services the whole host serves: the inventory's, else its site's defaults."""
        if inventory.services:
            return dict(inventory.services)
        site_settings = self._config.sites.get(site)
        return dict(site_settings.services) if site_settings else {}

    def _zone(self, zone: str) -> ZoneFactors:
        if zone not in self._zones:
            try:
                self._zones[zone] = zone_factors(zone)
            except KeyError:
                fallback = self._config.impact.default_zone
                log.warning("no electricity factors for zone %s: using %s", zone, fallback)
                self._zones[zone] = zone_factors(fallback)
        return self._zones[zone]

    def update(self, inventory: Inventory) -> HostModel:
        """Take a host's inventory, building its model unless an identical one exists."""
        site, zone = self.site_and_zone(inventory)
        hardware = msgspec.structs.replace(
            inventory, host_id="-", taken_at=_EPOCH,
            site=site, zone=zone, services={}, agent_version="", os="", purchase_date=None,
        )
        key = msgspec.json.encode(hardware)
        with self._lock:
            shared = self._by_config.get(key)
            if shared is None:
                shared = build_host_model(inventory, self._zone(zone), site,
                                          default_lifetime_years=getattr(self._config.lifetimes, inventory.kind),
                                          vm_host_threads=self._config.impact.vm_host_threads,
                                          server_power_model=self._config.impact.server_power_model)
                self._by_config[key] = shared
            model = dataclasses.replace(shared, host_id=inventory.host_id,
                                        service_weights=self.service_weights(inventory, site),
                                        amortised_at_ms=amortised_at_ms(inventory.purchase_date,
                                                                        shared.embodied.lifetime_h))
            self._models[inventory.host_id] = model
            return model
