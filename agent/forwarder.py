"""Draining the on-disk queue to the broker: store and forward.

Oldest samples first; one sample per report when up to date, up to `max_samples_per_report`
when catching up after an outage, at most `max_reports_per_s` reports a second and at most
`max_in_flight` reports awaiting the broker's acknowledgement (paho numbers messages in
flight with a 16-bit id, and an unbounded burst would also flood the broker). A sample
leaves the disk only when the broker has acknowledged (PUBACK) the report that carried it;
after a restart, whatever was not acknowledged is sent again, in new reports with new
sequence numbers, and the collector stores the same points again (idempotent writes).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from fleetprint.agent.buffer import SampleBuffer
from fleetprint.agent.publisher import Publisher
from fleetprint.agent.state import SequenceFile
from fleetprint.schema import Report

log = logging.getLogger(__name__)
REFUSED_BACKOFF_S = 30.0


@dataclass(frozen=True)
class _InFlight:
    info: Any  # paho's MQTTMessageInfo: is_published() once the broker has acknowledged
    first_id: int
    last_id: int
    evicted_reported: int


class Forwarder:
    """Moves samples from the buffer to the broker, and deletes them once acknowledged."""

    def __init__(self, buffer: SampleBuffer, publisher: Publisher, sequence: SequenceFile, host_id: str,
                 max_samples_per_report: int, max_in_flight: int, max_reports_per_s: float) -> None:
        self.buffer = buffer
        self.publisher = publisher
        self.sequence = sequence
        self.host_id = host_id
        self.max_samples_per_report = max_samples_per_report
        self.max_in_flight = max_in_flight
        self.min_gap_s = 1.0 / max_reports_per_s
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._in_flight: list[_InFlight] = []
        self._last_taken_id = 0
        self._paused_until = 0.0
        self._thread = threading.Thread(target=self._run, name="forwarder", daemon=True)
        publisher.on_event = self.wake

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Something changed (a new sample, a connection, an acknowledgement): look again."""
        with self._wake:
            self._wake.notify()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self.wake()
        self._thread.join(timeout_s)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def _can_send(self) -> bool:
        return (self.publisher.connected.is_set() and len(self._in_flight) < self.max_in_flight
                and time.monotonic() >= self._paused_until
                and bool(self.buffer.oldest_after(self._last_taken_id, 1)))

    def _has_work(self) -> bool:
        return self._stop.is_set() or self._can_send() or any(e.info.is_published() for e in self._in_flight)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                self._wake.wait_for(self._has_work, timeout=1.0)
            self._settle_acknowledged()
            if self._can_send():
                self._send_one()
                self._stop.wait(self.min_gap_s)

    def _send_one(self) -> None:
        batch = self.buffer.oldest_after(self._last_taken_id, self.max_samples_per_report)
        evicted = max(0, self.buffer.evicted() - sum(e.evicted_reported for e in self._in_flight))
        report = Report(host_id=self.host_id, seq=self.sequence.next(), samples=[s for _, s in batch],
                        dropped_samples=evicted)
        info = self.publisher.publish_report(report)
        self._last_taken_id = batch[-1][0]
        self._in_flight.append(_InFlight(info, batch[0][0], batch[-1][0], evicted))

    def _settle_acknowledged(self) -> None:
        """Delete the samples of acknowledged reports; take refused ones back for a later try."""
        still: list[_InFlight] = []
        for entry in self._in_flight:
            if not entry.info.is_published():
                still.append(entry)
            elif self.publisher.was_refused(entry.info.mid):
                log.error("the broker refused the report of samples %d-%d; keeping them, retrying in %.0f s",
                          entry.first_id, entry.last_id, REFUSED_BACKOFF_S)
                self._last_taken_id = min(self._last_taken_id, entry.first_id - 1)
                self._paused_until = time.monotonic() + REFUSED_BACKOFF_S
            else:
                self.buffer.remove(entry.first_id, entry.last_id)
                if entry.evicted_reported:
                    self.buffer.forget_evicted(entry.evicted_reported)
        self._in_flight = still
