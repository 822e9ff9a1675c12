"""The estate end to end: a register and an inventory FusionInventory makes of this machine,
imported with `fleetprint assets import`, written hour by hour by the real collector into the real
InfluxDB; the stored totals checked against a computation made here from the input files and the
makers' data (pcf_train.csv), not from the collector's code."""

from __future__ import annotations

import csv
import statistics
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fusion_inventory import as_physical_desktop, fusioninventory_xml

from processes import collector_config, start_collector, wait_until

REPO = Path(__file__).resolve().parent.parent
PCF = REPO.parent / "shared" / "data" / "pcf_train.csv"

REGISTER = ("id;Type;Fabricant;Modèle;Quantité;Lieu;Direction;Service;consoElecAnnuelle;"
            "Empreinte fabrication (kgCO2e);Durée de vie\n") + """\
PC-0001;Ordinateur portable;Dell;Latitude 5440;1;Hôtel de ville;DRH;paie;;;
ECR-0001;Écran;Dell;P2422H;12;Hôtel de ville;DRH;;;;
SW-0001;Switch;Cisco;C9300-24P;2;Annexe;DSI;réseau;310,5;560;8
OLD-0001;Tablette;Apple;iPad;1;Annexe;DSI;;;;
"""


def pcf_medians() -> dict[str, tuple[float, float, float]]:
    """Per pcf_train subcategory: median yearly TEC (kWh), manufacture GWP (kgCO2e) and lifetime (years)."""
    rows = list(csv.DictReader(PCF.read_text(encoding="utf-8").splitlines()))

    def median(subcategory: str, value) -> float:
        values = []
        for row in rows:
            if row["subcategory"].strip().lower() == subcategory:
                try:
                    figure = value(row)
                except ValueError:
                    continue
                if figure > 0:
                    values.append(figure)
        return statistics.median(values)

    return {sub: (median(sub, lambda r: float(r["yearly_tec"])),
                  median(sub, lambda r: float(r["gwp_total"]) * float(r["gwp_manufacturing_ratio"])),
                  median(sub, lambda r: float(r["lifetime"])))
            for sub in ("laptop", "monitor", "desktop", "tablet")}


def pcf_declared(maker: str, names: tuple[str, ...]) -> float:
    """The median manufacture GWP (kgCO2e) of the training file's rows of one product, as its sheets name it."""
    rows = csv.DictReader(PCF.read_text(encoding="utf-8").splitlines())
    return statistics.median(float(r["gwp_total"]) * float(r["gwp_manufacturing_ratio"]) for r in rows
                             if r["manufacturer"] == maker and r["name"] in names)


def fleetprint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fleetprint", *args], capture_output=True, text=True, timeout=120)


def test_register_and_inventory_through_the_collector(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    assert PCF.is_file(), f"{PCF}: the makers' footprints the check is made from (../shared/data beside the checkout)"
    estate = tmp_path / "estate.sqlite3"
    register = tmp_path / "registre.csv"
    register.write_text(REGISTER, encoding="utf-8")
    since = (datetime.now(timezone.utc) - timedelta(days=1)).date()
    imported = fleetprint("assets", "import", "--estate", str(estate), "--source", "registre", "--from",
                          since.isoformat(), str(register))
    assert imported.returncode == 0, imported.stderr
    assert "4 rows (1 laptop, 1 monitor, 1 network_switch, 1 tablet): 4 added" in imported.stdout
    # The tablet leaves the register: disposed of from now on (its hours so far stay counted).
    register.write_text(REGISTER.replace("OLD-0001;Tablette;Apple;iPad;1;Annexe;DSI;;;;\n", ""), encoding="utf-8")
    again = fleetprint("assets", "import", "--estate", str(estate), "--source", "registre", str(register))
    assert "0 added, 0 changed, 3 unchanged, 1 removed" in again.stdout, again.stdout + again.stderr
    inventories = tmp_path / "inventories"
    inventories.mkdir()
    desk = as_physical_desktop(fusioninventory_xml(tmp_path), "<MONITORS><CAPTION>DELL P2422H</CAPTION>"
                               "<MANUFACTURER>Dell Inc.</MANUFACTURER><SERIAL>CN0X1234</SERIAL></MONITORS>\n")
    (inventories / "desk.xml").write_bytes(desk)
    glpi = fleetprint("assets", "import", "--estate", str(estate), "--source", "glpi", "--format", "inventory",
                      "--site", "Annexe", "--from", since.isoformat(), str(inventories))
    assert glpi.returncode == 0 and "2 rows (1 desktop, 1 monitor): 2 added" in glpi.stdout, glpi.stdout + glpi.stderr

    config = collector_config(tmp_path / "collector.toml", mosquitto, influxdb, influx_db, "estate-collector")
    with config.open("a", encoding="utf-8") as handle:
        handle.write(f'[assets]\nestate_file = "{estate}"\ninterval_s = 10\n[budgets]\nleader_settle_s = 0\n'
                     '[sites."Hôtel de ville"]\nzone = "FRA"\n')
    collector = start_collector(config, tmp_path / "collector.log")
    try:
        last_hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        hours = int((last_hour - datetime.combine(since, datetime.min.time(), timezone.utc)).total_seconds() // 3600)

        def stored_hours() -> int:
            rows = influxdb.query("SELECT count(energy_wh) AS n FROM fp_host WHERE host = 'registre/PC-0001'",
                                  influx_db)
            return rows[0]["n"] if rows else 0

        wait_until(lambda: stored_hours() >= hours, timeout_s=60, what=f"{hours} hours of the estate",
                   watch=[collector])
    finally:
        assert collector.stop() == 0

    medians = pcf_medians()
    rows = {series["host"]: series for series in influxdb.query(
        "SELECT sum(energy_wh) AS energy_wh, sum(embodied_gwp_gco2e) AS embodied, count(energy_wh) AS n "
        "FROM fp_host GROUP BY *", influx_db)}  # one series per device: its tags never change
    laptop_kwh, laptop_kg, laptop_years = medians["laptop"]
    monitor_kwh, monitor_kg, monitor_years = medians["monitor"]
    desktop_kwh, desktop_kg, desktop_years = medians["desktop"]

    def expect(host: str, kwh: float, kg: float, years: float, quantity: int, tags: dict[str, str]) -> None:
        row = rows[host]
        n = row["n"]
        assert row["energy_wh"] == pytest.approx(n * kwh * 1000 / 8760 * quantity, rel=1e-9), host
        assert row["embodied"] == pytest.approx(n * kg * 1000 / (years * 8760) * quantity, rel=1e-9), host
        assert {key: row.get(key) for key in tags} == tags, host

    expect("registre/PC-0001", laptop_kwh, laptop_kg, laptop_years, 1,
           {"kind": "laptop", "power_source": "modelled", "embodied_source": "fitted", "department": "DRH",
            "zone": "FRA"})
    # A Dell P2422H: its maker's sheet (sold with or without its stand: one product, docs/impact-model.md).
    p2422h_kg = pcf_declared("Dell", ("P2422H Monitor", "P2422H Monitor (without stand)"))
    expect("registre/ECR-0001", monitor_kwh, p2422h_kg, monitor_years, 12, {"kind": "monitor",
                                                                           "embodied_source": "declared"})
    expect("registre/SW-0001", 310.5, 560, 8, 2, {"kind": "network_switch", "power_source": "declared",
                                                    "embodied_source": "declared"})
    device = next(host for host in rows if host.startswith("glpi/") and "/monitor/" not in host)
    expect(device, desktop_kwh, desktop_kg, desktop_years, 1, {"kind": "desktop", "site": "Annexe"})
    expect(device, desktop_kwh, desktop_kg, desktop_years, 1, {"embodied_source": "fitted"})
    expect(f"{device}/monitor/CN0X1234", monitor_kwh, p2422h_kg, monitor_years, 1, {"kind": "monitor",
                                                                                    "embodied_source": "declared"})
    assert rows["registre/PC-0001"]["n"] >= hours
    # The tablet left the register during the current hour: it counts in every hour before it (the hours
    # after are in tests/collector/test_assets_job.py).
    assert rows["registre/OLD-0001"]["n"] == rows["registre/PC-0001"]["n"]
    # Services include them: each device's host points and service points hold the same energy.
    services = {row["service"]: row["energy_wh"] for row in influxdb.query(
        "SELECT sum(energy_wh) AS energy_wh FROM fp_service WHERE host =~ /^(registre|glpi)\\// GROUP BY service",
        influx_db)}
    assert services["paie"] == pytest.approx(rows["registre/PC-0001"]["energy_wh"])
    assert services["réseau"] == pytest.approx(rows["registre/SW-0001"]["energy_wh"])
    assert sum(services.values()) == pytest.approx(sum(row["energy_wh"] for row in rows.values()))
    print(f"\nestate: {len(rows)} devices, {sum(r['n'] for r in rows.values())} device-hours stored, "
          f"{sum(r['energy_wh'] for r in rows.values()) / 1000:.2f} kWh")
