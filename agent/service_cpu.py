"""CPU time per service, from a scan of every process each interval (the platform's process scan).

Each process is identified by (pid, start time), so a reused pid is a new process, and is
classified once, when first seen. Its CPU time (user + system) is counted as deltas between
scans. Two corrections make short lives count:
- a process born during the interval counts all of its CPU time (not only what follows the
  first scan that sees it);
- a process that starts and ends between two scans is never seen, but when its parent reaps
  it, its time appears in the parent's `children_user + children_system`. That growth is
  counted for the parent's service, less the time of reaped children already counted while
  they were seen.
Processes alive before the agent started count from the first scan on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil

from fleetprint.agent.platform import Platform, host_platform
from fleetprint.agent.services import Classifier


@dataclass(slots=True)
class _Tracked:
    service: str
    ppid: int
    own_s: float  # user + system at the last scan
    children_s: float  # children_user + children_system at the last scan
    credit_s: float = 0.0  # time of reaped children already counted, to take off children growth


class ServiceCpu:
    """Scans processes and returns each service's share of the host's CPU capacity since the last scan."""

    def __init__(self, classifier: Classifier, platform: Platform | None = None) -> None:
        self.classifier = classifier
        self.platform = platform or host_platform()
        self._tracked: dict[tuple[int, float], _Tracked] = {}
        self._last_scan = time.time()
        self.scan()  # the baseline: time before the agent started is not counted

    def scan(self) -> dict[str, float]:
        """CPU seconds per service since the previous scan."""
        started = time.time()
        seconds: dict[str, float] = {}
        seen: dict[tuple[int, float], _Tracked] = {}
        by_pid: dict[int, tuple[int, float]] = {}
        for process in self.platform.process_times():
            key = (process.pid, process.started)
            own_s, children_s = process.own_s, process.children_s
            tracked = self._tracked.get(key)
            if tracked is None:
                born_now = process.started >= self._last_scan
                tracked = _Tracked(self._classify(process.pid), process.ppid,
                                   0.0 if born_now else own_s, 0.0 if born_now else children_s)
            used = max(0.0, own_s - tracked.own_s)
            grown = max(0.0, children_s - tracked.children_s)
            reaped_unseen = max(0.0, grown - tracked.credit_s)
            tracked.credit_s = max(0.0, tracked.credit_s - grown)
            if used or reaped_unseen:
                seconds[tracked.service] = seconds.get(tracked.service, 0.0) + used + reaped_unseen
            tracked.own_s, tracked.children_s, tracked.ppid = own_s, children_s, process.ppid
            seen[key] = tracked
            by_pid[process.pid] = key
        for key, gone in self._tracked.items():
            if key not in seen:  # ended: its parent's children time will grow by what we counted
                parent = by_pid.get(gone.ppid)
                if parent is not None:
                    seen[parent].credit_s += gone.own_s + gone.children_s
        self._tracked = seen
        self._last_scan = started
        return seconds

    def _classify(self, pid: int) -> str:
        """The service of a process seen for the first time (its command line etc. are read once)."""
        try:
            return self.classifier.service_of(self.platform.process_facts(pid))
        except psutil.Error:  # ended meanwhile
            return self.classifier.catch_all

    def shares(self, interval_s: float) -> dict[str, float]:
        """Each service's CPU time since the last scan as a share of all cores over `interval_s`."""
        capacity_s = interval_s * (psutil.cpu_count() or 1)
        return {service: min(1.0, used / capacity_s) for service, used in self.scan().items() if used > 0}
