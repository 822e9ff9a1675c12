"""What every InfluxDB writer promises, and the errors that tell the caller what to do next."""

from __future__ import annotations

from typing import Protocol


class RetryableWriteError(Exception):
    """The database did not take the batch (down, overloaded, 5xx): keep it and retry later."""


class RejectedWriteError(Exception):
    """The database refused the batch's content (4xx): retrying would fail the same way."""


class TooLargeWriteError(Exception):
    """The database refused the batch for its size (413): smaller batches will go through."""


class Sink(Protocol):
    """Writes batches of line-protocol points at millisecond precision."""

    def write(self, lines: list[str]) -> None: ...

    def close(self) -> None: ...
