"""The Windows battery's discharge power (agent/power/battery_windows.py). No recording of root\\wmi
BatteryStatus exists in the recordings we use (tests/data/windows/README.md): the values are as
Microsoft's documentation of the class defines them (DischargeRate in mW, Discharging a Boolean,
0x80000000 for a rate the firmware does not know)."""

from __future__ import annotations

import pytest

from fleetprint.agent.platform.cim import CimResult
from fleetprint.agent.power.base import Unavailable
from fleetprint.agent.power.battery_windows import RATE_MAX_AGE_S, WindowsBatterySource, discharge_watts


def test_discharge_watts_of_every_discharging_battery() -> None:
    assert discharge_watts([{"InstanceName": "ACPI\\PNP0C0A\\1_0", "Discharging": True, "DischargeRate": 8751},
                            {"InstanceName": "ACPI\\PNP0C0A\\2_0", "Discharging": True, "DischargeRate": 1249}]) == 10.0
    assert discharge_watts([{"Discharging": False, "DischargeRate": 0, "PowerOnline": True}]) is None
    for rate in (0, 0x80000000, None, "8751"):
        with pytest.raises(Unavailable, match="gives no rate"):
            discharge_watts([{"InstanceName": "BAT0", "Discharging": True, "DischargeRate": rate}])


class Laptop:
    def __init__(self) -> None:
        self.on_battery: bool | None = True
        self.now = 0.0
        self.queries = 0
        self.result = CimResult(instances={"BatteryStatus": [{"Discharging": True, "DischargeRate": 7500}]})

    def query(self) -> CimResult:
        self.queries += 1
        return self.result

    def source(self) -> WindowsBatterySource:
        return WindowsBatterySource(lambda: self.on_battery, self.query, lambda: self.now)


def test_wmi_is_asked_only_on_battery_and_at_most_every_few_minutes() -> None:
    laptop = Laptop()
    source = laptop.source()
    assert source.read() == {"battery": 7.5} and source.status() == "ok"
    laptop.now = RATE_MAX_AGE_S - 1
    laptop.result.instances["BatteryStatus"][0]["DischargeRate"] = 9000
    assert source.read() == {"battery": 7.5} and laptop.queries == 1, "held between reads"
    laptop.now = RATE_MAX_AGE_S
    assert source.read() == {"battery": 9.0} and laptop.queries == 2
    laptop.on_battery = False  # plugged in: nothing to report, nothing asked
    assert source.read() == {} and laptop.queries == 2 and source.status() == "ok"
    laptop.on_battery = True  # unplugged again: read afresh
    assert source.read() == {"battery": 9.0} and laptop.queries == 3


def test_no_battery_or_no_wmi_class_is_a_status_not_an_error() -> None:
    laptop = Laptop()
    laptop.on_battery = None
    source = laptop.source()
    assert source.read() == {} and source.status() == "absent: Windows reports no system battery"
    laptop.on_battery = True
    laptop.result = CimResult(errors={"BatteryStatus": "PowerShell did not answer within 15 s"})
    assert source.read() == {}
    assert source.status() == "unavailable: WMI root/wmi BatteryStatus: PowerShell did not answer within 15 s"
