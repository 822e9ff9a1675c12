"""The power ladder with recorded readings: source order, components, calibration, sanity bounds."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fleetprint.collector.impact.grid import zone_factors
from fleetprint.collector.impact.host_model import build_host_model
from fleetprint.collector.impact.ladder import MIN_LEARNING_SAMPLES, PowerLadder
from fleetprint.schema import Cpu, Disk, Inventory, Sample

NOW = datetime(2026, 11, 2, 12, tzinfo=timezone.utc)
SERVER = Inventory(host_id="r740", taken_at=NOW, kind="server", ram_gb=192, ram_modules=12,
                   cpu=Cpu(model="Intel Xeon Gold 6130", sockets=2, cores=32, threads=64),
                   disks=[Disk(name="sda", kind="ssd", size_gb=480)])
MODEL = build_host_model(SERVER, zone_factors("FRA"), "dc1")
CURVE = MODEL.components_curve


def sample(load: float = 40.0, **power_w: float) -> Sample:
    return Sample(ts=NOW, interval_s=30, cpu_util_pct=load, power_w=power_w)


def test_the_best_source_wins() -> None:
    ladder = PowerLadder()
    assert ladder.estimate(MODEL, sample(wall=310.0, rapl_package=150.0, battery=20.0)).step == "wall"
    assert ladder.estimate(MODEL, sample(wall=310.0)).power_w == 310.0
    assert ladder.estimate(MODEL, sample(battery=21.5)).step == "battery"
    assert ladder.estimate(MODEL, sample(rapl_package=150.0)).step == "components"
    modelled = ladder.estimate(MODEL, sample())
    assert (modelled.step, modelled.power_w) == ("modelled", pytest.approx(MODEL.power.power_w(40.0)))


def test_components_replace_the_models_cpu_and_ram_terms() -> None:
    """(measured packages + measured DRAM) x (1 + overhead) + disks, plus GPUs, from the host's own curve."""
    figures = CURVE.figures
    got = PowerLadder().estimate(MODEL, sample(rapl_package=150.0, rapl_dram=30.0, gpu=70.0)).power_w
    assert got == pytest.approx((150.0 + 30.0) * (1 + figures.overhead_ratio) + figures.disk_w + 70.0)
    without_dram = PowerLadder().estimate(MODEL, sample(rapl_package=150.0)).power_w
    assert without_dram == pytest.approx((150.0 + CURVE.ram_w(40.0)) * (1 + figures.overhead_ratio)
                                         + figures.disk_w)


def test_wall_readings_calibrate_the_components_and_the_model() -> None:
    ladder = PowerLadder()
    figures = CURVE.figures
    components_w = (150.0 + 30.0) * (1 + figures.overhead_ratio) + figures.disk_w
    for _ in range(MIN_LEARNING_SAMPLES - 1):
        ladder.estimate(MODEL, sample(wall=300.0, rapl_package=150.0, rapl_dram=30.0))
    assert ladder.estimate(MODEL, sample(rapl_package=150.0, rapl_dram=30.0)).step == "components", \
        "not enough wall samples yet"
    ladder.estimate(MODEL, sample(wall=300.0, rapl_package=150.0, rapl_dram=30.0))
    calibrated = ladder.estimate(MODEL, sample(rapl_package=150.0, rapl_dram=30.0))
    assert calibrated.step == "calibrated"
    assert calibrated.calibration_ratio == pytest.approx(300.0 / components_w)
    assert calibrated.power_w == pytest.approx(300.0)
    by_model = ladder.estimate(MODEL, sample())
    assert by_model.step == "calibrated"
    assert by_model.power_w == pytest.approx(MODEL.power.power_w(40.0) * 300.0 / MODEL.power.power_w(40.0))


def test_implausible_readings_are_rejected_and_the_ladder_goes_on() -> None:
    estimate = PowerLadder().estimate(MODEL, sample(wall=160_000.0, rapl_package=150.0))
    assert estimate.rejected == ("wall",)
    assert estimate.step == "components"


def test_a_vm_has_no_components_path() -> None:
    vm = build_host_model(Inventory(host_id="vm", taken_at=NOW, kind="vm", ram_gb=8,
                                    cpu=Cpu(model="Intel Xeon Gold 6130", threads=4)), zone_factors("FRA"), "dc1")
    assert PowerLadder().estimate(vm, sample(rapl_package=150.0)).step == "modelled"
