"""The collector's own counters: messages taken, rejected by reason, points written."""

from __future__ import annotations

import threading
from collections import Counter


class Counters:
    """Thread-safe named counters; a snapshot becomes an `fp_collector` point."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def set(self, name: str, value: int) -> None:
        """A gauge: the latest value of something counted elsewhere (the broker's drops)."""
        with self._lock:
            self._counts[name] = value

    def reject(self, reason: str) -> None:
        with self._lock:
            self._counts["rejected_total"] += 1
            self._counts[f"rejected_{reason}"] += 1

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)
