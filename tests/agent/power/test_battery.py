"""A laptop's battery (agent/power/battery.py) on recorded power_supply trees."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from power_trees import HOSTS, POWER, copy_tree

from fleetprint.agent.power.battery import BatterySource


def test_discharging_battery_reports_power_now() -> None:
    source = BatterySource(POWER / "thinkpad-kabylake")
    assert source.read() == {"battery": 8.751}
    assert source.status() == "ok"


def test_discharging_battery_without_power_now_gives_current_times_voltage() -> None:
    """The mouse's battery (scope Device) discharges too but is not the host's."""
    watts = BatterySource(POWER / "laptop-charge-battery").read()
    assert watts == {"battery": pytest.approx(1.030 * 11.812)}


@pytest.mark.parametrize("state", ["Charging", "Full", "Not charging", "Unknown"])
def test_battery_not_discharging_gives_no_reading(tmp_path: Path, state: str) -> None:
    root = copy_tree("thinkpad-kabylake", tmp_path)
    (root / "sys/class/power_supply/BAT0/status").write_text(f"{state}\n")
    source = BatterySource(root)
    assert source.read() == {}
    assert source.status() == "ok"


def test_recorded_charging_thinkpad_gives_no_reading() -> None:
    source = BatterySource(HOSTS / "thinkpad-laptop")
    assert (source.read(), source.status()) == ({}, "ok")


def test_no_battery_is_absent(tmp_path: Path) -> None:
    assert BatterySource(HOSTS / "xeon-rack-server").status() == "absent: no /sys/class/power_supply"
    root = copy_tree("laptop-charge-battery", tmp_path)  # then only the mains and a mouse's battery
    shutil.rmtree(root / "sys/class/power_supply/BAT1")
    assert BatterySource(root).status() == "absent: no battery in /sys/class/power_supply"


def test_battery_reporting_no_power_is_unsupported(tmp_path: Path) -> None:
    root = copy_tree("laptop-charge-battery", tmp_path)
    (root / "sys/class/power_supply/BAT1/current_now").unlink()
    assert BatterySource(root).status() == (
        "unsupported: BAT1 reports neither power_now nor current_now and voltage_now")
