"""Where a device's manufacture GWP comes from: its maker's declaration, a model fitted on
makers' declarations, or Boavizta's bottom-up figure (the `embodied_source` of its points).

With `[impact] embodied_gwp_model = "makers"` (the default), a device whose maker and model
match a declared product (makers_footprints.DeclaredIndex) takes the declared figure
(`declared`); another laptop, desktop, thin client, server or monitor takes its category's
fitted model from what the inventory says (screen diagonal, year) (`fitted`); what has
neither (a VM, a share of Boavizta's archetype host) keeps Boavizta's (`boavizta`). With
`"boavizta"`, every device keeps Boavizta's figures. ADP and PE, which makers do not declare,
are Boavizta's in every case, unscaled (docs/impact-model.md says why).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from fleetprint.collector.impact import boavizta
from fleetprint.collector.impact.embodied import EmbodiedRate, embodied_rate, lifetime_hours
from fleetprint.collector.impact.makers_footprints import declared_index, fitted_models
from fleetprint.schema import Inventory, Monitor

EmbodiedGwpModel = Literal["makers", "boavizta"]
_THIN_CLIENT = re.compile(r"thin client|zero client|\bwyse\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ManufactureGwp:
    """A device's whole-life manufacture GWP and where it came from."""

    kgco2e: float
    source: str  # declared, fitted, boavizta
    basis: str  # the declared product's name, the fitted category, or "" (Boavizta)


def machine_category(inventory: Inventory) -> str | None:
    """The fitted model's category for a host: its kind, a desktop whose model says so a thin client."""
    if inventory.kind == "desktop" and _THIN_CLIENT.search(inventory.model):
        return "thin_client"
    return inventory.kind if inventory.kind in ("laptop", "desktop", "thin_client", "server") else None


def _builtin_diagonal(inventory: Inventory) -> float | None:
    panels = [m.diagonal_in for m in inventory.monitors if m.builtin and m.diagonal_in]
    if panels:
        return panels[0]
    return None if inventory.kind == "laptop" else 0.0  # a desktop without a panel of its own has none


def machine_gwp(inventory: Inventory, boavizta_kgco2e: float, model: EmbodiedGwpModel) -> ManufactureGwp:
    """The host's own manufacture GWP (its monitors apart)."""
    if model == "boavizta" or inventory.kind == "vm":
        return ManufactureGwp(boavizta_kgco2e, "boavizta", "")
    product = declared_index().match(inventory.vendor, inventory.model)
    if product is not None:
        return ManufactureGwp(product.manufacture_gwp_kgco2e, "declared", product.name)
    category = machine_category(inventory)
    fitted = fitted_models().get(category or "")
    if fitted is None:
        return ManufactureGwp(boavizta_kgco2e, "boavizta", "")
    year = inventory.purchase_date.year if inventory.purchase_date else None
    return ManufactureGwp(fitted.manufacture_gwp_kgco2e(_builtin_diagonal(inventory), year), "fitted", fitted.category)


def monitor_gwp(monitor: Monitor, boavizta_kgco2e: float, model: EmbodiedGwpModel) -> ManufactureGwp:
    """A monitor's manufacture GWP: declared by its maker, else fitted on its diagonal and year."""
    if model == "boavizta":
        return ManufactureGwp(boavizta_kgco2e, "boavizta", "")
    product = declared_index().match(monitor.maker, monitor.model, monitor=True)
    if product is not None:
        return ManufactureGwp(product.manufacture_gwp_kgco2e, "declared", product.name)
    fitted = fitted_models()["monitor"]
    return ManufactureGwp(fitted.manufacture_gwp_kgco2e(monitor.diagonal_in, monitor.year), "fitted", "monitor")


@dataclass(frozen=True, slots=True)
class MonitorEmbodied:
    """One external monitor's manufacture, spread over its own lifetime from its year of manufacture."""

    gwp: ManufactureGwp
    rate: EmbodiedRate
    amortised_at_ms: int | None  # mid-year of manufacture + lifetime, when the EDID gives the year


def monitor_amortised_at_ms(year: int | None, lifetime_h: float) -> int | None:
    """When a monitor made in `year` has carried all its manufacture (from July 1st of that year)."""
    if year is None:
        return None
    made = datetime(year, 7, 1, tzinfo=timezone.utc)
    return int(made.timestamp() * 1000 + lifetime_h * 3_600_000)


def monitors_embodied(inventory: Inventory, model: EmbodiedGwpModel,
                      lifetime_years: float | None = None) -> tuple[MonitorEmbodied, ...]:
    """The manufacture of each monitor the host drives that is not its own panel, in the inventory's order."""
    totals, default_h = boavizta.monitor_embodied()
    lifetime_h = lifetime_hours(lifetime_years, default_h)
    found = []
    for monitor in inventory.monitors:
        if monitor.builtin:
            continue
        gwp = monitor_gwp(monitor, totals["gwp"], model)
        found.append(MonitorEmbodied(gwp, embodied_rate(totals | {"gwp": gwp.kgco2e}, lifetime_h),
                                     monitor_amortised_at_ms(monitor.year, lifetime_h)))
    return tuple(found)


def sources_label(sources: list[str]) -> str:
    """One word for several devices' sources: "declared", or "declared+fitted" when they differ."""
    return "+".join(sorted(set(sources)))
