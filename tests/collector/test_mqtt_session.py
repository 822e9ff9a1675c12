"""The collector's MQTT session, held by its child process, against a real Mosquitto: messages
arrive in order, only acknowledged ones are done with, and a failure stops the collector."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from fleetprint.collector.mqtt_session import MqttSession, SessionSettings, Subscription
from fleetprint.mqtt import MqttSettings

from processes import connected_client

TIMEOUT_S = 20


def _settings(mosquitto, client_id: str) -> SessionSettings:
    return SessionSettings(
        mqtt=MqttSettings(host=mosquitto.host, port=mosquitto.port), client_id=client_id,
        subscriptions=(Subscription("test messages", f"test/{client_id}/#", 1),),
        status_topic=f"test/status/{client_id}", session_expiry_s=300, receive_maximum=100)


def _started(mosquitto, client_id: str, on_message: Callable[[str, bytes, int, int], None],
             on_lost: Callable[[], None] = lambda: None) -> MqttSession:
    """A session whose subscription is live: a retained marker published beforehand has arrived."""
    marker = f"test/{client_id}/ready"
    publisher = connected_client(mosquitto.port, f"{client_id}-marker")
    publisher.publish(marker, b"ready", qos=1, retain=True).wait_for_publish(TIMEOUT_S)
    publisher.disconnect()
    publisher.loop_stop()
    ready = threading.Event()

    def handle(topic: str, payload: bytes, mid: int, qos: int) -> None:
        if topic == marker:
            ready.set()
        else:
            on_message(topic, payload, mid, qos)

    session = MqttSession(_settings(mosquitto, client_id), handle)
    session.start(on_lost)
    assert ready.wait(TIMEOUT_S), "the session never subscribed"
    return session


def _publish(mosquitto, client_id: str, count: int) -> None:
    publisher = connected_client(mosquitto.port, f"{client_id}-publisher")
    for n in range(count):
        publisher.publish(f"test/{client_id}/m", str(n).encode(), qos=1).wait_for_publish(TIMEOUT_S)
    publisher.disconnect()
    publisher.loop_stop()


def test_only_acknowledged_messages_are_done_with(mosquitto) -> None:
    """Messages come in order; those the collector never acknowledged come again to its next session."""
    received: queue.Queue[tuple[bytes, int, int]] = queue.Queue()
    session = _started(mosquitto, "session-acks", lambda t, payload, mid, qos: received.put((payload, mid, qos)))
    _publish(mosquitto, "session-acks", 5)
    first = [received.get(timeout=TIMEOUT_S) for _ in range(5)]
    assert [payload for payload, _, _ in first] == [b"0", b"1", b"2", b"3", b"4"]
    session.ack([(mid, qos) for payload, mid, qos in first if payload in (b"0", b"1", b"2")])
    session.close()
    assert not session.lost.is_set()

    again: queue.Queue[bytes] = queue.Queue()
    session = _started(mosquitto, "session-acks", lambda t, payload, mid, qos: again.put(payload))
    try:
        assert sorted(again.get(timeout=TIMEOUT_S) for _ in range(2)) == [b"3", b"4"]
        assert again.empty(), "an acknowledged message came again"
    finally:
        session.close()


def test_a_failure_on_a_message_stops_the_collector(mosquitto) -> None:
    lost = threading.Event()

    def failing(topic: str, payload: bytes, mid: int, qos: int) -> None:
        raise RuntimeError("a bug in the collector")

    session = _started(mosquitto, "session-fault", failing, lost.set)
    try:
        _publish(mosquitto, "session-fault", 1)
        assert lost.wait(TIMEOUT_S), "the collector was not told"
        assert session.lost_reason == "the collector failed on a message from its MQTT session"
    finally:
        session.close()
