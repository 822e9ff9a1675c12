"""RAPL (agent/power/rapl.py) on recorded powercap trees whose counters the tests move."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from power_trees import HOSTS, POWER, add_energy, assert_mean, copy_tree, set_energy

from fleetprint.agent.power import rapl
from fleetprint.agent.power.base import PowerSource
from fleetprint.agent.power.rapl import DENIED, RaplSource


def timed_reads(source: PowerSource, change: Callable[[], None]) -> tuple[dict[str, float], float, float]:
    """Prime `source`, let 0.1 s pass, `change` the counters and read again: the reading, and the
    shortest and longest time that can have passed between the source's two reads."""
    before_first = time.monotonic()
    assert source.read() == {}  # the first read only primes
    after_first = time.monotonic()
    time.sleep(0.1)
    change()
    before_second = time.monotonic()
    watts = source.read()
    after_second = time.monotonic()
    return watts, before_second - after_first, after_second - before_first



def test_two_socket_xeon_sums_the_sockets_per_channel(tmp_path: Path) -> None:
    root = copy_tree("xeon-2s-cascadelake", tmp_path)
    source = RaplSource(root)

    def change() -> None:
        add_energy(root, "intel-rapl:0", 9_000_000)
        add_energy(root, "intel-rapl:1", 7_000_000)
        add_energy(root, "intel-rapl:0:0", 1_500_000)  # dram zones say enabled = 0: still counted
        add_energy(root, "intel-rapl:1:0", 1_000_000)

    watts, shortest, longest = timed_reads(source, change)
    assert set(watts) == {"rapl_package", "rapl_dram"}  # Cascade Lake-SP has no core or uncore zone
    assert_mean(watts["rapl_package"], 16.0, shortest, longest)
    assert_mean(watts["rapl_dram"], 2.5, shortest, longest)
    assert source.status() == "ok"


def test_laptop_reads_core_uncore_and_dram_once_each(tmp_path: Path) -> None:
    """The MMIO interface repeats package-0 and psys covers the whole platform: neither is added."""
    root = copy_tree("thinkpad-kabylake", tmp_path)
    source = RaplSource(root)

    def change() -> None:
        for zone, microjoules in [("intel-rapl:0", 4_200_000), ("intel-rapl:0:0", 1_900_000),
                                  ("intel-rapl:0:1", 300_000), ("intel-rapl:0:2", 600_000),
                                  ("intel-rapl:1", 9_000_000), ("intel-rapl-mmio:0", 4_200_000)]:
            add_energy(root, zone, microjoules)

    watts, shortest, longest = timed_reads(source, change)
    assert set(watts) == {"rapl_package", "rapl_core", "rapl_uncore", "rapl_dram"}
    for channel, joules in [("rapl_package", 4.2), ("rapl_core", 1.9), ("rapl_uncore", 0.3), ("rapl_dram", 0.6)]:
        assert_mean(watts[channel], joules, shortest, longest)


def test_amd_epyc_gives_packages_only(tmp_path: Path) -> None:
    """AMD's "core" zone counts the cores of one CPU only (a per-core counter): left out."""
    root = copy_tree("epyc-2s-milan", tmp_path)
    source = RaplSource(root)

    def change() -> None:
        for zone, microjoules in [("intel-rapl:0", 12_000_000), ("intel-rapl:1", 11_000_000),
                                  ("intel-rapl:0:0", 300_000), ("intel-rapl:1:0", 280_000)]:
            add_energy(root, zone, microjoules)

    watts, shortest, longest = timed_reads(source, change)
    assert set(watts) == {"rapl_package"}
    assert_mean(watts["rapl_package"], 23.0, shortest, longest)


def test_counter_wrap_adds_the_counter_range(tmp_path: Path) -> None:
    root = copy_tree("xeon-2s-cascadelake", tmp_path)
    set_energy(root, "intel-rapl:0", 262_143_328_850 - 1_000_000)  # 1 J before the end of its range
    set_energy(root, "intel-rapl:0:0", 65_712_999_613 - 500_000)
    source = RaplSource(root)

    def change() -> None:
        set_energy(root, "intel-rapl:0", 2_000_000)  # wrapped: 3 J in all
        add_energy(root, "intel-rapl:1", 3_000_000)
        set_energy(root, "intel-rapl:0:0", 250_000)  # wrapped: 0.75 J
        add_energy(root, "intel-rapl:1:0", 250_000)

    watts, shortest, longest = timed_reads(source, change)
    assert_mean(watts["rapl_package"], 6.0, shortest, longest)
    assert_mean(watts["rapl_dram"], 1.0, shortest, longest)


def test_a_wrap_without_a_readable_range_drops_only_that_channel(tmp_path: Path) -> None:
    root = copy_tree("xeon-2s-cascadelake", tmp_path)
    (root / "sys/class/powercap/intel-rapl:0/max_energy_range_uj").unlink()
    source = RaplSource(root)

    def change() -> None:
        set_energy(root, "intel-rapl:0", 1_000)  # went backwards: a wrap of unknown size
        add_energy(root, "intel-rapl:1", 3_000_000)
        add_energy(root, "intel-rapl:0:0", 400_000)

    watts, shortest, longest = timed_reads(source, change)
    assert set(watts) == {"rapl_dram"}  # half of rapl_package would be a wrong total
    assert_mean(watts["rapl_dram"], 0.4, shortest, longest)


def test_mean_power_uses_the_monotonic_clock_and_skips_a_suspend(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Across a suspend the counters may restart, which looks like a wrap: that interval gives nothing."""
    root = copy_tree("xeon-2s-cascadelake", tmp_path)
    clocks = iter([(100.0, 100.0), (130.0, 3730.0), (160.0, 3760.0)])  # (monotonic, boot time) per read
    monkeypatch.setattr(rapl, "_clocks", lambda: next(clocks))
    source = RaplSource(root)
    assert source.read() == {}
    set_energy(root, "intel-rapl:0", 5_000)  # restarted during an hour of sleep
    assert source.read() == {}
    add_energy(root, "intel-rapl:0", 60_000_000)
    add_energy(root, "intel-rapl:1", 30_000_000)
    assert source.read() == {"rapl_package": 3.0, "rapl_dram": 0.0}  # 90 J in 30 s
    assert source.status() == "ok"


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Run the block as `nobody` when root (whom no file mode stops), else as is."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


def test_energy_readable_by_root_only_is_denied_with_the_fix() -> None:
    """Since the PLATYPUS fix (CVE-2020-8694) energy_uj is mode 0400, owned by root."""
    with tempfile.TemporaryDirectory() as top:
        os.chmod(top, 0o755)  # traversable by `nobody`
        root = Path(shutil.copytree(POWER / "xeon-2s-cascadelake", Path(top) / "xeon", symlinks=True))
        assert RaplSource(root).status() == "ok"
        for energy in root.glob("sys/devices/virtual/powercap/**/energy_uj"):
            energy.chmod(0o400 if os.geteuid() == 0 else 0o000)
        with unprivileged():
            source = RaplSource(root)
            reading = source.read()
            status = source.status()
    assert reading == {}
    assert status == DENIED
    assert len(DENIED) <= 256


def test_no_rapl_is_absent(tmp_path: Path) -> None:
    assert RaplSource(HOSTS / "kvm-vm").status() == "absent: no /sys/class/powercap"
    (tmp_path / "sys/class/powercap").mkdir(parents=True)  # powercap, but no RAPL zone (a VM)
    assert RaplSource(tmp_path).status().startswith("absent: no RAPL zone in /sys/class/powercap")
