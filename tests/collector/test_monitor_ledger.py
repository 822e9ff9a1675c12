"""A monitor is counted once per interval across hosts, by its maker and serial number."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from fleetprint.collector.impact.assess import Assessor
from fleetprint.collector.impact.grid import GridFactors, zone_factors
from fleetprint.collector.impact.host_model import build_host_model
from fleetprint.collector.impact.monitors import MonitorLedger
from fleetprint.collector.impact.workplace_power import MonitorPower
from fleetprint.collector.settings import AttributionSettings
from fleetprint.schema import Cpu, Inventory, Monitor, Sample

DOCK = MonitorPower("DEL/CN0A", 20.0)
OWN = MonitorPower("DEL/CN0B", 15.0)
S = 1000  # ms


def test_a_monitor_on_two_hosts_at_once_is_counted_by_the_first_only() -> None:
    ledger = MonitorLedger()
    assert ledger.power_w("a", (DOCK, OWN), 0, 30 * S) == 35.0
    assert ledger.power_w("b", (DOCK,), 10 * S, 40 * S) == 0.0  # overlaps a's interval
    assert ledger.power_w("a", (DOCK, OWN), 30 * S, 60 * S) == 35.0
    assert ledger.power_w("b", (DOCK,), 40 * S, 70 * S) == 0.0  # overlaps a's next one


def test_a_monitor_moved_to_another_host_counts_there_once_the_first_has_let_it_go() -> None:
    ledger = MonitorLedger()
    assert ledger.power_w("a", (DOCK,), 0, 30 * S) == 20.0
    assert ledger.power_w("b", (DOCK,), 30 * S, 60 * S) == 20.0  # no overlap: a's claim has ended
    assert ledger.power_w("a", (DOCK,), 45 * S, 75 * S) == 0.0  # now b's
    assert ledger.power_w("b", (DOCK,), 60 * S, 90 * S) == 20.0


def test_a_replayed_sample_counts_the_same() -> None:
    ledger = MonitorLedger()
    assert ledger.power_w("a", (DOCK,), 0, 30 * S) == 20.0
    assert ledger.power_w("a", (DOCK,), 30 * S, 60 * S) == 20.0
    assert ledger.power_w("a", (DOCK,), 0, 30 * S) == 20.0  # redelivered: the same points again
    assert ledger.power_w("b", (DOCK,), 50 * S, 80 * S) == 0.0  # a's latest claim still holds


def test_monitors_without_a_serial_are_each_hosts_own() -> None:
    ledger = MonitorLedger()
    assert ledger.power_w("a", (MonitorPower("a#0", 12.0),), 0, 30 * S) == 12.0
    assert ledger.power_w("b", (MonitorPower("b#0", 12.0),), 0, 30 * S) == 12.0


def test_a_workstations_monitors_add_to_its_power_energy_and_services() -> None:
    """Two desktops share one docked monitor: the first to report counts it, its services' parts add up to it."""
    t0 = datetime(2026, 11, 30, 10, 0, 30, tzinfo=timezone.utc)
    dock = Monitor(maker="DEL", serial="CN0A", diagonal_in=27.0, year=2021)
    desk = Inventory(host_id="a", taken_at=t0, kind="desktop", cpu=Cpu(model="Intel Core i5-10500", tdp_w=65.0),
                     ram_gb=16, model="OptiPlex 7080 Micro", monitors=[dock, Monitor(maker="DEL", serial="CN0B",
                                                                                     diagonal_in=24.0, year=2021)])
    first = build_host_model(desk, zone_factors("FRA"), "office")
    second = dataclasses.replace(first, host_id="b", monitors=first.monitors[:1],
                                 monitor_embodied=first.monitor_embodied[:1])
    assessor = Assessor(AttributionSettings(), {}, GridFactors({}, {}, None))
    sample = Sample(ts=t0, interval_s=30, cpu_util_pct=40.0, cpu_shares={"office": 0.3})
    a = assessor.assess(first, sample)
    b = assessor.assess(second, sample)
    monitors_w = sum(m.on_w for m in first.monitors)
    assert a.footprint.monitor_power_w == pytest.approx(monitors_w) and b.footprint.monitor_power_w == 0.0
    assert a.footprint.power_w == pytest.approx(first.power.power_w(40.0) + monitors_w)
    assert a.footprint.impacts.energy_wh == pytest.approx(a.footprint.power_w * 30 / 3600)
    assert b.footprint.power_w == pytest.approx(first.power.power_w(40.0))
    assert sum(s.power_w for s in a.services.values()) == pytest.approx(a.footprint.power_w)
    assert sum(s.impacts.energy_wh for s in a.services.values()) == pytest.approx(a.footprint.impacts.energy_wh)
    # Their manufacture too: the first host counts both monitors' share of it, the second none.
    monitors_gco2e = sum(m.rate.gwp_gco2e_per_h for m in first.monitor_embodied) * 30 / 3600
    assert len(first.monitor_embodied) == 2 and a.footprint.monitor_embodied[0] == pytest.approx(monitors_gco2e)
    assert b.footprint.monitor_embodied == (0.0, 0.0, 0.0)
    assert b.footprint.impacts.embodied_gwp_gco2e == pytest.approx(first.embodied.gwp_gco2e_per_h * 30 / 3600)
