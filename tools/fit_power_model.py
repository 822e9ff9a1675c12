#!/usr/bin/env python
"""Fit the server wall-power models on SPECpower_ssj2008 results, validate them, write what ships.

    python tools/fit_power_model.py [--data CSV] [--no-reference] [--check]

Reads the training file (default ../shared/data/specpower_ssj2008_train.csv beside the
repository) and writes two package files:

- collector/impact/data/server_power_published.json: the lookup, every result with its SPEC
  id, DIMMs, RAM, maker and wall power per level, grouped by CPU key and socket count
  (published_power.cpu_key), and the within-CPU effects of memory and of the server's maker;
- collector/impact/data/server_power_model.json: the fallback, one ridge regression of
  ln watts per load level (fitted_power.FEATURES plus one indicator per CPU generation and per
  maker), for DIMMs and for RAM GB, with its validation.

Validation: the lookup leave-one-result-out (each result predicted from the other results of
its CPU and socket count, effects refitted without it), the fallback grouped by CPU
(leave-one-CPU-out: no CPU model is in both the training and the validation part) and by
CPU launch year (trained on older CPUs, tested on newer ones), both against Boavizta's server
profile computed by boaviztapi in-process on the same rows (--no-reference skips it). It
prints the tables docs/power-model.md quotes; --check refits and compares with the shipped
files instead of writing them.

Fit and validate on the training file only (see shared/data/README.md: some results are
held out on purpose). Figures derive from results published by the Standard Performance
Evaluation Corporation (SPEC), https://www.spec.org/power_ssj2008/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "specpower_ssj2008_train.csv"
DATA_DIR = REPO / "collector" / "impact" / "data"
MODEL_OUT = DATA_DIR / "server_power_model.json"
TABLE_OUT = DATA_DIR / "server_power_published.json"

from fleetprint.collector.impact import fitted_power as fp  # noqa: E402
from fleetprint.collector.impact import published_power as pp  # noqa: E402

LEVEL_COLUMNS = ["p_idle_w"] + [f"p_{k:03d}_w" for k in range(10, 101, 10)]
YEAR_ORIGIN = 2015
YEAR_KNOTS = (2011, 2016)  # chosen by 5-fold CV among a few (2010/2015, 2012/2017, 2010/2013/2016, one knot)
GENERATION_RIDGE = 10.0  # penalty on the generation indicators (chosen among 1, 3, 10, 30, 100 by leave-one-CPU-out)
MAKER_RIDGE = 3.0  # penalty on the fallback's maker indicators (chosen among 1, 3, 10, 30 by leave-one-CPU-out)
LOOKUP_MAKER_RIDGE = 1.0  # penalty on the lookup's within-CPU maker effects (among 1, 3, 10, leave-one-result-out)
MEMORY = ("dimms", "ram_gb")
PREVIOUS_DROPPED = [fp.FEATURES.index("amd_ln_sockets"), fp.FEATURES.index("entry")]  # not in the earlier model
YEAR_SPLITS = (2015, 2018, 2020)
REFERENCE_ZONE = "WOR"
SOURCE = "green-coding-solutions/spec-power-raw-data @ 3fe0e561e1f56e3e67c14c2c5bf708724ae3676a"
CITATION = ("SPECpower_ssj2008 results published by the Standard Performance Evaluation Corporation (SPEC), "
            "https://www.spec.org/power_ssj2008/results/")


# --- Data ---------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dimm_count(text: str) -> float:
    """"4x4096MB", "12 x 16 GB", "2x4096 MB, 4x2048 MB" -> the number of modules (NaN if unreadable)."""
    counts = re.findall(r"(\d+)\s*x\s*\d", str(text), re.I)
    return float(sum(int(n) for n in counts)) if counts else float("nan")


def load_training(path: Path) -> pd.DataFrame:
    """The SPEC rows with every load level, and the inventory-side fields the models read."""
    df = pd.read_csv(path)
    df["dimm_count"] = df["dimms"].map(dimm_count)
    df = df.dropna(subset=LEVEL_COLUMNS + ["chips", "cores", "ram_gb", "dimm_count", "hw_availability"])
    df = df.reset_index(drop=True)
    # `available`: the year SPEC says the hardware became available, no earlier than the CPU's
    # launch (two dates are typos: an EPYC 7501 "Feb-2008", a Platinum 8180 "Jan-2015").
    # `year`, the model's feature, as fitted_power.fitted_server_curve reads it: the CPU
    # generation's launch year, else the CPU table's release year, else `available`.
    df["amd"] = df["cpu_name"].map(fp.is_amd).astype(float)
    df["low_power"] = df["cpu_name"].map(fp.is_low_power).astype(float)
    df["entry"] = df["cpu_name"].map(fp.is_entry).astype(float)
    specs = df["cpu_name"].map(fp.match_cpu)
    df["cpu_matched"] = specs.map(lambda s: s.name if s else None)
    df["cpu_tdp_w"] = specs.map(lambda s: s.tdp_w if s and s.tdp_w else np.nan).astype(float)
    df["cpu_release_year"] = specs.map(lambda s: s.release_year if s and s.release_year else np.nan).astype(float)
    df["launch"] = df["cpu_name"].map(fp.cpu_launch_year).astype(float)
    df["generation"] = df["cpu_name"].map(fp.generation)
    available = df["hw_availability"].str.extract(r"(\d{4})\s*$")[0].astype(float)
    df["available_fixed"] = available < df["launch"] - 1
    df["available"] = np.where(df["available_fixed"], df["launch"], available)
    df["year"] = df["launch"].fillna(df["cpu_release_year"]).fillna(df["available"])
    df["maker"] = df["vendor"].map(fp.server_maker).fillna("other")
    df["cpu_key"] = df["cpu_name"].map(pp.cpu_key)
    # The CPU model, for grouping: its key, else its cleaned name.
    df["cpu_group"] = df["cpu_key"].fillna("name:" + df["cpu_name"].map(fp.normalise_cpu_name))
    df["lookup_key"] = [pp.group_key(k, int(c)) if isinstance(k, str) else None
                        for k, c in zip(df["cpu_key"], df["chips"])]
    return df


def measured(df: pd.DataFrame) -> np.ndarray:
    return df[LEVEL_COLUMNS].to_numpy(float)


# --- The fallback: one ridge regression of ln watts per level -----------------------


def memory_values(df: pd.DataFrame, memory: str) -> np.ndarray:
    return df["dimm_count" if memory == "dimms" else "ram_gb"].to_numpy(float)


def design(df: pd.DataFrame, memory: str, generations: list[str], makers: list[str], year: np.ndarray | None = None,
           generation: pd.Series | None = None) -> np.ndarray:
    """fitted_power.FEATURES, then one indicator per generation in `generations` and per maker in `makers`."""
    y = df["year"].to_numpy(float) if year is None else year
    gen = df["generation"] if generation is None else generation
    base = np.column_stack([
        np.ones(len(df)), np.log(df["chips"].to_numpy(float)), np.log(df["cores"].to_numpy(float)),
        np.log(memory_values(df, memory)), df["amd"].to_numpy(float),
        df["amd"].to_numpy(float) * np.log(df["chips"].to_numpy(float)), df["low_power"].to_numpy(float),
        df["entry"].to_numpy(float), y - YEAR_ORIGIN, np.maximum(0.0, y - YEAR_KNOTS[0]),
        np.maximum(0.0, y - YEAR_KNOTS[1]),
    ])
    return np.hstack([base, indicators(gen, generations), indicators(df["maker"], makers)])


def indicators(labels: pd.Series, names: list[str]) -> np.ndarray:
    """One 0/1 column per name."""
    column = np.asarray(labels, dtype=object)[:, None]
    return (column == np.asarray(names, dtype=object)[None, :]).astype(float).reshape(len(labels), len(names))


def ridge(x: np.ndarray, y: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """Least squares with `penalty` on the diagonal (0 for the unpenalised columns), every level at once.

    A column that is zero on every training row (a year knot beyond the training years) gets 0.
    """
    active = np.any(x != 0.0, axis=0)
    xa = x[:, active]
    coefficients = np.zeros((x.shape[1], y.shape[1]))
    coefficients[active] = np.linalg.solve(xa.T @ xa + np.diag(penalty[active]), xa.T @ y)
    return coefficients


def fit_fallback(df: pd.DataFrame, memory: str, previous: bool = False) -> tuple[np.ndarray, list[str], list[str]]:
    """Coefficients (features x levels) and the generations and makers they name, fitted on `df`'s rows.

    `previous`: the model before the generation and maker indicators, the entry flag and AMD's
    own socket elasticity (RAM GB only), for comparison.
    """
    generations = [] if previous else sorted(g for g in df["generation"].dropna().unique())
    makers = [] if previous else sorted(df["maker"].unique())
    x = design(df, memory, generations, makers)
    if previous:
        x = np.delete(x, PREVIOUS_DROPPED, axis=1)
    penalty = np.array([0.0] * (x.shape[1] - len(generations) - len(makers)) + [GENERATION_RIDGE] * len(generations)
                       + [MAKER_RIDGE] * len(makers))
    return ridge(x, np.log(measured(df)), penalty), generations, makers


def predict_fallback(coefficients: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.maximum.accumulate(np.exp(x @ coefficients), axis=1)  # non-decreasing, as fitted_power does


def fit_year_fallback(df: pd.DataFrame) -> np.ndarray:
    """year ≈ c0 + c1·ln(cores per socket) + c2·AMD, for inventories that do not know the year."""
    x = np.column_stack([np.ones(len(df)), np.log(df["cores"] / df["chips"]), df["amd"]])
    return np.linalg.lstsq(x, df["year"].to_numpy(float), rcond=None)[0]


def year_fallback(df: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    return c[0] + c[1] * np.log(df["cores"] / df["chips"]).to_numpy(float) + c[2] * df["amd"].to_numpy(float)


def fallback_out_of_sample(df: pd.DataFrame, splits, memory: str = "dimms", variant: str = "") -> np.ndarray:
    """The fallback's predictions for the test rows of each (train, test) split; NaN where never tested.

    The year is clamped to the training years, as fitted_power clamps it to the fitted range;
    a generation the training rows lack gets no indicator. Variants: "year_unknown" (the
    year estimated from cores per socket, no generation), "previous" (the earlier model).
    """
    p = measured(df)
    pred = np.full_like(p, np.nan)
    for train, test in splits:
        coefficients, generations, makers = fit_fallback(df[train], memory, previous=variant == "previous")
        years = df["year"].to_numpy(float)
        gen = df["generation"]
        if variant == "year_unknown":  # neither the name nor the table nor the inventory gives a year
            years = np.where(test, year_fallback(df, fit_year_fallback(df[train])), years)
            gen = gen.where(~test, None)
        lo, hi = df["year"][train].min(), df["year"][train].max()
        x = design(df[test], memory, generations, makers, np.clip(years[test], lo, hi), gen[test])
        if variant == "previous":
            x = np.delete(x, PREVIOUS_DROPPED, axis=1)
        pred[test] = predict_fallback(coefficients, x)
    return pred


def cpu_splits(df: pd.DataFrame):
    """Leave one CPU model out: every CPU's rows (all socket counts) tested by a fit on the others."""
    groups = df["cpu_group"].to_numpy()
    return [(groups != g, groups == g) for g in sorted(set(groups))]


def year_split(df: pd.DataFrame, first_test_year: int):
    """Train on CPUs launched before `first_test_year` (the model's year), test on the newer ones."""
    return [((df["year"] < first_test_year).to_numpy(), (df["year"] >= first_test_year).to_numpy())]


# --- The lookup: published results of the same CPU and socket count -------------------


def table_results(df: pd.DataFrame) -> dict[str, list[pp.PublishedResult]]:
    """The training rows per lookup key, as published_power reads them (file order)."""
    groups: dict[str, list[pp.PublishedResult]] = {}
    for row, watts in zip(df.itertuples(), measured(df)):
        if row.lookup_key is None:
            continue
        groups.setdefault(row.lookup_key, []).append(pp.PublishedResult(
            row.result_id, int(row.dimm_count), float(row.ram_gb), row.maker, tuple(float(w) for w in watts)))
    return groups


def within_features(results: list[pp.PublishedResult], memory: str, makers: list[str]) -> np.ndarray:
    """ln memory and one indicator per maker, one row per result."""
    x = np.log([pp.memory_of(r, memory) for r in results])[:, None]
    return np.hstack([x, np.array([[float(r.maker == m) for m in makers] for r in results]).reshape(len(results), -1)])


def within_stats(groups: dict[str, list[pp.PublishedResult]], memory: str, makers: list[str]) -> dict[str, tuple]:
    """Per group: n, Σx, Σxxᵀ, Σy, Σxyᵀ (x: within_features, y: ln watts per level)."""
    stats = {}
    for key, results in groups.items():
        x, y = within_features(results, memory, makers), np.log([r.watts for r in results])
        stats[key] = (len(results), x.sum(axis=0), x.T @ x, y.sum(axis=0), x.T @ y)
    return stats


def within_effects(stats: dict[str, tuple], makers: list[str], without: tuple[str, np.ndarray, np.ndarray] | None = None
                   ) -> np.ndarray:
    """The pooled within-group effects (features x levels) of ln memory and the makers, ridge on the makers.

    Each group's mean is removed first: only servers of one CPU and socket count are compared.
    `without` = (key, x, y) leaves one result out of its group's sums.
    """
    p = 1 + len(makers)
    cxx, cxy = np.zeros((p, p)), np.zeros((p, len(fp.LEVELS)))
    for key, (n, sx, sxx, sy, sxy) in stats.items():
        if without is not None and key == without[0]:
            x, y = without[1], without[2]
            n, sx, sxx, sy, sxy = n - 1, sx - x, sxx - np.outer(x, x), sy - y, sxy - np.outer(x, y)
        if n < 2:
            continue
        cxx += sxx - np.outer(sx, sx) / n
        cxy += sxy - np.outer(sx, sy) / n
    penalty = np.diag([0.0] + [LOOKUP_MAKER_RIDGE] * len(makers))
    active = np.diag(cxx) > 0
    effects = np.zeros((p, len(fp.LEVELS)))
    effects[active] = np.linalg.solve(cxx[np.ix_(active, active)] + penalty[np.ix_(active, active)], cxy[active])
    return effects


def adjustment(effects: np.ndarray, makers: list[str]) -> pp.Adjustment:
    return pp.Adjustment(tuple(float(b) for b in effects[0]),
                         {m: tuple(float(b) for b in effects[1 + i]) for i, m in enumerate(makers)})


def build_table(df: pd.DataFrame) -> dict:
    """The shipped lookup table: results per key, the within-CPU memory and maker effects."""
    groups = table_results(df)
    makers = sorted(df["maker"].unique())
    adjustments = {}
    for memory in MEMORY:
        effects = np.round(within_effects(within_stats(groups, memory, makers), makers), 6)
        adjustments[memory] = {"ln_memory": [float(b) for b in effects[0]],
                               "makers": {m: [float(b) for b in effects[1 + i]] for i, m in enumerate(makers)}}
    return {
        "levels": list(fp.LEVELS),
        "adjustments": adjustments,
        "groups": {key: [{"result_id": r.result_id, "dimms": r.dimms, "ram_gb": r.ram_gb, "maker": r.maker,
                          "watts": list(r.watts)} for r in results] for key, results in sorted(groups.items())},
    }


def lookup_leave_one_out(df: pd.DataFrame, memory: str = "dimms", by_maker: bool = True) -> np.ndarray:
    """Each result with others of its key predicted from them (effects refitted without it); NaN else."""
    p = measured(df)
    pred = np.full_like(p, np.nan)
    groups = table_results(df)
    makers = sorted(df["maker"].unique()) if by_maker else []
    stats = within_stats(groups, memory, makers)
    index = {rid: i for i, rid in enumerate(df["result_id"])}
    for key, results in groups.items():
        if len(results) < 2:
            continue
        for r in results:
            others = [o for o in results if o is not r]
            x, y = within_features([r], memory, makers)[0], np.log(r.watts)
            effects = adjustment(within_effects(stats, makers, (key, x, y)), makers)
            watts = pp.central_watts(others, effects, memory, pp.memory_of(r, memory), r.maker if by_maker else None)
            curve = fp.curve_from_knots(watts)
            pred[index[r.result_id]] = [curve.power_w(float(level)) for level in fp.LEVELS]
    return pred


# --- Scores -----------------------------------------------------------------------------


def scores(pred: np.ndarray, p: np.ndarray) -> dict:
    """Mean absolute % error overall and per level, median, and bias (mean signed % error), over tested rows."""
    rows = ~np.isnan(pred[:, 0])
    err = (pred[rows] - p[rows]) / p[rows] * 100.0
    if not len(err):
        return {"rows": 0}
    return {
        "rows": int(rows.sum()),
        "mape": round(float(np.mean(np.abs(err))), 3),
        "median_ape": round(float(np.median(np.abs(err))), 3),
        "bias": round(float(np.mean(err)), 3),
        "per_level": [round(float(v), 3) for v in np.mean(np.abs(err), axis=0)],
    }


def year_band(year: float) -> str:
    for hi, label in ((2008, "2004-2008"), (2011, "2009-2011"), (2015, "2012-2015"), (2018, "2016-2018")):
        if year <= hi:
            return label
    return "2019-2022"


def breakdowns(df: pd.DataFrame, pred: np.ndarray) -> dict:
    """Scores by CPU year band, vendor, socket count and vendor x sockets."""
    p = measured(df)
    vendor = np.where(df["amd"] > 0, "AMD", "Intel")
    sockets = df["chips"].astype(int).astype(str).to_numpy()
    keys = {"year": df["year"].map(year_band).to_numpy(), "vendor": vendor, "sockets": sockets,
            "vendor_sockets": np.char.add(np.char.add(vendor.astype(str), " x"), sockets.astype(str))}
    out = {}
    for name, labels in keys.items():
        out[name] = {}
        for label in sorted(set(labels)):
            s = scores(np.where((labels == label)[:, None], pred, np.nan), p)
            if s["rows"]:
                out[name][str(label)] = s
    return out


def combined(lookup: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """As deployed: the lookup where a result has others of its key, the fallback elsewhere."""
    return np.where(np.isnan(lookup[:, :1]), fallback, lookup)


# --- Boavizta's server profile on the same rows ---------------------------------------


def parse_dimms(text: str, ram_gb: float) -> list[dict] | None:
    """"4x4096MB", "12 x 16 GB", "2x4096 MB, 4x2048 MB" → boaviztapi RAM entries; None if unreadable."""
    groups = [(int(n), float(size) / (1024.0 if unit.upper() == "MB" else 1.0))
              for n, size, unit in re.findall(r"(\d+)\s*x\s*(\d+(?:\.\d+)?)\s*(MB|GB)", str(text), re.I)]
    if not groups:
        return None
    total = sum(n * gb for n, gb in groups)
    if abs(total - ram_gb) > 0.25 * ram_gb:
        groups_mb = [(n, gb / 1024.0) for n, gb in groups]  # "2 x 4096 GB": megabytes meant
        if abs(sum(n * gb for n, gb in groups_mb) - ram_gb) <= 0.25 * ram_gb:
            groups = groups_mb
        else:
            units = sum(n for n, _ in groups)
            groups = [(units, ram_gb / units)]
    return [{"units": n, "capacity": max(1, round(gb))} for n, gb in groups]


_SSD = re.compile(r"ssd|solid|\bdom\b|satadom|m\.2|nvme|flash|x25", re.I)


def parse_disks(text: str) -> list[dict] | None:
    """"1 x 160GB SSD ...", "RAID0: 2 x ... 146 GB", "... * 2, ...; ... * 4" → boaviztapi disk entries."""
    text = str(text or "").strip()
    if not text or text in ("--", "nan"):
        return None
    disks = []
    for part in re.split(r";", text):
        m = re.search(r"(?:^|:\s*)(\d+)\s*x\b", part, re.I) or re.search(r"\*\s*(\d+)", part)
        units = int(m.group(1)) if m else 1
        size = re.search(r"(\d+(?:\.\d+)?)\s*(TB|GB|T\b|G\b)", part, re.I)
        gb = float(size.group(1)) * (1000.0 if size.group(2).upper().startswith("T") else 1.0) if size else None
        entry = {"units": units, "type": "ssd" if _SSD.search(part) else "hdd"}
        if gb:
            entry["capacity"] = max(1, round(gb))
        disks.append(entry)
    return disks


def reference_fields(row: pd.Series) -> dict:
    """The BoaviztAPI Server body for a SPEC result, as collector/impact/boavizta.py builds one for an inventory."""
    chips = int(row["chips"])
    cpu = {"units": chips, "name": fp.normalise_cpu_name(row["cpu_name"]),
           "core_units": max(1, int(row["cores"]) // chips)}
    ram = parse_dimms(row["dimms"], float(row["ram_gb"]))
    if ram is None:  # Boavizta's typical 32 GB modules, as server_dto_fields does
        units = max(1, round(float(row["ram_gb"]) / 32))
        ram = [{"units": units, "capacity": max(1, round(float(row["ram_gb"]) / units))}]
    configuration = {"cpu": cpu, "ram": ram}
    disks = parse_disks(row["disks"])
    if disks:
        configuration["disk"] = disks
    return {"model": {"type": "rack"}, "configuration": configuration,
            "usage": {"usage_location": REFERENCE_ZONE, "time_workload": 50.0}}


def boavizta_reference(df: pd.DataFrame, check_rows: int = 3) -> tuple[np.ndarray, dict]:
    """Boavizta's modelled server power at each level: one device per row, its fitted profile per level.

    As the collector does (host_model.py): build the device, run compute_impacts, read the
    fitted CPU profile, RAM, disks and overhead, and evaluate ServerCurve at each level. For
    `check_rows` rows, a fresh device per level (compute_impacts at that time_workload, as
    tests/collector/test_host_model.py's reference_server) checks the shortcut.
    """
    import warnings

    from fleetprint.collector.impact import boavizta
    from fleetprint.collector.impact.power import ServerCurve

    boavizta.load()
    from boaviztapi.compute.impacts_computation import compute_impacts

    out = np.empty((len(df), len(fp.LEVELS)))
    for i, (_, row) in enumerate(df.iterrows()):
        device = boavizta.build_server(reference_fields(row))
        boavizta.embodied_totals(device, {c: c for c in boavizta.CRITERIA})
        figures = boavizta.server_curve_figures(device)
        curve = ServerCurve(figures)
        out[i] = [curve.power_w(float(level)) for level in fp.LEVELS]
    worst = 0.0
    step = max(1, len(df) // max(1, check_rows))
    for i in list(range(0, len(df), step))[:check_rows]:
        fields = reference_fields(df.iloc[i])
        for k, level in enumerate(fp.LEVELS):
            body = dict(fields, usage=dict(fields["usage"], time_workload=float(level)))
            device = boavizta.build_server(body)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compute_impacts(device, selected_criteria=list(boavizta.CRITERIA), duration=1.0)
            worst = max(worst, abs(out[i, k] / device.usage.avg_power.value - 1.0))
    from boaviztapi.models.component.cpu import attributes_from_cpu_name

    theirs = [attributes_from_cpu_name(fp.normalise_cpu_name(name)) for name in df["cpu_name"]]
    lenient = sum(1 for m in theirs if m is not None)
    agree = sum(1 for m, ours in zip(theirs, df["cpu_matched"]) if m is not None and m[0] == ours)
    return out, {"rows_checked": min(check_rows, len(df)), "max_rel_diff": worst,
                 "boaviztapi_matcher_rows": lenient, "boaviztapi_matcher_rows_same_cpu": agree}


# --- Run ------------------------------------------------------------------------------


def fit_all(df: pd.DataFrame) -> dict:
    """The shipped fallback: per-level ridge regressions on every row, for each memory feature, the range."""
    coefficients = {}
    for memory in MEMORY:
        c, generations, makers = fit_fallback(df, memory)
        coefficients[memory] = [[float(v) for v in row] for row in c.T]
    cores_per_socket = df["cores"] / df["chips"]
    return {
        "form": "per_level_ridge",
        "levels": list(fp.LEVELS),
        "features": list(fp.FEATURES),
        "generations": generations,
        "generation_ridge": GENERATION_RIDGE,
        "makers": makers,
        "maker_ridge": MAKER_RIDGE,
        "year_origin": YEAR_ORIGIN,
        "year_knots": list(YEAR_KNOTS),
        "coefficients": coefficients,
        "range": {
            "sockets": [int(df["chips"].min()), int(df["chips"].max())],
            "cores": [float(df["cores"].min()), float(df["cores"].max())],
            "cores_per_socket": [float(cores_per_socket.min()), float(cores_per_socket.max())],
            "ram_gb": [float(df["ram_gb"].min()), float(df["ram_gb"].max())],
            "dimms": [float(df["dimm_count"].min()), float(df["dimm_count"].max())],
            "year": [int(df["year"].min()), int(df["year"].max())],
        },
        "year_fallback": {"features": ["const", "ln_cores_per_socket", "amd"],
                          "coefficients": [float(c) for c in fit_year_fallback(df)]},
    }


E3_LOW_POWER = re.compile(r"\be3-\d{4}l\b")


def validate(df: pd.DataFrame, reference: np.ndarray | None) -> dict:
    """Every figure docs/power-model.md quotes (the Boavizta rows only with `reference`)."""
    p = measured(df)
    splits = cpu_splits(df)
    fallback = {m: fallback_out_of_sample(df, splits, m) for m in MEMORY}
    lookup = {m: lookup_leave_one_out(df, m) for m in MEMORY}
    deployed = combined(lookup["dimms"], fallback["dimms"])
    tested_by_lookup = ~np.isnan(lookup["dimms"][:, 0])
    result: dict = {
        "method": {"lookup": "leave one result out, among the results of the same CPU key and socket count",
                   "fallback": "leave one CPU model out (all its socket counts), generations unseen in training "
                               "get no indicator",
                   "deployed": "the lookup's figure for results with others of their key, else the fallback's"},
        "deployed": scores(deployed, p),
        "lookup": {m: scores(lookup[m], p) for m in MEMORY},
        "lookup_memory_only": scores(lookup_leave_one_out(df, "dimms", by_maker=False), p),
        "lookup_unadjusted": scores(lookup_unadjusted(df), p),
        "fallback": {m: scores(fallback[m], p) for m in MEMORY},
        "fallback_previous": scores(fallback_out_of_sample(df, splits, "ram_gb", "previous"), p),
        "fallback_year_unknown": scores(fallback_out_of_sample(df, splits, "dimms", "year_unknown"), p),
        "fallback_on_lookup_rows": scores(np.where(tested_by_lookup[:, None], fallback["dimms"], np.nan), p),
        "fallback_on_other_rows": scores(np.where(tested_by_lookup[:, None], np.nan, fallback["dimms"]), p),
        "breakdowns": {"deployed": breakdowns(df, deployed), "fallback": breakdowns(df, fallback["dimms"])},
        "lookup_groups": {"keys": int(df["lookup_key"].nunique()),
                          "keys_with_several": int((df.groupby("lookup_key").size() >= 2).sum()),
                          "rows_with_others": int(tested_by_lookup.sum()),
                          "rows_without_key": int(df["lookup_key"].isna().sum())},
    }
    result["newer_cpus"] = []
    for first in YEAR_SPLITS:
        split = year_split(df, first)
        entry = {"test_from": first, "train_rows": int(split[0][0].sum()),
                 "fallback": scores(fallback_out_of_sample(df, split), p)}
        if reference is not None:
            entry["boavizta"] = scores(np.where(split[0][1][:, None], reference, np.nan), p)
        result["newer_cpus"].append(entry)
    coefficients, generations, makers = fit_fallback(df, "dimms")
    result["fallback_in_sample"] = scores(predict_fallback(coefficients, design(df, "dimms", generations, makers)), p)
    if reference is not None:
        joined = df["cpu_matched"].notna().to_numpy()[:, None]
        e3l = df["cpu_name"].map(lambda n: E3_LOW_POWER.search(fp.normalise_cpu_name(n)) is not None).to_numpy()
        result["boavizta"] = {
            "all": scores(reference, p), "cpu_in_table": scores(np.where(joined, reference, np.nan), p),
            "breakdowns": breakdowns(df, reference),
            "e3_low_power": scores(np.where(e3l[:, None], reference, np.nan), p),
            "e3_low_power_deployed": scores(np.where(e3l[:, None], deployed, np.nan), p),
            "e3_low_power_cpus": sorted(set(df.loc[e3l, "cpu_name"].map(fp.normalise_cpu_name))),
        }
    return result


def lookup_unadjusted(df: pd.DataFrame) -> np.ndarray:
    """The lookup without the memory adjustment (plain median of the others), for comparison."""
    p = measured(df)
    pred = np.full_like(p, np.nan)
    index = {rid: i for i, rid in enumerate(df["result_id"])}
    for results in table_results(df).values():
        for r in results if len(results) > 1 else ():
            curve = fp.curve_from_knots(pp.central_watts([o for o in results if o is not r], None, "dimms", None, None))
            pred[index[r.result_id]] = [curve.power_w(float(level)) for level in fp.LEVELS]
    return pred


def join_figures(df: pd.DataFrame, reference_info: dict | None) -> dict:
    joined = df["cpu_matched"].notna()
    figures = {
        "method": "fitted_power.match_cpu: same model-number tokens, then rapidfuzz token_set_ratio > 80",
        "rows": int(len(df)), "rows_joined": int(joined.sum()), "rate": round(float(joined.mean()), 4),
        "rows_with_tdp": int(df["cpu_tdp_w"].notna().sum()),
        "cpu_names": int(df["cpu_name"].nunique()),
        "cpu_names_joined": int(df.loc[joined, "cpu_name"].nunique()),
    }
    if reference_info is not None:
        figures["boaviztapi_matcher_rows"] = reference_info["boaviztapi_matcher_rows"]
        figures["boaviztapi_matcher_rows_same_cpu"] = reference_info["boaviztapi_matcher_rows_same_cpu"]
    figures["rows_launch_year_from_name"] = int(df["launch"].notna().sum())
    figures["rows_availability_fixed"] = int(df["available_fixed"].sum())
    return figures


def dumps(doc: dict) -> str:
    """JSON with one line per innermost list (a level's coefficients, a per-level error row)."""
    text = json.dumps(doc, indent=1)
    text = re.sub(r"\[([^\[\]{}\"]*|[^\[\]{},]*)\]", lambda m: "[" + ", ".join(
        item.strip() for item in m.group(1).split(",")) + "]" if m.group(1).strip() else "[]", text)
    assert json.loads(text) == doc
    return text + "\n"


def dumps_table(doc: dict) -> str:
    """The lookup table as JSON with one line per published result."""
    head = {k: v for k, v in doc.items() if k != "groups"}
    text = dumps(head)[:-3] + ',\n "groups": {\n'
    text += ",\n".join(f"  {json.dumps(key)}: [\n" + ",\n".join(f"   {json.dumps(r)}" for r in results) + "\n  ]"
                       for key, results in doc["groups"].items())
    text += "\n }\n}\n"
    assert json.loads(text) == doc
    return text


def table(title: str, rows: list[tuple[str, dict]]) -> str:
    levels = " ".join(f"{'idle' if level == 0 else str(level):>5s}" for level in fp.LEVELS)
    head = f"{'':44s} {'rows':>5s} {'MAPE':>6s} {'bias':>6s} {levels}"
    lines = [title, head]
    for label, s in rows:
        lines.append(f"{label:44s} {s['rows']:5d} {s['mape']:6.1f} {s['bias']:+6.1f} "
                     + " ".join(f"{v:5.1f}" for v in s["per_level"]))
    return "\n".join(lines)


def report(doc: dict) -> str:
    v = doc["validation"]
    out = []
    rows = [("deployed: lookup, else fallback", v["deployed"]),
            ("lookup, leave one result out (DIMMs)", v["lookup"]["dimms"]),
            ("lookup, leave one result out (RAM GB)", v["lookup"]["ram_gb"]),
            ("lookup, memory only (DIMMs, no maker)", v["lookup_memory_only"]),
            ("lookup, not adjusted", v["lookup_unadjusted"]),
            ("fallback, leave one CPU out (DIMMs)", v["fallback"]["dimms"]),
            ("fallback, leave one CPU out (RAM GB)", v["fallback"]["ram_gb"]),
            ("  on the lookup's rows", v["fallback_on_lookup_rows"]),
            ("  on the other rows", v["fallback_on_other_rows"]),
            ("  year unknown", v["fallback_year_unknown"]),
            ("previous model, leave one CPU out", v["fallback_previous"]),
            ("fallback, in sample", v["fallback_in_sample"])]
    if "boavizta" in v:
        rows += [("Boavizta profile", v["boavizta"]["all"]),
                 ("Boavizta, CPU in its table", v["boavizta"]["cpu_in_table"]),
                 ("Boavizta, Xeon E3 L parts", v["boavizta"]["e3_low_power"]),
                 ("deployed, Xeon E3 L parts", v["boavizta"]["e3_low_power_deployed"])]
    out.append(table("Mean absolute % error (per load level: idle, 10 ... 100 %); bias: mean signed % error", rows))
    for name in ("deployed", "fallback"):
        for by, groups in v["breakdowns"][name].items():
            out.append(table(f"{name}, by {by.replace('_', ' x ')}", list(groups.items())))
    rows = []
    for entry in v["newer_cpus"]:
        rows.append((f"fallback, CPUs from {entry['test_from']} (train {entry['train_rows']})", entry["fallback"]))
        if "boavizta" in entry:
            rows.append(("  Boavizta, same rows", entry["boavizta"]))
    out.append(table("CPUs newer than every training CPU: trained on CPUs launched before Y, tested from Y", rows))
    g = v["lookup_groups"]
    out.append(f"Lookup: {g['keys']} CPU x socket keys, {g['keys_with_several']} with several results "
               f"({g['rows_with_others']} results tested leave-one-out); {g['rows_without_key']} rows without a key")
    j = doc["cpu_table"]["join"]
    out.append(f"CPU table join: {j['rows_joined']}/{j['rows']} rows ({100 * j['rate']:.1f} %), "
               f"{j['rows_with_tdp']} with a TDP; boaviztapi's own matcher accepts "
               f"{j.get('boaviztapi_matcher_rows', '?')} rows, {j.get('boaviztapi_matcher_rows_same_cpu', '?')} "
               f"of them with the same CPU as the strict join")
    if "reference_check" in doc:
        c = doc["reference_check"]
        out.append(f"Boavizta shortcut (one device per row) vs a device per level: max relative difference "
                   f"{c['max_rel_diff']:.2e} on {c['rows_checked']} rows")
    return "\n\n".join(out)


def documents(data: Path, df: pd.DataFrame, reference: np.ndarray | None, reference_info: dict | None,
              fitted_at: str) -> tuple[dict, dict]:
    """The fallback's parameters with the validation, and the lookup table, as shipped."""
    provenance = {"file": data.name, "sha256": sha256_file(data), "rows": int(len(pd.read_csv(data))),
                  "rows_used": int(len(df)), "source": SOURCE}
    model = {
        "description": "Whole-server wall power against load, fitted on SPECpower_ssj2008 results "
                       "(tools/fit_power_model.py; docs/power-model.md)",
        "citation": CITATION,
        "fitted_at": fitted_at,
        "data": provenance,
        "cpu_table": {"file": "boaviztapi/data/crowdsourcing/cpu_specs.csv",
                      "sha256": sha256_file(fp.cpu_table_path()),
                      "boaviztapi": importlib.metadata.version("boaviztapi"),
                      "join": join_figures(df, reference_info)},
        "model": fit_all(df),
        "validation": validate(df, reference),
    }
    if reference_info is not None:
        model["reference_check"] = {k: reference_info[k] for k in ("rows_checked", "max_rel_diff")}
    lookup = {
        "description": "Published SPECpower_ssj2008 results per CPU key and socket count, for "
                       "collector/impact/published_power.py (tools/fit_power_model.py; docs/power-model.md)",
        "citation": CITATION,
        "fitted_at": fitted_at,
        "data": provenance,
        "key": "published_power.cpu_key(cpu_name) + '/' + chips",
        **build_table(df),
    }
    return model, lookup


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SPECpower training CSV")
    ap.add_argument("--out-dir", type=Path, default=DATA_DIR, help="where to write the two JSON files")
    ap.add_argument("--no-reference", action="store_true", help="skip Boavizta's profile on the same rows")
    ap.add_argument("--check-rows", type=int, default=5, help="rows on which to check the Boavizta shortcut")
    ap.add_argument("--check", action="store_true", help="compare with the shipped files instead of writing them")
    args = ap.parse_args(argv)

    started = time.perf_counter()
    df = load_training(args.data)
    reference, reference_info = (None, None) if args.no_reference else boavizta_reference(df, args.check_rows)
    model, lookup = documents(args.data, df, reference, reference_info, dt.date.today().isoformat())
    print(report(model))
    if args.check:
        return check(model, lookup, args.out_dir)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / MODEL_OUT.name).write_text(dumps(model), encoding="utf-8")
    (args.out_dir / TABLE_OUT.name).write_text(dumps_table(lookup), encoding="utf-8")
    print(f"\nWrote {MODEL_OUT.name} and {TABLE_OUT.name} in {args.out_dir} in {time.perf_counter() - started:.1f} s")
    return 0


def check(model: dict, lookup: dict, out_dir: Path) -> int:
    """0 when the shipped files hold what this refit gives (the date and, without a reference, Boavizta aside)."""
    differ = []
    for name, doc in ((MODEL_OUT.name, model), (TABLE_OUT.name, lookup)):
        shipped = json.loads((out_dir / name).read_text(encoding="utf-8"))
        fresh = json.loads(dumps(doc))
        for key in ("fitted_at", "reference_check"):
            shipped.pop(key, None), fresh.pop(key, None)
        if "validation" in fresh and "boavizta" not in fresh["validation"]:
            strip_reference(shipped)
            strip_reference(fresh)
        if "cpu_table" in fresh:
            for key in ("boaviztapi_matcher_rows", "boaviztapi_matcher_rows_same_cpu"):
                shipped["cpu_table"]["join"].pop(key, None), fresh["cpu_table"]["join"].pop(key, None)
        if rounded(shipped) != rounded(fresh):
            differ.append(name)
    print("\n" + ("shipped files differ from the refit: " + ", ".join(differ) if differ else
                  "shipped files equal the refit"))
    return 1 if differ else 0


def rounded(value):
    """`value` with every float to 9 significant digits: what another BLAS may change is below that."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def strip_reference(doc: dict) -> None:
    """Drop Boavizta's figures from a model document's validation."""
    doc["validation"].pop("boavizta", None)
    for entry in doc["validation"]["newer_cpus"]:
        entry.pop("boavizta", None)


if __name__ == "__main__":
    sys.exit(main())
