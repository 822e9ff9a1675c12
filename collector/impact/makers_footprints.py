"""Manufacture GWP from makers' own product carbon footprints (data/makers_footprints.json).

The table derives from Boavizta's environmental-footprint-data (ODbL; its provenance and
attribution are in the file) and is refitted by tools/fit_embodied_model.py:

- `products`: each product's declared manufacture GWP (the sheet's total x its manufacturing
  share, the median over the rows of one product), found by its maker and model
  (product_names.py): `DeclaredIndex.match`.
- `categories`: per category (laptop, desktop, monitor, server, thin_client, ...), a
  log-linear model of manufacture GWP on what an agent knows (screen diagonal, year), fitted
  on the same declared figures: `FittedModel.manufacture_gwp_kgco2e`.

Pure Python, no numpy: it runs once per inventory.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

from fleetprint.collector.impact.product_names import product_key

TABLE = "makers_footprints.json"


@functools.cache
def load_table() -> dict[str, Any]:
    """The shipped table, read once."""
    return json.loads(resources.files("fleetprint.collector.impact").joinpath("data", TABLE).read_text())


@dataclass(frozen=True, slots=True)
class DeclaredProduct:
    """One product as its maker declared it."""

    key: str  # product_names.product_key of its sheet's maker and name
    name: str  # as the sheet writes it
    category: str
    manufacture_gwp_kgco2e: float
    rows: int  # configurations or sheets of the product in the data (the figure is their median)


class DeclaredIndex:
    """Products by key: a name matches one product when their keys are equal, else none.

    No nearest match: "Latitude 5310" is not "Latitude 5310 2-in-1", nor "OptiPlex 7050" (as
    Dell's firmware names every form factor) "OptiPlex 7050 Tower", whose figures differ.
    """

    def __init__(self, products: list[dict[str, Any]]) -> None:
        self._products = {entry["key"]: DeclaredProduct(entry["key"], entry["name"], entry["category"],
                                                        float(entry["manufacture_gwp_kgco2e"]), int(entry["rows"]))
                          for entry in products}

    def __len__(self) -> int:
        return len(self._products)

    def without(self, key: str) -> DeclaredIndex:
        """The index less one product (the matching's leave-one-out check)."""
        index = DeclaredIndex([])
        index._products = {k: p for k, p in self._products.items() if k != key}
        return index

    def match(self, maker: str, model: str, monitor: bool = False) -> DeclaredProduct | None:
        """The product `maker` and `model` name, among monitors or among the other devices."""
        found = self._products.get(product_key(maker, model))
        return found if found is not None and (found.category == "monitor") == monitor else None


@dataclass(frozen=True, slots=True)
class FittedModel:
    """ln(manufacture GWP, kgCO2e) = const + Σ coefficient x feature, for one category."""

    category: str
    features: tuple[str, ...]  # among screen_in, year
    coefficients: tuple[float, ...]  # const first
    defaults: dict[str, float]  # a feature's value when the host does not say it (the data's median)
    ranges: dict[str, tuple[float, float]]  # the fitted range: values outside it are clamped

    def manufacture_gwp_kgco2e(self, screen_in: float | None = None, year: float | None = None) -> float:
        given = {"screen_in": screen_in, "year": year}
        total = self.coefficients[0]
        for name, coefficient in zip(self.features, self.coefficients[1:]):
            low, high = self.ranges[name]
            value = given[name]
            total += coefficient * min(max(self.defaults[name] if value is None else value, low), high)
        return math.exp(total)


def fitted_model(entry: dict[str, Any], category: str) -> FittedModel:
    return FittedModel(category, tuple(entry["features"]), tuple(entry["coefficients"]), dict(entry["defaults"]),
                       {name: (low, high) for name, (low, high) in entry["ranges"].items()})


@functools.cache
def declared_index() -> DeclaredIndex:
    return DeclaredIndex(load_table()["products"])


@functools.lru_cache(maxsize=65_536)
def declared_product(maker: str, model: str, monitor: bool = False) -> DeclaredProduct | None:
    """`declared_index().match`, remembered per name: an estate lists a few models many times."""
    return declared_index().match(maker, model, monitor)


@functools.cache
def fitted_models() -> dict[str, FittedModel]:
    return {category: fitted_model(entry, category) for category, entry in load_table()["categories"].items()}
