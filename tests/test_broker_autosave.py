"""A broker killed with -9 while the collector is down loses what it queued since its last save:
Mosquitto's `autosave_interval` (seconds) or, with `autosave_on_changes`, its count of changes
bounds it (docs/reliability.md; the cost of each: bench/broker_autosave.py)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from fleetprint.mqtt import MqttSettings, Topics, make_client

from processes import wait_until
from services import Mosquitto

topics = Topics()


def collector_session(broker: Mosquitto, received: list[bytes] | None = None):
    """The collector's persistent session on the shared subscription, connected and subscribed."""
    client = make_client(MqttSettings(port=broker.port), "collector")
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    subscribed = threading.Event()
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_connect = lambda client, *_: client.subscribe(f"$share/fleetprint/{topics.all_reports}", qos=1)
    client.on_message = lambda client, userdata, message: received.append(message.payload) if received is not None \
        else None
    client.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
    client.loop_start()
    assert subscribed.wait(5)
    return client


def close(client) -> None:
    client.disconnect()
    client.loop_stop()


def queue_reports(broker: Mosquitto, count: int) -> None:
    """`count` reports the broker acknowledges, queued for the stopped collector."""
    agent = make_client(MqttSettings(port=broker.port), "fleetprint-agent-web-01")
    agent.connect("127.0.0.1", broker.port)
    agent.loop_start()
    for seq in range(count):
        info = agent.publish(topics.report("web-01"), f'{{"seq": {seq}}}'.encode(), qos=1)
        info.wait_for_publish(5)
        assert info.is_published()
    close(agent)


def killed_and_restarted(broker: Mosquitto) -> list[bytes]:
    """kill -9, start again on the same data, and what the collector's session then receives."""
    os.kill(broker.pid, signal.SIGKILL)
    broker._proc.wait()  # noqa: SLF001 (reaped before the data is used again)
    broker.restart()
    received: list[bytes] = []
    collector = collector_session(broker, received)
    time.sleep(1)  # what the restored session holds arrives at once
    close(collector)
    return received


def with_broker(tmp_path: Path, *config: str):
    broker = Mosquitto(extra_config=[*config, "log_type all"])
    broker.start(tmp_path / "broker")
    close(collector_session(broker))  # the collector's session, then the collector stops
    return broker


def test_what_was_queued_before_an_autosave_survives_a_kill(tmp_path: Path) -> None:
    broker = with_broker(tmp_path, "autosave_interval 1")
    try:
        queue_reports(broker, 30)
        queued_at = time.time()
        data = broker.dir / "data"
        # Mosquitto logs "Saving in-memory database" before it writes mosquitto.db.new, then
        # renames it over mosquitto.db: a kill during the save keeps the previous file.
        wait_until(lambda: (data / "mosquitto.db").exists() and (data / "mosquitto.db").stat().st_mtime > queued_at
                   and not (data / "mosquitto.db.new").exists(), timeout_s=5, what="the next autosave, written")
        assert len(killed_and_restarted(broker)) == 30
    finally:
        broker.stop()


def test_what_was_queued_since_the_last_save_is_lost(tmp_path: Path) -> None:
    """The other side of it: acknowledged, queued, not saved, killed: gone (the loss the setting bounds)."""
    broker = with_broker(tmp_path, "autosave_interval 3600")
    try:
        queue_reports(broker, 30)
        assert killed_and_restarted(broker) == []
    finally:
        broker.stop()


def test_autosave_on_changes_bounds_the_loss_by_count(tmp_path: Path) -> None:
    """With `autosave_on_changes`, `autosave_interval` counts changes (a message queued is one):
    a kill loses fewer than that many messages."""
    broker = with_broker(tmp_path, "autosave_on_changes true", "autosave_interval 10")
    try:
        queue_reports(broker, 35)
        received = killed_and_restarted(broker)
        assert 35 - 10 < len(received) <= 35
    finally:
        broker.stop()
