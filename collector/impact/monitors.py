"""Monitors counted once: a monitor seen by two hosts over the same interval (a docking station
shared by two laptops, a monitor moved from one desk to another, a KVM switch) is counted by the
first host whose sample claims it.

Each monitor's key (its maker and serial number, workplace_power.monitor_key) holds the host that
last counted it and the interval it counted. A sample of another host whose interval overlaps
that claim does not count the monitor, neither its power nor its share of its manufacture; once the
claim has ended, the next host to report takes it.
The same host's samples, replays included, always count it, so that a replayed report writes the
same points. The ledger is one collector's: collectors sharing a subscription each keep their own.
"""

from __future__ import annotations

import threading

from fleetprint.collector.impact.workplace_power import MonitorPower

MAX_MONITORS = 200_000  # claims kept; past it the oldest half is forgotten


class MonitorLedger:
    """Which host counts each monitor, per sample interval."""

    def __init__(self) -> None:
        self._claims: dict[str, tuple[str, int, int]] = {}  # key -> (host, start ms, end ms)
        self._lock = threading.Lock()

    def counted(self, host_id: str, monitors: tuple[MonitorPower, ...], start_ms: int,
                end_ms: int) -> tuple[bool, ...]:
        """Which of the host's monitors it counts over [start_ms, end_ms): those no other host counted
        over an overlapping interval (their power, and their share of their manufacture)."""
        counted = []
        with self._lock:
            for monitor in monitors:
                claim = self._claims.get(monitor.key)
                if claim is not None and claim[0] != host_id and claim[1] < end_ms and start_ms < claim[2]:
                    counted.append(False)
                    continue
                if claim is None or claim[0] != host_id or end_ms >= claim[2]:
                    self._claims[monitor.key] = (host_id, start_ms, end_ms)
                counted.append(True)
            if len(self._claims) > MAX_MONITORS:
                oldest = sorted(self._claims.items(), key=lambda item: item[1][2])[: MAX_MONITORS // 2]
                for key, _ in oldest:
                    del self._claims[key]
        return tuple(counted)

    def power_w(self, host_id: str, monitors: tuple[MonitorPower, ...], start_ms: int, end_ms: int) -> float:
        """The power of the monitors this host counts over [start_ms, end_ms) (`counted`)."""
        return sum(m.on_w for m, on in zip(monitors, self.counted(host_id, monitors, start_ms, end_ms)) if on)
