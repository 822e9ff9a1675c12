"""Draining the on-disk queue to the broker: store and forward.

Oldest samples first; one sample per report when up to date, up to `max_samples_per_report`
when catching up after an outage, at most `max_reports_per_s` reports a second and at most
`max_in_flight` reports awaiting the broker's acknowledgement (paho numbers messages in
flight with a 16-bit id, and an unbounded burst would also flood the broker). A sample
leaves the disk only when the broker has acknowledged (PUBACK) the report that carried it
and said that a subscriber took it: "no matching subscribers" (reason 16: no collector
subscribed, as happens after a broker restart until the collectors subscribe again) and
refusals keep the samples for a later try, after a pause that doubles at each refused try
(`BACKOFF_S`; the reports of one burst in flight count as one try);
after a restart, whatever was not acknowledged is sent again, in new reports with new
sequence numbers, and the collector stores the same points again (idempotent writes).

Its thread sleeps until there is something to do: it is woken when a sample is queued, when
the broker connects or acknowledges a report, and by `stop()`, and it sets a timeout only for
a time it is waiting for: the end of a back-off, or the next report a catch-up may send under
`max_reports_per_s`. An idle agent's forwarder wakes once per sample and once per
acknowledgement, never to poll.

A full disk does not stop it (the queue and the sequence file degrade, agent/buffer.py and
agent/state.py). Any other error in its thread is a bug it cannot reason about: it logs it
and calls `on_failure`, with which the agent exits with status 1 for its service manager to
restart it, rather than living on without sending.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fleetprint.agent.buffer import SampleBuffer
from fleetprint.agent.publisher import Delivery, Publisher
from fleetprint.agent.state import SequenceFile
from fleetprint.schema import Report

log = logging.getLogger(__name__)
# Backoff after a report was not taken: first and longest pause, doubling in between.
BACKOFF_S = {Delivery.NO_SUBSCRIBER: (2.0, 60.0), Delivery.REFUSED: (30.0, 600.0)}


@dataclass
class _InFlight:
    mid: int
    first_id: int
    last_id: int
    evicted_reported: int
    sent_at: float
    outcome: Delivery | None = None  # None until the broker answers


class Forwarder:
    """Moves samples from the buffer to the broker, and deletes them once acknowledged."""

    def __init__(self, buffer: SampleBuffer, publisher: Publisher, sequence: SequenceFile, host_id: str,
                 max_samples_per_report: int, max_in_flight: int, max_reports_per_s: float,
                 clock: Callable[[], float] = time.monotonic, condition: threading.Condition | None = None) -> None:
        self.buffer = buffer
        self.publisher = publisher
        self.sequence = sequence
        self.host_id = host_id
        self.max_samples_per_report = max_samples_per_report
        self.max_in_flight = max_in_flight
        self.min_gap_s = 1.0 / max_reports_per_s
        self._clock = clock
        self._wake = condition or threading.Condition()
        self._stop = threading.Event()
        self._in_flight: list[_InFlight] = []
        self._last_taken_id = 0
        self._paused_at = float("-inf")  # when the last back-off began
        self._paused_until = 0.0  # the end of a back-off
        self._next_send_at = 0.0  # the next report allowed by max_reports_per_s
        self.wakeups = 0  # returns from the wait (tests, bench)
        self._backoff_s = 0.0
        self.on_failure: Callable[[], None] = lambda: None
        self.failed = False
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
        if self._thread.ident is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def backing_off(self) -> bool:
        """Whether the last report was not taken and sending pauses."""
        return self._backoff_s > 0

    def _could_send(self) -> bool:
        """Whether a report would go now but for a deadline (back-off, rate)."""
        return (self.publisher.connected.is_set() and len(self._in_flight) < self.max_in_flight
                and bool(self.buffer.oldest_after(self._last_taken_id, 1)))

    def _can_send(self) -> bool:
        return self._clock() >= max(self._paused_until, self._next_send_at) and self._could_send()

    def _has_work(self) -> bool:
        return self._stop.is_set() or any(self._answered(e) for e in self._in_flight) or self._can_send()

    def _timeout_s(self) -> float | None:
        """How long to wait for a deadline when nothing else happens: None (until woken) unless a
        report waits for the end of a back-off or for the rate limit."""
        if not self._could_send():
            return None
        return max(0.0, max(self._paused_until, self._next_send_at) - self._clock())

    def _wait_for_work(self) -> None:
        with self._wake:
            while not self._has_work():
                self._wake.wait(self._timeout_s())
                self.wakeups += 1

    def _answered(self, entry: _InFlight) -> bool:
        if entry.outcome is None:
            entry.outcome = self.publisher.report_outcome(entry.mid)
        return entry.outcome is not None

    def _run(self) -> None:
        try:
            self.run()
        except Exception:
            log.critical("the forwarder failed: nothing more would be sent, the agent stops", exc_info=True)
            self.failed = True
            self.on_failure()

    def run(self) -> None:
        """Forward until `stop()`: the thread's body (`start()`), or the caller's."""
        while not self._stop.is_set():
            self._wait_for_work()
            self._settle_acknowledged()
            if self._can_send():
                self._send_one()
                self._next_send_at = self._clock() + self.min_gap_s

    def _send_one(self) -> None:
        batch = self.buffer.oldest_after(self._last_taken_id, self.max_samples_per_report)
        evicted = max(0, self.buffer.evicted() - sum(e.evicted_reported for e in self._in_flight))
        report = Report(host_id=self.host_id, seq=self.sequence.next(), samples=[s for _, s in batch],
                        dropped_samples=evicted)
        mid = self.publisher.publish_report(report)
        self._last_taken_id = batch[-1][0]
        self._in_flight.append(_InFlight(mid, batch[0][0], batch[-1][0], evicted, self._clock()))

    def _settle_acknowledged(self) -> None:
        """Delete the samples of acknowledged reports; take refused ones back for a later try."""
        still: list[_InFlight] = []
        for entry in self._in_flight:
            if not self._answered(entry):
                still.append(entry)
            elif entry.outcome is not Delivery.ACCEPTED:
                # The reports already in flight when the pause began say nothing new: a burst of them
                # refused at once (a broker restart) doubles the pause once, not once per report.
                if entry.sent_at > self._paused_at:
                    first_s, longest_s = BACKOFF_S[entry.outcome]
                    self._backoff_s = min(max(first_s, self._backoff_s * 2), longest_s)
                    self._paused_at = self._clock()
                    self._paused_until = self._paused_at + self._backoff_s
                log.warning("report of samples %d-%d not taken (%s); keeping them, retrying in %.0f s",
                            entry.first_id, entry.last_id, entry.outcome.value, self._backoff_s)
                self._last_taken_id = min(self._last_taken_id, entry.first_id - 1)
            else:
                self._backoff_s = 0.0
                self.buffer.remove(entry.first_id, entry.last_id)
                if entry.evicted_reported:
                    self.buffer.forget_evicted(entry.evicted_reported)
        self._in_flight = still
