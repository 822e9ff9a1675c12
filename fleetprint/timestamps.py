"""Time as the collector stores and computes it: milliseconds since the epoch, UTC.

The wire carries aware datetimes (fleetprint/schema.py); the impact models, the points and the
queries work in epoch milliseconds, InfluxDB's precision.
"""

from __future__ import annotations

from datetime import datetime


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch for an aware datetime."""
    return int(round(moment.timestamp() * 1000))
