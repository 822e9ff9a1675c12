"""What every InfluxDB writer promises, and the errors that tell the caller what to do next."""

from __future__ import annotations

from typing import Protocol


class RetryableWriteError(Exception):
    """The database did not take the batch (down, overloaded, 5xx): keep it and retry later."""


class RejectedWriteError(Exception):
    """The database refused the batch's content (4xx): retrying would fail the same way.

    `reason` says why in one word (`refusal_reason`). InfluxDB may have stored the batch's
    other points meanwhile (a partial write); writing them again overwrites them with themselves.
    """

    def __init__(self, message: str, reason: str = "refused") -> None:
        super().__init__(message)
        self.reason = reason


# What InfluxDB says when it refuses points, and the reason each is counted under.
_REFUSALS = (("unable to parse", "unparsable"), ("field type conflict", "type_conflict"),
             ("max-series-per-database", "series_limit"), ("max-values-per-tag", "series_limit"),
             ("beyond retention policy", "beyond_retention"))


def refusal_reason(detail: str) -> str:
    """The reason for InfluxDB's refusal message: one of `unparsable`, `type_conflict`,
    `series_limit`, `beyond_retention`, else `refused`."""
    return next((reason for text, reason in _REFUSALS if text in detail), "refused")


class TooLargeWriteError(Exception):
    """The database refused the batch for its size (413): smaller batches will go through."""


class Sink(Protocol):
    """Writes batches of line-protocol points at millisecond precision."""

    def write(self, lines: list[str]) -> None: ...

    def close(self) -> None: ...
