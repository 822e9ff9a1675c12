"""The service fixtures start real daemons that behave as the project relies on."""

from __future__ import annotations

import threading
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import paho.mqtt.client as paho
from paho.mqtt.reasoncodes import ReasonCode

from fleetprint.mqtt import MqttSettings, make_client

from services import InfluxDB, Mosquitto

TIMEOUT_S = 5.0


@contextmanager
def connected(broker: Mosquitto) -> Iterator[paho.Client]:
    """A paho 2.x MQTT v5 client connected to `broker`, its network loop running."""
    client = make_client(MqttSettings(host=broker.host, port=broker.port), f"test-{uuid.uuid4().hex[:8]}")
    accepted = threading.Event()

    def on_connect(c: paho.Client, data: object, flags: object, reason: ReasonCode, props: object) -> None:
        if not reason.is_failure:
            accepted.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert accepted.wait(TIMEOUT_S), "no successful CONNACK"
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def publish(client: paho.Client, topic: str, payload: bytes, retain: bool = False) -> None:
    """Publish at QoS 1 and wait for the broker's PUBACK."""
    info = client.publish(topic, payload, qos=1, retain=retain)
    info.wait_for_publish(TIMEOUT_S)
    assert info.is_published(), "no PUBACK"


def subscribe(client: paho.Client, topic: str) -> tuple[threading.Event, list[paho.MQTTMessage]]:
    """Subscribe at QoS 1 and wait for SUBACK; the event is set when a message arrives, kept in the list."""
    arrived = threading.Event()
    subscribed = threading.Event()
    messages: list[paho.MQTTMessage] = []

    def on_message(c: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        messages.append(message)
        arrived.set()

    client.on_message = on_message
    client.on_subscribe = lambda c, userdata, mid, reasons, props: subscribed.set()
    client.subscribe(topic, qos=1)
    assert subscribed.wait(TIMEOUT_S), "no SUBACK"
    return arrived, messages


def write(influxdb: InfluxDB, db: str, lines: bytes) -> None:
    """POST line protocol with millisecond timestamps to the real /write endpoint."""
    url = f"{influxdb.url}/write?{urllib.parse.urlencode({'db': db, 'precision': 'ms'})}"
    request = urllib.request.Request(url, data=lines, method="POST")
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        assert response.status == 204


def test_publish_subscribe_round_trip(mosquitto: Mosquitto) -> None:
    topic = f"test/{uuid.uuid4().hex}"
    with connected(mosquitto) as subscriber, connected(mosquitto) as publisher:
        arrived, messages = subscribe(subscriber, topic)
        publish(publisher, topic, b"hello")
        assert arrived.wait(TIMEOUT_S), "message not delivered"
    assert messages[0].payload == b"hello"
    assert messages[0].topic == topic


def test_retained_message_survives_restart(mosquitto: Mosquitto) -> None:
    topic = f"test/{uuid.uuid4().hex}"
    with connected(mosquitto) as publisher:
        publish(publisher, topic, b"kept", retain=True)
    port = mosquitto.port
    mosquitto.restart()
    assert mosquitto.port == port
    with connected(mosquitto) as subscriber:
        arrived, messages = subscribe(subscriber, topic)
        assert arrived.wait(TIMEOUT_S), "retained message lost across restart"
        publish(subscriber, topic, b"", retain=True)  # clears the retained message
    assert messages[0].payload == b"kept"
    assert messages[0].retain


def test_influxdb_write_then_select(influxdb: InfluxDB, influx_db: str) -> None:
    lines = (
        b"power,host=web-1,service=nginx watts=12.5 1700000000000\n"
        b"power,host=web-2,service=nginx watts=7 1700000001000\n"
    )
    write(influxdb, influx_db, lines)
    rows = influxdb.query("SELECT watts FROM power GROUP BY host, service", db=influx_db)
    assert sorted(rows, key=lambda row: row["host"]) == [
        {"host": "web-1", "service": "nginx", "time": 1700000000000, "watts": 12.5},
        {"host": "web-2", "service": "nginx", "time": 1700000001000, "watts": 7},
    ]


def test_influxdb_keeps_data_across_restart(influxdb: InfluxDB, influx_db: str) -> None:
    write(influxdb, influx_db, b"m v=1i 1000")
    influxdb.restart()
    assert influxdb.query("SELECT v FROM m", db=influx_db) == [{"time": 1000, "v": 1}]
