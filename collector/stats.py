"""The collector's own counters (messages taken, rejected by reason, points written and refused),
and the throttled log lines that go with what is dropped."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

LOG_INTERVAL_S = 10.0


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
        """A message dropped before modelling (`rejected_<reason>`)."""
        with self._lock:
            self._counts["rejected_total"] += 1
            self._counts[f"rejected_{reason}"] += 1

    def refuse_samples(self, reason: str, amount: int = 1) -> None:
        """Samples dropped from a report that is otherwise stored (`samples_refused_<reason>`)."""
        with self._lock:
            self._counts["samples_refused_total"] += amount
            self._counts[f"samples_refused_{reason}"] += amount

    def refuse_points(self, reason: str, amount: int = 1) -> None:
        """Points the database refused to store (`points_refused_<reason>`)."""
        with self._lock:
            self._counts["points_refused"] += amount
            self._counts[f"points_refused_{reason}"] += amount

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class ThrottledLog:
    """Logs each drop at DEBUG, and at WARNING at most once per reason every LOG_INTERVAL_S, with
    the running count: a flood of bad input cannot flood the log."""

    def __init__(self, logger: logging.Logger, level: int = logging.WARNING) -> None:
        self._logger = logger
        self._level = level
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def log(self, reason: str, message: str, total: int) -> None:
        self._logger.debug("%s", message)
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(reason, -LOG_INTERVAL_S) < LOG_INTERVAL_S:
                return
            self._last[reason] = now
        self._logger.log(self._level, "%s (%d %s so far; logged at most every %.0f s per reason)",
                         message, total, reason, LOG_INTERVAL_S)
