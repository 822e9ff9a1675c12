"""Saying when a server cannot be reached: the broker for the agent and the collector, InfluxDB
for the collector.

paho reconnects by itself and says nothing, and a write retried every few seconds would fill the
log: an agent whose broker is down went on sampling for minutes without one line about it.
`ReachLog` logs the first failure at once, with the address and the reason, then one line after
1, 2, 4, ... minutes of failing (at most hourly), and one line when the server is reached again.
Its `link` is the connection's state for the health file (fleetprint/health.py).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from fleetprint.health import Link

FIRST_REMINDER_S = 60.0
MAX_REMINDER_S = 3600.0


class ReachLog:
    """The log lines of one client's attempts to reach one server (used from one thread)."""

    def __init__(self, logger: logging.Logger, address: str, consequence: str, peer: str = "the broker",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.peer = peer  # who is reached, as the log names it: "the broker", "InfluxDB"
        self.address = address
        self.consequence = consequence  # what failing means for the reader, e.g. "samples wait on disk"
        self.clock = clock
        self.failures = 0
        self._since = 0.0
        self._next_line_at = 0.0
        self.link = Link(address)
        self.on_change: Callable[[Link], None] = lambda link: None

    def _set(self, link: Link) -> None:
        self.link = link
        self.on_change(link)

    def failed(self, reason: str) -> None:
        """One attempt failed: logged the first time, then at growing intervals."""
        now = self.clock()
        self.failures += 1
        self._set(self.link.failed(reason))
        if self.failures == 1:
            self._since, self._next_line_at = now, now + FIRST_REMINDER_S
            self.logger.warning("cannot reach %s at %s: %s; %s, retrying", self.peer, self.address, reason,
                                self.consequence)
        elif now >= self._next_line_at:
            waited = now - self._since
            self._next_line_at = now + min(MAX_REMINDER_S, max(FIRST_REMINDER_S, waited))
            self.logger.warning("still cannot reach %s at %s after %.0f s and %d attempts: %s; %s", self.peer,
                                self.address, waited, self.failures, reason, self.consequence)

    def connected(self) -> None:
        """A connection was made: said every time (a connection is an event worth a line)."""
        if not self.recovered():
            self.logger.info("connected to %s at %s", self.peer, self.address)

    def recovered(self) -> bool:
        """An attempt succeeded: said only after failures (for a write, which succeeds all day).
        True when it said so."""
        if not self.link.up:
            self._set(self.link.restored())
        if not self.failures:
            return False
        self.logger.info("connected to %s at %s after %.0f s and %d failed attempts", self.peer, self.address,
                         self.clock() - self._since, self.failures)
        self.failures = 0
        return True

    def lost(self, reason: str) -> None:
        """The connection dropped (the client logs it; paho reconnects)."""
        self._set(self.link.lost(reason))

    def attach(self, client) -> None:
        """Log the failed attempts of a paho client (its `on_connect_fail` says no reason: paho calls
        it while handling the exception, which is read here)."""
        def on_connect_fail(client, userdata) -> None:
            error = sys.exc_info()[1]
            self.failed(str(error) if error is not None else "the connection failed")

        client.on_connect_fail = on_connect_fail
