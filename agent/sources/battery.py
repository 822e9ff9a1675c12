"""Whether a battery powers the host, from /sys/class/power_supply (its discharge power is the
"battery" power source: agent/power/battery.py)."""

from __future__ import annotations

from pathlib import Path

import psutil

from fleetprint.agent.sources import read_attr


def has_battery(root: Path = Path("/")) -> bool:
    """Whether a battery powers the host (not a wireless mouse's or headset's).

    Without a power_supply directory (not Linux), psutil answers on the live root.
    """
    supplies = root / "sys/class/power_supply"
    if not supplies.is_dir():
        return root == Path("/") and _psutil_battery()
    return any(is_system_battery(supply) for supply in supplies.glob("*"))


def is_system_battery(supply: Path) -> bool:
    """Whether a power_supply entry is one of the host's batteries. Peripherals' batteries (HID
    devices) have scope "Device"; the host's have "System" or none."""
    return read_attr(supply / "type") == "Battery" and read_attr(supply / "scope") != "Device"


def _psutil_battery() -> bool:
    sensors_battery = getattr(psutil, "sensors_battery", None)  # absent on some platforms
    try:
        return sensors_battery is not None and sensors_battery() is not None
    except (OSError, RuntimeError):
        return False
