"""A virtual host's usage over time: CPU with daily and weekly patterns, memory, I/O, services'
CPU shares and the power its sensors would read.

Everything is a pure function of (host, timestamp): a hash of the host's key and the time
stands in for a random generator, so a backfill regenerates the same samples byte for byte
and any process can compute any host at any time.

- office services (and desktops and laptops): busy on weekdays 8:00-18:30 local, with a
  lunch dip; idle at night and at weekends;
- public services (the citizen portal): some load by day, a peak in the evening, a little
  less at weekends;
- nightly services (backup): a burst from 1:00 to 3:30, longer on Saturday night (the full
  backup), with heavy disk writes and network receive.

On top: a slow wander (hourly knots, smoothly interpolated) and per-sample jitter.

A workstation that sleeps (`simulate --workstation-hours`) reports only while on, as an agent
does: on weekdays from its user's arrival (7:30-9:30 local) to departure (17:00-19:00), each host
its own; one in ten desktops and thin clients is never switched off. A laptop's battery reads
the collector's workstation model (collector/impact/workplace_power.py) at the sample's load,
on the battery's side of the charger.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from fleetprint.collector.impact.workplace_power import workstation_curve
from fleetprint.schema import Sample
from fleetprint.simulator.fleet import Pattern, VirtualHost

_MASK = (1 << 64) - 1
_GIB = 1 << 30
_MB = 1_000_000

# Activity 0-1 by local hour: knots of piecewise-linear curves, (hour, activity).
_Curve = tuple[tuple[float, ...], tuple[float, ...]]


def _curve(*knots: tuple[float, float]) -> _Curve:
    return tuple(h for h, _ in knots), tuple(a for _, a in knots)


_OFFICE_DAY = _curve((0, 0.03), (7.5, 0.03), (9, 1.0), (12, 1.0), (12.5, 0.55), (13.5, 0.55), (14, 0.95),
                     (17, 0.9), (18.5, 0.15), (20, 0.03), (24, 0.03))
_OFFICE_OFF = _curve((0, 0.03), (24, 0.03))
_PUBLIC_DAY = _curve((0, 0.25), (2, 0.1), (6, 0.08), (9, 0.45), (12, 0.55), (14, 0.5), (17, 0.6), (19, 0.95),
                     (21, 1.0), (22.5, 0.6), (24, 0.25))
_PUBLIC_WEEKEND = _curve((0, 0.3), (2, 0.1), (8, 0.08), (11, 0.35), (17, 0.45), (19, 0.85), (21, 0.9),
                         (22.5, 0.55), (24, 0.3))
_NIGHTLY = _curve((0, 0.02), (1, 0.02), (1.25, 1.0), (3.5, 1.0), (3.75, 0.02), (24, 0.02))
_NIGHTLY_FULL = _curve((0, 0.02), (1, 0.02), (1.25, 1.0), (6, 1.0), (6.25, 0.02), (24, 0.02))

# Channels of the noise streams, so that no two quantities share one.
# uniform() keeps channels below 64.
_WANDER, _JITTER, _MEMORY, _WALL, _WALL_GAP, _RAPL, _BATTERY, _ON_BATTERY = range(8)
_IO = 8  # to 11: the four byte counters
_PROFILE = 16  # to 23: the host's fixed traits
_HOURS = 24  # to 26: a sleeping workstation's arrival, departure and never-off draws
CHARGER_EFFICIENCY = 0.88  # a laptop's battery feeds it directly: the wall figure less the charger's loss


def _mix(x: int) -> int:
    """splitmix64's finaliser: a well-spread 64-bit hash of a 64-bit integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def uniform(key: int, tick: int, channel: int) -> float:
    """A number in [0, 1) that depends only on its arguments."""
    return _mix(key ^ _mix((tick * 64 + channel) & _MASK)) / 2.0**64


def wander(key: int, t: float, channel: int, period_s: float = 3600.0) -> float:
    """Smooth noise in [0, 1): random knots every `period_s`, smoothstep-interpolated."""
    tick, rest = divmod(t, period_s)
    a, b = uniform(key, int(tick), channel), uniform(key, int(tick) + 1, channel)
    s = rest / period_s
    return a + (b - a) * s * s * (3 - 2 * s)


def _at(curve: _Curve, hour: float) -> float:
    hours, values = curve
    i = bisect.bisect_right(hours, hour) - 1
    if i >= len(hours) - 1:
        return values[-1]
    h0, h1 = hours[i], hours[i + 1]
    return values[i] + (values[i + 1] - values[i]) * (hour - h0) / (h1 - h0)


def activity(pattern: Pattern, local: datetime) -> float:
    """How busy a service of this pattern is at this local time, 0-1."""
    hour = local.hour + local.minute / 60 + local.second / 3600
    weekday = local.weekday()  # Monday 0
    if pattern == "office":
        return _at(_OFFICE_DAY if weekday < 5 else _OFFICE_OFF, hour)
    if pattern == "public":
        return _at(_PUBLIC_DAY if weekday < 5 else _PUBLIC_WEEKEND, hour)
    return _at(_NIGHTLY_FULL if weekday == 5 else _NIGHTLY, hour)


class LoadModel:
    """One host's samples as a function of time; the host's fixed traits are drawn once here."""

    def __init__(self, host: VirtualHost) -> None:
        self.host = host
        key = self.key = host.key
        trait = [uniform(key, 0, _PROFILE + n) for n in range(8)]
        floor, peak = {"server": ((2, 8), (20, 70)), "vm": ((1, 5), (30, 85)), "desktop": ((1, 4), (15, 50)),
                       "laptop": ((1, 4), (15, 45)), "thin_client": ((1, 4), (10, 30))}[host.kind]
        self.floor_pct = floor[0] + (floor[1] - floor[0]) * trait[0]
        self.peak_pct = peak[0] + (peak[1] - peak[0]) * trait[1]
        self.memory_base = 0.25 + 0.3 * trait[2]
        self.coverage = 0.8 + 0.15 * trait[3]  # share of the CPU time the service rules find
        self.tz = ZoneInfo(host.site.tz)
        self.services = [(service.name, service.pattern, weight) for service, weight in host.services]
        self.total_weight = sum(weight for _, _, weight in self.services)
        self.mem_total = int(host.ram_gb * _GIB)
        # Bytes per second at full load.
        self.disk_bps = (60 if host.kind == "server" else 25 if host.kind == "vm" else 8) * _MB * (0.5 + trait[4])
        self.net_bps = (20 if host.kind in ("server", "vm") else 3) * _MB * (0.5 + trait[5])
        # Wall power, for servers with a BMC: an idle + dynamic curve from the hardware, times a PSU
        # factor; like SPECpower's servers: idle near a fifth of full load, full load a little above the TDP.
        tdp = host.cpu.tdp_w * host.sockets
        disks_idle = sum(5.0 if d.kind == "hdd" else 3.0 for d in host.disks)
        disks_max = sum(8.0 if d.kind == "hdd" else 6.0 for d in host.disks)
        psu = 1.0 + 0.15 * trait[6]
        self.wall_idle_w = psu * (30 + 0.12 * tdp + 0.07 * host.ram_gb + disks_idle)
        self.wall_max_w = psu * (45 + 1.0 * tdp + 0.16 * host.ram_gb + disks_max)
        self.package_tdp_w = tdp
        self.arrive_h = 7.5 + 2.0 * uniform(key, 0, _HOURS)
        self.leave_h = 17.0 + 2.0 * uniform(key, 0, _HOURS + 1)
        self.never_off = host.kind != "laptop" and uniform(key, 0, _HOURS + 2) < 0.1
        self.battery_curve = workstation_curve(host.inventory(datetime(2000, 1, 1, tzinfo=timezone.utc))).curve \
            if host.battery else None

    def on(self, ts: int, interval_s: float) -> bool:
        """Whether the host is on (its agent reports) over the interval that ends at `ts`."""
        if not self.host.sleeps or self.never_off:
            return True
        local = datetime.fromtimestamp(ts - interval_s / 2, self.tz)
        hour = local.hour + local.minute / 60
        return local.weekday() < 5 and self.arrive_h <= hour < self.leave_h

    def sample(self, ts: int, interval_s: float) -> Sample:
        """The sample for the interval that ends at `ts` (epoch seconds, UTC)."""
        host, key = self.host, self.key
        mid = ts - interval_s / 2
        local = datetime.fromtimestamp(mid, self.tz)
        demands = [weight / self.total_weight * activity(pattern, local) for _, pattern, weight in self.services]
        demand = sum(demands)
        swing = 0.7 + 0.6 * wander(key, mid, _WANDER)
        jitter = 0.9 + 0.2 * uniform(key, ts, _JITTER)
        util = round(min(100.0, max(0.5, (self.floor_pct + self.peak_pct * demand * swing) * jitter)), 2)
        load = util / 100
        memory = min(0.95, self.memory_base + 0.25 * demand + 0.05 * wander(key, mid, _MEMORY))
        nightly = sum(d for d, (_, pattern, _) in zip(demands, self.services) if pattern == "nightly")
        io = [0.5 + uniform(key, ts, _IO + n) for n in range(4)]
        backup_bytes = nightly * 150 * _MB * interval_s
        return Sample(
            ts=datetime.fromtimestamp(ts, timezone.utc),
            interval_s=float(interval_s),
            cpu_util_pct=util,
            mem_used_bytes=int(self.mem_total * memory),
            mem_total_bytes=self.mem_total,
            disk_read_bytes=int(load * self.disk_bps * interval_s * io[0]),
            disk_write_bytes=int(load * self.disk_bps * interval_s * 0.6 * io[1] + backup_bytes),
            net_rx_bytes=int(load * self.net_bps * interval_s * io[2] + 0.9 * backup_bytes),
            net_tx_bytes=int(load * self.net_bps * interval_s * 1.5 * io[3]),
            power_w=self._power(ts, load, local),
            cpu_shares=self._service_shares(demands, load) if host.process_rules else {},
        )

    def _service_shares(self, demands: Sequence[float], load: float) -> dict[str, float]:
        """The CPU the services' processes used, split by how busy each is: sums to at most `load`."""
        weights = [weight * (0.05 + d) for d, (_, _, weight) in zip(demands, self.services)]
        total = sum(weights)
        covered = load * self.coverage
        return {name: round(covered * w / total, 5) for w, (name, _, _) in zip(weights, self.services)}

    def _power(self, ts: int, load: float, local: datetime) -> dict[str, float]:
        """What the host's power sources read over the interval, by channel."""
        host, key = self.host, self.key
        readings: dict[str, float] = {}
        curve = load**0.9
        # A BMC misses about 2 % of its readings (timeouts): the collector then uses its learned correction.
        if host.wall and uniform(key, ts, _WALL_GAP) >= 0.02:
            noise = 0.98 + 0.04 * uniform(key, ts, _WALL)
            readings["wall"] = round((self.wall_idle_w + (self.wall_max_w - self.wall_idle_w) * curve) * noise, 1)
        if host.rapl:
            noise = 0.97 + 0.06 * uniform(key, ts, _RAPL)
            idle = 0.15 if host.kind == "server" else 0.05
            readings["rapl_package"] = round(self.package_tdp_w * (idle + (1 - idle) * load**0.8) * noise, 2)
            if host.kind == "server":
                readings["rapl_dram"] = round(host.ram_gb * (0.06 + 0.08 * load) * noise, 2)
        if host.battery and self._on_battery(local, ts):
            noise = 0.95 + 0.1 * uniform(key, ts, _BATTERY)
            readings["battery"] = round(self.battery_curve.power_w(load * 100) * CHARGER_EFFICIENCY * noise, 2)
        return readings

    def _on_battery(self, local: datetime, ts: int) -> bool:
        """Laptops unplug for meetings and travel: decided per hour, more often in office hours."""
        office_hours = local.weekday() < 5 and 8 <= local.hour < 19
        return uniform(self.key, ts // 3600, _ON_BATTERY) < (0.35 if office_hours else 0.08)
