"""What a Windows laptop draws from its batteries while they discharge: BatteryStatus.DischargeRate
in WMI's root\\wmi namespace (mW), the "battery" power channel as on Linux.

Whether the machine runs on its batteries is asked of Windows at every sample, cheaply
(GetSystemPowerStatus, through psutil): on mains power nothing more is read. While it
discharges, the rate comes from WMI through PowerShell (agent/platform/cim.py), which costs
about a second of CPU, so it is read at most every `RATE_MAX_AGE_S` and held in between: the
firmware's rate is itself a short average, and a laptop's draw changes slowly next to the
cost of asking. A missing class or a slow WMI gives the status "unavailable: ...", never an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psutil

from fleetprint.agent.platform.cim import CimQuery, CimResult, Instance, read_cim
from fleetprint.agent.power.base import PowerSource, PowerSourceType, Unavailable

RATE_MAX_AGE_S = 300.0
BATTERY_STATUS = CimQuery("BatteryStatus", ("InstanceName", "Discharging", "DischargeRate", "PowerOnline"),
                          namespace="root/wmi")
_UNKNOWN_RATE = 0x80000000  # BATTERY_UNKNOWN_RATE (batclass.h): the firmware does not know
_TIMEOUT_S = 15.0


def discharge_watts(instances: list[Instance]) -> float | None:
    """The batteries' total discharge power in W from BatteryStatus instances; None when none
    discharges. Raises Unavailable when a discharging battery gives no usable rate."""
    watts = 0.0
    discharging = False
    for battery in instances:
        if battery.get("Discharging") is not True:
            continue
        discharging = True
        rate: Any = battery.get("DischargeRate")
        if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0 or rate >= _UNKNOWN_RATE:
            raise Unavailable(f"unsupported: {battery.get('InstanceName') or 'a battery'} discharges "
                              f"but its firmware gives no rate ({rate!r})")
        watts += rate / 1000
    return watts if discharging else None


class WindowsBatterySource(PowerSource):
    def __init__(self, on_battery: Callable[[], bool | None] | None = None,
                 query: Callable[[], CimResult] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.name = "battery"
        self._on_battery = on_battery or _on_battery
        self._query = query or (lambda: read_cim((BATTERY_STATUS,), _TIMEOUT_S))
        self._clock = clock
        self._rate: tuple[float, float | None] | None = None  # (when read, watts)

    def _read(self) -> dict[str, float]:
        on_battery = self._on_battery()
        if on_battery is None:
            raise Unavailable("absent: Windows reports no system battery")
        if not on_battery:
            self._rate = None  # plugged in: read afresh when it next discharges
            return {}
        now = self._clock()
        if self._rate is None or now - self._rate[0] >= RATE_MAX_AGE_S:
            result = self._query()
            if BATTERY_STATUS.cls not in result.instances:
                raise Unavailable(f"unavailable: WMI root/wmi {result.why(BATTERY_STATUS.cls)}")
            self._rate = (now, discharge_watts(result.get(BATTERY_STATUS.cls)))
        watts = self._rate[1]
        return {"battery": watts} if watts is not None else {}


def _on_battery() -> bool | None:
    """True on batteries, False on mains power, None without a system battery."""
    try:
        battery = psutil.sensors_battery()
    except (OSError, RuntimeError):
        return None
    return None if battery is None else battery.power_plugged is False


SOURCE = PowerSourceType("battery", lambda _, platform: WindowsBatterySource(), platforms=frozenset({"windows"}))
