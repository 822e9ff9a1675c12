"""Whole-server wall power fitted on SPECpower_ssj2008 results: built once per host, evaluated per sample.

The fallback for servers whose CPU has no published result (published_power.py comes first;
docs/power-model.md; fitted by tools/fit_power_model.py): at each of SPEC's eleven load
levels (active idle, 10 %, ..., 100 %) one log-linear ridge regression of the measured wall
power on what an inventory knows:

    ln P_k = b_k · [1, ln sockets, ln cores, ln memory, AMD, AMD · ln sockets, low-power CPU,
                    entry platform, y, max(0, y − 2011), max(0, y − 2016)] + g_k[generation] + m_k[maker]

(y = year − 2015). Memory is the DIMM count when the inventory has it, else RAM GB: one
coefficient set each. The generation ("intel-2017-main": vendor, launch year, entry or
mainstream platform) and the server's maker (`server_maker`: "dell", "hpe", ...) add shrunk
terms; an unknown generation or maker adds none.

`fitted_server_curve` evaluates the eleven regressions once for a host (0.1-0.3 ms; the
first call also reads the parameters and the CPU table, about 50 ms), makes them
non-decreasing, and keeps them as idle watts, full-load watts and a normalised shape;
`FittedServerCurve.power_w` then interpolates linearly between the levels: a few float
operations, no numpy.

`year` is the launch year of the CPU's generation, read from its model number (Xeon,
Opteron, EPYC: 98 % of the training rows); failing that the CPU's release date in
boaviztapi's CPU table (matched strictly: the same model-number tokens, then rapidfuzz's
token_set_ratio > 80 as boaviztapi does), then the inventory's year, then an estimate from
the cores per socket. The vendor (AMD or not), the low-power flag (Xeon L-series, E3/E5/E7
"L" parts, Opteron HE/EE) and the entry platform (Xeon 3000/E3/E-2000, Core, Ryzen...) are
read from the name too. TDP and threads are accepted but not used (docs/power-model.md).

Fitted on results published by the Standard Performance Evaluation Corporation (SPEC),
https://www.spec.org/power_ssj2008/results/.
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import importlib.util
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetprint.collector.impact import data_files
from fleetprint.collector.impact.boavizta import clean_cpu_name

LEVELS = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100)
FEATURES = ("const", "ln_sockets", "ln_cores", "ln_memory", "amd", "amd_ln_sockets", "low_power", "entry",
            "year", "year_after_k1", "year_after_k2")
FUZZ_THRESHOLD = 80.0  # boaviztapi's cpu_name_fuzzymatch_threshold: a score must be above it
DEFAULT_PARAMS = "server_power_model.json"


# --- The curve: evaluated per sample -------------------------------------------------


@dataclass(frozen=True, slots=True)
class FittedServerCurve:
    """Wall power of a whole server against load: idle + (max − idle) · shape(load), times a share.

    `shape` holds the normalised curve at 0, 10, ..., 100 % (0.0 first, 1.0 last,
    non-decreasing); between levels it is interpolated linearly. `share` is 1 for a
    physical server and a VM's part of its host, as in ServerCurve.
    """

    idle_w: float
    max_w: float
    shape: tuple[float, ...]
    share: float = 1.0

    def power_w(self, load_pct: float) -> float:
        x = load_pct * 0.1
        if x >= 10.0:
            i, f = 9, 1.0
        elif x > 0.0:
            i = int(x)
            f = x - i
        else:  # below 0, and NaN: idle
            i, f = 0, 0.0
        a, b = self.shape[i], self.shape[i + 1]
        s = a + (b - a) * f
        if s > b:  # rounding must not step past the next level: keeps the curve non-decreasing
            s = b
        return (self.idle_w + (self.max_w - self.idle_w) * s) * self.share


@dataclass(frozen=True, slots=True)
class FitResult:
    """A host's fitted curve, whether its configuration lies inside the fitted data, and what was assumed."""

    curve: FittedServerCurve
    in_range: bool
    notes: str


# --- Parameters: fitted by tools/fit_power_model.py, shipped as JSON ----------------


@dataclass(frozen=True, slots=True)
class FittedParams:
    """The shipped fit: per-level coefficients for each memory feature, the fitted range and the fallbacks."""

    levels: tuple[int, ...]
    features: tuple[str, ...]
    generations: tuple[str, ...]  # one indicator column each, after `features` (ridge-shrunk in the fit)
    makers: tuple[str, ...]  # one indicator column each, after the generations (ridge-shrunk in the fit)
    # memory feature ("dimms": ln DIMMs, "ram_gb": ln RAM GB) -> one row per level, one column per feature
    coefficients: dict[str, tuple[tuple[float, ...], ...]]
    year_origin: float
    year_knots: tuple[float, float]
    sockets_range: tuple[int, int]
    cores_range: tuple[float, float]
    cores_per_socket_range: tuple[float, float]
    ram_gb_range: tuple[float, float]
    dimms_range: tuple[float, float]
    year_range: tuple[int, int]
    year_fallback: tuple[float, float, float]  # year ≈ c0 + c1·ln(cores per socket) + c2·AMD
    fitted_at: str
    data_sha256: str


def params_from_dict(doc: dict[str, Any]) -> FittedParams:
    """FittedParams from the JSON document the fitting tool writes."""
    model = doc["model"]
    if tuple(model["features"]) != FEATURES or tuple(model["levels"]) != LEVELS:
        raise ValueError(f"unsupported power model parameters: features {model['features']}, levels {model['levels']}")
    r = model["range"]
    return FittedParams(
        levels=tuple(int(v) for v in model["levels"]),
        features=tuple(model["features"]),
        generations=tuple(model["generations"]),
        makers=tuple(model["makers"]),
        coefficients={memory: tuple(tuple(float(c) for c in row) for row in rows)
                      for memory, rows in model["coefficients"].items()},
        year_origin=float(model["year_origin"]),
        year_knots=(float(model["year_knots"][0]), float(model["year_knots"][1])),
        sockets_range=(int(r["sockets"][0]), int(r["sockets"][1])),
        cores_range=(float(r["cores"][0]), float(r["cores"][1])),
        cores_per_socket_range=(float(r["cores_per_socket"][0]), float(r["cores_per_socket"][1])),
        ram_gb_range=(float(r["ram_gb"][0]), float(r["ram_gb"][1])),
        dimms_range=(float(r["dimms"][0]), float(r["dimms"][1])),
        year_range=(int(r["year"][0]), int(r["year"][1])),
        year_fallback=tuple(float(c) for c in model["year_fallback"]["coefficients"]),  # type: ignore[arg-type]
        fitted_at=str(doc.get("fitted_at", "")),
        data_sha256=str(doc.get("data", {}).get("sha256", "")),
    )


def default_params_path() -> Path:
    return data_files.packaged(DEFAULT_PARAMS)


def load_params(path: str | os.PathLike[str] | None = None) -> FittedParams:
    """The fitted parameters (the packaged file by default), read once per path."""
    return data_files.load(path, DEFAULT_PARAMS, params_from_dict)


# --- CPU names ---------------------------------------------------------------------

_SPEC_NOISE = [
    r"\(.*?\)",  # "(Intel Turbo Boost Technology up to 3.00 GHz)", "(2.5GHz)"
    r"\[.*?\]",  # "Dell SKU [338-BNCG]"
    r"\b\d+(\.\d+)?\s*[gm]hz\b",  # "2.20 GHz" without "@"
    r",.*$",  # ", 2.933 GHz", ", Dell SKU ..."
]
_AMD = re.compile(r"\b(amd|epyc|opteron|ryzen|threadripper)\b")
_INTEL = re.compile(r"\b(intel|xeon|pentium|celeron|core)\b")
_LOW_POWER = [
    re.compile(r"\bxeon (processor )?l\d{4}\b"),  # Xeon L5430, L5520, L3360 (not Scalable's "8280L": more memory)
    re.compile(r"\be[357]-\d{4}l\b"),  # E3-1265L v3, E5-2650L
    re.compile(r"\b\d{4} ?[he]e\b"),  # Opteron 2376 HE, 4164 EE
]
# One-socket entry platforms: Xeon 3000/E3/E-2000, Core, Pentium, Ryzen, Opteron 1000, EPYC 4004.
_ENTRY = re.compile(r"\b(e3-\d{4}|e-2\d{3}|core|pentium|celeron|ryzen|epyc 4\d{3}|opteron 1\d{3})"
                    r"|\b(xeon|intel) [elx]?3\d{3}\b")


def normalise_cpu_name(raw: str) -> str:
    """Lower-case CPU name without /proc/cpuinfo's and SPEC's decorations; "e3-1240v2" → "e3-1240 v2"."""
    name = clean_cpu_name(raw).lower()
    for pattern in _SPEC_NOISE:
        name = re.sub(pattern, " ", name)
    name = re.sub(r"\b(\w*\d\w*?)(v\d)\b", r"\1 \2", name)
    return " ".join(name.replace("processor", " ").split())


def is_amd(name: str) -> bool:
    return _AMD.search(normalise_cpu_name(name)) is not None


def is_low_power(name: str) -> bool:
    n = normalise_cpu_name(name)
    return any(p.search(n) for p in _LOW_POWER)


# Server makers as SPEC's `vendor` and the machines' DMI name them; IBM's x86 servers went to Lenovo in 2014.
_MAKERS = (("fujitsu", r"fujitsu"), ("dell", r"\bdell\b"), ("hpe", r"hewlett|\bhpe?\b"), ("ibm", r"\bibm\b"),
           ("lenovo", r"lenovo"), ("huawei", r"huawei|xfusion"), ("acer", r"\bacer\b"),
           ("supermicro", r"super ?micro"), ("nec", r"\bnec\b"), ("hitachi", r"hitachi"), ("inspur", r"inspur"),
           ("asus", r"\basus"))


def server_maker(vendor: str) -> str | None:
    """The server's maker as the fits name it ("dell", "hpe", ... or "other"); None when the vendor is unknown."""
    v = " ".join((vendor or "").lower().split())
    if not v or v in ("to be filled by o.e.m.", "default string", "system manufacturer", "unknown"):
        return None
    return next((maker for maker, pattern in _MAKERS if re.search(pattern, v)), "other")


def is_entry(name: str) -> bool:
    """A one-socket entry platform's CPU (Xeon E3, E-2xxx, 3xxx; Core; Ryzen...): smaller boards, fewer fans."""
    return _ENTRY.search(normalise_cpu_name(name)) is not None


def generation(name: str) -> str | None:
    """The CPU's generation as the fit names it ("intel-2017-main"), from the name alone; None if unknown."""
    launch = cpu_launch_year(name)
    if launch is None:
        return None
    return f"{'amd' if is_amd(name) else 'intel'}-{launch}-{'entry' if is_entry(name) else 'main'}"


# Launch years of server CPU generations, read from the model number (public launch dates).
_OPTERON = {"22": 2006, "82": 2006, "23": 2008, "83": 2008, "24": 2009, "84": 2009, "41": 2010, "61": 2010,
            "42": 2011, "62": 2011, "43": 2012, "63": 2012}
_XEON_OLD = {"51": 2006, "53": 2006, "30": 2006, "32": 2007, "52": 2007, "54": 2007, "31": 2008, "33": 2008, "74": 2008,
             "34": 2009, "55": 2009, "36": 2010, "56": 2010, "65": 2010, "75": 2010}
_LAUNCH_RULES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"\bepyc \d{3}([1-5])"), lambda m: {"1": 2017, "2": 2019, "3": 2021, "4": 2022, "5": 2024}[m[1]]),
    (re.compile(r"\bopteron (\d\d)\d\d"), lambda m: _OPTERON.get(m[1])),
    (re.compile(r"\b(bronze|silver|gold|platinum) \d([1-5])\d\d"),
     lambda m: {"1": 2017, "2": 2019, "3": 2021, "4": 2023, "5": 2023}[m[2]]),
    (re.compile(r"\be-2([1-4])\d\d"), lambda m: {"1": 2018, "2": 2019, "3": 2021, "4": 2023}[m[1]]),
    (re.compile(r"\be3-1\d{3}l?(?: v(\d))?\b"), lambda m: {None: 2011, "2": 2012, "3": 2013, "4": 2015, "5": 2015,
                                                           "6": 2017}.get(m[1])),
    (re.compile(r"\be5-[124]\d{3}[lwa]?(?: v(\d))?\b"),
     lambda m: {None: 2012, "2": 2013, "3": 2014, "4": 2016}.get(m[1])),
    (re.compile(r"\be7-\d{4}(?: v(\d))?\b"), lambda m: {None: 2011, "2": 2014, "3": 2015, "4": 2016}.get(m[1])),
    (re.compile(r"\b(?:xeon|intel) [xelw]?(\d\d)\d\d\b"), lambda m: _XEON_OLD.get(m[1])),
]


def cpu_launch_year(name: str) -> int | None:
    """The launch year of a server CPU's generation from its model number (Xeon, Opteron, EPYC), or None."""
    n = normalise_cpu_name(name)
    for pattern, year in _LAUNCH_RULES:
        m = pattern.search(n)
        if m:
            return year(m)
    return None


def _model_tokens(name: str) -> frozenset[str]:
    """The tokens with a digit ("e5-2660", "v2", "8280l"): two CPUs match only if these are equal."""
    return frozenset(w for w in name.split() if any(c.isdigit() for c in w))


@dataclass(frozen=True, slots=True)
class CpuSpec:
    """One row of boaviztapi's CPU table, the fields this model reads."""

    name: str
    manufacturer: str
    tdp_w: float | None
    cores: float | None
    threads: float | None
    release_year: int | None


def cpu_table_path() -> Path | None:
    """boaviztapi's crowdsourced CPU table, found without importing boaviztapi (None when absent)."""
    spec = importlib.util.find_spec("boaviztapi")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "crowdsourcing" / "cpu_specs.csv"
    return path if path.is_file() else None


def _num(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@functools.lru_cache(maxsize=1)
def _cpu_index() -> dict[frozenset[str], tuple[tuple[str, CpuSpec], ...]]:
    path = cpu_table_path()
    index: dict[frozenset[str], list[tuple[str, CpuSpec]]] = {}
    if path is None:
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            date = row.get("release_date") or ""
            spec = CpuSpec(
                name=row["name"],
                manufacturer=row.get("manufacturer") or "",
                tdp_w=_num(row.get("tdp") or ""),
                cores=_num(row.get("cores") or ""),
                threads=_num(row.get("threads") or ""),
                release_year=int(date[:4]) if re.match(r"^\d{4}", date) else None,
            )
            normalised = normalise_cpu_name(spec.name)
            tokens = _model_tokens(normalised)
            if tokens:
                index.setdefault(tokens, []).append((normalised, spec))
    return {k: tuple(v) for k, v in index.items()}


@functools.lru_cache(maxsize=4096)
def match_cpu(name: str) -> CpuSpec | None:
    """The CPU table's row for a CPU name, or None: same model-number tokens, then token_set_ratio > 80.

    boaviztapi accepts the best token_set_ratio above 80 over the whole table, which pairs
    CPUs it lacks with others ("Xeon X5670" with "Xeon E5-2670", "Xeon L5430" with "Xeon
    D-1540"); requiring the same model number first refuses those.
    """
    query = normalise_cpu_name(name)
    candidates = _cpu_index().get(_model_tokens(query), ())
    if not candidates:
        return None
    from rapidfuzz import fuzz

    best, best_score = None, FUZZ_THRESHOLD
    for normalised, spec in candidates:
        score = fuzz.token_set_ratio(query, normalised)
        if score > best_score:
            best, best_score = spec, score
    return best


# --- Building a host's curve: once per inventory --------------------------------------


def _knots_w(params: FittedParams, memory: str, x: tuple[float, ...], generation_name: str | None,
             maker: str | None) -> list[float]:
    """exp(b_k · x) at each level; a known generation and maker add their columns, unknown ones none."""
    columns = []
    if generation_name in params.generations:
        columns.append(len(x) + params.generations.index(generation_name))
    if maker in params.makers:
        columns.append(len(x) + len(params.generations) + params.makers.index(maker))
    rows = params.coefficients[memory]
    return [math.exp(sum(b * v for b, v in zip(row, x)) + sum(row[c] for c in columns)) for row in rows]


def curve_from_knots(watts: list[float], share: float = 1.0) -> FittedServerCurve:
    """The curve through powers at 0, 10, ..., 100 % load (made non-decreasing)."""
    knots = [float(watts[0])]
    for w in watts[1:]:
        knots.append(max(float(w), knots[-1]))
    idle, top = knots[0], knots[-1]
    span = top - idle
    shape = tuple(((w - idle) / span) if span > 0 else 0.0 for w in knots)
    shape = shape[:-1] + (1.0,) if span > 0 else shape
    return FittedServerCurve(idle_w=idle, max_w=top, shape=shape, share=float(share))


def estimate_year(params: FittedParams, cores_per_socket: float, amd: bool) -> float:
    """The year a server with this many cores per socket typically became available (training fit)."""
    c0, c1, c2 = params.year_fallback
    return c0 + c1 * math.log(cores_per_socket) + c2 * (1.0 if amd else 0.0)


def fitted_server_curve(cpu_name: str, sockets: int, cores: int, threads: int, ram_gb: float, tdp_w: float | None,
                        year: int | None, params: FittedParams | None = None,
                        ram_modules: int | None = None, vendor: str = "") -> FitResult:
    """A physical server's fitted wall-power curve from its inventory; never raises for an unknown CPU.

    `cores` and `threads` are totals over all sockets. `vendor` is the machine's maker as its
    firmware says ("Dell Inc.", "HPE"): a maker the fit knows adds its term, an unknown one
    none. Memory enters as the number of DIMMs (`ram_modules`) when known, else as RAM GB
    (the fit has a coefficient set for each).
    `year` (when the server model became available; a purchase year is a fair stand-in) is
    used only when the CPU's generation is known neither from its name nor from the CPU
    table. `tdp_w` and `threads` are not used by the shipped fit. Outside the fitted range
    the curve is still finite, positive and non-decreasing, `in_range` is False and `notes`
    says what was assumed.
    """
    p = params if params is not None else load_params()
    notes: list[str] = []
    in_range = True

    spec = match_cpu(cpu_name) if cpu_name else None
    amd = is_amd(cpu_name or "")
    low_power = is_low_power(cpu_name or "")
    entry = is_entry(cpu_name or "")
    if spec is not None:
        notes.append(f"CPU matched to {spec.name!r} in boaviztapi's CPU table")
        amd = amd or spec.manufacturer.lower() == "amd"
    elif cpu_table_path() is None:
        notes.append("boaviztapi's CPU table not available: CPU read from its name only")
    else:
        notes.append(f"CPU {cpu_name!r} not found in boaviztapi's CPU table: "
                     "vendor and low-power flag read from its name")
    known_vendor = amd or _INTEL.search(normalise_cpu_name(cpu_name or "")) is not None
    if not known_vendor:
        in_range = False
        notes.append("vendor neither Intel nor AMD (the fit has x86 servers only): counted as Intel")
    if tdp_w is None and spec is not None and spec.tdp_w is None:
        notes.append("no TDP in the CPU table (the fitted model does not use TDP)")

    # Sanitise what an inventory may get wrong; the fit needs positive values.
    s = max(1, int(sockets or 1))
    c = float(cores) if cores and cores >= s else float(s)
    if not cores or cores < s:
        notes.append(f"cores {cores!r} below sockets: taken as {int(c)}")
    r = float(ram_gb) if ram_gb and ram_gb > 0 and math.isfinite(ram_gb) else None
    if r is None:
        r = math.exp((math.log(p.ram_gb_range[0]) + math.log(p.ram_gb_range[1])) / 2)
        notes.append(f"RAM unknown: taken as {r:.0f} GB (geometric middle of the fitted range)")
        in_range = False

    launch = cpu_launch_year(cpu_name or "")
    if launch is not None:
        y = float(launch)
        year_note = f"year {launch}: the CPU generation's launch, from its model number"
    elif spec is not None and spec.release_year is not None:
        y = float(spec.release_year)
        year_note = f"year {spec.release_year}: the CPU's release in the CPU table"
    elif year is not None:
        y = float(year)
        year_note = f"year {year}: from the inventory (CPU generation not recognised)"
    else:
        y = estimate_year(p, c / s, amd)
        year_note = f"year unknown: estimated {y:.0f} from {c / s:g} cores per socket (less accurate, see docs)"
    lo_y, hi_y = p.year_range
    if not lo_y <= y <= hi_y:
        in_range = False
        year_note += f", outside the fitted years {lo_y}-{hi_y}: taken as {min(max(y, lo_y), hi_y):.0f}"
        y = min(max(y, float(lo_y)), float(hi_y))
    notes.append(year_note)

    lo_s, hi_s = p.sockets_range
    nodes = 1.0
    if s > hi_s:
        # A big SMP machine as s / hi_s nodes of hi_s sockets, each with its share of cores and RAM.
        nodes = s / hi_s
        in_range = False
        notes.append(f"{s} sockets, outside the fitted {lo_s}-{hi_s}: modelled as {nodes:g} servers of {hi_s} sockets "
                     f"sharing its cores and RAM")
    fc = c / nodes
    if ram_modules and ram_modules > 0:
        memory, fm, memory_range, memory_label = "dimms", ram_modules / nodes, p.dimms_range, "DIMMs"
        notes.append(f"memory as {ram_modules} DIMMs")
    else:
        memory, fm, memory_range, memory_label = "ram_gb", r / nodes, p.ram_gb_range, "RAM GB"
        notes.append("memory as RAM GB (DIMM count unknown)")
    for label, value, (lo, hi) in (("cores", fc, p.cores_range), ("cores per socket", c / s, p.cores_per_socket_range),
                                   (memory_label, fm, memory_range)):
        if not lo <= value <= hi:
            in_range = False
            notes.append(f"{label} {value:g} outside the fitted {lo:g}-{hi:g}: extrapolated log-linearly")

    k1, k2 = p.year_knots
    ln_sockets = math.log(s / nodes)
    x = (1.0, ln_sockets, math.log(fc), math.log(fm), float(amd), amd * ln_sockets, float(low_power), float(entry),
         y - p.year_origin, max(0.0, y - k1), max(0.0, y - k2))
    gen = generation(cpu_name or "") if launch is not None else None
    maker = server_maker(vendor)
    if maker in p.makers:
        notes.append(f"maker {maker}")
    watts = _knots_w(p, memory, x, gen, maker)
    curve = curve_from_knots([w * nodes for w in watts])
    if in_range:
        notes.insert(0, "inside the fitted range")
    return FitResult(curve=curve, in_range=in_range, notes="; ".join(notes))
