"""The hourly estate job against the real InfluxDB: the hours it writes, removal and disposal, the devices
it leaves to the agents, catch-up, and a rewritten hour that counts once; and the shipped category table
against a refit from the training file."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest

from fleetprint.collector.assets.estate import Estate
from fleetprint.collector.assets.footprint import AgentCoverage, counted_in, device_model
from fleetprint.collector.assets.job import EstateJob
from fleetprint.collector.assets.register import Asset, EstateDevice
from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.hosts import HostRegistry
from fleetprint.collector.impact.grid import GridFactors, zone_factors
from fleetprint.collector.settings import AttributionSettings, ImpactSettings, SiteSettings
from fleetprint.collector.store.influx_v1 import InfluxV1Sink
from fleetprint.schema import Cpu, Inventory

REPO = Path(__file__).resolve().parent.parent.parent
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def job(estate: Estate, influxdb, database: str, coverage: AgentCoverage = AgentCoverage()) -> EstateJob:
    sites = {"HQ": SiteSettings(zone="FRA", department="Finance", pue=1.2)}
    return EstateJob(estate, InfluxV1Sink(influxdb.url, database), GridFactors({}, {}, None), sites,
                     ImpactSettings(default_zone="DEU"), AttributionSettings(), lambda: coverage, catch_up_hours=48)


def hours_of(influxdb, database: str, host: str) -> list[int]:
    return [row["time"] for row in influxdb.query(f"SELECT energy_wh FROM fp_host WHERE host = '{host}'", database)]


def test_the_hours_written_and_what_each_holds(influxdb, influx_db, tmp_path: Path) -> None:
    estate = Estate(tmp_path / "estate.sqlite3")
    register = [Asset(id="PC-1", category="laptop", site="HQ", service="payroll"),
                Asset(id="SW-1", category="network_switch", yearly_kwh=876.0, manufacture_gwp_kgco2e=438.0,
                      lifetime_years=5, quantity=2),
                Asset(id="TAB-1", category="tablet", disposal_date=date(2026, 11, 2)),  # disposed of before T0
                Asset(id="PC-AGENT", category="desktop", host_id="fp-0123456789abcdef"),  # an agent reports it
                Asset(id="MON-1", category="monitor", serial="CN0X1234")]  # an agent lists this monitor
    estate.replace_source("register", register, T0 - timedelta(minutes=30), "r.csv")
    coverage = AgentCoverage(frozenset({"fp-0123456789abcdef"}), frozenset({"CN0X1234"}))
    written = job(estate, influxdb, influx_db, coverage).run(T0 + 3 * HOUR + timedelta(minutes=5))
    assert written == 3 * 2 * 2  # 3 whole hours (the first from T0: listed at 07:30) x 2 devices x host + service
    assert hours_of(influxdb, influx_db, "register/PC-1") == [int((T0 + k * HOUR).timestamp() * 1000)
                                                               for k in (1, 2, 3)]  # stamped at each hour's end
    assert hours_of(influxdb, influx_db, "register/TAB-1") == []
    assert hours_of(influxdb, influx_db, "register/PC-AGENT") == [] and hours_of(influxdb, influx_db,
                                                                                 "register/MON-1") == []
    switch = influxdb.query("SELECT * FROM fp_host WHERE host = 'register/SW-1' LIMIT 1", influx_db)[0]
    deu = zone_factors("DEU")
    assert switch["energy_wh"] == pytest.approx(2 * 876.0 * 1000 / 8760)  # 200 Wh: two switches, one hour
    assert switch["usage_gwp_gco2e"] == pytest.approx(200.0 * deu.gwp_gco2e_per_wh)
    assert switch["embodied_gwp_gco2e"] == pytest.approx(2 * 438_000 / (5 * 8760))
    assert (switch["power_source"], switch["embodied_source"], switch["zone"], switch["asset_quantity"]) == (
        "declared", "declared", "DEU", 2)
    laptop = influxdb.query("SELECT * FROM fp_service WHERE host = 'register/PC-1' LIMIT 1", influx_db)[0]
    assert (laptop["service"], laptop["department"], laptop["zone"]) == ("payroll", "Finance", "FRA")
    assert laptop["usage_gwp_gco2e"] == pytest.approx(laptop["energy_wh"] * 1.2 * zone_factors("FRA").gwp_gco2e_per_wh)

    # The switch leaves the register at 11:20: counted in the 11:00 hour, not after. A run after a gap
    # fills the hours missed; an hour rewritten counts once.
    estate.replace_source("register", [a for a in register if a.id != "SW-1"], T0 + 3 * HOUR + timedelta(minutes=20),
                          "r.csv")
    job(estate, influxdb, influx_db, coverage).run(T0 + 6 * HOUR + timedelta(minutes=1))
    assert len(hours_of(influxdb, influx_db, "register/PC-1")) == 6
    assert len(hours_of(influxdb, influx_db, "register/SW-1")) == 4
    estate.set_progress("written_through", (T0 + 2 * HOUR).isoformat())  # as if the last writes were lost
    job(estate, influxdb, influx_db, coverage).run(T0 + 6 * HOUR + timedelta(minutes=1))
    total = influxdb.query("SELECT sum(energy_wh) AS e, count(energy_wh) AS n FROM fp_host WHERE host = "
                           "'register/PC-1'", influx_db)[0]
    assert total["n"] == 6 and total["e"] == pytest.approx(6 * device_model(register[0]).power_w)

    # A device imported later with `--from` a past day is written back to then at the next run, though no new
    # hour has ended; the others' hours are rewritten as they were.
    later = [*register, Asset(id="PHONE-1", category="smartphone", quantity=40)]
    estate.replace_source("register", later, T0 + 6 * HOUR + timedelta(minutes=30), "r.csv", listed_since=T0)
    job(estate, influxdb, influx_db, coverage).run(T0 + 6 * HOUR + timedelta(minutes=31))
    assert len(hours_of(influxdb, influx_db, "register/PHONE-1")) == 6
    assert influxdb.query("SELECT sum(energy_wh) AS e, count(energy_wh) AS n FROM fp_host WHERE host = "
                          "'register/PC-1'", influx_db)[0] == total
    assert estate.get_progress("backfill_from") is None
    assert job(estate, influxdb, influx_db, coverage).run(T0 + 6 * HOUR + timedelta(minutes=32)) == 0


def test_purchase_lifetime_and_quantity() -> None:
    bought = Asset(id="A", category="laptop", purchase_date=date(2022, 1, 1), lifetime_years=4, quantity=10,
                   manufacture_gwp_kgco2e=300.0, yearly_kwh=20.0)
    model = device_model(bought)
    assert model.power_w == pytest.approx(10 * 20_000 / 8760)
    assert model.embodied_gwp_gco2e_per_h == pytest.approx(10 * 300_000 / (4 * 8760))
    listed = EstateDevice("r", bought, datetime(2021, 6, 1, tzinfo=timezone.utc), None)
    assert not counted_in(listed, datetime(2021, 12, 31, 23, tzinfo=timezone.utc))  # not bought yet
    assert counted_in(listed, datetime(2022, 1, 1, 0, tzinfo=timezone.utc))
    in_hours = Asset(id="B", category="monitor", power_w=25.0, hours_per_day=8, days_per_year=220)
    assert device_model(in_hours).power_w == pytest.approx(25.0 * 8 * 220 / 8760)
    assert device_model(in_hours).power_model == "declared_power_and_hours"


def test_a_declared_product_gives_its_makers_figure_else_the_category_median() -> None:
    """Without the register's own figure, the maker's sheet for the device's maker and model (as an agent's
    host's, docs/impact-model.md), else the category's median; the register's figure first."""
    from fleetprint.collector.assets.categories import typical_figures
    from fleetprint.collector.impact.makers_footprints import load_table

    sheet = {p["key"]: p["manufacture_gwp_kgco2e"] for p in load_table()["products"]}
    per_h = 1000.0 / (5 * 8760)
    laptop = device_model(Asset(id="L", category="laptop", maker="DELL", model="Latitude 5310", lifetime_years=5))
    assert (laptop.embodied_source, laptop.embodied_gwp_gco2e_per_h) == ("declared",
                                                                        sheet["dell|latitude 5310"] * per_h)
    screen = device_model(Asset(id="M", category="monitor", maker="DEL", model="DELL P2419H", lifetime_years=5))
    assert (screen.embodied_source, screen.embodied_gwp_gco2e_per_h) == ("declared", sheet["dell|p2419h"] * per_h)
    unknown = device_model(Asset(id="U", category="laptop", maker="Dell", model="Latitude 9999", lifetime_years=5))
    median = typical_figures()["laptop"].manufacture_gwp_kgco2e
    assert (unknown.embodied_source, unknown.embodied_gwp_gco2e_per_h) == ("fitted", pytest.approx(median * per_h))
    own = device_model(Asset(id="O", category="laptop", maker="DELL", model="Latitude 5310", lifetime_years=5,
                             manufacture_gwp_kgco2e=100.0))
    assert own.embodied_gwp_gco2e_per_h == pytest.approx(100.0 * per_h)


def test_the_shipped_category_table_is_the_refit_of_the_training_file(tmp_path: Path) -> None:
    data = REPO.parent / "shared" / "data" / "pcf_train.csv"
    assert data.is_file(), f"{data}: the training file (../shared/data beside the checkout)"
    out = tmp_path / "categories.json"
    subprocess.run([sys.executable, str(REPO / "tools" / "fit_asset_categories.py"), "--data", str(data), "--out",
                    str(out)], check=True, capture_output=True, timeout=60)
    shipped = json.loads((REPO / "collector" / "assets" / "data" / "categories.json").read_text(encoding="utf-8"))
    assert json.loads(out.read_text(encoding="utf-8")) == shipped
    assert shipped["licence"].startswith("ODbL")


def test_the_register_gives_an_agents_host_the_department_it_lacks(tmp_path: Path) -> None:
    estate = Estate(tmp_path / "estate.sqlite3")
    estate.replace_source("register", [Asset(id="PC-1", category="desktop", host_id="fp-1", department="DRH"),
                                       Asset(id="PC-2", category="desktop", host_id="fp-2"),
                                       Asset(id="PC-3", category="desktop", department="Finance")], T0, "r.csv")
    assert estate.host_departments() == {"fp-1": "DRH"}
    registry = HostRegistry(CollectorConfig())
    registry.register_departments = estate.host_departments()
    inventory = Inventory(host_id="fp-1", taken_at=T0, kind="desktop", cpu=Cpu(model="Intel Core i5-8500"), ram_gb=8)
    assert registry.update(inventory).department == "DRH"
    assert registry.update(msgspec.structs.replace(inventory, department="IT")).department == "IT"  # the agent's wins
