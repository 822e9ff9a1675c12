"""State the agent keeps across restarts: the report sequence number, and what to do with a
state file that is damaged (moved aside) or cannot be written (the disk is full).

A report's `seq` only grows, across restarts too, even when the disk was full and the last
numbers could not be kept. Each run starts above both the number kept in the file and the
wall clock in milliseconds, then counts up by one per report; the file keeps a ceiling
reserved `RESERVE` numbers ahead, so it is written once per `RESERVE` reports, not per report.
Numbers used beyond a ceiling that could not be written are fewer than the milliseconds the
run lasted (at most 1,000 reports a second, `buffer.max_reports_per_s`), so the next run,
starting above the clock, is above them too, unless the clock was set back in between.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)
RESERVE = 1000
WRITE_WARNING_INTERVAL_S = 300.0


def move_aside(path: Path, what: str, reason: object) -> Path:
    """Rename a damaged state file (and its SQLite companions) to `<name>.corrupt-<UTC time>`."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm", "-journal"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            os.replace(source, aside.with_name(aside.name + suffix))
    log.error("%s is damaged (%s): moved to %s; starting a fresh %s", path, reason, aside, what)
    return aside


class WriteWarning:
    """Says that a state file cannot be written: once, then at most every `interval_s`, and when it works again."""

    def __init__(self, path: Path, logger: logging.Logger, interval_s: float = WRITE_WARNING_INTERVAL_S) -> None:
        self.path = path
        self.log = logger
        self.interval_s = interval_s
        self.failures = 0
        self._logged_at = -interval_s

    def failed(self, message: str, *args: object) -> None:
        self.failures += 1
        now = time.monotonic()
        if now - self._logged_at >= self.interval_s:
            self._logged_at = now
            again = f" ({self.failures} failures so far)" if self.failures > 1 else ""
            self.log.error(message + again, *args)

    def succeeded(self) -> None:
        if self.failures:
            self.log.warning("%s works again (failures meanwhile: %d)", self.path, self.failures)
            self.failures = 0
            self._logged_at = -self.interval_s


class SequenceFile:
    """The report sequence number: grows across restarts, reserved in the file ahead of use."""

    def __init__(self, path: Path, reserve: int = RESERVE,
                 clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self.path = path
        self.reserve = reserve
        self._warning = WriteWarning(path, log)
        kept = self._read()
        self._last = max(kept, clock_ms())
        self._ceiling = self._last  # nothing reserved yet: the first next() writes the file

    def _read(self) -> int:
        try:
            return int(self.path.read_bytes().decode("ascii").strip() or 0)
        except FileNotFoundError:
            return 0
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else f"not a number: {exc}"
            try:
                move_aside(self.path, "count above the clock", reason)
            except OSError as move_exc:
                log.error("%s is damaged (%s) and cannot be moved aside (%s); counting from the clock",
                          self.path, reason, move_exc.strerror)
            return 0

    def next(self) -> int:
        """The next number; never raises for a file that cannot be written (logged instead)."""
        self._last += 1
        if self._last > self._ceiling:
            self._persist(self._last + self.reserve - 1)
        return self._last

    def _persist(self, ceiling: int) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="ascii") as handle:
                handle.write(str(ceiling))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            self._warning.failed("cannot write %s (%s): report numbers go on unrecorded, the next start "
                                 "counts from the clock", self.path, exc.strerror or exc)
            return
        self._ceiling = ceiling
        self._warning.succeeded()
