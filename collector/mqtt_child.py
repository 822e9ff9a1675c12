"""The child process that holds the collector's MQTT session (see collector/mqtt_session.py).

`python -m fleetprint.collector.mqtt_child FD`: FD is its end of the socket pair. paho's
network thread receives; a sender thread hands what it received to the collector in
batches (all that arrived while the previous batch was being sent); the main thread carries
out the collector's acknowledgements and publications.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection

from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from fleetprint.collector.mqtt_session import SessionSettings
from fleetprint.logs import configure_logging
from fleetprint.mqtt import make_client
from fleetprint.reach import ReachLog

log = logging.getLogger("fleetprint.collector.mqtt")
OFFLINE_PUBLISH_TIMEOUT_S = 5.0
CLOSE_JOIN_TIMEOUT_S = 5.0
MAX_BATCH = 500
MAX_BATCH_BYTES = 8 * 2**20  # payload bytes in one batch (at least one message)
WAIT_WARNING_INTERVAL_S = 10.0


class ChildSession:
    """paho's client, and the collector's end of the pair."""

    def __init__(self, conn: Connection, settings: SessionSettings) -> None:
        self.conn = conn
        self.settings = settings
        self._outbox: list[tuple[str, bytes, int, int]] = []  # (topic, payload, mid, qos), in order
        self._outbox_bytes = 0
        self._outbox_ready = threading.Condition()
        self._stopping = False
        self._warned_at = -WAIT_WARNING_INTERVAL_S
        self._connected = False
        self._client = make_client(settings.mqtt, settings.client_id, manual_ack=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.will_set(settings.status_topic, b"offline", qos=1, retain=True)
        self._reach = ReachLog(log, f"{settings.mqtt.host}:{settings.mqtt.port}",
                               "the reports wait on the broker, or on their agents' disks")
        self._reach.attach(self._client)
        self._send_lock = threading.Lock()  # paho's, the sender's and the main thread send
        self._reach.on_change = lambda link: self._tell(("broker", link))

    def _tell(self, event: tuple) -> None:
        """Send an event to the collector (whose going is noticed by the main thread)."""
        try:
            with self._send_lock:
                self.conn.send(event)
        except OSError:
            pass

    # -- paho's network thread -------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._reach.failed(f"it refused the connection: {reason_code}")
            return
        self._reach.connected()
        log.info("the broker kept this collector's session: %s", flags.session_present)
        self._connected = True
        client.subscribe([(s.topic, s.qos) for s in self.settings.subscriptions])
        # After the subscription: the broker queues its retained messages (the budget alerts) before it
        # handles this publish, so the collector reads its own `online` after them, even when its kept
        # session was still subscribed and would get a publish made first at once (leader.py).
        client.publish(self.settings.status_topic, b"online", qos=1, retain=True)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        taken = []
        for subscription, code in zip(self.settings.subscriptions, reason_codes):
            if not code.is_failure:
                taken.append(subscription.name)
            elif subscription.required:
                log.error("the broker refused the subscription to %s (%s): %s", subscription.name,
                          subscription.topic, code)
            else:
                log.warning("the broker refused the subscription to %s (%s): %s; allow it in the ACL",
                            subscription.name, subscription.topic, code)
        log.info("subscribed to %s", ", ".join(taken))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected = False
        self._reach.lost(str(reason_code))
        if reason_code.is_failure:
            log.warning("disconnected from the broker: %s (paho reconnects)", reason_code)

    def _on_message(self, client, userdata, message) -> None:
        """Queue the message for the collector. While the collector takes none (it waits for a
        slow database), at most Receive Maximum messages and `max_queued_bytes` of payload queue
        here; then paho's thread waits too, reads no more, and the broker keeps the rest."""
        with self._outbox_ready:
            if self._full() and time.monotonic() - self._warned_at >= WAIT_WARNING_INTERVAL_S:
                self._warned_at = time.monotonic()
                log.warning("the collector takes no messages (%d waiting, %d bytes): the broker keeps the rest "
                            "until it does; keepalive pings wait too (logged at most every %.0f s)",
                            len(self._outbox), self._outbox_bytes, WAIT_WARNING_INTERVAL_S)
            while self._full():
                self._outbox_ready.wait()
            self._outbox.append((message.topic, message.payload, message.mid, message.qos))
            self._outbox_bytes += len(message.payload)
            self._outbox_ready.notify_all()

    def _full(self) -> bool:
        """No room for another message (one always fits in an empty outbox). Under the lock."""
        return bool(self._outbox) and not self._stopping and (
            len(self._outbox) >= self.settings.receive_maximum
            or self._outbox_bytes >= self.settings.max_queued_bytes)

    # -- the sender thread -----------------------------------------------------------------

    def _send_messages(self) -> None:
        """Hand over, as one batch, what arrived while the previous batch was being sent (at most
        MAX_BATCH messages and MAX_BATCH_BYTES: a burst must not be unpickled all at once)."""
        while True:
            with self._outbox_ready:
                while not self._outbox and not self._stopping:
                    self._outbox_ready.wait()
                if self._stopping:
                    return  # unacknowledged: the broker delivers them again
                count, size = 0, 0
                for _, payload, _, _ in self._outbox[:MAX_BATCH]:
                    if count and size + len(payload) > MAX_BATCH_BYTES:
                        break
                    count, size = count + 1, size + len(payload)
                batch, self._outbox = self._outbox[:count], self._outbox[count:]
                self._outbox_bytes -= size
                self._outbox_ready.notify_all()  # room again for paho's thread
            try:
                with self._send_lock:
                    self.conn.send(("messages", batch))
            except OSError:  # the collector is gone: the main thread sees it too
                return

    # -- the main thread -------------------------------------------------------------------

    def run(self) -> None:
        settings = self.settings
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = settings.session_expiry_s
        props.ReceiveMaximum = settings.receive_maximum
        self._client.reconnect_delay_set(1, 30)
        self._client.connect_async(settings.mqtt.host, settings.mqtt.port, settings.mqtt.keepalive_s,
                                   clean_start=False, properties=props)
        sender = threading.Thread(target=self._send_messages, name="mqtt-session-sender", daemon=True)
        sender.start()
        self._client.loop_start()
        try:
            self._serve()
        finally:
            with self._outbox_ready:  # first: paho's thread may be waiting for room
                self._stopping = True
                self._outbox_ready.notify_all()
            self._client.disconnect()
            self._client.loop_stop()
            sender.join(CLOSE_JOIN_TIMEOUT_S)
            self._tell(("closed",))

    def _serve(self) -> None:
        """Carry out the collector's commands until it says close, or is gone (then say offline)."""
        while True:
            try:
                command = self.conn.recv()
            except (EOFError, OSError):
                log.error("the collector process is gone: closing its MQTT session")
                self._say_offline()
                return
            kind = command[0]
            if kind == "ack":
                for mid, qos in command[1]:
                    self._client.ack(mid, qos)
            elif kind == "publish":
                _, topic, payload, qos, retain = command
                self._client.publish(topic, payload, qos=qos, retain=retain)
            elif kind == "close":
                self._say_offline()
                return

    def _say_offline(self) -> None:
        if not self._connected:
            return
        info = self._client.publish(self.settings.status_topic, b"offline", qos=1, retain=True)
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:  # the broker may have gone meanwhile
            info.wait_for_publish(OFFLINE_PUBLISH_TIMEOUT_S)


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the collector decides when its session ends
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    conn = Connection(int(argv[1]))
    settings: SessionSettings = conn.recv()
    configure_logging(settings.log_level)
    ChildSession(conn, settings).run()


if __name__ == "__main__":
    main(sys.argv)
