"""The asset register's readers: CSV as spreadsheets export it, inventory agents' XML and JSON, and
every kind of bad input refused whole with the row or element named."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from fusion_inventory import as_physical_desktop, fusioninventory_xml

from fleetprint.collector.assets import inventories
from fleetprint.collector.assets.csv_register import Mapping, read_csv
from fleetprint.collector.assets.estate import Estate
from fleetprint.collector.assets.inventories import parse_inventory, read_inventories
from fleetprint.collector.assets.register import Asset, RegisterError

DATA = Path(__file__).resolve().parent.parent / "data" / "assets"
AT = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)

# A French register as Excel exports it: `;`, decimal commas, day-first dates, a byte-order mark.
FRENCH = ("\ufeffN° d'inventaire;Type;Fabricant;Modèle;Numéro de série;Quantité;Lieu;Direction;Date d'achat;"
          "Date de retrait;consoElecAnnuelle\n"
          "PC-0001;Ordinateur portable;Dell;Latitude 5440;8H2KQ73;1;Hôtel de ville;DRH;15/03/2023;;\n"
          "ECR-0001;Écran;Dell;P2422H;;12;Hôtel de ville;DRH;2022-01-10;;\n"
          "IMP-0001;Imprimante;Lexmark;MB3442adwe;;2;Annexe;DSI;;31/12/2027;25,5\n")


def test_a_french_export_reads_as_our_columns() -> None:
    laptop, monitors, printer = _with_manufacture(FRENCH, {"IMP-0001": "310"})
    assert laptop == Asset(id="PC-0001", category="laptop", maker="Dell", model="Latitude 5440", serial="8H2KQ73",
                           site="Hôtel de ville", department="DRH", purchase_date=date(2023, 3, 15))
    assert (monitors.category, monitors.quantity, monitors.purchase_date) == ("monitor", 12, date(2022, 1, 10))
    assert (printer.yearly_kwh, printer.disposal_date, printer.manufacture_gwp_kgco2e) == (25.5, date(2027, 12, 31),
                                                                                            310.0)
    windows_1252 = _with_printer_footprint(FRENCH.replace("\ufeff", "")).encode("cp1252")  # Excel's "CSV (;)"
    assert read_csv(windows_1252, "x", _mapping_manufacture())[0].site == "Hôtel de ville"


def _mapping_manufacture() -> Mapping:
    return Mapping(columns={"Empreinte": "manufacture_gwp_kgco2e"})


def _with_printer_footprint(text: str) -> str:
    """The register with a column the mapping names, holding the printer's declared footprint."""
    lines = text.splitlines()
    lines[0] += ";Empreinte"
    lines[1:] = [line + (";310" if line.startswith("IMP-") else ";") for line in lines[1:]]
    return "\n".join(lines)


def _with_manufacture(text: str, figures: dict[str, str]) -> list[Asset]:
    return read_csv(_with_printer_footprint(text).encode("utf-8"), "registre.csv", _mapping_manufacture())


def test_commas_tabs_and_a_mapping_file(tmp_path: Path) -> None:
    english = "Asset Tag,Device Type,Manufacturer,Model,Qty,Location,Business Unit,Purchase Date\n" \
              "A-1,Notebook,Lenovo,ThinkPad T14,3,London,Finance,2024-05-02\n"
    assert read_csv(english.encode(), "x")[0].quantity == 3
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\n"Immo" = "id"\n"Famille" = "category"\n[categories]\n"PORTABLE 14P" = "laptop"\n',
                       encoding="utf-8")
    own = read_csv(b"Immo\tFamille\tSite\nIM-7\tPortable 14p\tLyon\n", "x", Mapping.load(mapping))
    assert (own[0].id, own[0].category, own[0].site) == ("IM-7", "laptop", "Lyon")
    mapping.write_text('[columns]\n"Immo" = "identifier"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="columns.'Immo': 'identifier' is not a column"):
        Mapping.load(mapping)


def test_every_fault_is_named_and_nothing_is_imported(tmp_path: Path) -> None:
    bad = ("id,category,quantity,purchase_date,yearly_kwh\n"
           "A,laptop,1,2024-13-45,\n"      # no such date
           "B,laptop,-2,,\n"               # a negative quantity
           "C,laptop,1.5,,\n"              # half a device
           "A,desktop,1,,\n"               # a duplicate id
           "D,Fax,1,,\n"                   # unknown categories, counted and listed
           "E,fax,1,,\n"
           "F,Scanner,1,,\n"
           "G,network switch,1,,\n"        # a category with no typical figures: must declare them
           "H,laptop,1,,12 kWh\n")
    with pytest.raises(RegisterError) as caught:
        read_csv(bad.encode(), "register.csv")
    faults = caught.value.faults
    assert "row 2, column purchase_date: '2024-13-45' is not a date (YYYY-MM-DD or DD/MM/YYYY)" in faults
    assert "row 3, column quantity: '-2' is out of range (0 to 1e+06)" in faults
    assert "row 4, column quantity: '1.5' is not a whole number of devices (1 or more)" in faults
    assert "row 10, column yearly_kwh: '12 kWh' is not a number" in faults
    with pytest.raises(RegisterError) as caught:
        read_csv(b"id,category\nA,laptop\nA,desktop\nD,Fax\nE,fax\nF,Scanner\nG,network switch\n", "register.csv")
    faults = caught.value.faults
    assert "row 3: id 'A' already on row 2" in faults
    assert any(f.startswith("unknown category 'fax' on 2 rows (row 4, row 5): map it to one of access_point, ")
               for f in faults)  # whatever their case
    assert any(f.startswith("unknown category 'scanner' on 1 row (row 6)") for f in faults)
    assert "row 7: no typical energy for category network_switch: give yearly_kwh (or power_w with " \
           "hours_per_day and days_per_year)" in faults
    assert str(caught.value).startswith("register.csv: 5 problems, nothing imported:")
    with pytest.raises(RegisterError, match="no category column"):
        read_csv(b"id,kind\nA,laptop\n", "register.csv")


def test_importing_twice_changes_nothing_and_a_device_that_left_is_disposed_of(tmp_path: Path) -> None:
    estate = Estate(tmp_path / "estate.sqlite3")
    register = read_csv(b"id,category,quantity\nA,laptop,1\nB,monitor,2\nC,desktop,1\n", "r.csv")
    assert estate.replace_source("register", register, AT, "r.csv").added == 3
    again = estate.replace_source("register", register, AT.replace(hour=10), "r.csv")
    assert (again.added, again.changed, again.unchanged, again.removed) == (0, 0, 3, 0)
    later = AT.replace(hour=11)
    smaller = read_csv(b"id,category,quantity\nA,laptop,1\nB,monitor,3\n", "r.csv")
    result = estate.replace_source("register", smaller, later, "r.csv")
    assert (result.added, result.changed, result.unchanged, result.removed) == (0, 1, 1, 1)
    devices = {d.asset.id: d for d in estate.devices()}
    assert devices["C"].removed_at == later and devices["C"].listed_at == AT  # its history stays
    assert devices["B"].asset.quantity == 3
    other = estate.replace_source("glpi", read_csv(b"id,category\nA,tablet\n", "x"), later, "x")  # sources apart
    assert other.added == 1 and len(estate.devices()) == 4
    assert estate.replace_source("register", register, AT.replace(hour=12), "r.csv").added == 1  # C is back


def test_an_inventory_made_by_fusioninventory_on_this_machine(tmp_path: Path) -> None:
    xml = fusioninventory_xml(tmp_path)
    device_id = xml.split(b"<DEVICEID>")[1].split(b"</DEVICEID>")[0].decode()
    parsed = parse_inventory(xml, "inventory.xml")
    if b"<VMSYSTEM>Physical</VMSYSTEM>" not in xml:  # a VM or a container: no device of its own
        assert parsed.devices == [] and "a virtual machine" in parsed.left_out[0]
    monitors = ("<MONITORS><CAPTION>DELL P2422H</CAPTION><MANUFACTURER>Dell Inc.</MANUFACTURER>"
                "<SERIAL>CN0X1234</SERIAL></MONITORS>\n<MONITORS><CAPTION>LG 24MK430H</CAPTION>"
                "<MANUFACTURER>LG</MANUFACTURER><SERIAL></SERIAL></MONITORS>\n")
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "desk.xml").write_bytes(as_physical_desktop(xml, monitors))
    (tmp_path / "inventories" / "notes.txt").write_text("not read")
    devices, left_out = read_inventories([tmp_path / "inventories"], "glpi", {"site": "HQ", "department": "IT"})
    assert [(d.category, d.site, d.department) for d in devices] == [("desktop", "HQ", "IT"), ("monitor", "HQ", "IT"),
                                                                     ("monitor", "HQ", "IT")]
    assert devices[0].id == device_id and left_out == []
    assert [(d.id, d.serial, d.model) for d in devices[1:]] == [
        (f"{device_id}/monitor/CN0X1234", "CN0X1234", "DELL P2422H"), (f"{device_id}/monitor/2", "", "LG 24MK430H")]


def test_a_recorded_switch_needs_its_figures() -> None:
    switch = DATA / "glpi" / "01-switch_inventory.xml"
    with pytest.raises(RegisterError) as caught:  # no typical figures for switches: the import must give them
        read_inventories([switch], "network")
    assert caught.value.faults[0].startswith("01-switch_inventory.xml (switch_moon): no typical energy for "
                                             "category network_switch")
    devices, _ = read_inventories([switch], "network", {"yearly_kwh": "105", "manufacture_gwp_kgco2e": "150"})
    assert [(d.id, d.category, d.serial, d.maker, d.model, d.yearly_kwh) for d in devices] == [
        ("switch_moon", "network_switch", "TY678DFB", "Cisco", "SG200-26", 105.0)]


def test_glpi_json_reads_as_xml() -> None:
    document = {"deviceid": "pc-42-2026-11-30", "itemtype": "Computer", "content": {
        "hardware": {"name": "pc-42", "vmsystem": "Physical", "chassis_type": "Notebook"},
        "bios": {"ssn": "5CG1234XYZ", "smanufacturer": "HP", "smodel": "EliteBook 840 G8"},
        "monitors": [{"caption": "HP E24 G5", "manufacturer": "HP", "serial": "CNK1"}]}}
    parsed = parse_inventory(json.dumps(document).encode(), "pc-42.json")
    assert [fields["category"] for _, fields in parsed.devices] == ["laptop", "monitor"]
    assert parsed.devices[0][1] == {"id": "pc-42-2026-11-30", "category": "laptop", "serial": "5CG1234XYZ",
                                    "maker": "HP", "model": "EliteBook 840 G8"}


@pytest.mark.parametrize("payload,reason", [
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
     b"<REQUEST><CONTENT><HARDWARE><NAME>&b;</NAME></HARDWARE></CONTENT></REQUEST>", "refused: DTDForbidden"),
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     b"<REQUEST><CONTENT><HARDWARE><NAME>&x;</NAME></HARDWARE></CONTENT></REQUEST>", "refused: DTDForbidden"),
    (b"<REQUEST><CONTENT><HARDWARE><NAME>pc</NAME></HARDWARE>", "not well-formed XML"),
    (b"<html><body>login</body></html>", "not an inventory: its root is <html>"),
    (b"<REQUEST><QUERY>PROLOG</QUERY></REQUEST>", "no CONTENT"),
    (b'{"content": ', "not valid JSON"),
])
def test_hostile_and_broken_files_are_refused(payload: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(")):
        parse_inventory(payload, "x.xml")


def test_a_file_too_large_is_refused_before_it_is_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inventories, "MAX_FILE_BYTES", 1024)
    big = tmp_path / "big.xml"
    big.write_bytes(b"<REQUEST>" + b" " * 2048 + b"</REQUEST>")
    good = tmp_path / "switch.xml"
    good.write_bytes((DATA / "glpi" / "01-switch_inventory.xml").read_bytes())
    with pytest.raises(RegisterError) as caught:
        read_inventories([good, big], "glpi")
    assert caught.value.faults == [f"{big}: 0 MiB, more than the 0 MiB an inventory may be"]
