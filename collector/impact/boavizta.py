"""The one door to boaviztapi: pinned settings, device building, and the figures we cache.

boaviztapi reads a `.env` file in the working directory and `BOAVIZTA_*` variables when it
is imported, and some of its defaults are bound at import time. `load()` imports it once,
then resets every setting to the value this module pins, so that neither a stray `.env`
nor the environment changes our figures silently. Nothing here runs per sample: it runs
once per host inventory, and the results are cached as coefficients (see host_model).
"""

from __future__ import annotations

import functools
import re
import threading
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from fleetprint.schema import Inventory

CRITERIA = ("gwp", "adp", "pe")
# Electricity factors are named differently for abiotic depletion (elements only).
ELECTRICITY_CRITERION = {"gwp": "gwp", "adp": "adpe", "pe": "pe"}
# User terminals implement neither `adp` nor `pe` for manufacture: `adpe` (elements) stands
# for ADP, and `adpf` (fossil resources, MJ) for primary energy, a lower bound of it.
TERMINAL_EMBODIED_CRITERION = {"gwp": "gwp", "adp": "adpe", "pe": "adpf"}
SERVER_ARCHETYPE = "platform_compute_medium"
# User terminals' archetypes, one per kind fleetprint models with one (a monitor: the displays a
# workstation drives).
TERMINAL_ARCHETYPES = {"laptop": "laptop-pro", "desktop": "desktop-pro", "monitor": "monitor-default"}

_lock = threading.Lock()
_api: ModuleType | None = None


def _pin_settings() -> None:
    """Reset boaviztapi's settings to its documented defaults, whatever `.env` said."""
    import boaviztapi
    from boaviztapi.utils.config import Settings

    for name, field in Settings.model_fields.items():
        object.__setattr__(boaviztapi.config, name, field.get_default(call_default_factory=True))


def load() -> ModuleType:
    """Import boaviztapi once (about 1.5 s) with pinned settings; return the package."""
    global _api
    with _lock:
        if _api is None:
            _pin_settings()
            import boaviztapi

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                import boaviztapi.compute.impacts_computation  # noqa: F401
                import boaviztapi.data.archetype  # noqa: F401
                import boaviztapi.data.factor_provider  # noqa: F401
                import boaviztapi.dto.device.device  # noqa: F401
                import boaviztapi.dto.device.user_terminal  # noqa: F401
                import boaviztapi.models.consumption_profile  # noqa: F401
            _memoise_cpu_lookups()
            _api = boaviztapi
        return _api


_UNCACHED: dict[str, Any] = {}  # boaviztapi's own functions, kept for the tests' reference


def _memoise_cpu_lookups() -> None:
    """Remember what boaviztapi finds out about a CPU: its attributes from its name (a pandas
    fuzzy match over its CPU table), its consumption profile's base (pandas) and fit (scipy's
    `curve_fit`). They took ~85 % of an inventory's 13 ms, for a few hundred distinct CPUs.

    All three are pure functions of their arguments: the name; (manufacturer, model range,
    name); (base parameters, workload points). The name's attributes are a tuple; dicts are
    copied out, so that no device shares one with another. boaviztapi is pinned (2.5.0): the
    private names are stable.
    """
    from boaviztapi.models.component import cpu as cpu_module
    from boaviztapi.models.consumption_profile.consumption_profile import CPUConsumptionProfileModel as Profile

    fit = Profile._CPUConsumptionProfileModel__compute_model_adaptation
    lookup = Profile.lookup_consumption_profile
    _UNCACHED.update(fit=fit, lookup=lookup, attributes=cpu_module.attributes_from_cpu_name)
    cpu_module.attributes_from_cpu_name = functools.lru_cache(maxsize=4096)(cpu_module.attributes_from_cpu_name)
    fits: dict[tuple, dict[str, float]] = {}
    fits_lock = threading.Lock()

    def cached_fit(self, base_model: dict[str, float]) -> dict[str, float]:
        loads, watts = self.list_workloads
        key = (tuple(base_model[name] for name in "abcd"), tuple(loads), tuple(watts))
        with fits_lock:
            if key not in fits:
                fits[key] = fit(self, base_model)
            return dict(fits[key])

    @functools.lru_cache(maxsize=4096)
    def cached_lookup(manufacturer: str | None, model_range: str | None, name: str | None):
        return lookup(manufacturer, model_range, name)

    def lookup_copy(cpu_manufacturer: str | None = None, cpu_model_range: str | None = None,
                    cpu_name: str | None = None) -> dict[str, float] | None:
        found = cached_lookup(cpu_manufacturer, cpu_model_range, cpu_name)
        return None if found is None else dict(found)

    Profile._CPUConsumptionProfileModel__compute_model_adaptation = cached_fit
    Profile.lookup_consumption_profile = staticmethod(lookup_copy)


_CPU_NOISE = [
    r"\((R|TM|r|tm)\)",
    r"\bCPU\b",
    r"\bProcessor\b",
    r"@.*$",
    r"\b\d+(st|nd|rd|th) Gen\b",
    r"\b\d+-Core\b",
    r"\bwith Radeon.*$",
]


def clean_cpu_name(raw: str) -> str:
    """Strip what /proc/cpuinfo adds and the CPU table lacks ("(R)", "CPU @ 2.10GHz", ...)."""
    name = raw
    for pattern in _CPU_NOISE:
        name = re.sub(pattern, " ", name)
    return " ".join(name.split())


def known_zone(zone: str) -> bool:
    """Whether boaviztapi has electricity factors for this zone (it silently falls back otherwise).

    Like `electricity_factor`, it reads boaviztapi's factor table alone (~0.5 s), not its device
    models (`load`, ~1 s more): checking a config or building the grid factors needs no more."""
    from boaviztapi.data.factor_provider import impact_factors

    return zone in impact_factors["electricity"] and zone != "min-max"


def electricity_factor(zone: str, criterion: str) -> float:
    """Impact per kWh of electricity in a zone: kgCO2e, kgSbeq or MJ per kWh."""
    from boaviztapi.data.factor_provider import get_electrical_impact_factor

    return float(get_electrical_impact_factor(zone, ELECTRICITY_CRITERION[criterion])["value"])


def server_dto_fields(inventory: Inventory, zone: str, load_pct: float = 50.0) -> dict[str, Any]:
    """The BoaviztAPI `Server` request body for a physical server's inventory."""
    from boaviztapi.models.consumption_profile import RAMConsumptionProfileModel

    load()
    cpu: dict[str, Any] = {"units": inventory.cpu.sockets, "name": clean_cpu_name(inventory.cpu.model)}
    cpu["core_units"] = max(1, inventory.cpu.cores // inventory.cpu.sockets)
    if inventory.cpu.tdp_w:
        cpu["tdp"] = inventory.cpu.tdp_w
    modules = inventory.ram_modules or max(
        1,
        round(inventory.ram_gb / RAMConsumptionProfileModel.typical_dimm_capacity[RAMConsumptionProfileModel.default_memory_type]),
    )
    # BoaviztAPI takes whole gigabytes.
    configuration: dict[str, Any] = {
        "cpu": cpu,
        "ram": [{"units": modules, "capacity": max(1, round(inventory.ram_gb / modules))}],
    }
    disks = [
        {"units": 1, "type": "hdd" if disk.kind == "hdd" else "ssd", "capacity": max(1, round(disk.size_gb))}
        for disk in inventory.disks
    ]
    if disks:
        configuration["disk"] = disks
    return {
        "model": {"type": "rack"},
        "configuration": configuration,
        "usage": {"usage_location": zone, "time_workload": load_pct},
    }


def vm_host_dto_fields(inventory: Inventory, zone: str, load_pct: float = 50.0) -> dict[str, Any]:
    """The `Server` request body for the physical host a VM runs on: the archetype with the VM's CPU."""
    return {
        "configuration": {"cpu": {"name": clean_cpu_name(inventory.cpu.model)}},
        "usage": {"usage_location": zone, "time_workload": load_pct},
    }


def build_server(fields: dict[str, Any]):
    """A fresh boaviztapi server device (devices cache results: never reuse one)."""
    load()
    from boaviztapi.data.archetype import get_server_archetype
    from boaviztapi.dto.device import Server
    from boaviztapi.dto.device.device import mapper_server

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mapper_server(Server(**fields), archetype=get_server_archetype(SERVER_ARCHETYPE))


def build_terminal(kind: str, zone: str):
    """A fresh boaviztapi laptop, desktop or monitor (one fixed archetype each, used all day)."""
    load()
    from boaviztapi.data.archetype import get_user_terminal_archetype
    from boaviztapi.dto.device.user_terminal import Desktop, Laptop, Monitor, mapper_user_terminal

    dto_type = {"laptop": Laptop, "desktop": Desktop, "monitor": Monitor}[kind]
    dto = dto_type(usage={"usage_location": zone, "use_time_ratio": 1})
    return mapper_user_terminal(dto, archetype=get_user_terminal_archetype(TERMINAL_ARCHETYPES[kind]))


@dataclass(frozen=True, slots=True)
class ServerCurveFigures:
    """Boavizta's server power model, reduced to the coefficients of its formula."""

    cpu_units: float
    cpu_a: float
    cpu_b: float
    cpu_c: float
    cpu_d: float
    ram_full_w: float
    ram_idle_ratio: float
    overhead_ratio: float
    disk_w: float
    total_threads: int | None
    cpu_name_matched: str


def _total_threads(cpu) -> int | None:
    """Hardware threads of all sockets, from the CPU table (two per core when only cores are known)."""
    units = cpu.units.value
    if cpu.threads.value:
        return int(cpu.threads.value * units)
    if cpu.core_units.value:
        return int(2 * cpu.core_units.value * units)
    return None


def server_curve_figures(device) -> ServerCurveFigures:
    """Read the fitted CPU profile, RAM, disk and overhead terms from an assessed device.

    The device must have been through `embodied_totals` first: that is the BoaviztAPI path,
    which completes the CPU from its name before fitting its profile (fitted earlier, the
    profile falls back to generic parameters and gives other figures).
    """
    cpu = device.cpu
    params = cpu.usage.consumption_profile.params.value
    ram_full_w = sum(
        bank.usage.consumption_profile.params.value["a"] * bank.units.value for bank in device.ram
    )
    disk_w = sum(disk.POWER_PER_DRIVE[0] * (disk.units.value if disk.units.has_value() else 0) for disk in device.disk)
    return ServerCurveFigures(
        cpu_units=float(cpu.units.value),
        cpu_a=float(params["a"]),
        cpu_b=float(params["b"]),
        cpu_c=float(params["c"]),
        cpu_d=float(params["d"]),
        ram_full_w=float(ram_full_w),
        ram_idle_ratio=float(device.ram[0].usage.consumption_profile.params.value["idle_ratio"]),
        overhead_ratio=float(device.usage.other_consumption_ratio.value),
        disk_w=float(disk_w),
        total_threads=_total_threads(cpu),
        cpu_name_matched=str(cpu.name.value or ""),
    )


def embodied_totals(device, criteria_names: dict[str, str]) -> dict[str, float]:
    """Manufacture impacts of the whole device over its whole life, per criterion (kgCO2e, kgSbeq, MJ).

    Runs boaviztapi's `compute_impacts` as its HTTP API does, over the device's lifetime.
    """
    from boaviztapi.compute.impacts_computation import compute_impacts

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compute_impacts(
            device,
            selected_criteria=list(criteria_names.values()),
            duration=device.usage.hours_life_time.value,
        )
    totals: dict[str, float] = {}
    for ours, theirs in criteria_names.items():
        impact = device.impacts.get(theirs, {}).get("embedded")
        value = getattr(impact, "value", None)
        if isinstance(value, (int, float)):
            totals[ours] = float(value)
    return totals


def lifetime_hours(device) -> float:
    """Boavizta's default lifetime for the device, in hours."""
    return float(device.usage.hours_life_time.value)


@functools.cache
def monitor_embodied() -> tuple[dict[str, float], float]:
    """The monitor archetype's manufacture impacts (GWP, ADPe for ADP, ADPf for PE) and lifetime in hours."""
    device = build_terminal("monitor", "WOR")
    return embodied_totals(device, TERMINAL_EMBODIED_CRITERION), lifetime_hours(device)
