"""Manufacture GWP from makers' footprints: names matched (and near misses not), the fitted
fallback, the monitors, the source each host model says, and the shipped table refitted."""

from __future__ import annotations

import json
import math
import os
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from tool_scripts import load_tool

from fleetprint.collector.impact import boavizta
from fleetprint.collector.impact.footprint import sample_footprint
from fleetprint.collector.impact.grid import zone_factors
from fleetprint.collector.impact.host_model import build_host_model
from fleetprint.collector.impact.ladder import PowerEstimate
from fleetprint.collector.impact.makers_footprints import DeclaredIndex, declared_index, fitted_models, load_table
from fleetprint.collector.impact.product_names import maker_key, product_key
from fleetprint.impacts import LadderStep
from fleetprint.schema import Cpu, Inventory, Monitor, Sample

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("FLEETPRINT_PCF_CSV", REPO.parent / "shared" / "data" / "pcf_train.csv"))
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
HOUR_MS = 3_600_000

# A small index of fixed figures, near misses side by side.
INDEX = DeclaredIndex([
    {"key": product_key(maker, name), "name": name, "category": category, "manufacture_gwp_kgco2e": gwp, "rows": 1}
    for maker, name, category, gwp in [
        ("Dell", "Latitude 5310", "laptop", 250.0),
        ("Dell", "Latitude 5310 2-IN-1", "laptop", 260.0),
        ("Dell", "P2419H Monitor", "monitor", 345.0),
        ("Dell", "P2419HC Monitor", "monitor", 338.0),
        ("Lenovo", "ThinkPad T14 Gen 2", "laptop", 220.0),
        ("HP", "EliteBook 840 G7 Notebook PC", "laptop", 240.0),
        ("HP", "ProLiant DL380 Gen10 server4", "server", 497.0),
        ("Microsoft", "Surface Laptop Go", "laptop", 120.0),
        ("Microsoft", "Surface Go", "tablet", 80.0),
        ("Microsoft", "Surface Pro 7+", "tablet", 100.0),
        ("Microsoft", "Surface Pro 7", "tablet", 95.0),
    ]])


@pytest.mark.parametrize("maker,model,monitor,expected", [
    ("Dell Inc.", "Latitude 5310", False, "Latitude 5310"),
    ("DELL", "LATITUDE 5310 2-in-1", False, "Latitude 5310 2-IN-1"),
    ("DEL", "DELL P2419H", True, "P2419H Monitor"),  # EDID: PNP id, maker in the display name
    ("Dell Inc.", "P2419HC", True, "P2419HC Monitor"),
    ("LENOVO", "ThinkPad T14 Gen2", False, "ThinkPad T14 Gen 2"),
    ("LENOVO", "ThinkPad T14 2nd Gen", False, "ThinkPad T14 Gen 2"),
    ("Hewlett-Packard", "HP EliteBook 840 G7 Notebook PC", False, "EliteBook 840 G7 Notebook PC"),
    ("HPE", "ProLiant DL380 Gen10", False, "ProLiant DL380 Gen10 server4"),
    ("Microsoft Corporation", "Surface Laptop Go", False, "Surface Laptop Go"),
    ("Microsoft Corporation", "Surface Pro 7+", False, "Surface Pro 7+"),
])
def test_makers_spellings_match_their_product(maker: str, model: str, monitor: bool, expected: str) -> None:
    found = INDEX.match(maker, model, monitor)
    assert found is not None and found.name == expected


@pytest.mark.parametrize("maker,model,monitor", [
    ("Dell Inc.", "Latitude 5310 2-in-1 Chromebook", False),  # one word more
    ("Dell Inc.", "Latitude 531", False),
    ("Dell Inc.", "Latitude 5320", False),
    ("DEL", "DELL P2419HE", True),  # one letter more
    ("DEL", "DELL P2419", True),
    ("LENOVO", "ThinkPad T14 Gen 3", False),  # another generation
    ("LENOVO", "ThinkPad T14s Gen 2", False),
    ("HP", "EliteBook 840 G8 Notebook PC", False),
    ("HP", "EliteBook 850 G7", False),
    ("Dell Inc.", "EliteBook 840 G7", False),  # another maker's name
    ("Lenovo", "Latitude 5310", False),
    ("Dell Inc.", "P2419H", False),  # a monitor's name, for a machine
    ("DEL", "Latitude 5310", True),  # a machine's name, for a monitor
    ("Microsoft Corporation", "Surface Laptop", False),
    ("Microsoft Corporation", "Surface Pro", False),
    ("", "Latitude 5310", False),
    ("Dell Inc.", "", False),
])
def test_near_misses_match_nothing(maker: str, model: str, monitor: bool) -> None:
    assert INDEX.match(maker, model, monitor) is None


def test_real_monitors_edids_match_only_their_own_product() -> None:
    """The 128 real monitors' EDIDs of tests/data/edid (Acer, Dell, Samsung, Lenovo, HP, ... 1998-2022)
    through the agent's parser: the one the table declares matches it, no other matches anything."""
    from fleetprint.agent.sources.edid import parse_edid

    monitors = [parse_edid(path.read_bytes()) for path in sorted((REPO / "tests/data/edid/glpi").iterdir())]
    monitors = [monitor for monitor in monitors if monitor is not None]
    assert len(monitors) == 128 and {"DEL", "ACR", "SAM", "LEN", "HWP"} <= {m.maker for m in monitors}
    matched = {(m.maker, m.model): found.name for m in monitors
               if (found := declared_index().match(m.maker, m.model, monitor=True)) is not None}
    assert matched == {("DEL", "DELL U2415"): "U2415 Monitor"}
    assert product_key("LEN", "LEN LT2452pwC") == "lenovo|lt2452pwc"  # the PNP id in the name is the maker's


def test_maker_names_and_pnp_ids() -> None:
    assert {maker_key(name) for name in ("Dell Inc.", "DELL", "DEL", "Dell EMC")} == {"dell"}
    assert {maker_key(name) for name in ("HP", "Hewlett-Packard", "HPE", "HWP", "HPN")} == {"hp"}
    assert {maker_key(name) for name in ("ASUSTeK COMPUTER INC.", "AUS")} == {"asus"}
    assert (maker_key("GSM"), maker_key("SAM"), maker_key("LEN"), maker_key("ACR")) == ("lg", "samsung", "lenovo",
                                                                                        "acer")
    assert maker_key("Del") == "del"  # only the three-letter ids as EDID writes them, upper case


def _expected_fitted(category: str, screen_in: float | None, year: float | None) -> float:
    """The table's regression, evaluated by hand."""
    entry = load_table()["categories"][category]
    values = {"screen_in": screen_in, "year": year}
    total = entry["coefficients"][0]
    for name, coefficient in zip(entry["features"], entry["coefficients"][1:]):
        low, high = entry["ranges"][name]
        value = entry["defaults"][name] if values[name] is None else values[name]
        total += coefficient * min(max(value, low), high)
    return math.exp(total)


def test_fitted_model_reads_its_features_and_clamps_them() -> None:
    monitor = fitted_models()["monitor"]
    assert monitor.features == ("screen_in", "year")
    assert monitor.manufacture_gwp_kgco2e(27.0, 2021) == pytest.approx(_expected_fitted("monitor", 27.0, 2021))
    assert monitor.manufacture_gwp_kgco2e(34.0, 2021) > monitor.manufacture_gwp_kgco2e(24.0, 2021)
    low, high = monitor.ranges["screen_in"]
    assert monitor.manufacture_gwp_kgco2e(high * 10, 2021) == monitor.manufacture_gwp_kgco2e(high, 2021)
    assert monitor.manufacture_gwp_kgco2e(None, None) == pytest.approx(_expected_fitted("monitor", None, None))
    for category in ("laptop", "desktop", "server", "thin_client"):
        assert 20.0 < fitted_models()[category].manufacture_gwp_kgco2e() < 3000.0, category


def _inventory(kind: str, vendor: str = "", model: str = "", monitors: tuple[Monitor, ...] = (), **extra) -> Inventory:
    return Inventory(host_id="h", taken_at=NOW, kind=kind, cpu=Cpu(model="Intel Core i5-10310U", cores=4, threads=8),
                     ram_gb=16, vendor=vendor, model=model, monitors=list(monitors), **extra)


def test_a_declared_product_takes_its_makers_figure() -> None:
    """The shipped table's Latitude 5310: its sheet's total x manufacturing share, over the host's lifetime."""
    model = build_host_model(_inventory("laptop", "Dell Inc.", "Latitude 5310"), zone_factors("FRA"), "office")
    declared = declared_index().match("Dell", "Latitude 5310")
    assert model.embodied_source == "declared" and model.embodied_basis == "Latitude 5310"
    assert model.embodied.total_gwp_kgco2e == declared.manufacture_gwp_kgco2e
    assert model.embodied.lifetime_h == 4 * 8760  # Boavizta's default for a laptop, as before
    archetype = boavizta.embodied_totals(boavizta.build_terminal("laptop", "FRA"), boavizta.TERMINAL_EMBODIED_CRITERION)
    assert (model.embodied.total_adp_kgsbeq, model.embodied.total_pe_mj) == (archetype["adp"], archetype["pe"])


def test_an_unknown_product_takes_its_categorys_fitted_figure() -> None:
    laptop = _inventory("laptop", "Dell Inc.", "Latitude 9999", (Monitor(diagonal_in=13.3, builtin=True),),
                        purchase_date=date(2021, 3, 1))
    model = build_host_model(laptop, zone_factors("FRA"), "office")
    assert (model.embodied_source, model.embodied_basis) == ("fitted", "laptop")
    assert model.embodied.total_gwp_kgco2e == pytest.approx(_expected_fitted("laptop", 13.3, 2021))
    desktop = build_host_model(_inventory("desktop", "ACME", "Box 1"), zone_factors("FRA"), "office")
    assert desktop.embodied.total_gwp_kgco2e == pytest.approx(_expected_fitted("desktop", 0.0, None))
    thin = build_host_model(_inventory("desktop", "Dell Inc.", "Wyse 5999 Thin Client"), zone_factors("FRA"), "o")
    assert thin.embodied_basis == "thin_client"


def test_vms_and_the_boavizta_option_keep_boaviztas_figures() -> None:
    vm = build_host_model(_inventory("vm", "QEMU", "Standard PC"), zone_factors("FRA"), "cloud")
    assert vm.embodied_source == "boavizta"
    laptop = _inventory("laptop", "Dell Inc.", "Latitude 5310", (Monitor(maker="DEL", model="DELL P2419H"),))
    kept = build_host_model(laptop, zone_factors("FRA"), "office", embodied_gwp_model="boavizta")
    assert kept.embodied_source == "boavizta" and kept.embodied.total_gwp_kgco2e == pytest.approx(181.0)
    assert kept.monitor_embodied_source == "boavizta"
    assert kept.monitor_embodied[0].rate.total_gwp_kgco2e == pytest.approx(boavizta.monitor_embodied()[0]["gwp"])


def test_monitors_add_their_own_manufacture_apart() -> None:
    monitors = (Monitor(maker="LGD", model="", diagonal_in=14.0, builtin=True),  # the laptop's panel: in its figure
                Monitor(maker="DEL", model="DELL P2419H", serial="CFV9N", diagonal_in=23.8, year=2020),
                Monitor(maker="SAM", model="S24R35x", diagonal_in=23.8, year=2021))
    model = build_host_model(_inventory("laptop", "Dell Inc.", "Latitude 5310", monitors), zone_factors("FRA"), "o")
    assert [m.gwp.source for m in model.monitor_embodied] == ["declared", "fitted"]
    assert model.monitor_embodied_source == "declared+fitted"
    declared, fitted = model.monitor_embodied
    assert declared.rate.total_gwp_kgco2e == declared_index().match("DEL", "DELL P2419H", True).manufacture_gwp_kgco2e
    assert fitted.rate.total_gwp_kgco2e == pytest.approx(_expected_fitted("monitor", 23.8, 2021))
    totals, lifetime_h = boavizta.monitor_embodied()
    assert declared.rate.lifetime_h == lifetime_h and declared.rate.total_adp_kgsbeq == totals["adp"]

    def embodied_at(when: datetime):
        sample = Sample(ts=when, interval_s=3600, cpu_util_pct=10.0)
        return sample_footprint(model, sample, PowerEstimate(10.0, LadderStep.MODELLED), 0.0, "boavizta")

    hour = embodied_at(NOW)
    monitors_gwp = (declared.rate.total_gwp_kgco2e + fitted.rate.total_gwp_kgco2e) * 1000 / lifetime_h
    assert hour.monitor_embodied[0] == pytest.approx(monitors_gwp)
    assert hour.impacts.embodied_gwp_gco2e == pytest.approx(model.embodied.gwp_gco2e_per_h + monitors_gwp)
    # The 2020 monitor has carried all its manufacture by mid-2020 + 6.6 years; the 2021 one not yet.
    later = datetime(2027, 6, 1, tzinfo=timezone.utc)
    assert declared.amortised_at_ms < later.timestamp() * 1000 < fitted.amortised_at_ms
    assert embodied_at(later).monitor_embodied[0] == pytest.approx(fitted.rate.gwp_gco2e_per_h)


def test_configured_monitor_lifetime() -> None:
    monitors = (Monitor(maker="DEL", model="DELL P2419H", year=2020),)
    model = build_host_model(_inventory("desktop", monitors=monitors), zone_factors("FRA"), "o",
                             monitor_lifetime_years=8)
    assert model.monitor_embodied[0].rate.lifetime_h == 8 * 8760


# --- The shipped table and the training file ---------------------------------------------

needs_data = pytest.mark.skipif(not DATA.exists(), reason=f"training file {DATA} absent (set FLEETPRINT_PCF_CSV)")


@pytest.fixture(scope="module")
def tool():
    return load_tool("fit_embodied_model")


@pytest.fixture(scope="module")
def refit(tool):
    return tool.build_table(DATA)


def test_shipped_table_says_its_provenance_and_licence() -> None:
    table = load_table()
    assert table["attribution"] == "Boavizta environmental-footprint-data (ODbL)"
    assert "Open Database License" in table["licence"] and table["source"]["commit"]
    assert len(table["products"]) == len({p["key"] for p in table["products"]}) > 500


@needs_data
def test_shipped_table_is_the_refit(tool, refit) -> None:
    table, _ = refit
    assert (REPO / "collector/impact/data/makers_footprints.json").read_text() == tool.dumps(table)


@needs_data
def test_matching_never_takes_another_product_on_the_training_file(tool, refit) -> None:
    table, df = refit
    figures = tool.matching_precision(df, table["products"])
    assert figures["total"]["found_other"] == 0 and figures["total"]["left_out_matched"] == 0
    assert figures["recall"] > 0.99
    for change in ("as written", "upper case", "firmware maker", "maker in model", "generation", "hyphens, spaces"):
        assert figures["by_spelling"][change]["found"] == figures["by_spelling"][change]["queries"], change


@needs_data
def test_fitted_errors_in_the_docs_are_the_tables(refit) -> None:
    table, _ = refit
    doc = (REPO / "docs/impact-model.md").read_text()
    for category, entry in table["categories"].items():
        assert f"| {category} | {entry['rows']} |" in doc, category
        assert f"{entry['cross_validation']['mean_ape']:.1%}" in doc, category
    assert json.loads(json.dumps(table["categories"])) == load_table()["categories"]
