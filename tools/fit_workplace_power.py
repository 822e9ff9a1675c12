#!/usr/bin/env python
"""Fit the workstation and monitor power models on makers' declared yearly consumption, validate them,
write their parameters.

    python tools/fit_workplace_power.py [--data CSV] [--specpower CSV] [--out JSON]

Reads Boavizta's collection of manufacturer product footprints (default
../shared/data/pcf_train.csv beside the repository): each workstation's and monitor's declared
typical energy consumption (TEC, kWh a year), turned into the idle (or on) power that ENERGY
STAR's duty cycle implies; regresses its logarithm per category (ordinary least squares) on what
an inventory knows; runs 5-fold cross-validation by source document (all configurations of one
document in one fold); reads the load-dependent part from the SPECpower training file (wall
watts per TDP watt from idle to full load, the median normalised curve); writes
collector/impact/data/workplace_power_model.json and prints the validation table.

Fit and validate on the training files only (shared/data/README.md: some documents are held out
on purpose). Data: Boavizta environmental-footprint-data (ODbL); SPECpower_ssj2008 results
published by the Standard Performance Evaluation Corporation (SPEC).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "pcf_train.csv"
DEFAULT_SPECPOWER = REPO.parent / "shared" / "data" / "specpower_ssj2008_train.csv"
DEFAULT_OUT = REPO / "collector" / "impact" / "data" / "workplace_power_model.json"

from fleetprint.collector.impact import fitted_power as fp  # noqa: E402
from fleetprint.collector.impact import workplace_power as wp  # noqa: E402

CV_FOLDS = 5
CV_SEED = "fleetprint-workplace-cv-1"  # fold = sha256(seed + source document) mod 5
YEAR_ORIGIN = 2020
HOURS_PER_YEAR_KWH = 8.76  # 8,760 h / 1,000: W to kWh a year

# ENERGY STAR Computers (Version 6.1 to 9.0, "conventional" network connectivity): the share of
# a year in each mode, by product type.
COMPUTER_MODES = {
    "desktop": {"off": 0.45, "sleep": 0.05, "long_idle": 0.15, "short_idle": 0.35},
    "thin_client": {"off": 0.45, "sleep": 0.05, "long_idle": 0.15, "short_idle": 0.35},
    "laptop": {"off": 0.25, "sleep": 0.35, "long_idle": 0.10, "short_idle": 0.30},
}
# What TEC does not tell apart, assumed: off and sleep watts, and long idle (display off) as a
# share of short idle. A laptop's or an all-in-one's panel is off in long idle.
MODE_ASSUMPTIONS = {
    "desktop": {"off_w": 0.5, "sleep_w": 1.5, "long_over_short": 0.9},
    "desktop_aio": {"off_w": 0.5, "sleep_w": 1.5, "long_over_short": 0.7},
    "thin_client": {"off_w": 0.5, "sleep_w": 1.0, "long_over_short": 0.9},
    "laptop": {"off_w": 0.3, "sleep_w": 0.7, "long_over_short": 0.7},
}
# ENERGY STAR Displays (Version 7 and 8): TEC = 8.76 × (0.35 × P_on + 0.65 × P_sleep).
MONITOR_MODES = {"on": 0.35, "sleep": 0.65}
MONITOR_SLEEP_W = 0.3
# When neither the inventory nor boaviztapi's CPU table gives the CPU's TDP: a typical one.
DEFAULT_TDP_W = {"laptop": 15.0, "desktop": 65.0, "desktop_workstation": 125.0, "thin_client": 10.0}
MIN_IDLE_W = {"laptop": 1.5, "desktop": 5.0, "thin_client": 2.0, "monitor": 3.0}
# Boavizta's user-terminal archetypes (laptop-pro 75 W, desktop-pro 175 W), the collector's
# figure before this model, on the same duty cycle (on in idle modes only), for comparison.
ARCHETYPE_W = {"laptop": 75.0, "desktop": 175.0, "thin_client": 175.0}
SPEC_LEVELS = ["p_idle_w"] + [f"p_{k:03d}_w" for k in range(10, 101, 10)]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- Duty cycle: declared TEC <-> idle watts ---------------------------------------------


def _assumptions(category: str, form: str | None) -> dict[str, float]:
    return MODE_ASSUMPTIONS["desktop_aio" if category == "desktop" and form == "aio" else category]


def tec_from_idle(category: str, idle_w: np.ndarray | float, form: str | None = None) -> np.ndarray | float:
    """ENERGY STAR's TEC (kWh a year) of a computer idling at `idle_w` (short idle)."""
    if category == "monitor":
        return HOURS_PER_YEAR_KWH * (MONITOR_MODES["on"] * idle_w + MONITOR_MODES["sleep"] * MONITOR_SLEEP_W)
    t, a = COMPUTER_MODES[category], _assumptions(category, form)
    return HOURS_PER_YEAR_KWH * (t["off"] * a["off_w"] + t["sleep"] * a["sleep_w"]
                                 + (t["long_idle"] * a["long_over_short"] + t["short_idle"]) * idle_w)


def idle_from_tec(category: str, tec_kwh: float, form: str | None = None) -> float:
    """The short-idle (a monitor's on) watts that make ENERGY STAR's formula give `tec_kwh`."""
    base = tec_from_idle(category, 0.0, form)
    slope = tec_from_idle(category, 1.0, form) - base
    return (tec_kwh - base) / slope


# --- Data -------------------------------------------------------------------------------


def _category(row: pd.Series) -> str | None:
    """Which model a row trains: laptops filed as desktops (a screen, no all-in-one or tower) are laptops."""
    sub, name = str(row["subcategory"]).lower(), str(row["name"])
    if sub == "monitor":
        return "monitor"
    if sub == "laptop":
        return "laptop"
    if sub in ("thin client",) or re.search(r"thin client|zero client|\bTC\b", name, re.I):
        return "thin_client"
    if sub in ("desktop", "workstation"):
        screen = row["screen_size"]
        if pd.notna(screen) and screen > 0 and wp.form_factor(name) not in ("aio", "tower") \
                and not (pd.notna(row["weight"]) and row["weight"] > 4.5):
            return "laptop"
        return "desktop"
    return None


def load_training(path: Path) -> pd.DataFrame:
    """The rows with a declared TEC, their category, features and fold."""
    df = pd.read_csv(path)
    df = df[df["yearly_tec"].notna() & (df["yearly_tec"] > 0)].copy()
    df["category"] = df.apply(_category, axis=1)
    df = df[df["category"].notna()].reset_index(drop=True)
    df["year"] = df["report_date"].astype(str).str.extract(r"((?:19|20)\d\d)")[0].astype(float)
    df["form"] = df["name"].map(wp.form_factor)
    df["workstation_line"] = df["name"].map(lambda n: float(wp.workstation_line(str(n))))
    df["idle_w"] = [idle_from_tec(c, t, f) for c, t, f in zip(df["category"], df["yearly_tec"], df["form"])]
    document = df["sources_hash"].fillna(df["name"]).astype(str)
    df["fold"] = document.map(lambda d: int(hashlib.sha256((CV_SEED + d).encode()).hexdigest()[:8], 16) % CV_FOLDS)
    return df


def design(df: pd.DataFrame, name: str, medians: dict) -> np.ndarray:
    """The regression `name`'s feature matrix, as workplace_power.idle_w builds x for an inventory."""
    year = df["year"].fillna(df["category"].map(medians["year"])).clip(*medians["year_range"]) - YEAR_ORIGIN
    sizes = df["screen_size"].where(df["screen_size"] > 0)
    columns = {
        "const": np.ones(len(df)),
        "year": year.to_numpy(),
        "workstation_line": df["workstation_line"].to_numpy(),
        "ln_screen_in": np.log(sizes.fillna(medians["screen_in"])).to_numpy(),
        "ln_diagonal_in": np.log(sizes.fillna(medians["diagonal_in"])).to_numpy(),
        **{form: (df["form"] == form).astype(float).to_numpy() for form in ("micro", "sff", "aio")},
    }
    return np.column_stack([columns[f] for f in wp.FEATURES[name]])


REGRESSION_CATEGORY = {"laptop": "laptop", "desktop": "desktop", "desktop_form_unknown": "desktop",
                       "thin_client": "thin_client", "monitor": "monitor"}


def rows_of(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows a regression is fitted on: its category's; for `desktop`, those whose name gives the form."""
    rows = df[df["category"] == REGRESSION_CATEGORY[name]]
    return rows[rows["form"].notna()] if name == "desktop" else rows


def medians_of(df: pd.DataFrame) -> dict:
    years = df["year"].dropna()
    return {"year": {c: float(y.median()) for c, y in df.groupby("category")["year"]},
            "year_range": (int(years.min()), int(years.max())),
            "screen_in": float(df.loc[df["category"] == "laptop", "screen_size"].where(lambda s: s > 0).median()),
            "diagonal_in": float(df.loc[df["category"] == "monitor", "screen_size"].where(lambda s: s > 0).median())}


def fit_regression(df: pd.DataFrame, name: str, medians: dict) -> np.ndarray:
    rows = rows_of(df, name)
    x, y = design(rows, name, medians), np.log(rows["idle_w"].clip(lower=0.5).to_numpy())
    # A small ridge on the slopes (not the constant) keeps thin data (thin clients) stable.
    penalty = np.eye(x.shape[1]) * 1e-3
    penalty[0, 0] = 0.0
    return np.linalg.solve(x.T @ x + penalty, x.T @ y)


def predict_tec(df: pd.DataFrame, name: str, coefficients: np.ndarray, medians: dict) -> np.ndarray:
    category = REGRESSION_CATEGORY[name]
    idle = np.maximum(np.exp(design(df, name, medians) @ coefficients), MIN_IDLE_W[category])
    return np.array([tec_from_idle(category, w, f) for w, f in zip(idle, df["form"])])


# --- Validation ---------------------------------------------------------------------------


def scores(predicted: np.ndarray, declared: np.ndarray) -> dict:
    err = (predicted - declared) / declared * 100.0
    return {"rows": int(len(declared)), "mape": round(float(np.mean(np.abs(err))), 1),
            "median_ape": round(float(np.median(np.abs(err))), 1), "bias": round(float(np.mean(err)), 1),
            "within_25pct": round(float(np.mean(np.abs(err) <= 25.0)), 3)}


def cross_validate(df: pd.DataFrame, name: str) -> dict:
    rows = rows_of(df, name)
    predicted = np.empty(len(rows))
    median_only = np.empty(len(rows))
    for k in range(CV_FOLDS):
        train, test = df[df["fold"] != k], (rows["fold"] == k).to_numpy()
        if not test.any():
            continue
        medians = medians_of(train)
        coefficients = fit_regression(train, name, medians)
        predicted[test] = predict_tec(rows[test], name, coefficients, medians)
        median_only[test] = rows_of(train, name)["yearly_tec"].median()
    declared = rows["yearly_tec"].to_numpy()
    category = REGRESSION_CATEGORY[name]
    on_share = 1.0 if category == "monitor" else COMPUTER_MODES[category]["long_idle"] + \
        COMPUTER_MODES[category]["short_idle"]
    medians = medians_of(df)
    in_sample = predict_tec(rows, name, fit_regression(df, name, medians), medians)
    result = {"fitted": scores(predicted, declared), "in_sample": scores(in_sample, declared),
              "category_median": scores(median_only, declared)}
    if category in ARCHETYPE_W:
        result["boavizta_archetype"] = scores(np.full(len(rows), ARCHETYPE_W[category] * HOURS_PER_YEAR_KWH
                                                      * on_share), declared)
    return result


# --- The load-dependent part, from SPECpower ----------------------------------------------


def load_part(specpower: Path) -> dict:
    """Wall watts per TDP watt from idle to full load, and the median normalised curve, on SPEC rows with a TDP."""
    spec = pd.read_csv(specpower).dropna(subset=SPEC_LEVELS + ["chips"])
    tdp = spec["cpu_name"].map(lambda n: (fp.match_cpu(n).tdp_w if fp.match_cpu(n) else None) or np.nan).astype(float)
    rows = spec[tdp.notna()]
    span = rows["p_100_w"] - rows["p_idle_w"]
    per_tdp = span / (rows["chips"] * tdp[tdp.notna()])
    shape = np.median(np.column_stack([(rows[c] - rows["p_idle_w"]) / span for c in SPEC_LEVELS]), axis=0)
    shape = np.maximum.accumulate(np.clip(shape, 0.0, 1.0))
    shape[0], shape[-1] = 0.0, 1.0
    return {"watts_per_tdp_w": round(float(per_tdp.median()), 4),
            "watts_per_tdp_w_quartiles": [round(float(per_tdp.quantile(q)), 4) for q in (0.25, 0.75)],
            "rows": int(len(rows)), "shape": [round(float(v), 4) for v in shape],
            "default_tdp_w": DEFAULT_TDP_W,
            "source": f"{specpower.name} (sha256 {sha256_file(specpower)}): (p_100_w - p_idle_w) / (chips x TDP), "
                      "TDP from boaviztapi's CPU table (fitted_power.match_cpu)"}


# --- Run ----------------------------------------------------------------------------------


def fit_all(df: pd.DataFrame, specpower: Path) -> dict:
    medians = medians_of(df)
    return {
        "year_origin": YEAR_ORIGIN,
        "year_range": list(medians["year_range"]),
        "median_year": medians["year"],
        "median_screen_in": medians["screen_in"],
        "median_diagonal_in": medians["diagonal_in"],
        "min_idle_w": MIN_IDLE_W,
        "regressions": {name: {"features": list(wp.FEATURES[name]),
                               "coefficients": [round(float(c), 6) for c in fit_regression(df, name, medians)],
                               "rows": int(len(rows_of(df, name)))}
                        for name in wp.FEATURES},
        "duty_cycle": {"computers": COMPUTER_MODES, "assumed": MODE_ASSUMPTIONS, "monitor": MONITOR_MODES,
                       "monitor_sleep_w": MONITOR_SLEEP_W},
        "load": load_part(specpower),
    }


def report(doc: dict) -> str:
    lines = ["Yearly energy on ENERGY STAR's duty cycle against declared TEC, 5-fold CV by document "
             "(MAPE, median APE, bias in %; share within 25 %)",
             f"{'':34s} {'rows':>5s} {'MAPE':>6s} {'median':>7s} {'bias':>7s} {'<=25%':>6s}"]
    for name, result in doc["validation"].items():
        for model, s in result.items():
            lines.append(f"{name + ' / ' + model:34s} {s['rows']:5d} {s['mape']:6.1f} {s['median_ape']:7.1f} "
                         f"{s['bias']:+7.1f} {100 * s['within_25pct']:5.0f}%")
    load = doc["model"]["load"]
    lines.append(f"\nLoad part: {load['watts_per_tdp_w']} W per TDP W from idle to full load (quartiles "
                 f"{load['watts_per_tdp_w_quartiles']}, {load['rows']} SPECpower rows); shape {load['shape']}")
    for name, r in doc["model"]["regressions"].items():
        lines.append(f"{name:22s} {r['rows']:4d} rows  " + ", ".join(
            f"{f}={c:+.3f}" for f, c in zip(r["features"], r["coefficients"])))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="manufacturer footprints CSV (pcf_train.csv)")
    ap.add_argument("--specpower", type=Path, default=DEFAULT_SPECPOWER, help="SPECpower training CSV")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="parameters JSON to write")
    args = ap.parse_args(argv)
    df = load_training(args.data)
    doc = {
        "description": "Workstation and monitor power from makers' declared typical energy consumption "
                       "(tools/fit_workplace_power.py; docs/power-model.md)",
        "attribution": "Contains information from Boavizta environmental-footprint-data (ODbL), "
                       "https://github.com/Boavizta/environmental-footprint-data, made available under the Open "
                       "Database License 1.0 (https://opendatacommons.org/licenses/odbl/1-0/); its contents under "
                       "the Database Contents License (https://opendatacommons.org/licenses/dbcl/1-0/). These "
                       "parameters are a derived database, under the ODbL.",
        "citation": "ENERGY STAR Program Requirements for Computers (Version 8.0) and for Displays (Version 8.0), "
                    "U.S. EPA: typical energy consumption formulas and mode weightings; SPECpower_ssj2008 results "
                    "published by the Standard Performance Evaluation Corporation (SPEC), "
                    "https://www.spec.org/power_ssj2008/results/",
        "fitted_at": dt.date.today().isoformat(),
        "data": {"file": args.data.name, "sha256": sha256_file(args.data), "rows_used": int(len(df)),
                 "rows_per_category": {c: int(n) for c, n in df["category"].value_counts().sort_index().items()},
                 "source": "Boavizta/environmental-footprint-data boavizta-data-us.csv @ "
                           "61323eb5c3bb63b0703e7a9c6456482ccbaac3a6 (training part)"},
        "model": fit_all(df, args.specpower),
        "validation": {name: cross_validate(df, name) for name in wp.FEATURES},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(report(doc))
    print(f"\nWrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
