"""The monitors in the inventory: EDIDs of 128 real monitors held to the GLPI Agent's reading of
them (tests/data/edid/README.md), the Linux connectors, Windows' WMI and macOS's ioreg."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from fleetprint.agent.config import HostFacts
from fleetprint.agent.inventory import collect_inventory
from fleetprint.agent.platform.cim import CimResult
from fleetprint.agent.platform.macos import IOREG_DISPLAYS, CommandResult, MacPlatform, monitors_from_ioreg
from fleetprint.agent.platform.windows import monitors_from
from fleetprint.agent.sources.displays import read_monitors
from fleetprint.agent.sources.edid import parse_edid, pnp_id
from fleetprint.schema import Monitor, decode_inventory, encode

DATA = Path(__file__).resolve().parent.parent / "data"
EDIDS = DATA / "edid" / "glpi"
GLPI = json.loads((DATA / "edid" / "glpi-expected.json").read_text())
MAC_IOREG = DATA / "macos" / "glpi" / "ioreg"

# Where this parser and the GLPI Agent's differ, and why.
MODEL_DIFFERS = {
    # Its "unspecified text" descriptors: the part number, then bytes that read as text ("(?NX").
    "lcd.dell-inspiron-6400": "XD570 (?NX",
}
SERIAL_DIFFERS = {
    # GLPI's Eizo and Samsung rules drop the numeric serial; it is the EDID's.
    "EV2785": "040e7406", "samsung-s22e390": "30414d4b",
}


def edid(name: str) -> bytes:
    return (EDIDS / name).read_bytes()


@pytest.mark.parametrize("name", sorted(GLPI))
def test_an_edid_reads_as_the_glpi_agent_reads_it(name: str) -> None:
    expected = GLPI[name]
    monitor = parse_edid(edid(name))
    assert monitor is not None
    week_year = expected["DESCRIPTION"].split("/")
    assert monitor.year == (int(week_year[-1]) if week_year[-1] != "1990" else None)  # byte 17 = 0: unknown
    if "CAPTION" in expected:
        assert monitor.model == MODEL_DIFFERS.get(name, expected["CAPTION"].strip())
    else:  # no name in the EDID: its product code
        assert re.fullmatch(r"[0-9A-F]{4}", monitor.model)
    # GLPI gives the serial string, or the numeric serial in hex, and for some makers a second form
    # (a prefix added, the number appended); "00000000" is its "none".
    serials = {text.strip() for text in (expected.get("SERIAL", ""), expected.get("ALTSERIAL", "")) if text.strip("0 ")}
    assert monitor.serial in serials if serials else monitor.serial == SERIAL_DIFFERS.get(name, "")
    assert monitor.maker == pnp_id(edid(name)[8:10]) and len(monitor.maker) == 3
    assert not monitor.builtin


# The visible diagonal the makers' data sheets give, in inches.
DATA_SHEET_DIAGONALS = {
    "acer-b247y": 23.8, "acer-v226hql": 21.5, "acer-v276hl": 27.0, "EV2785": 27.0, "iiyama-PL2779A": 27.0,
    "lcd.dell-U2410": 24.0, "lcd.dell-U2413": 24.1, "lcd.dell-U2415": 24.1, "lenovo-T24v-10": 23.8,
    "lcd.philips-288p6-hdmi": 28.0, "acer-al1716": 17.0, "lcd.lg-l1960.1": 19.0,
}


@pytest.mark.parametrize("name,inches", sorted(DATA_SHEET_DIAGONALS.items()))
def test_the_diagonal_is_the_data_sheets(name: str, inches: float) -> None:
    assert parse_edid(edid(name)).diagonal_in == pytest.approx(inches, abs=0.15)


def test_what_is_no_edid() -> None:
    assert parse_edid(b"") is None
    assert parse_edid(b"\x00" * 128) is None  # a connector that read zeros
    assert parse_edid(edid("lcd.dell-U2415")[:100]) is None  # cut short
    noisy = bytearray(edid("lcd.dell-U2415"))
    noisy[21:23] = b"\x00\x00"  # no size in cm: the detailed timing's mm alone
    assert parse_edid(bytes(noisy)).diagonal_in == pytest.approx(24.1, abs=0.1)
    noisy[54:56] = b"\x00\x00"  # and no detailed timing first: no size at all
    assert parse_edid(bytes(noisy)).diagonal_in is None


def connector(root: Path, name: str, status: str, data: bytes) -> None:
    path = root / "sys/class/drm" / name
    path.mkdir(parents=True)
    (path / "status").write_text(status + "\n")
    (path / "edid").write_bytes(data)


def test_linux_reads_the_connected_connectors(tmp_path: Path) -> None:
    connector(tmp_path, "card0-eDP-1", "connected", edid("lcd.internal"))
    connector(tmp_path, "card0-DP-1", "connected", edid("lcd.dell-U2415"))
    connector(tmp_path, "card0-DP-2", "disconnected", b"")
    connector(tmp_path, "card0-HDMI-A-1", "connected", b"\xff" * 128)  # noise
    connector(tmp_path, "card1-DP-3", "connected", edid("lcd.dell-U2415"))  # the same screen, seen twice
    connector(tmp_path, "card1-DP-4", "connected", edid("acer-b247y"))
    (tmp_path / "sys/class/drm/version").write_text("drm 1.1.0 20060810\n")  # not a connector
    monitors = read_monitors(tmp_path)
    assert [(m.maker, m.model, m.builtin) for m in monitors] == [
        ("DEL", "DELL U2415", False), ("TOS", "Internal LCD", True), ("ACR", "B247Y", False)]
    assert monitors[0] == parse_edid(edid("lcd.dell-U2415"))
    inventory = collect_inventory(HostFacts(), "desk-01", root=tmp_path)
    assert decode_inventory(encode(inventory)).monitors == monitors
    assert read_monitors(tmp_path / "nothing") == []


def wmi_values(name: str, instance: str, output: int, active: bool = True) -> dict[str, list[dict]]:
    """What root/wmi gives for a monitor, built from its EDID as Microsoft's documentation of the
    classes says (WmiMonitorID: the EDID's fields as character codes padded with zeros;
    WmiMonitorBasicDisplayParams: bytes 21-22, cm): no recording of these classes is at hand."""
    monitor = parse_edid(edid(name))
    data = edid(name)

    def codes(text: str, size: int) -> list[int]:
        return [ord(c) for c in text] + [0] * (size - len(text))

    return {
        "WmiMonitorID": [{"InstanceName": instance, "Active": active, "ManufacturerName": codes(monitor.maker, 16),
                          "UserFriendlyName": codes(monitor.model, 13), "ProductCodeID": codes("A0C4", 16),
                          "SerialNumberID": codes(monitor.serial or "0", 16), "YearOfManufacture": monitor.year}],
        "WmiMonitorBasicDisplayParams": [{"InstanceName": instance, "MaxHorizontalImageSize": data[21],
                                          "MaxVerticalImageSize": data[22]}],
        "WmiMonitorConnectionParams": [{"InstanceName": instance, "VideoOutputTechnology": output}],
    }


def test_windows_reads_wmi_as_the_edid_says() -> None:
    screens = [wmi_values("lcd.dell-U2415", r"DISPLAY\DELA0C4\5&1a2b&0&UID4352_0", 10),  # DisplayPort
               wmi_values("lcd.internal", r"DISPLAY\TOS508F\4&3c&0&UID265988_0", 0x80000000),  # internal
               wmi_values("acer-b247y", r"DISPLAY\ACR0744\5&1a2b&0&UID4353_0", 5, active=False),  # unplugged
               wmi_values("lcd.hp-nx-7000", r"DISPLAY\LGP0000\4&3c&0&UID1_0", 11)]  # embedded DP, no name
    cim = CimResult(instances={cls: [row for screen in screens for row in screen[cls]] for cls in screens[0]})
    monitors = monitors_from(cim)
    from_edid = parse_edid(edid("lcd.dell-U2415"))
    assert monitors[0] == Monitor(maker="DEL", model="DELL U2415", serial=from_edid.serial, year=2019,
                                  diagonal_in=round(math.hypot(52, 32) / 2.54, 1))  # cm: coarser than the EDID's mm
    assert abs(monitors[0].diagonal_in - from_edid.diagonal_in) < 0.5
    assert [(m.maker, m.builtin) for m in monitors[1:]] == [("TOS", True), ("LGP", True)]
    assert monitors[2].serial == ""  # WMI's "0": none
    assert monitors_from(CimResult(errors={"WmiMonitorID": "Invalid namespace"})) == []


def test_a_mac_reads_its_displays_from_ioreg() -> None:
    """The four recordings, against what the GLPI Agent's tests expect of them."""
    def recording(name: str) -> str:
        return (MAC_IOREG / name).read_text(encoding="utf-8")

    intel = monitors_from_ioreg(recording("AppleBacklightDisplay"), recording("AppleDisplay"), "")
    assert [(m.maker, m.model, m.serial, m.year, m.builtin) for m in intel] == [
        ("APP", "Color LCD", "", 2014, True), ("DEL", "DELL 1708FP", "C891H87R2GUS", 2008, False)]
    assert intel[1].diagonal_in == pytest.approx(17.0, abs=0.15)
    m1 = monitors_from_ioreg("", "", recording("AppleCLCD2-2"))
    assert [(m.maker, m.model, m.serial, m.year, m.builtin) for m in m1] == [
        ("00-10-fa", "", "", None, True),
        ("DEL", "DELL P2421DC", "9D5RR63", 2021, False), ("DEL", "DELL P2421DC", "5LWQR63", 2021, False)]
    assert m1[1].diagonal_in == pytest.approx(23.8, abs=0.25)  # 53 x 30 cm; the data sheet's 23.8"

    def run(argv: Sequence[str]) -> CommandResult:
        return CommandResult(text=recording("AppleCLCD2")) if tuple(argv) == IOREG_DISPLAYS[2] else \
            CommandResult(error="ioreg exited with 1")

    mac = MacPlatform(run=run)
    assert [(m.model, m.serial, m.builtin) for m in mac.monitors()] == [
        ("", "", True), ("DELL P2421DC", "4S0QR63", False)]
