"""The firmware's description of the machine (SMBIOS/DMI), from /sys/class/dmi/id.

"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fleetprint.agent.sources import read_attr
from fleetprint.schema import MachineKind

# SMBIOS 3.x, System Enclosure or Chassis Types (DSP0134 §7.4.1).
_DESKTOP_CHASSIS = {
    3,  # Desktop
    4,  # Low Profile Desktop
    5,  # Pizza Box
    6,  # Mini Tower
    7,  # Tower
    13,  # All in One
    15,  # Space-saving
    16,  # Lunch Box
    24,  # Sealed-case PC
    35,  # Mini PC
    36,  # Stick PC
}
_LAPTOP_CHASSIS = {
    8,  # Portable
    9,  # Laptop
    10,  # Notebook
    14,  # Sub Notebook
    30,  # Tablet
    31,  # Convertible
    32,  # Detachable
}
_SERVER_CHASSIS = {
    17,  # Main Server Chassis
    23,  # Rack Mount Chassis
    25,  # Multi-system chassis
    28,  # Blade
    29,  # Blade Enclosure
}

# What cheap or generic firmware puts in the strings instead of a name.
_PLACEHOLDERS = {
    "",
    "default string",
    "none",
    "not applicable",
    "not specified",
    "o.e.m.",
    "oem",
    "system manufacturer",
    "system product name",
    "to be filled by o.e.m.",
    "unknown",
}

# Substrings of sys_vendor, product_name or bios_vendor naming a hypervisor. QEMU counts
# as KVM: a QEMU guest in a fleet runs KVM-accelerated, not emulated.
_VM_NEEDLES = (
    ("kvm", "kvm"),
    ("qemu", "kvm"),
    ("openstack", "kvm"),
    ("vmware", "vmware"),
    ("virtualbox", "virtualbox"),
    ("innotek", "virtualbox"),
    ("xen", "xen"),
    ("google compute engine", "google"),
    ("bochs", "bochs"),
    ("bhyve", "bhyve"),
    ("parallels", "parallels"),
)


@dataclass(frozen=True)
class Dmi:
    """The DMI fields the inventory uses; empty when the firmware gives none (ARM boards)."""

    vendor: str = ""
    product: str = ""
    bios_vendor: str = ""
    chassis_type: int | None = None

    @property
    def machine_kind(self) -> MachineKind | None:
        """The kind the chassis type says (desktop, laptop, server); None if it says none."""
        if self.chassis_type in _DESKTOP_CHASSIS:
            return "desktop"
        if self.chassis_type in _LAPTOP_CHASSIS:
            return "laptop"
        if self.chassis_type in _SERVER_CHASSIS:
            return "server"
        return None

    @property
    def vm_name(self) -> str:
        """The hypervisor these strings reveal ("kvm", "vmware", ...), "" for real hardware."""
        vendor, product, bios = self.vendor.lower(), self.product.lower(), self.bios_vendor.lower()
        if vendor == "amazon ec2":
            # Nitro instances are VMs, except the bare-metal sizes ("m5.metal").
            return "" if product.endswith(".metal") else "amazon"
        if vendor == "microsoft corporation":
            # Surface devices share the vendor string; only Hyper-V guests say this.
            return "hyperv" if product == "virtual machine" else ""
        for needle, name in _VM_NEEDLES:
            if needle in vendor or needle in product or needle in bios:
                return name
        return ""


def firmware_text(value: str) -> str:
    """A firmware string, "" when it is a placeholder ("To be filled by O.E.M.")."""
    return "" if value.lower() in _PLACEHOLDERS else value


def _field(dmi_dir: Path, name: str) -> str:
    return firmware_text(read_attr(dmi_dir / name))


def read_dmi(root: Path = Path("/")) -> Dmi:
    """Read <root>/sys/class/dmi/id; an absent or unreadable directory gives an empty Dmi."""
    dmi_dir = root / "sys/class/dmi/id"
    chassis = read_attr(dmi_dir / "chassis_type")
    return Dmi(
        vendor=_field(dmi_dir, "sys_vendor"),
        product=_field(dmi_dir, "product_name"),
        bios_vendor=_field(dmi_dir, "bios_vendor"),
        chassis_type=int(chassis) if chassis.isdigit() else None,
    )
