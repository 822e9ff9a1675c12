"""The block devices, from /sys/block: whole disks only, not partitions or virtual layers."""

from __future__ import annotations

import re
from pathlib import Path

from fleetprint.agent.sources import read_attr
from fleetprint.schema import Disk, DiskKind

# Devices that are not hardware of their own: loop files, RAM disks, device-mapper and
# software RAID on top of real disks, optical drives, network block devices, and ZFS
# zvols and Ceph RBD images (which would count the pool's disks twice).
_SKIPPED_PREFIXES = ("loop", "ram", "zram", "dm-", "md", "sr", "nbd", "zd", "rbd")
# eMMC boot areas (mmcblk0boot0) are parts of the same chip as mmcblk0.
_EMMC_BOOT_AREA = re.compile(r"mmcblk\d+boot\d+")
_SECTOR_BYTES = 512  # `size` counts 512-byte sectors whatever the device's block size


def read_disks(root: Path = Path("/")) -> list[Disk]:
    """The host's disks, by name; removable media and empty devices are left out."""
    disks = (_disk(device) for device in sorted((root / "sys/block").glob("*")))
    return [disk for disk in disks if disk is not None]


def _disk(device: Path) -> Disk | None:
    if device.name.startswith(_SKIPPED_PREFIXES) or _EMMC_BOOT_AREA.fullmatch(device.name):
        return None
    if read_attr(device / "removable") == "1":
        return None
    sectors = read_attr(device / "size")
    if not sectors.isdigit() or int(sectors) == 0:
        return None
    size_gb = round(int(sectors) * _SECTOR_BYTES / 1e9, 2)
    return Disk(name=device.name, kind=_kind(device), size_gb=size_gb)


def _kind(device: Path) -> DiskKind:
    if device.name.startswith("nvme"):
        return "nvme"
    return {"1": "hdd", "0": "ssd"}.get(read_attr(device / "queue/rotational"), "unknown")
