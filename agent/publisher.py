"""Publishing to the broker: status with a Last Will, the retained inventory, reports at QoS 1."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from paho.mqtt.enums import MQTTErrorCode

from fleetprint.mqtt import MqttSettings, Topics, make_client
from fleetprint.schema import Inventory, Report, encode

log = logging.getLogger(__name__)
# paho numbers messages in flight with a 16-bit id: stay well below 65,535 queued publishes.
MAX_QUEUED_MESSAGES = 10_000


class PublishError(Exception):
    """paho refused to queue a message (its queue is full)."""


class Publisher:
    """One MQTT v5 connection for one host; reconnects by itself and re-announces on connect."""

    def __init__(self, settings: MqttSettings, host_id: str) -> None:
        self.host_id = host_id
        self.topics = Topics(settings.topic_prefix)
        self.settings = settings
        self.connected = threading.Event()
        self._inventory_payload: bytes | None = None
        self._refused: dict[int, str] = {}
        self.on_event: Callable[[], None] = lambda: None  # called on connection and on each acknowledgement
        self._client = make_client(settings, client_id=f"fleetprint-agent-{host_id}")
        self._client.max_queued_messages_set(MAX_QUEUED_MESSAGES)
        self._client.will_set(self.topics.status(host_id), b"offline", qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        log.info("connected to %s:%d", self.settings.host, self.settings.port)
        client.publish(self.topics.status(self.host_id), b"online", qos=1, retain=True)
        if self._inventory_payload is not None:
            client.publish(self.topics.inventory(self.host_id), self._inventory_payload, qos=1, retain=True)
        self.connected.set()
        self.on_event()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if reason_code.is_failure:
            log.warning("disconnected from the broker: %s (reconnecting)", reason_code)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._refused[mid] = str(reason_code)
        self.on_event()

    def was_refused(self, mid: int) -> bool:
        """Whether the broker answered the acknowledged message `mid` with a failure (e.g. not authorised)."""
        reason = self._refused.pop(mid, None)
        if reason is not None:
            log.error("the broker refused message %d: %s", mid, reason)
        return reason is not None

    def start(self) -> None:
        """Connect in the background; paho keeps reconnecting with backoff."""
        self._client.reconnect_delay_set(1, 60)
        self._client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive_s)
        self._client.loop_start()

    def set_inventory(self, inventory: Inventory) -> None:
        """Publish the (retained) inventory now, and again on every reconnection."""
        self._inventory_payload = encode(inventory)
        self._publish(self.topics.inventory(self.host_id), self._inventory_payload, retain=True)

    def publish_report(self, report: Report):
        """Queue a report at QoS 1; returns paho's MQTTMessageInfo."""
        return self._publish(self.topics.report(self.host_id), encode(report), retain=False)

    def _publish(self, topic: str, payload: bytes, retain: bool):
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        # NO_CONN: not connected yet; paho keeps the message and sends it on connection.
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise PublishError(f"paho could not queue a message for {topic}: rc={info.rc}")
        return info

    def stop(self, timeout_s: float = 5.0) -> None:
        """Say `offline`, then disconnect cleanly (a clean disconnect does not fire the Last Will)."""
        if self.connected.is_set():
            info = self._client.publish(self.topics.status(self.host_id), b"offline", qos=1, retain=True)
            info.wait_for_publish(timeout_s)
        self._client.disconnect()
        self._client.loop_stop()
