"""The kinds of device an asset register lists, the names registers give them, and their typical figures.

Each category names the subcategories of the makers' footprints (pcf_train.csv) its typical
figures derive from (tools/fit_asset_categories.py writes them to data/categories.json): the
median declared yearly energy (ENERGY STAR's typical energy consumption where the maker gives
it) and the median declared manufacture GWP. A category with no such products (network
switches, firewalls, copiers, ...) has no typical figures: its rows must declare their yearly
energy and their manufacture footprint, and an import without them fails naming the rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Category:
    name: str
    aliases: tuple[str, ...]  # other names registers give it, lower case (English, French, GLPI's types)
    pcf_subcategories: tuple[str, ...] = ()  # pcf_train.csv subcategories (lower case) its figures come from
    agent_kind: str | None = None  # the agent's machine kind a device of this category reports as


@dataclass(frozen=True)
class TypicalFigures:
    """A category's medians over the makers' declared footprints, and how many products each has."""

    yearly_kwh: float | None
    yearly_kwh_products: int
    manufacture_gwp_kgco2e: float | None
    manufacture_gwp_products: int
    lifetime_years: float | None


CATEGORIES: dict[str, Category] = {c.name: c for c in (
    Category("laptop", ("notebook", "ordinateur portable", "portable", "pc portable", "ultraportable"),
             ("laptop",), "laptop"),
    Category("desktop", ("desktop computer", "pc", "ordinateur fixe", "pc fixe", "unité centrale", "computer",
                         "ordinateur"), ("desktop",), "desktop"),
    Category("workstation", ("station de travail",), ("workstation",), "desktop"),
    Category("thin_client", ("thin client", "client léger", "terminal"), ("thin client",), "desktop"),
    Category("monitor", ("screen", "display", "écran", "ecran", "moniteur"), ("monitor",)),
    Category("smartphone", ("mobile phone", "phone", "téléphone mobile", "téléphone portable", "mobile"),
             ("smartphone",)),
    Category("tablet", ("tablette",), ("tablet",)),
    Category("printer", ("imprimante",), ("printer",)),
    Category("server", ("serveur",), ("server",), "server"),
    Category("home_network", ("box", "wifi point", "borne wifi domestique"), ("network",)),
    Category("iot", ("objet connecté", "sensor", "capteur"), ("iot",)),
    Category("multimedia", ("media player", "chromecast", "passerelle multimédia"), ("multimedia",)),
    # No maker's footprint in the training data: their rows declare their figures.
    Category("multifunction_printer", ("copier", "mfp", "photocopieur", "copieur", "multifonction")),
    Category("network_switch", ("switch", "commutateur", "networkequipment", "networking")),
    Category("access_point", ("wifi access point", "wireless access point", "borne wifi", "point d'accès wifi",
                              "point d'accès")),
    Category("firewall", ("pare-feu",)),
    Category("router", ("routeur",)),
    Category("storage_array", ("san", "nas", "baie de stockage", "storage")),
    Category("ip_phone", ("desk phone", "téléphone ip", "téléphone fixe", "voip phone")),
    Category("projector", ("vidéoprojecteur", "videoprojecteur", "projecteur")),
)}

_BY_NAME = {alias: c for c in CATEGORIES.values() for alias in (c.name, c.name.replace("_", " "), *c.aliases)}


def category_named(text: str) -> Category | None:
    """The category a register's name stands for (case and surrounding space ignored); None if unknown."""
    return _BY_NAME.get(" ".join(text.strip().lower().replace("_", " ").split()))


@cache
def typical_figures() -> dict[str, TypicalFigures]:
    """The shipped medians (data/categories.json), by category name."""
    text = resources.files("fleetprint.collector.assets").joinpath("data/categories.json").read_text("utf-8")
    return {name: TypicalFigures(f["yearly_kwh"], f["yearly_kwh_products"], f["manufacture_gwp_kgco2e"],
                                 f["manufacture_gwp_products"], f["lifetime_years"])
            for name, f in json.loads(text)["categories"].items()}
