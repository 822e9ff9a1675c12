"""The GPUs, from the PCI devices' class codes in /sys/bus/pci/devices (no pci.ids needed)."""

from __future__ import annotations

from pathlib import Path

from fleetprint.agent.sources import read_attr
from fleetprint.schema import Gpu

# PCI class 03 subclass 00 (VGA-compatible controller) and 02 (3D controller).
_DISPLAY_CLASSES = ("0x0300", "0x0302")
# Only GPU makers count: the VGA of a server's BMC (ASPEED, Matrox) or a VM's emulated
# display (QEMU, virtio, VMware SVGA) is no accelerator.
_GPU_VENDORS = {"0x10de": "NVIDIA", "0x1002": "AMD", "0x8086": "Intel"}


def read_gpus(root: Path = Path("/")) -> list[Gpu]:
    """The host's GPUs, in PCI address order; the model is "<vendor> <device id>"."""
    devices = sorted((root / "sys/bus/pci/devices").glob("*"))
    gpus = (_gpu(device) for device in devices if read_attr(device / "class").startswith(_DISPLAY_CLASSES))
    return [gpu for gpu in gpus if gpu is not None]


def _gpu(device: Path) -> Gpu | None:
    vendor = _GPU_VENDORS.get(read_attr(device / "vendor").lower())
    if vendor is None:
        return None
    return Gpu(model=f"{vendor} {read_attr(device / 'device').lower()}", vendor=vendor)
