"""The hosts this collector knows: their latest inventory and impact model."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import sys
import threading

from fleetprint.collector.assets.footprint import AgentCoverage
from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.impact.embodied import amortised_at_ms
from fleetprint.collector.impact.grid import ZoneFactors, zone_factors
from fleetprint.collector.impact.host_model import WORKSTATION_KINDS, HostModel, build_host_model
from fleetprint.collector.impact.workplace_power import external_monitors
from fleetprint.collector.store.points import host_tag_parts
from fleetprint.schema import Inventory

log = logging.getLogger(__name__)
MAX_SHARED_WEIGHTS = 10_000  # distinct service weights kept for sharing


def model_inputs(inventory: Inventory, site: str, zone: str) -> tuple:
    """What `build_host_model` reads of an inventory: hosts alike in these share one model.

    Workstations' power depends on their model name, CPU, built-in panel and year (their external
    monitors are the host's own, not the model's); a VM is a share of an archetype host with its
    CPU; a server depends on its CPU, memory and disks; the SPECpower fit of either on the purchase
    year. The manufacture GWP depends on the maker and model, the purchase year and the monitors'
    makers, models, sizes and years (embodied_sources.py).
    """
    cpu = inventory.cpu
    year = inventory.purchase_date.year if inventory.purchase_date else None
    monitors = tuple((m.maker, m.model, m.diagonal_in, m.year, m.builtin) for m in inventory.monitors)
    base = (inventory.kind, site, zone, inventory.lifetime_years, inventory.vendor, inventory.model, year, monitors)
    if inventory.kind in WORKSTATION_KINDS:
        return base + (cpu.model, cpu.sockets, cpu.tdp_w)
    if inventory.kind == "vm":
        return base + (cpu.model, cpu.threads, cpu.tdp_w, year)
    disks = tuple((disk.kind, disk.size_gb) for disk in inventory.disks)
    return base + (cpu.model, cpu.sockets, cpu.cores, cpu.threads, cpu.tdp_w, inventory.ram_gb,
                   inventory.ram_modules, disks, year)


class HostRegistry:
    """Host id -> HostModel, rebuilt only when a host's inventory says something new.

    Models are shared between hosts alike in what the model reads (`model_inputs`), so
    that a fleet of many alike machines costs one boaviztapi call per configuration and a
    few hundred bytes per host.
    """

    def __init__(self, config: CollectorConfig) -> None:
        self._config = config
        self._models: dict[str, HostModel] = {}
        self._by_config: dict[bytes, HostModel] = {}  # a digest of the model's inputs: 49 bytes a key
        self._zones: dict[str, ZoneFactors] = {}
        self._weights: dict[tuple[tuple[str, float], ...], dict[str, float]] = {}
        self._monitor_serials: dict[str, frozenset[str]] = {}
        # Departments the asset register gives hosts whose agent names none (the estate job sets them).
        self.register_departments: dict[str, str] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._models)

    def configurations(self) -> int:
        """How many distinct models the known hosts share."""
        return len(self._by_config)

    def get(self, host_id: str) -> HostModel | None:
        return self._models.get(host_id)

    def zones_in_use(self) -> set[str]:
        with self._lock:
            return {model.zone.zone for model in self._models.values()}

    def department(self, inventory: Inventory, site: str) -> str:
        """The host's department: the inventory's, else the asset register's, else its site's, else none."""
        site_settings = self._config.sites.get(site)
        return (inventory.department or self.register_departments.get(inventory.host_id)
                or (site_settings.department if site_settings else None) or "")

    def agent_coverage(self) -> AgentCoverage:
        """The known hosts and the monitors they list: what the estate job leaves to the agents."""
        with self._lock:
            return AgentCoverage(frozenset(self._models),
                                 frozenset(serial for serials in self._monitor_serials.values() for serial in serials))

    def site_and_zone(self, inventory: Inventory) -> tuple[str, str]:
        """The host's site, and its zone: the inventory's, else its site's, else the default."""
        site = inventory.site or self._config.impact.default_site
        site_settings = self._config.sites.get(site)
        zone = inventory.zone or (site_settings.zone if site_settings else None) or self._config.impact.default_zone
        return site, zone

    def _service_weights(self, inventory: Inventory, site: str) -> dict[str, float]:
        """The services the whole host serves: the inventory's, else its site's defaults.

        Hosts with the same weights share one dict (never modified): most of a fleet serves a
        few services in a few proportions. Called under the registry's lock.
        """
        if inventory.services:
            weights = tuple((sys.intern(name), weight) for name, weight in inventory.services.items())
        else:
            site_settings = self._config.sites.get(site)
            weights = tuple(site_settings.services.items()) if site_settings else ()
        if len(self._weights) >= MAX_SHARED_WEIGHTS:  # weights that change at every inventory: start afresh
            self._weights.clear()
        return self._weights.setdefault(weights, dict(weights))

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
        key = hashlib.blake2b(repr(model_inputs(inventory, site, zone)).encode(), digest_size=16).digest()
        with self._lock:
            shared = self._by_config.get(key)
            if shared is None:
                built = build_host_model(inventory, self._zone(zone), site,
                                         default_lifetime_years=getattr(self._config.lifetimes, inventory.kind),
                                         vm_host_threads=self._config.impact.vm_host_threads,
                                         server_power_model=self._config.impact.server_power_model,
                                         embodied_gwp_model=self._config.impact.embodied_gwp_model,
                                         monitor_lifetime_years=self._config.lifetimes.monitor)
                shared = dataclasses.replace(built, tag_tail=host_tag_parts(built)[1])  # site and zone: shared
                self._by_config[key] = shared
            model = dataclasses.replace(shared, host_id=inventory.host_id,
                                        department=self.department(inventory, site),
                                        service_weights=self._service_weights(inventory, site),
                                        monitors=external_monitors(inventory)
                                        if inventory.kind in WORKSTATION_KINDS else (),
                                        amortised_at_ms=amortised_at_ms(inventory.purchase_date,
                                                                        shared.embodied.lifetime_h))
            model = dataclasses.replace(model, tag_head=host_tag_parts(model)[0])
            self._models[inventory.host_id] = model
            self._monitor_serials[inventory.host_id] = frozenset(
                monitor.serial for monitor in inventory.monitors if monitor.serial and not monitor.builtin)
            return model
