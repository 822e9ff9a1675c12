"""A host's impact model: everything boaviztapi says about it, reduced once to coefficients.

Built from the host's inventory when it arrives (3-45 ms, boaviztapi in-process) and
cached by the inventory's content; per sample only the formulas in power.py run.

- server: by default SPECpower (docs/power-model.md): the published results of the same CPU
  model and socket count where the shipped table has them (published_power.py,
  `specpower_published`), else the fit of wall power against load from the CPU, sockets,
  cores, memory and maker (fitted_power.py, `specpower_fit`); `[impact] server_power_model =
  "boavizta"` selects Boavizta's server model (the inventory's CPU, RAM and disks) for
  results comparable with BoaviztAPI. Boavizta's terms are kept either way, for measured
  components with the rest modelled (ladder.py).
- vm: a share of a physical host, Boavizta's `platform_compute_medium` archetype with the
  VM's CPU model; the share is the VM's vCPUs over the host's hardware threads (from
  `[impact] vm_host_threads`, else the archetype with that CPU: 2 sockets of its threads).
- laptop, desktop, thin_client: power from the fit on makers' declared yearly consumption
  (workplace_power.py, docs/power-model.md): idle from the kind, panel size, form factor,
  product line and year, plus the CPU's TDP times SPECpower's watts per TDP watt along the load;
  the external monitors' power when on, counted per sample (monitors.py). ADP and PE of
  manufacture: Boavizta's `laptop-pro` and `desktop-pro` archetypes (a thin client takes the
  desktop's).

Manufacture GWP is the maker's declared figure where the maker and model match a product,
else a model fitted on makers' figures, else Boavizta's (embodied_sources.py); ADP and PE are
Boavizta's. Each external monitor of a workstation adds its own (declared, else fitted from its
diagonal and year), spread over a monitor's lifetime from its year of manufacture and counted
once per interval across hosts, as its power.

Manufacture impacts are spread linearly over the lifetime. When the purchase date is
known, hardware past purchase + lifetime is fully amortised: its samples carry no more
embodied impacts, and say `past_lifetime`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from fleetprint.collector.impact import boavizta
from fleetprint.collector.impact.boavizta import clean_cpu_name
from fleetprint.collector.impact.embodied import EmbodiedRate, amortised_at_ms, embodied_rate, lifetime_hours
from fleetprint.collector.impact.embodied_sources import (
    EmbodiedGwpModel,
    MonitorEmbodied,
    machine_gwp,
    monitors_embodied,
    sources_label,
)
from fleetprint.collector.impact.fitted_power import fitted_server_curve
from fleetprint.collector.impact.grid import ZoneFactors
from fleetprint.collector.impact.power import PowerModel, ServerCurve
from fleetprint.collector.impact.published_power import published_server_curve
from fleetprint.collector.impact.workplace_power import MonitorPower, external_monitors, workstation_curve
from fleetprint.schema import Inventory

ServerPowerModel = Literal["specpower_fit", "boavizta"]
WORKSTATION_KINDS = ("laptop", "desktop", "thin_client")


@dataclass(frozen=True, slots=True)
class HostModel:
    """Cached coefficients for one host: power curve, zone factors and embodied rate."""

    host_id: str
    kind: str
    site: str
    zone: ZoneFactors
    power: PowerModel
    power_model: str  # which model gives `power`: specpower_published, specpower_fit, boavizta_server, ...
    # (`_vm_share` for VMs)
    embodied: EmbodiedRate
    cpu_matched: str
    components_curve: ServerCurve | None  # Boavizta's server terms, for measured components + modelled rest
    power_notes: str  # what the power model had to assume (unknown CPU, outside the fitted range...)
    idle_w: float
    service_weights: dict[str, float]
    amortised_at_ms: int | None  # purchase date + lifetime, when the purchase date is known
    tag_head: str = ""  # the host's line-protocol tags, escaped once by the registry (store/points.py)
    tag_tail: str = ""
    department: str = ""  # the host's own (its inventory's, else its site's): not a model input
    monitors: tuple[MonitorPower, ...] = ()  # external monitors, each counted once per interval (monitors.py)
    embodied_source: str = "boavizta"  # where the machine's manufacture GWP came from: declared, fitted, boavizta
    embodied_basis: str = ""  # the declared product's name, or the fitted model's category
    # A workstation's external monitors' manufacture, in the order of `monitors` (embodied_sources.py)
    monitor_embodied: tuple[MonitorEmbodied, ...] = ()
    monitor_embodied_source: str = ""  # their sources ("declared", "declared+fitted"); "" without any


def _specpower(inventory: Inventory, device, share: float) -> tuple[PowerModel, str, str]:
    """The SPECpower curve of a physical server (the inventory's own, or a VM's host: the archetype with
    the VM's CPU): its CPU's published results when the table has them, else the fit; and which, and why."""
    if inventory.kind == "server":
        cpu, sockets, cores, ram_gb = inventory.cpu.model, inventory.cpu.sockets, inventory.cpu.cores, inventory.ram_gb
        ram_modules, vendor = inventory.ram_modules, inventory.vendor
    else:  # a VM's vendor is its hypervisor's, not its host's maker
        sockets = int(device.cpu.units.value)
        cpu, cores = inventory.cpu.model, int((device.cpu.core_units.value or 1) * sockets)
        ram_gb, ram_modules, vendor = float(device.get_total_memory()), None, ""
    published = published_server_curve(cpu, sockets, ram_gb, ram_modules, vendor)
    if published is not None:
        return dataclasses.replace(published.curve, share=share), "specpower_published", published.notes
    year = inventory.purchase_date.year if inventory.purchase_date else None
    result = fitted_server_curve(clean_cpu_name(cpu), sockets, cores, inventory.cpu.threads, ram_gb,
                                 inventory.cpu.tdp_w, year, ram_modules=ram_modules, vendor=vendor)
    return dataclasses.replace(result.curve, share=share), "specpower_fit", result.notes


def build_host_model(inventory: Inventory, zone: ZoneFactors, site: str,
                     service_weights: dict[str, float] | None = None, default_lifetime_years: float | None = None,
                     vm_host_threads: int | None = None,
                     server_power_model: ServerPowerModel = "specpower_fit",
                     embodied_gwp_model: EmbodiedGwpModel = "makers",
                     monitor_lifetime_years: float | None = None) -> HostModel:
    """Ask boaviztapi once for the power coefficients and manufacture impacts of a host."""
    kind = inventory.kind
    share, cpu_matched, notes = 1.0, "", ""
    components_curve = None
    monitors: tuple[MonitorPower, ...] = ()
    if kind in WORKSTATION_KINDS:
        device = boavizta.build_terminal("laptop" if kind == "laptop" else "desktop", zone.zone)
        fit = workstation_curve(inventory)
        power: PowerModel = fit.curve
        power_model, notes = fit.power_model, fit.notes
        monitors = external_monitors(inventory)
        totals = boavizta.embodied_totals(device, boavizta.TERMINAL_EMBODIED_CRITERION)
    else:
        build = boavizta.server_dto_fields if kind == "server" else boavizta.vm_host_dto_fields
        device = boavizta.build_server(build(inventory, zone.zone))
        totals = boavizta.embodied_totals(device, {c: c for c in boavizta.CRITERIA})
        figures = boavizta.server_curve_figures(device)
        if kind == "vm":
            host_threads = vm_host_threads or figures.total_threads or inventory.cpu.threads
            share = min(1.0, inventory.cpu.threads / host_threads)
        components_curve = ServerCurve(figures, share)
        if server_power_model == "specpower_fit":
            power, power_model, notes = _specpower(inventory, device, share)
        else:
            power, power_model = components_curve, "boavizta_server"
        power_model += "_vm_share" if kind == "vm" else ""
        cpu_matched = figures.cpu_name_matched
    lifetime_h = lifetime_hours(inventory.lifetime_years or default_lifetime_years, boavizta.lifetime_hours(device))
    gwp = machine_gwp(inventory, totals.get("gwp", 0.0), embodied_gwp_model)
    monitor_embodied = (monitors_embodied(inventory, embodied_gwp_model, monitor_lifetime_years)
                        if kind in WORKSTATION_KINDS else ())
    return HostModel(
        host_id=inventory.host_id,
        kind=kind,
        site=site,
        zone=zone,
        power=power,
        power_model=power_model,
        embodied=embodied_rate(totals | {"gwp": gwp.kgco2e}, lifetime_h, share),
        cpu_matched=cpu_matched,
        components_curve=components_curve,
        power_notes=notes,
        idle_w=power.power_w(0.0),
        service_weights=dict(service_weights or {}),
        amortised_at_ms=amortised_at_ms(inventory.purchase_date, lifetime_h),
        monitors=monitors,
        embodied_source=gwp.source,
        embodied_basis=gwp.basis,
        monitor_embodied=monitor_embodied,
        monitor_embodied_source=sources_label([m.gwp.source for m in monitor_embodied]),
    )
