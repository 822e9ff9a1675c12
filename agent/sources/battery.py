"""The host's battery, from /sys/class/power_supply: whether there is one (inventory) and its
discharge power (the "battery" power channel)."""

from __future__ import annotations

from pathlib import Path

import psutil

from fleetprint.agent.sources import PowerSource, Unavailable, read_attr


def has_battery(root: Path = Path("/")) -> bool:
    """Whether a battery powers the host (not a wireless mouse's or headset's).

    Without a power_supply directory (not Linux), psutil answers on the live root.
    """
    supplies = root / "sys/class/power_supply"
    if not supplies.is_dir():
        return root == Path("/") and _psutil_battery()
    return any(_is_system_battery(supply) for supply in supplies.glob("*"))


def _is_system_battery(supply: Path) -> bool:
    # Peripherals' batteries (HID devices) have scope "Device"; the host's have "System" or none.
    return read_attr(supply / "type") == "Battery" and read_attr(supply / "scope") != "Device"


def _psutil_battery() -> bool:
    sensors_battery = getattr(psutil, "sensors_battery", None)  # absent on some platforms
    try:
        return sensors_battery is not None and sensors_battery() is not None
    except (OSError, RuntimeError):
        return False


class BatterySource(PowerSource):
    """What the host draws from its batteries while they discharge: the whole machine's power.

    The kernel's power_now (µW), else current_now (µA) × voltage_now (µV), is an instantaneous
    value (the firmware's own short average), taken as the mean over the interval. Charging,
    full or idle batteries give no reading: the machine then runs on mains power.
    """

    def __init__(self, root: Path = Path("/")) -> None:
        super().__init__()
        self.name = "battery"
        self.root = root

    def _read(self) -> dict[str, float]:
        supplies = self.root / "sys/class/power_supply"
        if not supplies.is_dir():
            raise Unavailable("absent: no /sys/class/power_supply")
        batteries = [supply for supply in sorted(supplies.glob("*")) if _is_system_battery(supply)]
        if not batteries:
            raise Unavailable("absent: no battery in /sys/class/power_supply")
        watts = [_discharge_watts(battery) for battery in batteries if read_attr(battery / "status") == "Discharging"]
        return {"battery": sum(watts)} if watts else {}


def _discharge_watts(battery: Path) -> float:
    power_uw = _microunits(battery / "power_now")
    if power_uw is not None:
        return abs(power_uw) / 1e6
    current_ua, voltage_uv = _microunits(battery / "current_now"), _microunits(battery / "voltage_now")
    if current_ua is None or voltage_uv is None:
        raise Unavailable(f"unsupported: {battery.name} reports neither power_now nor current_now and voltage_now")
    return abs(current_ua) * voltage_uv / 1e12  # some drivers report a discharge current as negative


def _microunits(path: Path) -> int | None:
    text = read_attr(path)
    try:
        return int(text)
    except ValueError:
        return None
