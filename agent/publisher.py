"""Publishing to the broker: status with a Last Will, the retained inventory, reports at QoS 1."""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable

from paho.mqtt.enums import MQTTErrorCode

from fleetprint.health import Link
from fleetprint.mqtt import MqttSettings, Topics, make_client
from fleetprint.mqtt_loop import NetworkLoop
from fleetprint.reach import ReachLog
from fleetprint.schema import Inventory, Report, encode, encode_report

log = logging.getLogger(__name__)
# paho numbers messages in flight with a 16-bit id: stay well below 65,535 queued publishes.
MAX_QUEUED_MESSAGES = 10_000
# Room above the reports in flight for the status and inventory messages.
_CONTROL_MESSAGES_HEADROOM = 16


class PublishError(Exception):
    """paho refused to queue a message (its queue is full)."""


class Delivery(enum.Enum):
    """What the broker said of a report."""

    ACCEPTED = "accepted"
    NO_SUBSCRIBER = "no_subscriber"  # PUBACK reason 16: nobody took it (no collector subscribed yet)
    REFUSED = "refused"  # a failure reason, e.g. not authorised


_NO_MATCHING_SUBSCRIBERS = 16


def delivery_of(reason_code) -> Delivery:
    if reason_code.is_failure:
        return Delivery.REFUSED
    if reason_code.value == _NO_MATCHING_SUBSCRIBERS:
        return Delivery.NO_SUBSCRIBER
    return Delivery.ACCEPTED


class _Acknowledgements:
    """Matches the broker's PUBACKs to reports, whichever comes first: paho may call
    on_publish before publish() has returned the message id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reports: set[int] = set()  # sent, not yet acknowledged
        self._control: set[int] = set()  # status and inventory messages: acknowledgements ignored
        self._early: dict[int, Delivery] = {}  # acknowledged before publish() returned
        self._outcomes: dict[int, Delivery] = {}  # report id -> what the broker said

    def sent(self, mid: int, is_report: bool) -> None:
        with self._lock:
            if mid in self._early:
                delivery = self._early.pop(mid)
                if is_report:
                    self._outcomes[mid] = delivery
            else:
                (self._reports if is_report else self._control).add(mid)

    def acknowledged(self, mid: int, delivery: Delivery) -> bool:
        """Note the broker's answer; True when it is a report's outcome, ready to be read."""
        with self._lock:
            if mid in self._reports:
                self._reports.discard(mid)
                self._outcomes[mid] = delivery
                return True
            if mid in self._control:
                self._control.discard(mid)
            else:
                self._early[mid] = delivery  # read once sent() has it, in the sender's thread
            return False

    def outcome(self, mid: int) -> Delivery | None:
        """None while unacknowledged; then, once, what the broker said."""
        with self._lock:
            return self._outcomes.pop(mid, None)


class Publisher:
    """One MQTT v5 connection for one host; reconnects by itself and re-announces on connect."""

    def __init__(self, settings: MqttSettings, host_id: str, max_reports_in_flight: int = 20) -> None:
        self.host_id = host_id
        self.topics = Topics(settings.topic_prefix)
        self.settings = settings
        self.connected = threading.Event()
        self._inventory_payload: bytes | None = None
        self._acks = _Acknowledgements()
        # Called on connection and on each report's acknowledgement.
        self.on_event: Callable[[], None] = lambda: None
        self._client = make_client(settings, client_id=f"fleetprint-agent-{host_id}")
        self._client.max_queued_messages_set(MAX_QUEUED_MESSAGES)
        # paho must never hold a message back as "queued" (over its in-flight limit): on
        # reconnection, paho 2.x stops resending in-flight messages at the first queued one,
        # which left reports unacknowledged for ever. The forwarder bounds reports in flight.
        self._client.max_inflight_messages_set(max_reports_in_flight + _CONTROL_MESSAGES_HEADROOM)
        self._client.will_set(self.topics.status(host_id), b"offline", qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._reach = ReachLog(log, f"{settings.host}:{settings.port}", "samples wait on disk")
        self._reach.attach(self._client)
        self.network = NetworkLoop(self._client, min_delay_s=1, max_delay_s=60)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._reach.failed(f"it refused the connection: {reason_code}")
            return
        self._reach.connected()
        self._publish(self.topics.status(self.host_id), b"online", retain=True)
        if self._inventory_payload is not None:
            self._publish(self.topics.inventory(self.host_id), self._inventory_payload, retain=True)
        self.connected.set()
        self.on_event()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        self._reach.lost(str(reason_code))
        if reason_code.is_failure:
            log.warning("disconnected from the broker: %s (reconnecting)", reason_code)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("the broker refused message %d: %s", mid, reason_code)
        if self._acks.acknowledged(mid, delivery_of(reason_code)):
            self.on_event()

    @property
    def link(self) -> Link:
        """The broker connection's state, for the health file."""
        return self._reach.link

    def report_outcome(self, mid: int) -> Delivery | None:
        """For a report sent: None until the broker answers, then what it said."""
        return self._acks.outcome(mid)

    def start(self) -> None:
        """Connect in the background, and again after 1 to 60 s whenever the connection is lost;
        the network thread sleeps until there is traffic or the keepalive is due."""
        self._client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive_s)
        self.network.start()

    def set_inventory(self, inventory: Inventory) -> None:
        """Publish the (retained) inventory now, and again on every reconnection."""
        self._inventory_payload = encode(inventory)
        self._publish(self.topics.inventory(self.host_id), self._inventory_payload, retain=True)

    def publish_report(self, report: Report) -> int:
        """Queue a report at QoS 1 (its schema version: `encode_report`); returns its message id (see
        report_outcome)."""
        return self._publish(self.topics.report(self.host_id), encode_report(report), retain=False, is_report=True)

    def _publish(self, topic: str, payload: bytes, retain: bool, is_report: bool = False) -> int:
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        # NO_CONN: not connected at this instant; paho keeps the message and sends it on connection.
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise PublishError(f"paho could not queue a message for {topic}: rc={info.rc}")
        self._acks.sent(info.mid, is_report)
        return info.mid

    def stop(self, timeout_s: float = 5.0) -> None:
        """Say `offline`, then disconnect cleanly (a clean disconnect does not fire the Last Will)."""
        if self.connected.is_set():
            info = self._client.publish(self.topics.status(self.host_id), b"offline", qos=1, retain=True)
            if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                info.wait_for_publish(timeout_s)
        self.network.stop(timeout_s)
