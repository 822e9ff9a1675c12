"""Inventories for the asset import's tests: one FusionInventory makes of the machine the tests run on."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def fusioninventory_xml(tmp_path: Path) -> bytes:
    """An inventory of this machine, as FusionInventory's agent makes it."""
    out = tmp_path / "inventory.xml"
    with out.open("wb") as handle:
        subprocess.run(["fusioninventory-inventory", "--no-category=software,process,environment,user,local_user,"
                        "local_group,printer,usb,network,controller,drive,storage,input,sound,video,port,slot"],
                       stdout=handle, stderr=subprocess.DEVNULL, check=True, timeout=120)
    return out.read_bytes()


def as_physical_desktop(xml: bytes, monitors: str = "") -> bytes:
    """The machine's inventory as a physical tower would give it (the test machine may be a VM), of a
    maker and model no footprint table names, whatever the test machine is."""
    text = xml.decode("utf-8")
    text = re.sub(r"<SMANUFACTURER>[^<]*</SMANUFACTURER>", "<SMANUFACTURER>Example Computers</SMANUFACTURER>", text)
    text = re.sub(r"<SMODEL>[^<]*</SMODEL>", "<SMODEL>Tower 100</SMODEL>", text)
    head, tail = text.split("<HARDWARE>", 1)
    body, rest = tail.split("</HARDWARE>", 1)
    body = "".join(line for line in body.splitlines(keepends=True) if "<VMSYSTEM>" not in line
                   and "<CHASSIS_TYPE>" not in line)
    body += "      <VMSYSTEM>Physical</VMSYSTEM>\n      <CHASSIS_TYPE>Tower</CHASSIS_TYPE>\n"
    return (head + "<HARDWARE>" + body + "</HARDWARE>" + monitors + rest).encode("utf-8")
