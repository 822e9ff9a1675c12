"""What a laptop draws from its batteries while they discharge, from /sys/class/power_supply
(the "battery" power channel)."""

from __future__ import annotations

from pathlib import Path

from fleetprint.agent.power.base import PowerSource, PowerSourceType, Unavailable
from fleetprint.agent.sources import read_attr
from fleetprint.agent.sources.battery import is_system_battery


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
        batteries = [supply for supply in sorted(supplies.glob("*")) if is_system_battery(supply)]
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


SOURCE = PowerSourceType("battery", lambda _, platform: BatterySource(platform.root), platforms=frozenset({"linux"}))
