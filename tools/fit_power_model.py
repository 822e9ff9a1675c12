#!/usr/bin/env python
"""Fit the server wall-power model on SPECpower_ssj2008 results, validate it, write its parameters.

    python tools/fit_power_model.py [--data CSV] [--out JSON] [--no-reference]

Reads the training file (default ../shared/data/specpower_ssj2008_train.csv beside the
repository), joins CPU names to boaviztapi's CPU table (collector/impact/fitted_power.py's
`match_cpu`: same model-number tokens, then rapidfuzz token_set_ratio > 80 as boaviztapi),
fits one log-linear regression per load level (ordinary least squares on ln watts), runs
5-fold cross-validation by server and by-year splits against Boavizta's server profile
computed by boaviztapi in-process on the same rows, writes
collector/impact/data/server_power_model.json and prints the validation tables.

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
DEFAULT_OUT = REPO / "collector" / "impact" / "data" / "server_power_model.json"

from fleetprint.collector.impact import fitted_power as fp  # noqa: E402

LEVEL_COLUMNS = ["p_idle_w"] + [f"p_{k:03d}_w" for k in range(10, 101, 10)]
YEAR_ORIGIN = 2015
YEAR_KNOTS = (2011, 2016)  # chosen by 5-fold CV among a few (2010/2015, 2012/2017, 2010/2013/2016, one knot)
CV_FOLDS = 5
CV_SEED = "fleetprint-power-cv-1"  # fold = sha256(seed + result_id) mod 5: fixed, order-independent
YEAR_SPLITS = (2015, 2018, 2020)
FORMS = ("per_level", "median_shape", "power_law")
CHOSEN_FORM = "per_level"
REFERENCE_ZONE = "WOR"


# --- Data ---------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_training(path: Path) -> pd.DataFrame:
    """The SPEC rows with every load level, and the inventory-side fields the model reads."""
    df = pd.read_csv(path)
    df = df.dropna(subset=LEVEL_COLUMNS + ["chips", "cores", "ram_gb", "hw_availability"]).reset_index(drop=True)
    # `available`: the year SPEC says the hardware became available, no earlier than the CPU's
    # launch (two dates are typos: an EPYC 7501 "Feb-2008", a Platinum 8180 "Jan-2015").
    # `year`, the model's feature, as fitted_power.fitted_server_curve reads it: the CPU
    # generation's launch year, else the CPU table's release year, else `available`.
    df["amd"] = df["cpu_name"].map(fp.is_amd).astype(float)
    df["low_power"] = df["cpu_name"].map(fp.is_low_power).astype(float)
    specs = df["cpu_name"].map(fp.match_cpu)
    df["cpu_matched"] = specs.map(lambda s: s.name if s else None)
    df["cpu_tdp_w"] = specs.map(lambda s: s.tdp_w if s and s.tdp_w else np.nan).astype(float)
    df["cpu_release_year"] = specs.map(lambda s: s.release_year if s and s.release_year else np.nan).astype(float)
    df["launch"] = df["cpu_name"].map(fp.cpu_launch_year).astype(float)
    available = df["hw_availability"].str.extract(r"(\d{4})\s*$")[0].astype(float)
    df["available_fixed"] = available < df["launch"] - 1
    df["available"] = np.where(df["available_fixed"], df["launch"], available)
    df["year"] = df["launch"].fillna(df["cpu_release_year"]).fillna(df["available"])
    df["fold"] = df["result_id"].map(
        lambda rid: int(hashlib.sha256((CV_SEED + rid).encode()).hexdigest()[:8], 16) % CV_FOLDS)
    return df


def measured(df: pd.DataFrame) -> np.ndarray:
    return df[LEVEL_COLUMNS].to_numpy(float)


def design(df: pd.DataFrame, year: np.ndarray | None = None) -> np.ndarray:
    """The features of fitted_power.FEATURES, one row per server."""
    y = df["year"].to_numpy(float) if year is None else year
    return np.column_stack([
        np.ones(len(df)), np.log(df["chips"].to_numpy(float)), np.log(df["cores"].to_numpy(float)),
        np.log(df["ram_gb"].to_numpy(float)), df["amd"].to_numpy(float), df["low_power"].to_numpy(float),
        y - YEAR_ORIGIN, np.maximum(0.0, y - YEAR_KNOTS[0]), np.maximum(0.0, y - YEAR_KNOTS[1]),
    ])


def ols(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(x, y, rcond=None)[0]


# --- The three forms compared -------------------------------------------------------


def fit_form(form: str, x: np.ndarray, p: np.ndarray) -> dict:
    """Fit one form on training rows: per-level regressions, or idle and full-load regressions and a shape."""
    if form == "per_level":
        return {"coefficients": np.stack([ols(x, np.log(p[:, k])) for k in range(p.shape[1])])}
    fit = {"idle": ols(x, np.log(p[:, 0])), "max": ols(x, np.log(p[:, -1]))}
    normalised = (p - p[:, :1]) / (p[:, -1:] - p[:, :1])
    if form == "median_shape":
        fit["shape"] = np.median(normalised, axis=0)
    else:  # power_law: the exponent minimising the mean absolute % error with the measured idle and max
        from scipy.optimize import minimize_scalar

        x_load = np.asarray(fp.LEVELS, float) / 100.0
        loss = lambda g: np.mean(np.abs(p[:, :1] + (p[:, -1:] - p[:, :1]) * x_load ** g - p) / p)  # noqa: E731
        fit["gamma"] = float(minimize_scalar(loss, bounds=(0.2, 5.0), method="bounded").x)
        fit["shape"] = x_load ** fit["gamma"]
    return fit


def predict_form(form: str, fit: dict, x: np.ndarray) -> np.ndarray:
    if form == "per_level":
        watts = np.exp(x @ fit["coefficients"].T)
    else:
        idle, top = np.exp(x @ fit["idle"]), np.exp(x @ fit["max"])
        top = np.maximum(top, idle)
        watts = idle[:, None] + (top - idle)[:, None] * fit["shape"][None, :]
    return np.maximum.accumulate(watts, axis=1)  # non-decreasing, as fitted_power does


def fit_year_fallback(df: pd.DataFrame) -> np.ndarray:
    """year ≈ c0 + c1·ln(cores per socket) + c2·AMD, for inventories that do not know the year."""
    x = np.column_stack([np.ones(len(df)), np.log(df["cores"] / df["chips"]), df["amd"]])
    return ols(x, df["year"].to_numpy(float))


def year_fallback(df: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    return c[0] + c[1] * np.log(df["cores"] / df["chips"]).to_numpy(float) + c[2] * df["amd"].to_numpy(float)


def tdp_features(df: pd.DataFrame) -> np.ndarray:
    """ln(TDP / TDP typical of the core count) where the CPU table has a TDP, else 0 (the variant with TDP)."""
    table = pd.read_csv(fp.cpu_table_path())
    server = table[table["model_range"].str.contains("Xeon|EPYC|Opteron", na=False) & table["tdp"].notna()
                   & table["cores"].notna()]
    c = ols(np.column_stack([np.ones(len(server)), np.log(server["cores"])]), np.log(server["tdp"]))
    typical = np.exp(c[0] + c[1] * np.log(df["cores"] / df["chips"]))
    return np.where(df["cpu_tdp_w"].notna(), np.log(df["cpu_tdp_w"] / typical), 0.0)


def out_of_sample(df: pd.DataFrame, form: str, splits, variant: str = "") -> np.ndarray:
    """Predictions for the test rows of each (train, test) split; NaN where a row is never tested.

    The year is clamped to the training years, as fitted_power clamps it to the fitted range.
    Variants: "year_unknown" (the year estimated from cores per socket, fitted on the training
    rows), "tdp" (the TDP deviation as one more feature).
    """
    p = measured(df)
    pred = np.full_like(p, np.nan)
    extra = tdp_features(df)[:, None] if variant == "tdp" else None
    for train, test in splits:
        years = df["year"].to_numpy(float)
        if variant == "year_unknown":  # neither the name nor the table nor the inventory gives a year
            years = np.where(test, year_fallback(df, fit_year_fallback(df[train])), years)
        lo, hi = df["year"][train].min(), df["year"][train].max()
        x = design(df, np.clip(years, lo, hi))
        if extra is not None:
            x = np.hstack([x, extra])
        fit = fit_form(form, x[train], p[train])
        pred[test] = predict_form(form, fit, x[test])
    return pred


def kfold_splits(df: pd.DataFrame):
    return [((df["fold"] != k).to_numpy(), (df["fold"] == k).to_numpy()) for k in range(CV_FOLDS)]


def year_split(df: pd.DataFrame, first_test_year: int):
    """Train on hardware available before `first_test_year`, test on the rest."""
    return [((df["available"] < first_test_year).to_numpy(), (df["available"] >= first_test_year).to_numpy())]


def scores(pred: np.ndarray, p: np.ndarray) -> dict:
    """Mean absolute % error overall and per level, median, and bias (mean signed % error), over tested rows."""
    rows = ~np.isnan(pred[:, 0])
    err = (pred[rows] - p[rows]) / p[rows] * 100.0
    return {
        "rows": int(rows.sum()),
        "mape": round(float(np.mean(np.abs(err))), 3),
        "median_ape": round(float(np.median(np.abs(err))), 3),
        "bias": round(float(np.mean(err)), 3),
        "over_share": round(float(np.mean(err > 0)), 3),
        "per_level": [round(float(v), 3) for v in np.mean(np.abs(err), axis=0)],
    }


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
    """The shipped model: per-level regressions on every row, the fitted range, the year fallback."""
    x, p = design(df), measured(df)
    coefficients = fit_form(CHOSEN_FORM, x, p)["coefficients"]
    cores_per_socket = df["cores"] / df["chips"]
    return {
        "form": CHOSEN_FORM,
        "levels": list(fp.LEVELS),
        "features": list(fp.FEATURES),
        "year_origin": YEAR_ORIGIN,
        "year_knots": list(YEAR_KNOTS),
        "coefficients": [[float(c) for c in row] for row in coefficients],
        "range": {
            "sockets": [int(df["chips"].min()), int(df["chips"].max())],
            "cores": [float(df["cores"].min()), float(df["cores"].max())],
            "cores_per_socket": [float(cores_per_socket.min()), float(cores_per_socket.max())],
            "ram_gb": [float(df["ram_gb"].min()), float(df["ram_gb"].max())],
            "year": [int(df["year"].min()), int(df["year"].max())],
        },
        "year_fallback": {"features": ["const", "ln_cores_per_socket", "amd"],
                          "coefficients": [float(c) for c in fit_year_fallback(df)]},
    }


def validate(df: pd.DataFrame, reference: np.ndarray | None) -> dict:
    p = measured(df)
    kfold = kfold_splits(df)
    ours = scores(out_of_sample(df, CHOSEN_FORM, kfold), p)
    result: dict = {"kfold": {"folds": CV_FOLDS, "seed": CV_SEED, "ours": ours}}
    if reference is not None:
        result["kfold"]["boavizta"] = scores(reference, p)
        # The rows where boaviztapi's CPU is the right one (our strict join): its best case.
        joined = df["cpu_matched"].notna().to_numpy()[:, None]
        result["kfold"]["boavizta_cpu_joined"] = scores(np.where(joined, reference, np.nan), p)
        result["kfold"]["ours_cpu_joined"] = scores(
            np.where(joined, out_of_sample(df, CHOSEN_FORM, kfold), np.nan), p)
    result["by_year"] = []
    for first in YEAR_SPLITS:
        split = year_split(df, first)
        entry = {"test_from": first, "train_rows": int(split[0][0].sum()),
                 "ours": scores(out_of_sample(df, CHOSEN_FORM, split), p)}
        if reference is not None:
            entry["boavizta"] = scores(np.where(split[0][1][:, None], reference, np.nan), p)
        result["by_year"].append(entry)

    def mape(form: str, splits, variant: str = "") -> float:
        return scores(out_of_sample(df, form, splits, variant), p)["mape"]

    forms = {form: {"kfold_mape": mape(form, kfold),
                    "by_year_mape": [mape(form, year_split(df, y)) for y in YEAR_SPLITS]} for form in FORMS}
    forms[f"{CHOSEN_FORM}+tdp"] = {"kfold_mape": mape(CHOSEN_FORM, kfold, "tdp"),
                                   "by_year_mape": [mape(CHOSEN_FORM, year_split(df, y), "tdp") for y in YEAR_SPLITS]}
    result["forms"] = forms
    result["year_unknown"] = {"kfold": scores(out_of_sample(df, CHOSEN_FORM, kfold, "year_unknown"), p)}
    fit = fit_form(CHOSEN_FORM, design(df), p)
    result["in_sample"] = scores(predict_form(CHOSEN_FORM, fit, design(df)), p)
    return result


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


def table(title: str, rows: list[tuple[str, dict]]) -> str:
    levels = " ".join(f"{'idle' if level == 0 else str(level):>5s}" for level in fp.LEVELS)
    head = f"{'':34s} {'rows':>5s} {'MAPE':>6s} {'bias':>6s} {levels}"
    lines = [title, head]
    for label, s in rows:
        lines.append(f"{label:34s} {s['rows']:5d} {s['mape']:6.1f} {s['bias']:+6.1f} "
                     + " ".join(f"{v:5.1f}" for v in s["per_level"]))
    return "\n".join(lines)


def report(doc: dict) -> str:
    v = doc["validation"]
    out = []
    rows = [("ours, 5-fold CV", v["kfold"]["ours"])]
    if "boavizta" in v["kfold"]:
        rows += [("Boavizta profile", v["kfold"]["boavizta"]),
                 ("ours, CPU in table, 5-fold CV", v["kfold"]["ours_cpu_joined"]),
                 ("Boavizta, CPU in table", v["kfold"]["boavizta_cpu_joined"])]
    rows.append(("ours, in sample", v["in_sample"]))
    rows.append(("ours, 5-fold CV, year unknown", v["year_unknown"]["kfold"]))
    out.append(table("Mean absolute % error, all rows (per load level: idle, 10 ... 100 %)", rows))
    for entry in v["by_year"]:
        rows = [(f"ours, train < {entry['test_from']} ({entry['train_rows']} rows)", entry["ours"])]
        if "boavizta" in entry:
            rows.append(("Boavizta profile", entry["boavizta"]))
        out.append(table(f"By year: test on hardware available from {entry['test_from']}", rows))
    forms = ["Forms compared (MAPE, 5-fold CV | by year " + ", ".join(str(y) for y in YEAR_SPLITS) + "):"]
    for form, f in v["forms"].items():
        forms.append(f"  {form:22s} {f['kfold_mape']:6.2f} | " + " ".join(f"{m:6.2f}" for m in f["by_year_mape"]))
    out.append("\n".join(forms))
    j = doc["cpu_table"]["join"]
    out.append(f"CPU table join: {j['rows_joined']}/{j['rows']} rows ({100 * j['rate']:.1f} %), "
               f"{j['rows_with_tdp']} with a TDP; boaviztapi's own matcher accepts "
               f"{j.get('boaviztapi_matcher_rows', '?')} rows, {j.get('boaviztapi_matcher_rows_same_cpu', '?')} "
               f"of them with the same CPU as the strict join. CPU generation (launch year) read from the name: "
               f"{j['rows_launch_year_from_name']} rows; availability dates before the CPU's launch, fixed: "
               f"{j['rows_availability_fixed']}")
    if "reference_check" in doc:
        c = doc["reference_check"]
        out.append(f"Boavizta shortcut (one device per row) vs a device per level: max relative difference "
                   f"{c['max_rel_diff']:.2e} on {c['rows_checked']} rows")
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SPECpower training CSV")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="parameters JSON to write")
    ap.add_argument("--no-reference", action="store_true", help="skip Boavizta's profile on the same rows")
    ap.add_argument("--check-rows", type=int, default=5, help="rows on which to check the Boavizta shortcut")
    args = ap.parse_args(argv)

    started = time.perf_counter()
    df = load_training(args.data)
    reference, reference_info = (None, None) if args.no_reference else boavizta_reference(df, args.check_rows)
    doc = {
        "description": "Whole-server wall power against load, fitted on SPECpower_ssj2008 results "
                       "(tools/fit_power_model.py; docs/power-model.md)",
        "citation": "SPECpower_ssj2008 results published by the Standard Performance Evaluation Corporation (SPEC), "
                    "https://www.spec.org/power_ssj2008/results/",
        "fitted_at": dt.date.today().isoformat(),
        "data": {"file": args.data.name, "sha256": sha256_file(args.data), "rows": int(len(pd.read_csv(args.data))),
                 "rows_used": int(len(df)),
                 "source": "green-coding-solutions/spec-power-raw-data @ 3fe0e561e1f56e3e67c14c2c5bf708724ae3676a"},
        "cpu_table": {"file": "boaviztapi/data/crowdsourcing/cpu_specs.csv",
                      "sha256": sha256_file(fp.cpu_table_path()),
                      "boaviztapi": importlib.metadata.version("boaviztapi"),
                      "join": join_figures(df, reference_info)},
        "model": fit_all(df),
        "validation": validate(df, reference),
    }
    if reference_info is not None:
        doc["reference_check"] = {k: reference_info[k] for k in ("rows_checked", "max_rel_diff")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dumps(doc), encoding="utf-8")
    print(report(doc))
    print(f"\nWrote {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
