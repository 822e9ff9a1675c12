"""The MQTT session's child process hands messages over in batches, in order, and holds at most
Receive Maximum of them: past that, paho's thread waits (and the broker keeps the rest)."""

from __future__ import annotations

import socket
import threading
from multiprocessing.connection import Connection
from types import SimpleNamespace

from fleetprint.collector.mqtt_child import MAX_BATCH, MAX_BATCH_BYTES, ChildSession
from fleetprint.collector.mqtt_session import SessionSettings
from fleetprint.mqtt import MqttSettings

BLOCKED_FOR_S = 0.5  # how long a blocked thread is given to (wrongly) get through


def _session(receive_maximum: int, max_queued_bytes: int = 2**30) -> tuple[ChildSession, Connection]:
    ours, theirs = socket.socketpair()
    settings = SessionSettings(mqtt=MqttSettings(), client_id="test-child", subscriptions=(),
                               status_topic="t/status", session_expiry_s=60, receive_maximum=receive_maximum,
                               max_queued_bytes=max_queued_bytes)
    return ChildSession(Connection(theirs.detach()), settings), Connection(ours.detach())


def _message(mid: int, payload: bytes = b"{}") -> SimpleNamespace:
    return SimpleNamespace(topic=f"p/hosts/h{mid}/report", payload=payload, mid=mid, qos=1)


def test_at_most_receive_maximum_messages_wait_for_the_collector(caplog) -> None:
    child, collector_end = _session(receive_maximum=3)
    for mid in (1, 2, 3):
        child._on_message(None, None, _message(mid))
    fourth_taken = threading.Event()
    paho = threading.Thread(target=lambda: (child._on_message(None, None, _message(4)), fourth_taken.set()),
                            daemon=True)
    paho.start()
    assert not fourth_taken.wait(BLOCKED_FOR_S), "took a message past Receive Maximum"
    assert "the collector takes no messages (3 waiting, 6 bytes)" in caplog.text
    threading.Thread(target=child._send_messages, daemon=True).start()
    assert collector_end.recv() == ("messages", [(f"p/hosts/h{mid}/report", b"{}", mid, 1) for mid in (1, 2, 3)])
    assert fourth_taken.wait(10), "the collector took the batch, yet paho's thread still waits"
    assert collector_end.recv() == ("messages", [("p/hosts/h4/report", b"{}", 4, 1)])


def test_a_burst_is_handed_over_in_batches_of_at_most_max_batch() -> None:
    child, collector_end = _session(receive_maximum=10_000)
    burst = MAX_BATCH * 2 + 7
    for mid in range(1, burst + 1):
        child._on_message(None, None, _message(mid))
    threading.Thread(target=child._send_messages, daemon=True).start()
    sizes, mids = [], []
    while len(mids) < burst:
        kind, batch = collector_end.recv()
        assert kind == "messages"
        sizes.append(len(batch))
        mids += [mid for _, _, mid, _ in batch]
    assert sizes == [MAX_BATCH, MAX_BATCH, 7]
    assert mids == list(range(1, burst + 1)), "in the order received"


def test_at_most_max_queued_bytes_wait_for_the_collector() -> None:
    """Large reports: a count of messages alone let 10,000 of 256 KiB (2.5 GB) wait."""
    child, collector_end = _session(receive_maximum=10_000, max_queued_bytes=1000)
    large = b"x" * 400
    for mid in (1, 2, 3):
        child._on_message(None, None, _message(mid, large))  # the third goes past the bound: it was under
    fourth_taken = threading.Event()
    paho = threading.Thread(target=lambda: (child._on_message(None, None, _message(4, large)), fourth_taken.set()),
                            daemon=True)
    paho.start()
    assert not fourth_taken.wait(BLOCKED_FOR_S), "took a message past max_queued_bytes"
    threading.Thread(target=child._send_messages, daemon=True).start()
    assert [mid for _, _, mid, _ in collector_end.recv()[1]] == [1, 2, 3]
    assert fourth_taken.wait(10), "the collector took the batch, yet paho's thread still waits"


def test_a_batch_holds_at_most_max_batch_bytes_and_at_least_one_message() -> None:
    child, collector_end = _session(receive_maximum=10_000)
    half = b"x" * (MAX_BATCH_BYTES // 2 + 1)
    for mid in (1, 2, 3):
        child._on_message(None, None, _message(mid, half))
    threading.Thread(target=child._send_messages, daemon=True).start()
    assert [[mid for _, _, mid, _ in collector_end.recv()[1]] for _ in range(3)] == [[1], [2], [3]]
