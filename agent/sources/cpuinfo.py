"""The processors, from /proc/cpuinfo (x86 and ARM layouts).

psutil fills the counts only on the live root ("/"), where it describes the same machine.
"""

from __future__ import annotations

from pathlib import Path

import psutil

from fleetprint.agent.sources import read_attr
from fleetprint.schema import Cpu

_X86_VENDORS = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD", "HygonGenuine": "Hygon"}
# ARM `CPU implementer` codes and, for Arm Ltd's own cores, `CPU part` codes (as in lscpu).
_ARM_IMPLEMENTERS = {
    "0x41": "ARM",
    "0x42": "Broadcom",
    "0x43": "Cavium",
    "0x46": "Fujitsu",
    "0x48": "HiSilicon",
    "0x4e": "NVIDIA",
    "0x51": "Qualcomm",
    "0x61": "Apple",
    "0xc0": "Ampere",
}
_ARM_PARTS = {
    "0xd03": "Cortex-A53",
    "0xd05": "Cortex-A55",
    "0xd07": "Cortex-A57",
    "0xd08": "Cortex-A72",
    "0xd09": "Cortex-A73",
    "0xd0b": "Cortex-A76",
    "0xd0c": "Neoverse-N1",
    "0xd40": "Neoverse-V1",
    "0xd49": "Neoverse-N2",
    "0xd4f": "Neoverse-V2",
}

Block = dict[str, str]


def parse_cpuinfo(text: str) -> list[Block]:
    """Split /proc/cpuinfo into its blank-line separated blocks of `key : value` lines."""
    blocks: list[Block] = [{}]
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            blocks[-1][key.strip()] = value.strip()
        elif not line.strip() and blocks[-1]:
            blocks.append({})
    return [block for block in blocks if block]


def read_blocks(root: Path = Path("/")) -> list[Block]:
    """The blocks of <root>/proc/cpuinfo; none when it is missing or unreadable."""
    return parse_cpuinfo(read_attr(root / "proc/cpuinfo"))


def has_hypervisor_flag(blocks: list[Block]) -> bool:
    """Whether the CPU says it runs under a hypervisor (x86 `hypervisor` flag)."""
    return "hypervisor" in _first(blocks, "flags").split()


def read_cpu(root: Path = Path("/")) -> Cpu:
    """The host's processors: model, vendor, sockets, cores and threads (tdp_w unknown)."""
    blocks = read_blocks(root)
    processors = [block for block in blocks if "processor" in block]
    live = root == Path("/")
    threads = len(processors) or (psutil.cpu_count() if live else None) or 1
    sockets = len({p["physical id"] for p in processors if "physical id" in p}) or 1
    cores = _count_cores(processors, sockets, live) or threads
    return Cpu(model=_model(blocks), vendor=_vendor(blocks), sockets=sockets, cores=cores, threads=threads)


def _first(blocks: list[Block], key: str) -> str:
    """The first value of `key` in any block, "" if none has it."""
    return next((block[key] for block in blocks if block.get(key)), "")


def _count_cores(processors: list[Block], sockets: int, live: bool) -> int | None:
    pairs = {(p.get("physical id", ""), p["core id"]) for p in processors if "core id" in p}
    if pairs:
        return len(pairs)
    per_socket = _first(processors, "cpu cores")
    if per_socket.isdigit() and int(per_socket) > 0:
        return int(per_socket) * sockets
    return psutil.cpu_count(logical=False) if live else None


def _model(blocks: list[Block]) -> str:
    model = _first(blocks, "model name")
    if model:
        return model
    implementer = _first(blocks, "CPU implementer").lower()
    if not implementer:
        return "Unknown CPU"
    part = _ARM_PARTS.get(_first(blocks, "CPU part").lower()) if implementer == "0x41" else None
    return f"ARM {part}" if part else _first(blocks, "Hardware") or "Unknown ARM CPU"


def _vendor(blocks: list[Block]) -> str:
    vendor_id = _first(blocks, "vendor_id")
    if vendor_id:
        return _X86_VENDORS.get(vendor_id, vendor_id)
    return _ARM_IMPLEMENTERS.get(_first(blocks, "CPU implementer").lower(), "")
