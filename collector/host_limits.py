"""What one host may cost the others: a bound on the services it names, and on its rate of points.

- **Services.** Each service a host names in its samples becomes a series in InfluxDB (per
  power source). A host may name at most `max_services` distinct services (since the
  collector started); the CPU share of any service past that goes to the `unallocated`
  service, so that the host's totals still add up, and is counted (`services_over_limit`).
- **Rate.** A token bucket per host (`ReportGuard`), in points (a sample makes one host point and one point
  per service): `rate_per_s` refilled every second, at most `burst` saved up. A report whose
  points the host's bucket cannot pay for is rejected whole (`rate_limited`), so that one
  host flooding the collector cannot delay every other host's reports.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

MAX_SHARED_SETS = 10_000  # distinct service sets kept for sharing between hosts


class ServiceBound:
    """Per host, the service names it has used; names past the bound fold into `unallocated`.
    Used by the one thread that handles messages: no lock."""

    def __init__(self, max_services: int, unallocated: str) -> None:
        self.max_services = max_services
        self.unallocated = unallocated
        self._seen: dict[str, frozenset[str]] = {}
        self._shared: dict[frozenset[str], frozenset[str]] = {}  # hosts alike share one set

    def bounded(self, host_id: str, shares: dict[str, float]) -> tuple[dict[str, float], int]:
        """The shares with the names past the bound folded into `unallocated`, and how many were."""
        seen = self._seen.get(host_id, frozenset())
        if shares.keys() <= seen:
            return shares, 0
        new = [name for name in shares if name not in seen and name != self.unallocated]
        admitted = new[:max(0, self.max_services - len(seen))]
        if admitted:
            seen = self._share(seen.union(admitted))
            self._seen[host_id] = seen
        if len(admitted) == len(new):
            return shares, 0
        kept = {name: share for name, share in shares.items() if name in seen or name == self.unallocated}
        kept[self.unallocated] = kept.get(self.unallocated, 0.0) + sum(
            share for name, share in shares.items() if name not in kept)
        return kept, len(new) - len(admitted)

    def _share(self, names: frozenset[str]) -> frozenset[str]:
        if len(self._shared) >= MAX_SHARED_SETS:  # sets that change at every sample: start afresh
            self._shared.clear()
        return self._shared.setdefault(names, names)


class _HostState:
    """What is kept per reporting host: one small object (memory per host is a target)."""

    __slots__ = ("tokens", "at", "seq", "newest_s")

    def __init__(self, tokens: float, at: float) -> None:
        self.tokens = tokens
        self.at = at
        self.seq = -1
        self.newest_s = -math.inf


class ReportGuard:
    """Per reporting host: a token bucket of points, and its latest `seq` with the newest sample
    time it carried (for the replay rule in ingest.py). Used by the one thread that handles
    messages: no lock."""

    def __init__(self, rate_per_s: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.clock = clock
        self._hosts: dict[str, _HostState] = {}

    def _state(self, host_id: str) -> _HostState:
        state = self._hosts.get(host_id)
        if state is None:
            state = self._hosts[host_id] = _HostState(self.burst, self.clock())
        return state

    def take(self, host_id: str, points: int) -> bool:
        """Whether the host may have `points` more now (they are taken when it may)."""
        state = self._state(host_id)
        if self.rate_per_s == math.inf:
            return True
        now = self.clock()
        state.tokens = min(self.burst, state.tokens + (now - state.at) * self.rate_per_s)
        state.at = now
        if state.tokens < points:
            return False
        state.tokens -= points
        return True

    def stored_up_to(self, host_id: str, seq: int, newest_s: float) -> float | None:
        """For a report older than the host's latest (a lower `seq`), the newest sample time (s)
        the latest carried; else None, and this report becomes the latest."""
        state = self._state(host_id)
        if seq >= state.seq:
            state.seq, state.newest_s = seq, max(newest_s, state.newest_s)
            return None
        return state.newest_s
