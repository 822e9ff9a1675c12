#!/usr/bin/env python
"""Derive the typical figures of each asset category from makers' product carbon footprints.

    python tools/fit_asset_categories.py [--data CSV] [--out JSON]

Reads the training file (default ../shared/data/pcf_train.csv beside the repository), groups its
products by the fleetprint categories of collector/assets/categories.py (each names the file's
subcategories it stands for) and writes, per category, the median of the declared yearly typical
energy consumption (`yearly_tec`, kWh), of the declared manufacture GWP (`gwp_total` x
`gwp_manufacturing_ratio`, kgCO2e) and of the declared lifetime, with the number of products
behind each median, to collector/assets/data/categories.json; then prints the table and, per
category, how far the median is from each product (median absolute percentage error,
leave-one-out: each product against the median of the others).

The figures derive from Boavizta environmental-footprint-data (ODbL): see the file's README.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "pcf_train.csv"
DEFAULT_OUT = REPO / "collector" / "assets" / "data" / "categories.json"

from fleetprint.collector.assets.categories import CATEGORIES  # noqa: E402


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value > 0 else None


def _loo_error_pct(values: list[float]) -> float | None:
    """Median absolute percentage error of each value against the median of the others."""
    if len(values) < 3:
        return None
    errors = [abs(statistics.median(values[:i] + values[i + 1:]) - value) / value for i, value in enumerate(values)]
    return round(100 * statistics.median(errors), 1)


def derive(rows: list[dict[str, str]]) -> dict[str, dict[str, float | int | None]]:
    figures = {}
    for category in CATEGORIES.values():
        if not category.pcf_subcategories:
            continue
        products = [row for row in rows if row["subcategory"].strip().lower() in category.pcf_subcategories]
        tec = [v for v in (_number(row["yearly_tec"]) for row in products) if v is not None]
        manufacture = [float(row["gwp_total"]) * float(row["gwp_manufacturing_ratio"]) for row in products
                       if _number(row["gwp_total"]) and _number(row["gwp_manufacturing_ratio"])]
        lifetimes = [v for v in (_number(row["lifetime"]) for row in products) if v is not None]
        figures[category.name] = {
            "products": len(products),
            "yearly_kwh": statistics.median(tec) if tec else None,
            "yearly_kwh_products": len(tec),
            "yearly_kwh_loo_error_pct": _loo_error_pct(tec),
            "manufacture_gwp_kgco2e": statistics.median(manufacture) if manufacture else None,
            "manufacture_gwp_products": len(manufacture),
            "manufacture_gwp_loo_error_pct": _loo_error_pct(manufacture),
            "lifetime_years": statistics.median(lifetimes) if lifetimes else None,
        }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    raw = args.data.read_bytes()
    rows = list(csv.DictReader(raw.decode("utf-8").splitlines()))
    document = {
        "source": ("Boavizta environmental-footprint-data (ODbL 1.0), boavizta-data-us.csv, "
                   "as ../shared/data/pcf_train.csv"),
        "licence": "ODbL 1.0: this derived table is itself under the Open Database License",
        "training_file_sha256": hashlib.sha256(raw).hexdigest(),
        "statistic": "medians of the products' declared figures, per category",
        "categories": derive(rows),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{'category':14s} {'products':>8s} {'kWh/yr':>8s} {'n':>4s} {'LOO err':>8s} {'kgCO2e':>8s} {'n':>4s} "
          f"{'LOO err':>8s} {'years':>6s}")
    for name, f in document["categories"].items():
        print(f"{name:14s} {f['products']:8d} {f['yearly_kwh'] or 0:8.1f} {f['yearly_kwh_products']:4d} "
              f"{f['yearly_kwh_loo_error_pct'] or '-':>7}% {f['manufacture_gwp_kgco2e'] or 0:8.1f} "
              f"{f['manufacture_gwp_products']:4d} {f['manufacture_gwp_loo_error_pct'] or '-':>7}% "
              f"{f['lifetime_years'] or '-':>6}")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
