"""A Mac's battery discharge power (agent/power/battery_macos.py). No recording of `ioreg -rn
AppleSmartBattery` is in the GLPI Agent's data set (tests/data/macos/README.md): the outputs
below are laid out as the recorded `ioreg -r` outputs of tests/data/macos/glpi/ioreg/ are (an
object's header, then `"key" = value` lines in braces), with the keys AppleSmartBattery
publishes (IOPMPowerSource.h: Voltage in mV, InstantAmperage in mA, negative while
discharging, which ioreg prints as its unsigned 64-bit two's complement)."""

from __future__ import annotations

import pytest

from fleetprint.agent.platform.macos import CommandResult
from fleetprint.agent.power.base import Unavailable
from fleetprint.agent.power.battery_macos import MacBatterySource, discharge_watts


def smart_battery(**values: str) -> str:
    lines = "\n".join(f'      "{key}" = {value}' for key, value in values.items())
    return ("+-o AppleSmartBattery  <class AppleSmartBattery, id 0x100000290, registered, matched, active, "
            "busy 0 (0 ms), retain 7>\n    {\n"
            '      "BatteryData" = {"Voltage"=1,"InstantAmperage"=2}\n'  # nested: not the battery's own values
            f"{lines}\n    }}\n")


DISCHARGING = smart_battery(ExternalConnected="No", IsCharging="No", Voltage="12431",
                            InstantAmperage=str(2**64 - 1418), Amperage=str(2**64 - 1400))


def test_discharge_power_from_instant_amperage_and_voltage() -> None:
    assert discharge_watts(DISCHARGING) == pytest.approx(1.418 * 12.431)


def test_no_reading_on_mains_power_or_while_charging() -> None:
    assert discharge_watts(smart_battery(ExternalConnected="Yes", IsCharging="Yes", Voltage="12600",
                                         InstantAmperage="1834")) is None
    assert discharge_watts(smart_battery(ExternalConnected="Yes", IsCharging="No", Voltage="12600",
                                         InstantAmperage=str(2**64 - 300))) is None  # plugged in: the wall pays
    assert discharge_watts(smart_battery(ExternalConnected="No", Voltage="12600", InstantAmperage="0")) is None


def test_a_battery_without_current_or_none_at_all() -> None:
    with pytest.raises(Unavailable, match="^unsupported: "):
        discharge_watts(smart_battery(ExternalConnected="No", Voltage="12600"))
    with pytest.raises(Unavailable, match="^absent: "):
        discharge_watts("")


def test_the_source_reads_ioreg_only_on_battery() -> None:
    queries = []

    def query() -> CommandResult:
        queries.append(1)
        return CommandResult(text=DISCHARGING)

    plugged = MacBatterySource(on_battery=lambda: False, query=query)
    assert plugged.read() == {} and plugged.status() == "ok" and queries == []
    on_battery = MacBatterySource(on_battery=lambda: True, query=query)
    assert on_battery.read() == {"battery": pytest.approx(17.627, abs=1e-3)} and queries == [1]
    desktop = MacBatterySource(on_battery=lambda: None, query=query)
    assert desktop.read() == {} and desktop.status() == "absent: macOS reports no internal battery"


def test_a_slow_ioreg_is_a_status_not_an_error() -> None:
    source = MacBatterySource(on_battery=lambda: True,
                              query=lambda: CommandResult(error="ioreg did not answer within 5 s"))
    assert source.read() == {}
    assert source.status() == "unavailable: ioreg did not answer within 5 s"
