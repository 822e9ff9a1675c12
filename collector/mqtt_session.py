"""The collector's MQTT session, run by a child process (collector/mqtt_child.py).

paho-mqtt receives a packet, decodes it and queues its acknowledgement in one thread per
client. In the collector's own process that thread also had to decode, model and serialise
every report, under one GIL: one collector could not use more than one core, and paho's
share alone cost what the whole bare pipeline costs (docs/performance.md). So the session
lives in a child process: it receives messages and hands them over in batches, and it sends
the acknowledgements and publications the collector asks for. The collector still
acknowledges a message only once its points are written: the broker holds the rest.

The two processes talk over a socket pair with `multiprocessing.connection`'s framing
(pickled tuples; the pair is private to the two):

child → collector: `("messages", [(topic, payload, mid, qos), ...])`, `("broker", Link)` when the
connection's state changes, then `("closed",)`;
collector → child: the `SessionSettings` first, then `("ack", [(mid, qos), ...])`,
`("publish", topic, payload, qos, retain)`, `("close",)`.

The child ignores SIGINT and SIGTERM (a terminal or systemd sends them to both processes):
the collector stops it once its last points are written. It ends by itself when the
collector's end of the pair closes (the collector was killed).
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

import msgspec

from fleetprint.health import Link
from fleetprint.mqtt import MqttSettings

log = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 10.0


class Subscription(msgspec.Struct, frozen=True):
    name: str  # what the topic carries, for the log
    topic: str
    qos: int
    required: bool = True  # a refused optional one is a warning (e.g. $SYS not allowed by the ACL)


class SessionSettings(msgspec.Struct, frozen=True):
    """Everything the child needs to hold the collector's persistent session."""

    mqtt: MqttSettings
    client_id: str
    subscriptions: tuple[Subscription, ...]
    status_topic: str  # retained "online" on connect, "offline" as the Last Will and on close
    session_expiry_s: int
    receive_maximum: int
    max_queued_bytes: int = 64 * 2**20  # payload bytes waiting for the collector, at most
    log_level: int = logging.INFO


class SessionLost(RuntimeError):
    """The MQTT session ended while the collector was running."""


class MqttSession:
    """The collector's handle on its MQTT session: messages in, acknowledgements and publications out."""

    def __init__(self, settings: SessionSettings,
                 on_message: Callable[[str, bytes, int, int], None]) -> None:  # (topic, payload, mid, qos)
        self.settings = settings
        self.on_message = on_message
        self.lost = threading.Event()  # set, with lost_reason, when the session ends before close()
        self.lost_reason = ""
        self.broker = Link(f"{settings.mqtt.host}:{settings.mqtt.port}")  # as the child last said
        self._closing = False
        self._send_lock = threading.Lock()
        self._conn: Connection | None = None
        self._child: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._on_lost: Callable[[], None] = lambda: None

    def start(self, on_lost: Callable[[], None]) -> None:
        """Start the child and the thread that hands its messages to `on_message`; `on_lost`
        is called if the child ends before `close`."""
        self._on_lost = on_lost
        ours, theirs = socket.socketpair()
        self._child = subprocess.Popen(
            [sys.executable, "-m", "fleetprint.collector.mqtt_child", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        theirs.close()
        self._conn = Connection(ours.detach())
        self._send(self.settings)
        self._reader = threading.Thread(target=self._read, name="mqtt-session-reader", daemon=True)
        self._reader.start()

    def ack(self, acks: list[tuple[int, int]]) -> None:
        """PUBACK these (mid, qos) messages: their points are stored."""
        if acks:
            self._send(("ack", acks))

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        self._send(("publish", topic, payload, qos, retain))

    def close(self) -> None:
        """Publish "offline", disconnect and wait for the child to end (killed after CLOSE_TIMEOUT_S)."""
        if self._child is None:
            return
        self._closing = True
        try:
            self._send(("close",))
        except SessionLost:
            pass
        if self._reader is not None:  # it ends on the child's "closed", or once it can read nothing more
            self._reader.join(CLOSE_TIMEOUT_S)
        try:
            self._child.wait(CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.error("the MQTT session process did not end in %.0f s: killed", CLOSE_TIMEOUT_S)
            self._child.kill()
            self._child.wait()
        self._conn.close()

    def _send(self, item: object) -> None:
        with self._send_lock:
            try:
                self._conn.send(item)
            except OSError as exc:
                raise SessionLost(f"the MQTT session process is gone: {exc}") from None

    def _read(self) -> None:
        """The reader thread: the child's events, in order."""
        try:
            while True:
                event = self._conn.recv()
                kind = event[0]
                if kind == "messages":
                    for topic, payload, mid, qos in event[1]:
                        self.on_message(topic, payload, mid, qos)
                elif kind == "broker":
                    self.broker = event[1]
                elif kind == "closed":
                    return
        except (EOFError, OSError, SessionLost):  # SessionLost: an acknowledgement found the child gone
            reason = "the MQTT session process ended unexpectedly"
        except Exception:  # a fault in handling a message must stop the collector, not silence it
            log.exception("the collector failed on a message from its MQTT session")
            reason = "the collector failed on a message from its MQTT session"
        if not self._closing:
            log.error("%s: stopping", reason)
            self.lost_reason = reason
            self.lost.set()
            self._on_lost()
