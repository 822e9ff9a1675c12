#!/usr/bin/env python
"""Build the makers' footprints table from Boavizta's PCF data, validate it, write it.

    python tools/fit_embodied_model.py [--data CSV] [--out JSON] [--check]

Reads the training file (default ../shared/data/pcf_train.csv beside the repository: makers'
product carbon footprints, Boavizta environmental-footprint-data, ODbL), keeps the rows that
give a manufacturing share (manufacture GWP = gwp_total x gwp_manufacturing_ratio), and writes
collector/impact/data/makers_footprints.json:

- `products`: one entry per product key (collector/impact/product_names.py), its figure the
  median over the rows of that product;
- `categories`: per category, ln(manufacture GWP) regressed by least squares on the features
  an agent knows (screen diagonal, year), the feature set chosen by 5-fold cross-validation
  grouped by source document among none, screen, year, screen and year.

Then prints the cross-validated errors per category (the fitted model, the category's median,
Boavizta's archetype where fleetprint uses one) and the matching's precision on the file:
perturbed spellings of every product's maker and name (firmware's, WMI's, EDID's), matched
with the product in the index (found? found another?) and without it (leave-one-out: matched
anything?). `--check` writes nothing and fails when the shipped table differs from the refit.

Fit and validate on the training file only (shared/data/README.md: documents are held out).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "pcf_train.csv"
DEFAULT_OUT = REPO / "collector" / "impact" / "data" / "makers_footprints.json"

from fleetprint.collector.impact.makers_footprints import DeclaredIndex, fitted_model  # noqa: E402
from fleetprint.collector.impact.product_names import PNP_MAKERS, product_key  # noqa: E402

SOURCE = {
    "repository": "https://github.com/Boavizta/environmental-footprint-data",
    "file": "boavizta-data-us.csv",
    "commit": "61323eb5c3bb63b0703e7a9c6456482ccbaac3a6",
}
ATTRIBUTION = "Boavizta environmental-footprint-data (ODbL)"
LICENCE = ("This table is a derived database of Boavizta environmental-footprint-data, made available "
           "under the Open Database License 1.0 (https://opendatacommons.org/licenses/odbl/1-0/); its "
           "contents under the Database Contents License 1.0 (https://opendatacommons.org/licenses/dbcl/1-0/).")
CAVEAT = ("Makers' methods are not transparent and their figures have large margins of error "
          "(Boavizta): orders of magnitude, comparable between models of one maker.")
CATEGORIES = {
    "Laptop": "laptop", "Desktop": "desktop", "Monitor": "monitor", "Server": "server", "Converged": "server",
    "Converged Edge": "server", "Thin Client": "thin_client", "Thin client": "thin_client", "Tablet": "tablet",
    "Smartphone": "smartphone", "Workstation": "workstation",
}
# Categories whose screen is part of the device (a desktop's only when it is an all-in-one).
SCREENED = ("laptop", "monitor", "tablet", "smartphone")
MIN_ROWS = 8  # fewer rows: no model for the category
FEATURE_SETS = ((), ("screen_in",), ("year",), ("screen_in", "year"))
CV_FOLDS = 5
CV_SEED = "fleetprint-embodied-cv-1"  # fold = sha256(seed + source document) mod 5
# The makers' names as firmware (DMI sys_vendor, WMI Manufacturer) writes them.
FIRMWARE_MAKERS = {
    "Dell": ["Dell Inc."], "Lenovo": ["LENOVO"], "HP": ["Hewlett-Packard", "HPE"], "Apple": ["Apple Inc."],
    "Microsoft": ["Microsoft Corporation"], "Samsung": ["SAMSUNG ELECTRONICS CO., LTD."],
    "Asus": ["ASUSTeK COMPUTER INC."], "Google": ["Google"],
}


# --- Data ---------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _year(text: object) -> float:
    found = re.search(r"(19|20)\d\d", str(text))
    return float(found.group(0)) if found else np.nan


def load_training(path: Path) -> pd.DataFrame:
    """Rows with a manufacture figure, their category, key, features and cross-validation fold."""
    df = pd.read_csv(path)
    df["manufacture"] = df["gwp_total"] * df["gwp_manufacturing_ratio"]
    df["category"] = df["subcategory"].map(CATEGORIES).fillna("other")
    df = df[(df["manufacture"] > 0)].reset_index(drop=True)
    df["key"] = [product_key(maker, name) for maker, name in zip(df["manufacturer"], df["name"])]
    df["year"] = df["report_date"].map(_year)
    # A desktop's sheet gives a screen only for an all-in-one: no size means no screen (0).
    screen = df["screen_size"].astype(float)
    df["screen_in"] = np.where(df["category"].isin(SCREENED), screen, screen.fillna(0.0))
    df["fold"] = df["sources_hash"].astype(str).map(
        lambda doc: int(hashlib.sha256((CV_SEED + doc).encode()).hexdigest()[:8], 16) % CV_FOLDS)
    return df


# --- Declared products ----------------------------------------------------------------


def declared_products(df: pd.DataFrame) -> list[dict]:
    """One entry per product key: the median figure over its rows, its most frequent category."""
    products = []
    for key, rows in df[df["key"] != ""].groupby("key", sort=True):
        products.append({
            "key": key,
            "name": str(rows["name"].iloc[0]),
            "category": str(rows["category"].mode().iloc[0]),
            "manufacture_gwp_kgco2e": round(float(rows["manufacture"].median()), 3),
            "rows": int(len(rows)),
        })
    return products


# --- Fitted per category --------------------------------------------------------------


def _design(rows: pd.DataFrame, features: tuple[str, ...], defaults: dict[str, float]) -> np.ndarray:
    columns = [np.ones(len(rows))] + [rows[name].fillna(defaults[name]).to_numpy(float) for name in features]
    return np.column_stack(columns)


def fit_category(rows: pd.DataFrame, features: tuple[str, ...]) -> dict:
    """Least squares of ln(manufacture) on `features`; a missing value counts as the median."""
    defaults = {name: float(rows[name].median()) if rows[name].notna().any() else 0.0
                for name in ("screen_in", "year")}
    coefficients, *_ = np.linalg.lstsq(_design(rows, features, defaults), np.log(rows["manufacture"]), rcond=None)
    return {
        "features": list(features),
        "coefficients": [round(float(c), 6) for c in coefficients],
        "defaults": {name: round(value, 3) for name, value in defaults.items()},
        "ranges": {name: [float(rows[name].min()), float(rows[name].max())] for name in features},
        "rows": int(len(rows)),
    }


def predict(entry: dict, category: str, rows: pd.DataFrame) -> np.ndarray:
    """What the collector's runtime model (makers_footprints.FittedModel) says for `rows`."""
    model = fitted_model(entry, category)
    return np.array([model.manufacture_gwp_kgco2e(None if pd.isna(s) else s, None if pd.isna(y) else y)
                     for s, y in zip(rows["screen_in"], rows["year"])])


def cross_validated(rows: pd.DataFrame, category: str, features: tuple[str, ...]) -> np.ndarray:
    """Out-of-fold predictions: each fold predicted by the model fitted on the others."""
    predicted = np.full(len(rows), np.nan)
    for fold in range(CV_FOLDS):
        test = (rows["fold"] == fold).to_numpy()
        if test.any() and (~test).sum() >= 2:
            predicted[test] = predict(fit_category(rows[~test], features), category, rows[test])
    return predicted


def errors(predicted: np.ndarray, declared: np.ndarray) -> dict:
    ok = ~np.isnan(predicted)
    ape = np.abs(predicted[ok] - declared[ok]) / declared[ok]
    ratio = predicted[ok] / declared[ok]
    return {"rows": int(ok.sum()), "mean_ape": round(float(ape.mean()), 4),
            "median_ape": round(float(np.median(ape)), 4),
            "geomean_ratio": round(float(np.exp(np.mean(np.log(ratio)))), 4)}


def fit_categories(df: pd.DataFrame) -> dict[str, dict]:
    """Per category with enough rows: the feature set with the lowest CV mean error, fitted on all rows."""
    categories = {}
    for category, rows in sorted(df.groupby("category")):
        if category == "other" or len(rows) < MIN_ROWS:
            continue
        rows = rows.reset_index(drop=True)
        scores = {features: errors(cross_validated(rows, category, features), rows["manufacture"].to_numpy())
                  for features in FEATURE_SETS}
        chosen = min(FEATURE_SETS, key=lambda f: (scores[f]["mean_ape"], len(f)))
        categories[category] = fit_category(rows, chosen) | {"cross_validation": scores[chosen]}
    return categories


# --- Matching precision --------------------------------------------------------------


GB_PER = {"GB": 1, "TB": 1000}
EDID_NAME_CHARS = 13  # an EDID's display product name descriptor holds 13 characters


def spellings(maker: str, name: str, category: str) -> list[tuple[str, str, str]]:
    """How firmware, WMI and EDID may write a product the sheet names `maker` `name`:
    (which change, maker, model)."""
    bare = re.sub(r"\s+(Monitor|Display|Notebook PC|Laptop PC|Laptop|Desktop PC|Thin Client)$", "", name)
    generation = re.sub(r"\bGen (\d+)", r"Gen\1", bare) if "Gen " in bare else re.sub(r"\bGen(\d+)", r"Gen \1", bare)
    firmware = FIRMWARE_MAKERS.get(maker, [maker])[0]
    found = [("as written", maker, name), ("upper case", maker.upper(), name.upper()),
             ("firmware maker", firmware, bare), ("maker in model", firmware, f"{maker.upper()} {bare}"),
             ("generation", maker, generation), ("hyphens, spaces", maker, f"  {bare.replace('-', ' ').lower()} ")]
    pnp = [pnp for pnp, key in PNP_MAKERS.items() if key == maker.lower()]
    if category == "monitor" and pnp:
        found.append(("EDID (PNP id, 13 characters)", pnp[0], f"{maker.upper()} {bare}"[:EDID_NAME_CHARS].strip()))
    return found


def matching_precision(df: pd.DataFrame, products: list[dict]) -> dict:
    """Per spelling: found, found another, and (leave-one-out) matched another, over every product."""
    index = DeclaredIndex(products)
    by_key = df[df["key"] != ""].groupby("key").first()
    counts: dict[str, dict[str, int]] = {}
    wrong: list[str] = []
    for product in products:
        row = by_key.loc[product["key"]]
        monitor = product["category"] == "monitor"
        without = index.without(product["key"])
        for change, maker, model in spellings(str(row["manufacturer"]), str(row["name"]), product["category"]):
            count = counts.setdefault(change, dict.fromkeys(("queries", "found", "found_other", "left_out_matched"), 0))
            hit, stray = index.match(maker, model, monitor), without.match(maker, model, monitor)
            count["queries"] += 1
            count["found"] += hit is not None and hit.key == product["key"]
            count["found_other"] += hit is not None and hit.key != product["key"]
            count["left_out_matched"] += stray is not None
            if stray is not None:
                wrong.append(f"{maker} {model!r} -> {stray.name!r}")
    names = df[df["key"] != ""].groupby("key")["name"].unique()
    merged = {key: sorted(map(str, n)) for key, n in names.items() if len(n) > 1}
    total = {name: sum(c[name] for c in counts.values()) for name in ("queries", "found", "found_other",
                                                                       "left_out_matched")}
    return {"products": len(products), "by_spelling": counts, "total": total,
            "recall": round(total["found"] / total["queries"], 4),
            "precision": round(total["found"] / max(1, total["found"] + total["found_other"]), 4),
            "left_out_false_match_rate": round(total["left_out_matched"] / total["queries"], 4),
            "names_merged_into_one_key": merged, "examples_left_out_matched": sorted(set(wrong))[:10]}


# --- Boavizta's archetypes, for comparison ------------------------------------------------


def boavizta_archetypes() -> dict[str, float]:
    """Manufacture GWP (kgCO2e) of the archetypes fleetprint uses for laptops, desktops and monitors."""
    from fleetprint.collector.impact import boavizta

    return {kind: boavizta.embodied_totals(boavizta.build_terminal(kind, "WOR"), {"gwp": "gwp"})["gwp"]
            for kind in boavizta.TERMINAL_ARCHETYPES}


def sheet_disks(text: object) -> list[dict]:
    """A server sheet's drives as BoaviztAPI disks: "x2 1TB 3.5in HDD", "x1 480GB 2.5in SSD", "4 SSD"
    (size unknown: Boavizta's default), none for "0 SSD", "No Hard Drive" and blanks."""
    text = str(text)
    drives = re.findall(r"x(\d+)\s+([\d.]+)\s*(TB|GB)\s+(?:[\d.]+in\s+)?(HDD|SSD)", text)
    disks = [{"units": int(units), "type": kind.lower(), "capacity": max(1, round(float(size) * GB_PER[unit]))}
             for units, size, unit, kind in drives]
    counted = re.fullmatch(r"\s*([1-9]\d*) SSD\s*", text)
    return disks or ([{"units": int(counted.group(1)), "type": "ssd"}] if counted else [])


def boavizta_servers(rows: pd.DataFrame) -> np.ndarray:
    """Boavizta's server manufacture GWP (kgCO2e) from each sheet's configuration (CPUs, RAM, drives;
    the archetype's CPU), as the collector asks boaviztapi for an inventory's; NaN without one."""
    from fleetprint.collector.impact import boavizta

    figures = []
    for row in rows.itertuples():
        if pd.isna(row.memory) or pd.isna(row.number_cpu):
            figures.append(np.nan)
            continue
        modules = max(1, round(row.memory / 32))
        configuration = {"cpu": {"units": int(row.number_cpu)},
                         "ram": [{"units": modules, "capacity": max(1, round(row.memory / modules))}]}
        disks = sheet_disks(row.hard_drive)
        if disks:
            configuration["disk"] = disks
        device = boavizta.build_server({"model": {"type": "rack"}, "configuration": configuration,
                                        "usage": {"usage_location": "WOR"}})
        figures.append(boavizta.embodied_totals(device, {"gwp": "gwp"})["gwp"])
    return np.array(figures)


def validation(df: pd.DataFrame, table: dict) -> dict[str, dict]:
    """Per category: the fitted model's CV errors, the category median's, Boavizta's archetype's."""
    archetypes = boavizta_archetypes()
    figures = {}
    for category, entry in table["categories"].items():
        rows = df[df["category"] == category].reset_index(drop=True)
        declared = rows["manufacture"].to_numpy()
        figures[category] = {"fitted": entry["cross_validation"],
                             "median": errors(cross_validated(rows, category, ()), declared)}
        if category in archetypes:
            figures[category]["boavizta"] = errors(np.full(len(rows), archetypes[category]), declared)
        elif category == "server":
            figures[category]["boavizta"] = errors(boavizta_servers(rows), declared)
    return figures


# --- Table ------------------------------------------------------------------------------


def build_table(path: Path) -> tuple[dict, pd.DataFrame]:
    df = load_training(path)
    table = {
        "description": "Manufacture GWP of products as their makers declare it, and per-category models fitted "
                       "on it (tools/fit_embodied_model.py; docs/impact-model.md)",
        "attribution": ATTRIBUTION,
        "licence": LICENCE,
        "caveat": CAVEAT,
        "source": SOURCE | {"training_file": path.name, "sha256": sha256_file(path),
                            "rows": int(len(pd.read_csv(path))), "rows_with_manufacture": int(len(df))},
        "figure": "manufacture GWP = gwp_total x gwp_manufacturing_ratio, kgCO2e; a product's the median "
                  "over its rows",
        "products": declared_products(df),
        "categories": fit_categories(df),
    }
    return table, df


def dumps(table: dict) -> str:
    return json.dumps(table, indent=1, ensure_ascii=False) + "\n"


def print_report(df: pd.DataFrame, table: dict) -> None:
    print(f"{len(df)} rows with a manufacture figure, {len(table['products'])} products")
    print("\nCross-validated manufacture GWP against declared (5 folds by source document):")
    print(f"{'category':12} {'rows':>5} {'features':18} {'fitted MAPE':>11} {'median APE':>10} {'geomean':>8}"
          f" {'median MAPE':>11} {'Boavizta MAPE':>13} {'ratio':>6}")
    for category, f in validation(df, table).items():
        fit, base, boa = f["fitted"], f["median"], f.get("boavizta")
        features = ",".join(table["categories"][category]["features"]) or "-"
        boavizta = f"{boa['mean_ape']:>13.1%} {boa['geomean_ratio']:>6.2f}" if boa else f"{'-':>13} {'-':>6}"
        print(f"{category:12} {fit['rows']:>5} {features:18} {fit['mean_ape']:>11.1%} {fit['median_ape']:>10.1%}"
              f" {fit['geomean_ratio']:>8.2f} {base['mean_ape']:>11.1%} {boavizta}")
    print("\nMatching on the training file (perturbed spellings of each product's maker and name):")
    print(json.dumps(matching_precision(df, table["products"]), indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail if the shipped table differs from the refit")
    args = parser.parse_args(argv)
    table, df = build_table(args.data)
    if args.check:
        same = args.out.read_text() == dumps(table)
        print(f"{args.out}: {'equal to' if same else 'DIFFERS from'} the refit")
        return 0 if same else 1
    args.out.write_text(dumps(table))
    print(f"wrote {args.out}")
    print_report(df, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
