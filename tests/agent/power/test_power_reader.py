"""The power sources together (agent/power): the registry built for a platform, the merged reading,
the statuses in the inventory, the sampler and `fleetprint agent once`."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from power_trees import HOSTS, add_energy, assert_mean, copy_tree

from fleetprint.agent.config import HostFacts
from fleetprint.agent.inventory import collect_inventory
from fleetprint.agent.platform.linux import LinuxPlatform
from fleetprint.agent.power import PowerReader, power_reader_for
from fleetprint.agent.power.base import PowerSource, Unavailable
from fleetprint.agent.power.ipmi import IpmiSettings
from fleetprint.agent.power.redfish import RedfishSettings
from fleetprint.agent.power.registry import SOURCE_TYPES, PowerSettings
from fleetprint.agent.sampler import UsageSampler
from fleetprint.schema import POWER_CHANNELS, Report, decode_inventory, decode_report, encode

SOURCES = ["rapl", "nvml", "battery", "ipmi", "redfish"]


class Fixed(PowerSource):
    """A stand-in source that gives fixed watts, or a fixed reason."""

    def __init__(self, name: str, watts: dict[str, float] | None = None, reason: str = "") -> None:
        super().__init__()
        self.name, self.watts, self.reason = name, watts or {}, reason

    def _read(self) -> dict[str, float]:
        if self.reason:
            raise Unavailable(self.reason)
        return self.watts


class Broken(PowerSource):
    """A source with a bug."""

    name = "broken"

    def _read(self) -> dict[str, float]:
        raise RuntimeError("boom")


def test_reader_merges_first_source_first_and_drops_implausible_watts() -> None:
    reader = PowerReader([
        Fixed("ipmi", {"wall": 250.0}),
        Fixed("redfish", {"wall": 260.0}),
        Fixed("rapl", {"rapl_package": float("nan"), "rapl_dram": 2e5, "rapl_core": -1.0, "rapl_uncore": 3.5}),
        Broken(),
        Fixed("nvml", reason="error: " + "x" * 400),
    ])
    assert reader.read() == {"wall": 250.0, "rapl_uncore": 3.5}
    statuses = reader.statuses()
    assert statuses["broken"] == "error: RuntimeError: boom"
    assert len(statuses["nvml"]) == 256
    assert statuses["ipmi"] == statuses["redfish"] == statuses["rapl"] == "ok"


def test_every_source_is_listed_and_says_why_it_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert power_reader_for(PowerSettings(), HOSTS / "kvm-vm").statuses() == {
        "rapl": "absent: no /sys/class/powercap",
        "nvml": "absent: no NVIDIA GPU on the PCI bus",
        "battery": "absent: no /sys/class/power_supply",
        "ipmi": "not configured",
        "redfish": "not configured",
    }
    monkeypatch.setenv("PATH", str(tmp_path))
    configured = PowerSettings(ipmi=IpmiSettings(enabled=True),
                               redfish=RedfishSettings(url="http://127.0.0.1:9"))  # port 9 (discard): nothing listens
    statuses = power_reader_for(configured, HOSTS / "kvm-vm").statuses()
    assert statuses["ipmi"] == "absent: ipmitool not installed"
    assert statuses["redfish"].startswith("unreachable: http://127.0.0.1:9: ")


class OtherOs(LinuxPlatform):
    """A platform that is not Linux, reading a recorded Linux tree (where it would find RAPL and a battery)."""

    name = "other"


def test_sources_registered_for_other_platforms_are_not_built(monkeypatch: pytest.MonkeyPatch) -> None:
    linux_only = {source.name for source in SOURCE_TYPES if source.platforms == frozenset({"linux"})}
    assert linux_only == {"rapl", "battery"}  # and battery_windows registers "battery" for Windows
    monkeypatch.setattr("fleetprint.agent.power.host_platform", OtherOs)
    assert list(power_reader_for(PowerSettings(), HOSTS / "thinkpad-laptop").statuses()) == ["nvml", "ipmi", "redfish"]


def test_sampler_carries_the_mean_power_of_its_interval(tmp_path: Path) -> None:
    root = copy_tree("thinkpad-kabylake", tmp_path)
    before_first = time.monotonic()
    sampler = UsageSampler(power=power_reader_for(PowerSettings(), root))  # primes the counters
    after_first = time.monotonic()
    time.sleep(0.1)
    add_energy(root, "intel-rapl:0", 1_500_000)
    before_second = time.monotonic()
    sample = sampler.take()
    after_second = time.monotonic()
    assert set(sample.power_w) == {"rapl_package", "rapl_core", "rapl_uncore", "rapl_dram", "battery"}
    assert set(sample.power_w) <= set(POWER_CHANNELS)
    assert sample.power_w["battery"] == 8.751
    # The 1.5 J over the time between RAPL's two reads, which lies within these bounds (the
    # sampler's own interval is timed at other instants: under load the two differ by percents).
    assert_mean(sample.power_w["rapl_package"], 1.5, before_second - after_first, after_second - before_first)
    assert before_second - after_first <= sample.interval_s <= after_second - before_first
    report = Report(host_id="test-host", seq=0, samples=[sample])
    assert decode_report(encode(report)).samples[0].power_w == sample.power_w


def test_inventory_carries_the_statuses() -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
    statuses = power_reader_for(PowerSettings(), HOSTS / "kvm-vm").statuses()
    inventory = collect_inventory(HostFacts(), "test-host", root=HOSTS / "kvm-vm", now=now, power_sources=statuses)
    assert decode_inventory(encode(inventory)).power_sources == statuses
    assert collect_inventory(HostFacts(), "test-host", root=HOSTS / "kvm-vm", now=now).power_sources == {}


def test_agent_once_says_why_each_source_is_or_is_not_read() -> None:
    result = subprocess.run([sys.executable, "-m", "fleetprint", "agent", "once", "--interval", "0.1"],
                            capture_output=True, text=True, timeout=60, check=False,
                            env={"PATH": "/usr/bin:/bin", "FLEETPRINT_AGENT_HOST__ID": "power-test"})
    assert result.returncode == 0, result.stderr
    inventory_line, report_line = result.stdout.strip().splitlines()
    power_sources = decode_inventory(inventory_line.encode()).power_sources
    assert list(power_sources) == SOURCES
    assert power_sources["ipmi"] == power_sources["redfish"] == "not configured"
    assert all(power_sources[name] == "ok" or ": " in power_sources[name] for name in ("rapl", "nvml", "battery"))
    assert set(decode_report(report_line.encode()).samples[0].power_w) <= set(POWER_CHANNELS)
