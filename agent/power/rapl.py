"""CPU package, core, uncore and memory power from the RAPL energy counters (Linux powercap).

Zones live in <root>/sys/class/powercap as <control type>:<package>[:<subzone>], named by their
`name` file: "package-N" (or "package-N-die-M"), "core", "uncore", "dram", "psys". Each socket has
its own zones; the channels sum them. Only the first control type that has zones is read, so that
the MMIO interface of laptops (which repeats the MSR one's package) is not counted twice. "psys"
(the whole platform, on some laptops and servers) has no channel and is left out.

A zone's `enabled` file says whether its power limit is enforced, not whether it counts energy: a
zone with enabled = 0 is read like any other.

AMD and Hygon CPUs expose "package" and "core" zones through the same intel-rapl driver, but the
core counter is per core and the driver reads it on one CPU only, so "core" is ignored there.
"""

from __future__ import annotations

import time
from pathlib import Path

from fleetprint.agent.power.base import PowerSource, PowerSourceType, Unavailable
from fleetprint.agent.sources import read_attr
from fleetprint.agent.sources.cpuinfo import read_blocks

# MSR (intel_rapl_msr, also AMD), TPMI (recent Xeons), MMIO (laptops' processor thermal device).
_CONTROL_TYPES = ("intel-rapl", "intel-rapl-tpmi", "intel-rapl-mmio")
_SUBZONE_CHANNELS = {"core": "rapl_core", "uncore": "rapl_uncore", "dram": "rapl_dram"}
_PER_CORE_COUNTER_VENDORS = ("AuthenticAMD", "HygonGenuine")
# A gap this much longer on the boot clock than on the monotonic one means the host slept:
# counters may have restarted, and a restart cannot be told from a wrap.
_SUSPEND_TOLERANCE_S = 1.0
DENIED = (
    "denied: energy_uj is readable by root only: run the agent as root or with CAP_DAC_READ_SEARCH, "
    "or let its group read it at boot (tmpfiles.d: z /sys/class/powercap/intel-rapl:*/energy_uj 0440 root <group>)"
)

Counters = dict[Path, int]


def _clocks() -> tuple[float, float]:
    """Monotonic seconds (what intervals are measured in) and seconds since boot including suspend."""
    return time.monotonic(), time.clock_gettime(time.CLOCK_BOOTTIME)


class RaplSource(PowerSource):
    """Mean power per RAPL channel between two reads; the first read only primes the counters."""

    def __init__(self, root: Path = Path("/")) -> None:
        super().__init__()
        self.name = "rapl"
        self.root = root
        vendor = next((block["vendor_id"] for block in read_blocks(root) if "vendor_id" in block), "")
        self._skip_core = vendor in _PER_CORE_COUNTER_VENDORS
        self._previous: tuple[float, float, Counters] | None = None

    def _zones(self) -> dict[Path, str]:
        """Each zone directory read, with its channel."""
        powercap = self.root / "sys/class/powercap"
        if not powercap.is_dir():
            raise Unavailable("absent: no /sys/class/powercap")
        for control_type in _CONTROL_TYPES:
            found = sorted(powercap.glob(f"{control_type}:*"))
            if found:
                zones = {zone: self._channel(read_attr(zone / "name")) for zone in found}
                if not any(zones.values()):
                    raise Unavailable(f"absent: no package, core, uncore or dram zone among {control_type}:*")
                return {zone: channel for zone, channel in zones.items() if channel}
        raise Unavailable("absent: no RAPL zone in /sys/class/powercap (no RAPL in this CPU or VM, "
                          "or the intel_rapl_msr module is not loaded)")

    def _channel(self, zone_name: str) -> str:
        if zone_name.startswith("package-"):
            return "rapl_package"
        if zone_name == "core" and self._skip_core:
            return ""
        return _SUBZONE_CHANNELS.get(zone_name, "")

    def _read(self) -> dict[str, float]:
        zones = self._zones()
        counters = {zone: _energy_uj(zone) for zone in zones}
        monotonic, boottime = _clocks()
        previous, self._previous = self._previous, (monotonic, boottime, counters)
        if previous is None:
            return {}
        then, boot_then, before = previous
        elapsed = monotonic - then
        if elapsed <= 0 or (boottime - boot_then) - elapsed > _SUSPEND_TOLERANCE_S:
            return {}
        joules: dict[str, float] = {}
        incomplete: set[str] = set()
        for zone, channel in zones.items():
            delta = _delta_uj(zone, counters[zone], before.get(zone))
            if delta is None:
                incomplete.add(channel)
            else:
                joules[channel] = joules.get(channel, 0.0) + delta / 1e6
        return {channel: energy / elapsed for channel, energy in joules.items() if channel not in incomplete}


def _energy_uj(zone: Path) -> int:
    path = zone / "energy_uj"
    try:
        text = path.read_text()
    except PermissionError:
        raise Unavailable(DENIED) from None
    except OSError as exc:
        raise Unavailable(f"error: cannot read {path}: {exc.strerror}") from None
    try:
        return int(text)
    except ValueError:
        raise Unavailable(f"error: {path} holds {text.strip()[:40]!r}, not a number") from None


def _delta_uj(zone: Path, now: int, before: int | None) -> int | None:
    """Energy counted since `before`, across one wrap of the counter; None when unknown (a zone
    that was not there at the previous read, or a wrap without a readable range)."""
    if before is None:
        return None
    if now >= before:
        return now - before
    counter_range = read_attr(zone / "max_energy_range_uj")
    return now - before + int(counter_range) if counter_range.isdigit() else None


SOURCE = PowerSourceType("rapl", lambda _, platform: RaplSource(platform.root), platforms=frozenset({"linux"}))
