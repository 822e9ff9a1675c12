"""Whole-server wall power from published SPECpower results of the same CPU and socket count.

When a server's CPU model and socket count match results in the shipped table (derived from
the SPECpower training file by tools/fit_power_model.py, with each result's SPEC id), its
curve is the robust centre of their measured curves: at each load level the median over the
results of ln watts, each result first moved to the host's memory (its DIMM count, else RAM
GB) and maker by the within-CPU effects of both, fitted on the table's own CPUs
(docs/power-model.md). Otherwise the caller falls back to the fitted
model (fitted_power.py).

CPU names are matched on a key, the vendor and the model-number tokens of the cleaned name
(`cpu_key`): "Intel(R) Xeon(R) Platinum 8180 CPU @ 2.50GHz" and SPEC's "Intel Xeon Platinum
8180 2.50GHz" are both `intel:8180`, while "8180M", "E5-2660 v2" and "Gold 6238R" keep their
suffixes and match only themselves. A name without a vendor or a model number matches nothing.

Figures derive from results published by the Standard Performance Evaluation Corporation
(SPEC), https://www.spec.org/power_ssj2008/results/.
"""

from __future__ import annotations

import math
import os
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetprint.collector.impact import data_files
from fleetprint.collector.impact.fitted_power import (
    LEVELS,
    FittedServerCurve,
    curve_from_knots,
    normalise_cpu_name,
    server_maker,
)

DEFAULT_TABLE = "server_power_published.json"
_AMD = re.compile(r"\b(amd|epyc|opteron|ryzen|threadripper)\b")
_INTEL = re.compile(r"\b(intel|xeon|pentium|celeron|core)\b")


def cpu_key(name: str) -> str | None:
    """The CPU's lookup key, "<vendor>:<model-number tokens>" ("intel:8180", "intel:e5-2660 v2"), or None.

    Opteron's "2377 EE" is joined as "2377ee"; cpuinfo's lone "0" (Sandy Bridge's "E5-2660 0")
    is dropped; "64-Core" and clock speeds are gone with the name's cleaning.
    """
    n = normalise_cpu_name(name)
    n = re.sub(r"\b(\d{4}) (he|ee|se)\b", r"\1\2", n)
    vendor = "amd" if _AMD.search(n) else "intel" if _INTEL.search(n) else None
    tokens = sorted(w for w in n.split() if any(ch.isdigit() for ch in w) and w != "0")
    if vendor is None or not tokens:
        return None
    return f"{vendor}:{' '.join(tokens)}"


def group_key(cpu: str, sockets: int) -> str:
    """The table's key for a CPU key and a socket count: "intel:8180/2"."""
    return f"{cpu}/{sockets}"


@dataclass(frozen=True, slots=True)
class PublishedResult:
    """One published SPECpower result: its id, its memory, its maker, its wall power at 0, 10, ..., 100 % load."""

    result_id: str
    dimms: int
    ram_gb: float
    maker: str
    watts: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Adjustment:
    """Within-CPU effects per level: of ln memory (DIMMs or RAM GB), and of each maker (relative, shrunk)."""

    memory: tuple[float, ...]
    makers: dict[str, tuple[float, ...]]


@dataclass(frozen=True, slots=True)
class PublishedTable:
    """The shipped lookup: results per CPU key and socket count, and the within-CPU memory elasticities."""

    groups: dict[str, tuple[PublishedResult, ...]]
    adjustments: dict[str, Adjustment]  # by the memory feature: "dimms" or "ram_gb"
    fitted_at: str
    data_sha256: str


@dataclass(frozen=True, slots=True)
class PublishedMatch:
    """A host's curve from published results, how many, and what was assumed."""

    curve: FittedServerCurve
    results: int
    notes: str


def table_from_dict(doc: dict[str, Any]) -> PublishedTable:
    """PublishedTable from the JSON document the fitting tool writes."""
    if tuple(doc["levels"]) != LEVELS:
        raise ValueError(f"unsupported published power table: levels {doc['levels']}")
    groups = {key: tuple(PublishedResult(r["result_id"], int(r["dimms"]), float(r["ram_gb"]), str(r["maker"]),
                                         tuple(float(w) for w in r["watts"])) for r in results)
              for key, results in doc["groups"].items()}
    adjustments = {memory: Adjustment(tuple(float(b) for b in a["ln_memory"]),
                                      {m: tuple(float(b) for b in bs) for m, bs in a["makers"].items()})
                   for memory, a in doc["adjustments"].items()}
    return PublishedTable(groups=groups, adjustments=adjustments, fitted_at=str(doc.get("fitted_at", "")),
                          data_sha256=str(doc["data"]["sha256"]))


def default_table_path() -> Path:
    return data_files.packaged(DEFAULT_TABLE)


def load_table(path: str | os.PathLike[str] | None = None) -> PublishedTable:
    """The published results table (the packaged file by default), read once per path."""
    return data_files.load(path, DEFAULT_TABLE, table_from_dict)


def memory_of(result: PublishedResult, memory: str) -> float:
    return float(result.dimms) if memory == "dimms" else result.ram_gb


def central_watts(results: tuple[PublishedResult, ...] | list[PublishedResult], adjustment: Adjustment | None,
                  memory: str, value: float | None, maker: str | None) -> list[float]:
    """Per level, the median over `results` of ln watts, each moved to `value` of `memory` and to `maker`.

    No memory move without a value, no maker move without a maker; a maker the adjustment
    does not know counts as one with no effect.
    """
    out = []
    for k in range(len(LEVELS)):
        logs = []
        for r in results:
            log_w = math.log(r.watts[k])
            if adjustment is not None and value is not None:
                log_w += adjustment.memory[k] * (math.log(value) - math.log(memory_of(r, memory)))
            if adjustment is not None and maker is not None:
                log_w += _maker_effect(adjustment, maker, k) - _maker_effect(adjustment, r.maker, k)
            logs.append(log_w)
        out.append(math.exp(statistics.median(logs)))
    return out


def _maker_effect(adjustment: Adjustment, maker: str, level: int) -> float:
    effects = adjustment.makers.get(maker)
    return effects[level] if effects is not None else 0.0


def published_server_curve(cpu_name: str, sockets: int, ram_gb: float, ram_modules: int | None, vendor: str = "",
                           table: PublishedTable | None = None) -> PublishedMatch | None:
    """The curve from the published results of this CPU and socket count, or None when there are none.

    `vendor` is the machine's maker as its firmware says ("Dell Inc."): unknown, no maker move.
    """
    key = cpu_key(cpu_name or "")
    if key is None:
        return None
    t = table if table is not None else load_table()
    results = t.groups.get(group_key(key, int(sockets or 1)))
    if not results:
        return None
    if ram_modules and ram_modules > 0:
        memory, value, said = "dimms", float(ram_modules), f"moved to {ram_modules} DIMMs"
    elif ram_gb and ram_gb > 0 and math.isfinite(ram_gb):
        memory, value, said = "ram_gb", float(ram_gb), f"moved to {ram_gb:g} GB RAM (DIMM count unknown)"
    else:
        memory, value, said = "ram_gb", None, "memory unknown: not adjusted"
    maker = server_maker(vendor)
    watts = central_watts(results, t.adjustments.get(memory), memory, value, maker)
    ids = ", ".join(r.result_id for r in results[:3]) + (", ..." if len(results) > 3 else "")
    notes = (f"{len(results)} published SPECpower result(s) of {key} with {sockets} socket(s) ({ids}): "
             f"median per load level, {said}, " + (f"to maker {maker}" if maker else "maker unknown: not moved"))
    return PublishedMatch(curve=curve_from_knots(watts), results=len(results), notes=notes)
