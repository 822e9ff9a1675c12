"""Workstation and monitor power fitted on makers' declared yearly consumption: built once per
host, evaluated per sample.

Makers declare a computer's or a display's typical energy consumption (TEC, kWh a year), which
ENERGY STAR defines over a duty cycle of modes (off, sleep, long idle, short idle; a display's
on and sleep). The fit (tools/fit_workplace_power.py, docs/power-model.md) turns each declared
TEC into the idle power that duty cycle implies, and regresses its logarithm per category
(laptop, desktop, thin client) on what an inventory knows: the screen size (a laptop's panel),
the form factor and product line read from the model name, the year. A monitor's power when on
is regressed the same way on its diagonal and year.

The load-dependent part is not in any TEC (ENERGY STAR measures idle modes only): it is the
CPU's TDP times the wall watts per TDP watt measured from idle to full load on SPECpower
results, along SPECpower's median normalised curve (both fitted by the same tool). Sleep and
off are the absence of reports: a host is modelled only while its agent reports.

Evaluated per sample as a FittedServerCurve (idle, full load, shape): a few float operations.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetprint.collector.impact import data_files
from fleetprint.collector.impact.boavizta import clean_cpu_name
from fleetprint.collector.impact.fitted_power import FittedServerCurve, match_cpu
from fleetprint.schema import Inventory, Monitor

DEFAULT_PARAMS = "workplace_power_model.json"
# The features of each category's regression of ln(idle W), in the order of its coefficients.
FEATURES = {
    "laptop": ("const", "ln_screen_in", "year", "workstation_line"),
    "desktop": ("const", "micro", "sff", "aio", "workstation_line", "year"),
    "desktop_form_unknown": ("const", "workstation_line", "year"),
    "thin_client": ("const", "aio"),
    "monitor": ("const", "ln_diagonal_in", "year"),
}

# --- What the model reads of a name ----------------------------------------------------

_FORM_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("aio", re.compile(r"all[- ]?in[- ]?one|\baio\b|\bimac|surface studio", re.I)),
    ("micro", re.compile(r"\bmicro\b|\bultra\b|\bmini\b(?! ?tower)|\btiny\b|\bnuc\b|\bcompact\b|\bdm\b", re.I)),
    ("sff", re.compile(r"small form factor|\bsff\b|\bslim\b|\bsf\b", re.I)),
    ("tower", re.compile(r"\btower\b|\bmt\b|\brack\b|\bmini ?tower\b", re.I)),
)
_WORKSTATION_LINE = re.compile(r"\bprecision\b|\bzbook\b|\bthinkstation\b|\bthinkpad p\d|\bz\d+\b|workstation|"
                               r"\bcelsius\b", re.I)
_WORKSTATION_CPU = re.compile(r"\bxeon\b|threadripper", re.I)


def form_factor(model_name: str) -> str | None:
    """A desktop's form factor from its model name (micro, sff, tower, aio), or None when it says none."""
    for form, pattern in _FORM_PATTERNS:
        if pattern.search(model_name):
            return form
    return None


def workstation_line(model_name: str, cpu_name: str = "") -> bool:
    """A workstation product line (Precision, ZBook, ThinkStation, HP Z) or a workstation CPU (Xeon, Threadripper)."""
    return bool(_WORKSTATION_LINE.search(model_name) or _WORKSTATION_CPU.search(cpu_name))


# --- Parameters: fitted by tools/fit_workplace_power.py, shipped as JSON --------------


@dataclass(frozen=True, slots=True)
class WorkplaceParams:
    """The shipped fit: each regression's coefficients and fallbacks, and the load part."""

    coefficients: dict[str, tuple[float, ...]]
    year_origin: float
    year_range: tuple[int, int]
    median_year: dict[str, float]
    median_screen_in: float
    median_diagonal_in: float
    min_idle_w: dict[str, float]
    watts_per_tdp_w: float
    load_shape: tuple[float, ...]
    default_tdp_w: dict[str, float]


def params_from_dict(doc: dict[str, Any]) -> WorkplaceParams:
    """WorkplaceParams from the JSON document the fitting tool writes."""
    model = doc["model"]
    regressions = model["regressions"]
    for name, features in FEATURES.items():
        if tuple(regressions[name]["features"]) != features:
            raise ValueError(f"unsupported workplace power parameters: {name} features {regressions[name]['features']}")
    load = model["load"]
    return WorkplaceParams(
        coefficients={name: tuple(float(c) for c in r["coefficients"]) for name, r in regressions.items()},
        year_origin=float(model["year_origin"]),
        year_range=(int(model["year_range"][0]), int(model["year_range"][1])),
        median_year={k: float(v) for k, v in model["median_year"].items()},
        median_screen_in=float(model["median_screen_in"]),
        median_diagonal_in=float(model["median_diagonal_in"]),
        min_idle_w={k: float(v) for k, v in model["min_idle_w"].items()},
        watts_per_tdp_w=float(load["watts_per_tdp_w"]),
        load_shape=tuple(float(v) for v in load["shape"]),
        default_tdp_w={k: float(v) for k, v in load["default_tdp_w"].items()},
    )


def default_params_path() -> Path:
    return data_files.packaged(DEFAULT_PARAMS)


def load_params(path: str | os.PathLike[str] | None = None) -> WorkplaceParams:
    """The fitted parameters (the packaged file by default), read once per path."""
    return data_files.load(path, DEFAULT_PARAMS, params_from_dict)


# --- The regressions --------------------------------------------------------------------


def _predict(params: WorkplaceParams, name: str, values: dict[str, float]) -> float:
    """exp(b · x) for the regression `name`, x read from `values` by feature name."""
    return math.exp(sum(b * values[f] for b, f in zip(params.coefficients[name], FEATURES[name])))


def _year_value(params: WorkplaceParams, year: float) -> float:
    low, high = params.year_range
    return min(max(year, low), high) - params.year_origin


def idle_w(params: WorkplaceParams, category: str, year: float, screen_in: float | None = None,
           form: str | None = None, workstation: bool = False) -> float:
    """A workstation's modelled idle power (ENERGY STAR's short idle: on, display on for a laptop)."""
    values = {"const": 1.0, "year": _year_value(params, year), "workstation_line": float(workstation)}
    if category == "laptop":
        values["ln_screen_in"] = math.log(screen_in or params.median_screen_in)
        name = "laptop"
    elif category == "thin_client":
        values["aio"] = float(form == "aio")
        name = "thin_client"
    elif form is None:
        name = "desktop_form_unknown"
    else:
        values.update({f: float(form == f) for f in ("micro", "sff", "aio")})
        name = "desktop"
    return max(_predict(params, name, values), params.min_idle_w[category])


def monitor_on_w(params: WorkplaceParams, diagonal_in: float | None, year: float | None) -> float:
    """A monitor's modelled power when on, from its diagonal and year of manufacture."""
    values = {"const": 1.0, "ln_diagonal_in": math.log(diagonal_in or params.median_diagonal_in),
              "year": _year_value(params, year if year is not None else params.median_year["monitor"])}
    return max(_predict(params, "monitor", values), params.min_idle_w["monitor"])


# --- A host's curve and its monitors: once per inventory --------------------------------


@dataclass(frozen=True, slots=True)
class WorkstationFit:
    """A workstation's modelled curve, the `power_model` name it is stored under, and what was assumed."""

    curve: FittedServerCurve
    power_model: str
    notes: str


def category_of(kind: str) -> str:
    """The fitted category for a machine kind: laptop, thin_client, else desktop."""
    return kind if kind in ("laptop", "thin_client") else "desktop"


def workstation_curve(inventory: Inventory, params: WorkplaceParams | None = None) -> WorkstationFit:
    """A laptop's, desktop's or thin client's power against load, from its inventory; never raises."""
    p = params if params is not None else load_params()
    category = category_of(inventory.kind)
    notes: list[str] = []
    panels = [m.diagonal_in for m in inventory.monitors if m.builtin and m.diagonal_in]
    form = form_factor(inventory.model) if category != "laptop" else None
    if category == "desktop" and form is None and any(m.builtin for m in inventory.monitors):
        form = "aio"
    workstation = workstation_line(inventory.model, inventory.cpu.model)
    if inventory.purchase_date is not None:
        year = float(inventory.purchase_date.year)
    else:
        year = p.median_year[category]
        notes.append(f"no purchase date: year taken as {year:.0f}, the training data's median")
    if category == "laptop" and not panels:
        notes.append(f"no built-in panel size: {p.median_screen_in:g} in assumed")
    if category == "desktop" and form is None:
        notes.append(f"form factor not in the model name {inventory.model!r}: the fit without it")
    idle = idle_w(p, category, year, panels[0] if panels else None, form, workstation)
    tdp = inventory.cpu.tdp_w
    if not tdp:
        spec = match_cpu(clean_cpu_name(inventory.cpu.model)) if inventory.cpu.model else None
        tdp = spec.tdp_w if spec is not None else None
        if not tdp:
            key = "desktop_workstation" if category == "desktop" and workstation else category
            tdp = p.default_tdp_w[key]
            notes.append(f"CPU TDP unknown: {tdp:g} W assumed")
    full = idle + p.watts_per_tdp_w * tdp * inventory.cpu.sockets
    curve = FittedServerCurve(idle_w=idle, max_w=full, shape=p.load_shape)
    return WorkstationFit(curve, f"tec_fit_{category}", "; ".join(notes))


@dataclass(frozen=True, slots=True)
class MonitorPower:
    """An external monitor's modelled power when on, and the key that counts it once across hosts."""

    key: str
    on_w: float


def monitor_key(host_id: str, index: int, monitor: Monitor) -> str:
    """The maker and serial number, which identify a monitor on any host; without a serial, the host's own."""
    if monitor.serial:
        return f"{monitor.maker.strip().upper()}/{monitor.serial.strip()}"
    return f"{host_id}#{index}"


def external_monitors(inventory: Inventory, params: WorkplaceParams | None = None) -> tuple[MonitorPower, ...]:
    """The inventory's monitors other than built-in panels (in the machine's own figure), with their power."""
    p = params if params is not None else load_params()
    return tuple(MonitorPower(monitor_key(inventory.host_id, i, m), monitor_on_w(p, m.diagonal_in, m.year))
                 for i, m in enumerate(inventory.monitors) if not m.builtin)
