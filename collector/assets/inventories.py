"""Devices from inventory agents' files: GLPI Agent, FusionInventory and OCS Inventory.

FusionInventory and the OCS Inventory agent write XML (`<REQUEST><CONTENT>...`, the format OCS
defined); the GLPI Agent writes the same content as JSON (`{"content": {...}}`, lower-case keys)
or, with `--xml`, as XML. What is read:

- a computer (`CONTENT/HARDWARE`, `CONTENT/BIOS`): its id (`DEVICEID`, else `HARDWARE/NAME`),
  serial (`BIOS/SSN`), maker and model (`BIOS/SMANUFACTURER`, `BIOS/SMODEL`), its category from
  the SMBIOS chassis type (`HARDWARE/CHASSIS_TYPE`, else `BIOS/TYPE`: "Notebook" a laptop,
  "Tower" a desktop, "Rack Mount Chassis" a server, ...); a virtual machine (`HARDWARE/VMSYSTEM`
  other than "Physical") is no device of its own and is left out, and said so;
- its monitors (`CONTENT/MONITORS`): maker, model (`CAPTION`), serial, each a device of its own
  (`<computer id>/monitor/<serial>`);
- a network device or printer from a network inventory (`CONTENT/DEVICE/INFO`): `TYPE`
  NETWORKING a network switch, PRINTER a printer, STORAGE a storage array, PHONE an IP phone;
  id (`INFO/NAME`, else its serial, else `INFO/ID`), serial, maker, model.

The XML parser (defusedxml) refuses DTDs and entities, so a hostile file cannot expand a billion
laughs or read a local file; a file over `MAX_FILE_BYTES` is refused before it is parsed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeTree
from defusedxml import DefusedXmlException

from fleetprint.collector.assets.register import Asset, FieldError, RegisterError, asset_from_fields, check_register

MAX_FILE_BYTES = 64 * 1024 * 1024
_CHASSIS = {
    "laptop": ("notebook", "laptop", "portable", "sub notebook", "convertible", "detachable", "hand held"),
    "tablet": ("tablet",),
    "desktop": ("desktop", "low profile desktop", "pizza box", "mini tower", "tower", "all in one", "mini pc",
                "stick pc", "space-saving", "lunch box", "sealed-case pc"),
    "server": ("rack mount chassis", "main server chassis", "blade", "blade enclosure", "multi-system chassis"),
}
_CATEGORY_OF_CHASSIS = {name: category for category, names in _CHASSIS.items() for name in names}
_CATEGORY_OF_DEVICE = {"networking": "network_switch", "printer": "printer", "storage": "storage_array",
                       "phone": "ip_phone"}


class Node:
    """An XML element or a JSON object, read the same way: upper-case names in XML, lower-case in JSON."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def text(self, name: str) -> str:
        if isinstance(self.value, Mapping):
            found = self.value.get(name.lower())
            return str(found).strip() if isinstance(found, str | int | float) else ""
        element = self.value.find(name)
        return (element.text or "").strip() if element is not None else ""

    def children(self, name: str) -> list[Node]:
        if isinstance(self.value, Mapping):
            found = self.value.get(name.lower())
            items = found if isinstance(found, list) else [found] if isinstance(found, Mapping) else []
            return [Node(item) for item in items if isinstance(item, Mapping)]
        return [Node(element) for element in self.value.findall(name)]

    def child(self, name: str) -> Node | None:
        found = self.children(name)
        return found[0] if found else None


@dataclass
class InventoryFile:
    """What one file gave: its devices (each with where it is), and what was left out and why."""

    devices: list[tuple[str, dict[str, str]]]
    left_out: list[str]


def parse_inventory(data: bytes, name: str) -> InventoryFile:
    """The devices of one inventory file (XML or GLPI JSON); ValueError says why it cannot be read."""
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{len(data) / 2**20:.0f} MiB, more than the {MAX_FILE_BYTES // 2**20} MiB an inventory "
                         "may be")
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        try:
            document = json.loads(stripped)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
        content = Node(document.get("content")) if isinstance(document, Mapping) else None
        device_id = str(document.get("deviceid", "")) if isinstance(document, Mapping) else ""
    else:
        try:
            root = SafeTree.fromstring(stripped, forbid_dtd=True)
        except DefusedXmlException as exc:
            raise ValueError(f"refused: {type(exc).__name__} (DTDs and entities are not read)") from None
        except SafeTree.ParseError as exc:
            raise ValueError(f"not well-formed XML: {exc}") from None
        if root.tag != "REQUEST":
            raise ValueError(f"not an inventory: its root is <{root.tag}>, not <REQUEST>")
        element = root.find("CONTENT")
        content = Node(element) if element is not None else None
        device_id = (root.findtext("DEVICEID") or "").strip()
    if content is None or content.value is None:
        raise ValueError("no CONTENT: not an inventory")
    return InventoryFile(*_devices(content, device_id, name))


def _devices(content: Node, device_id: str, name: str) -> tuple[list[tuple[str, dict[str, str]]], list[str]]:
    info = content.child("DEVICE")
    if info is not None and info.child("INFO") is not None:
        return [_network_device(info.child("INFO"), name)], []  # type: ignore[arg-type]
    hardware, bios = content.child("HARDWARE"), content.child("BIOS")
    if hardware is None:
        raise ValueError("neither HARDWARE nor DEVICE/INFO: not a computer's or a network device's inventory")
    computer_id = device_id or hardware.text("NAME")
    vm = hardware.text("VMSYSTEM")
    if vm and vm.lower() != "physical":
        return [], [f"{name}: {computer_id}: a virtual machine ({vm}), no device of its own"]
    chassis = hardware.text("CHASSIS_TYPE") or (bios.text("TYPE") if bios else "")
    computer = {"id": computer_id, "category": _CATEGORY_OF_CHASSIS.get(chassis.lower(), chassis),
                "serial": bios.text("SSN") if bios else "",
                "maker": (bios.text("SMANUFACTURER") or bios.text("MMANUFACTURER")) if bios else "",
                "model": bios.text("SMODEL") if bios else ""}
    devices = [(f"{name} ({computer_id})", computer)]
    for index, monitor in enumerate(content.children("MONITORS"), start=1):
        serial = monitor.text("SERIAL")
        devices.append((f"{name} ({computer_id}, monitor {index})", {
            "id": f"{computer_id}/monitor/{serial or index}", "category": "monitor", "serial": serial,
            "maker": monitor.text("MANUFACTURER"), "model": monitor.text("CAPTION")}))
    return devices, []


def _network_device(info: Node, name: str) -> tuple[str, dict[str, str]]:
    kind = info.text("TYPE")
    device_id = info.text("NAME") or info.text("SERIAL") or info.text("ID")
    return (f"{name} ({device_id})", {"id": device_id, "category": _CATEGORY_OF_DEVICE.get(kind.lower(), kind),
                                      "serial": info.text("SERIAL"), "maker": info.text("MANUFACTURER"),
                                      "model": info.text("MODEL")})


def read_inventories(paths: list[Path], source: str, defaults: Mapping[str, str] | None = None,
                     categories: Mapping[str, str] | None = None) -> tuple[list[Asset], list[str]]:
    """The devices of every file (a directory: its *.xml, *.json and *.ocs files), with `defaults`
    (site, department, service, zone) for all, and the register's own category names mapped; and
    what was left out. RegisterError lists every file and device at fault."""
    rows: list[tuple[str, Asset]] = []
    left_out: list[str] = []
    faults: list[str] = []
    for path in _files(paths):
        try:
            parsed = parse_inventory(path.read_bytes(), path.name)
        except (OSError, ValueError) as exc:
            faults.append(f"{path}: {exc}")
            continue
        left_out.extend(parsed.left_out)
        for where, fields in parsed.devices:
            fields = {**(defaults or {}), **{k: v for k, v in fields.items() if v}}
            own = (categories or {}).get(fields.get("category", "").strip().lower())
            if own:
                fields["category"] = own
            try:
                rows.append((where, asset_from_fields(fields)))
            except FieldError as exc:
                faults.append(f"{where}, {exc}")
    if faults:
        raise RegisterError(source, faults)
    return check_register(rows, source), left_out


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix.lower() in (".xml", ".json", ".ocs"))
        else:
            yield path
