"""What every InfluxDB writer promises, and the errors that tell the caller what to do next."""

from __future__ import annotations

import re
from typing import Protocol


class RetryableWriteError(Exception):
    """The database did not take the batch (down, overloaded, 5xx): keep it and retry later.
    Its message is the reason alone; the caller knows the address."""


def unreachable(exc: Exception) -> RetryableWriteError:
    """The error for a request that reached no database: the system's reason (`[Errno 111]
    Connection refused`, `timed out`) rather than the HTTP library's wrapping of it."""
    return RetryableWriteError(str(exc.__context__ or exc))


class RejectedWriteError(Exception):
    """The database refused the batch's content (4xx): retrying would fail the same way.

    `reason` says why in one word (`refusal_reason`). InfluxDB may have stored the batch's
    other points meanwhile (a partial write); writing them again overwrites them with themselves.
    """

    def __init__(self, message: str, reason: str = "refused", dropped: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.dropped = dropped  # a partial write: the database stored all but these many points


# What InfluxDB says when it refuses points, and the reason each is counted under.
_REFUSALS = (("unable to parse", "unparsable"), ("field type conflict", "type_conflict"),
             ("max-series-per-database", "series_limit"), ("max-values-per-tag", "series_limit"),
             ("beyond retention policy", "beyond_retention"))


_DROPPED = re.compile(r"partial write: .* dropped=(\d+)")


def refusal_reason(detail: str) -> str:
    """The reason for InfluxDB's refusal message: one of `unparsable`, `type_conflict`,
    `series_limit`, `beyond_retention`, else `refused`."""
    return next((reason for text, reason in _REFUSALS if text in detail), "refused")


def refusal(message: str, detail: str) -> RejectedWriteError:
    """The error for InfluxDB's refusal message. A partial write (a type conflict, the series
    limit, points beyond the retention policy) stored the other points and says how many it
    dropped; a line it could not parse may have swallowed the lines after it (its count says 0),
    so only the lines themselves can tell."""
    reason = refusal_reason(detail)
    match = _DROPPED.search(detail)
    dropped = int(match.group(1)) if match and reason != "unparsable" else None
    return RejectedWriteError(message, reason, dropped)


class TooLargeWriteError(Exception):
    """The database refused the batch for its size (413): smaller batches will go through."""


class Sink(Protocol):
    """Writes batches of line-protocol points at millisecond precision."""

    def write(self, lines: list[str]) -> None: ...

    def close(self) -> None: ...
