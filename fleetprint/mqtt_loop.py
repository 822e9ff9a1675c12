"""A paho client's network loop that sleeps until there is traffic or the keepalive is due.

paho's `loop_start()` runs `loop_forever()`, whose select() returns every second whatever
happens and whose reconnection wait sleeps in 1 s steps: on an idle agent such wake-ups were
most of its CPU (docs/performance.md). `NetworkLoop` drives the client through paho's API for
external loops (`socket()`, `want_write()`, `loop_read()`, `loop_write()`, `loop_misc()`,
`reconnect()`, `on_socket_register_write`) in a thread of its own, and waits in select() on the
client's socket and on a socket pair for as long as the keepalive allows:

- paho (2.2, `_check_keepalive` in `loop_misc`) sends a PINGREQ once `keepalive` seconds have
  passed since the last packet out or the last bytes in, and drops a connection whose PINGRESP
  has not come `keepalive` seconds after the PINGREQ. The loop notes when it last read and last
  finished writing, and sleeps until the earlier of the two plus `keepalive`: paho's own times
  are never later than these, so its check is due when the loop wakes. Once that check has run,
  the loop counts from then, as paho does when it pings.
- A publish from another thread queues the packet and, since `on_socket_register_write` is
  set, calls it instead of writing from that thread: it writes a byte to the pair, the loop
  wakes and writes.
- A lost connection is made again after 1, 2, 4, ... s up to `max_delay_s` (the first attempt
  at once), as paho's loop does, but the wait is one sleep, which `stop()` ends.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def keepalive_timeout_s(keepalive_s: float, last_read_at: float, last_write_at: float, now: float) -> float:
    """Seconds until paho's keepalive check is due: `keepalive_s` after the older of the last
    read and the last write; 0 when it is due now, infinity with no keepalive (0)."""
    if keepalive_s <= 0:
        return float("inf")
    return max(0.0, min(last_read_at, last_write_at) + keepalive_s - now)


class NetworkLoop:
    """Runs a paho client's network I/O, connection and reconnections in one thread.

    Use instead of `loop_start()`, after `connect_async()`; `stop()` instead of `disconnect()`
    and `loop_stop()`. `wakeups` counts the returns from select() (tests, bench)."""

    def __init__(self, client, min_delay_s: float = 1.0, max_delay_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, select_fn: Callable = select.select) -> None:
        self._client = client
        self.min_delay_s = min_delay_s
        self.max_delay_s = max_delay_s
        self._clock = clock
        self._select = select_fn
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stopping = threading.Event()
        self._delay_s: float | None = None  # the last wait before reconnecting; None once connected
        self._last_read_at = self._last_write_at = clock()
        self.wakeups = 0
        self.failed = False
        self.on_failure: Callable[[], None] = lambda: None
        client.on_socket_register_write = lambda client, userdata, sock: self.wake()
        self._thread = threading.Thread(target=self._run, name="mqtt-network", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Make the loop look again (there is something to write, or it should stop)."""
        try:
            self._wake_w.send(b"\0")
        except OSError:  # full (a wake-up is pending anyway) or closed (stopped)
            pass

    def stop(self, timeout_s: float = 5.0) -> None:
        """Disconnect cleanly (a DISCONNECT, so no Last Will) and end the thread."""
        self._stopping.set()
        self.wake()
        if self._thread.ident is not None:
            self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self._wake_r.close()
            self._wake_w.close()

    def timeout_s(self) -> float:
        """How long the next select() may sleep: until the keepalive check is due."""
        return keepalive_timeout_s(self._client.keepalive, self._last_read_at, self._last_write_at, self._clock())

    def _run(self) -> None:
        try:
            first = True
            disconnect_sent = False
            while True:
                if self._client.socket() is None:
                    if self._stopping.is_set() or (not first and self._stopping.wait(self._next_delay_s())):
                        return
                    first = False
                    self._connect()
                    continue
                if self._stopping.is_set() and not disconnect_sent:
                    self._client.disconnect()  # written below; paho closes the socket after it
                    disconnect_sent = True
                self.run_once()
        except Exception:
            log.critical("the MQTT network loop failed: nothing more would be sent", exc_info=True)
            self.failed = True
            self.on_failure()

    def _next_delay_s(self) -> float:
        self._delay_s = self.min_delay_s if self._delay_s is None else min(self._delay_s * 2, self.max_delay_s)
        return self._delay_s

    def _connect(self) -> None:
        try:
            self._client.reconnect()
        except OSError:
            on_connect_fail = self._client.on_connect_fail
            if on_connect_fail is not None:  # inside the handler: it may read the exception
                on_connect_fail(self._client, self._client.user_data_get())
            return
        self._last_read_at = self._last_write_at = self._clock()

    def run_once(self) -> None:
        """One wait and what it brought: read, write, then paho's keepalive check."""
        client = self._client
        sock = client.socket()
        pending = getattr(sock, "pending", None)  # TLS: bytes already decrypted wait in the object
        buffered = bool(pending and pending())
        timeout = 0.0 if buffered else self.timeout_s()
        readable, writable, _ = self._select([sock, self._wake_r], [sock] if client.want_write() else [], [],
                                             None if timeout == float("inf") else timeout)
        self.wakeups += 1
        woken = self._wake_r in readable
        if woken:
            self._drain_wake()
        if sock in readable or buffered:
            client.loop_read()
            self._last_read_at = self._clock()
        if client.socket() is sock and (sock in writable or woken) and client.want_write():
            client.loop_write()
            if not client.want_write():  # every packet out: paho noted the time of the last one
                self._last_write_at = self._clock()
        if client.socket() is sock:
            keepalive_due = self.timeout_s() == 0.0
            client.loop_misc()
            if keepalive_due:  # paho pinged (its times are now), or dropped the connection
                self._last_read_at = self._last_write_at = self._clock()
        if client.is_connected():
            self._delay_s = None

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
