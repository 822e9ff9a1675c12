"""What a Mac laptop draws from its battery while it discharges: AppleSmartBattery's
InstantAmperage (mA) × Voltage (mV) from `ioreg -rn AppleSmartBattery`, the "battery" power
channel as on Linux and Windows.

Whether the Mac runs on its battery is asked at every sample, cheaply (IOPowerSources,
through psutil): on mains power nothing more is read. While it discharges, `ioreg` (a few ms,
bounded by a timeout) gives the battery's instantaneous current, which the firmware itself
averages over a few seconds, taken as the mean over the interval. `pmset -g batt` says
whether the Mac discharges but not at what power, so it is not used. A missing or slow
`ioreg` gives the status "unavailable: ...", never an error.
"""

from __future__ import annotations

from collections.abc import Callable

import psutil

from fleetprint.agent.platform.macos import CommandResult, parse_ioreg, run_command
from fleetprint.agent.power.base import PowerSource, PowerSourceType, Unavailable

IOREG_BATTERY = ("ioreg", "-rn", "AppleSmartBattery")
_TIMEOUT_S = 5.0


def _signed(value: str) -> int | None:
    """ioreg prints a negative current as its 64-bit two's complement (18446744073709550000)."""
    text = value.strip()
    if text.startswith("-") and text[1:].isdigit():
        return int(text)
    if not text.isdigit():
        return None
    number = int(text)
    return number - 2**64 if number >= 2**63 else number


def discharge_watts(ioreg_text: str) -> float | None:
    """The battery's discharge power in W from `ioreg -rn AppleSmartBattery`'s text; None when it
    does not discharge (on mains power, charging or full). Raises Unavailable when no battery is
    listed, or when it discharges but gives no current or voltage."""
    values = parse_ioreg(ioreg_text)
    if not values:
        raise Unavailable("absent: ioreg lists no AppleSmartBattery")
    if values.get("ExternalConnected") == "Yes" or values.get("IsCharging") == "Yes":
        return None
    amperage = _signed(values.get("InstantAmperage", ""))
    if amperage is None:  # before macOS 10.9's InstantAmperage: the firmware's one-minute average
        amperage = _signed(values.get("Amperage", ""))
    voltage = _signed(values.get("Voltage", ""))
    if amperage is None or not voltage or voltage < 0:
        raise Unavailable("unsupported: AppleSmartBattery discharges but gives no InstantAmperage and Voltage")
    if amperage >= 0:
        return None  # not drawing from the battery (the current is negative while it discharges)
    return -amperage * voltage / 1e6


class MacBatterySource(PowerSource):
    def __init__(self, on_battery: Callable[[], bool | None] | None = None,
                 query: Callable[[], CommandResult] | None = None) -> None:
        super().__init__()
        self.name = "battery"
        self._on_battery = on_battery or _on_battery
        self._query = query or (lambda: run_command(IOREG_BATTERY, _TIMEOUT_S))

    def _read(self) -> dict[str, float]:
        on_battery = self._on_battery()
        if on_battery is None:
            raise Unavailable("absent: macOS reports no internal battery")
        if not on_battery:
            return {}
        result = self._query()
        if result.error:
            raise Unavailable(f"unavailable: {result.error}")
        watts = discharge_watts(result.text)
        return {"battery": watts} if watts is not None else {}


def _on_battery() -> bool | None:
    """True on the battery, False on mains power, None without an internal battery."""
    try:
        battery = psutil.sensors_battery()
    except (OSError, RuntimeError, AttributeError):
        return None
    return None if battery is None else battery.power_plugged is False


SOURCE = PowerSourceType("battery", lambda _, platform: MacBatterySource(), platforms=frozenset({"macos"}))
