"""A host's impact model: everything boaviztapi says about it, reduced once to coefficients.

Built from the host's inventory when it arrives (3-45 ms, boaviztapi in-process) and
cached by the inventory's content; per sample only the formulas in power.py run.

- server: Boavizta's server model with the inventory's CPU, RAM and disks.
- vm: a share of a physical host, Boavizta's `platform_compute_medium` archetype with the
  VM's CPU model; the share is the VM's vCPUs over the host's hardware threads (from
  `[impact] vm_host_threads`, else the archetype with that CPU: 2 sockets of its threads).
- laptop, desktop: Boavizta's `laptop-pro` and `desktop-pro` archetypes, used all day
  (use_time_ratio 1): a fixed average power and fixed manufacture figures.

Manufacture impacts are spread linearly over the lifetime. When the purchase date is
known, hardware past purchase + lifetime is fully amortised: its samples carry no more
embodied impacts, and say `past_lifetime`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetprint.collector.impact import boavizta
from fleetprint.collector.impact.embodied import EmbodiedRate, amortised_at_ms, embodied_rate, lifetime_hours
from fleetprint.collector.impact.grid import ZoneFactors
from fleetprint.collector.impact.power import ConstantPower, PowerModel, ServerCurve
from fleetprint.schema import Inventory

POWER_MODELS = {
    "server": "boavizta_server",
    "vm": "boavizta_vm_share",
    "laptop": "boavizta_laptop_archetype",
    "desktop": "boavizta_desktop_archetype",
}


@dataclass(frozen=True, slots=True)
class HostModel:
    """Cached coefficients for one host: power curve, zone factors and embodied rate."""

    host_id: str
    kind: str
    site: str
    zone: ZoneFactors
    power: PowerModel
    power_model: str
    embodied: EmbodiedRate
    cpu_matched: str
    idle_w: float
    service_weights: dict[str, float]
    amortised_at_ms: int | None  # purchase date + lifetime, when the purchase date is known


def build_host_model(inventory: Inventory, zone: ZoneFactors, site: str,
                     service_weights: dict[str, float] | None = None, default_lifetime_years: float | None = None,
                     vm_host_threads: int | None = None) -> HostModel:
    """Ask boaviztapi once for the power coefficients and manufacture impacts of a host."""
    kind = inventory.kind
    share, cpu_matched = 1.0, ""
    if kind in ("laptop", "desktop"):
        device = boavizta.build_terminal(kind, zone.zone)
        power: PowerModel = ConstantPower(boavizta.terminal_average_power_w(device))
        totals = boavizta.embodied_totals(device, boavizta.TERMINAL_EMBODIED_CRITERION)
    else:
        build = boavizta.server_dto_fields if kind == "server" else boavizta.vm_host_dto_fields
        device = boavizta.build_server(build(inventory, zone.zone))
        totals = boavizta.embodied_totals(device, {c: c for c in boavizta.CRITERIA})
        figures = boavizta.server_curve_figures(device)
        if kind == "vm":
            host_threads = vm_host_threads or figures.total_threads or inventory.cpu.threads
            share = min(1.0, inventory.cpu.threads / host_threads)
        power = ServerCurve(figures, share)
        cpu_matched = figures.cpu_name_matched
    lifetime_h = lifetime_hours(inventory.lifetime_years or default_lifetime_years, boavizta.lifetime_hours(device))
    return HostModel(
        host_id=inventory.host_id,
        kind=kind,
        site=site,
        zone=zone,
        power=power,
        power_model=POWER_MODELS[kind],
        embodied=embodied_rate(totals, lifetime_h, share),
        cpu_matched=cpu_matched,
        idle_w=power.power_w(0.0),
        service_weights=dict(service_weights or {}),
        amortised_at_ms=amortised_at_ms(inventory.purchase_date, lifetime_h),
    )
