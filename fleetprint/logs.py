"""How every fleetprint program logs: one line per event, its time in ISO 8601 UTC."""

from __future__ import annotations

import logging
import time

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class UtcIsoFormatter(logging.Formatter):
    """Times as 2026-11-30T08:15:02.123Z, whatever the machine's time zone."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's name)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def configure_logging(level: int | str) -> None:
    """Log to stderr at `level` (a name or a number), times in ISO 8601 UTC."""
    handler = logging.StreamHandler()
    handler.setFormatter(UtcIsoFormatter(FORMAT))
    logging.basicConfig(level=level.upper() if isinstance(level, str) else level, handlers=[handler])
