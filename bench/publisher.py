"""A benchmark publisher: sends pre-built payloads at QoS 1 as fast as the broker acknowledges them.

Payloads are built beforehand by bench/run.py (a pickle of (topic suffix, payload, retain)),
so this process only pays paho's cost per message, not the cost of building reports.
Messages in flight are bounded (paho numbers them with 16-bit ids) and every `publish()`
return code is checked. Prints one JSON line: sent, acknowledged, refused, seconds.

    python bench/publisher.py --file payloads.pkl --port 1883 --prefix bench/v1
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import threading
import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--file", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--prefix", required=True, help="topic prefix put before each payload's topic suffix")
    parser.add_argument("--client-id", default="")
    parser.add_argument("--max-in-flight", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this long")
    args = parser.parse_args()

    with open(args.file, "rb") as handle:
        messages: list[tuple[str, bytes, bool]] = pickle.load(handle)
    topics = [f"{args.prefix}/{suffix}" for suffix, _, _ in messages]

    room = threading.Semaphore(args.max_in_flight)
    connected = threading.Event()
    lock = threading.Lock()
    counts = {"acked": 0, "refused": 0}
    all_acked = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        connected.set()

    def on_publish(client, userdata, mid, reason_code, properties) -> None:
        with lock:
            counts["acked"] += 1
            if reason_code.value != 0:  # e.g. 16: no matching subscribers
                counts["refused"] += 1
            if counts["acked"] == len(messages):
                all_acked.set()
        room.release()

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=args.client_id, protocol=paho.MQTTv5)
    client.max_inflight_messages_set(args.max_in_flight)
    client.max_queued_messages_set(0)
    client.on_connect = on_connect
    client.on_publish = on_publish
    client.connect(args.host, args.port, keepalive=60)
    client.loop_start()
    if not connected.wait(15):
        print(json.dumps({"error": "no connection"}))
        return 1
    started = time.monotonic()
    deadline = started + args.timeout
    sent = 0
    for topic, (_, payload, retain) in zip(topics, messages):
        while not room.acquire(timeout=1.0):
            if time.monotonic() > deadline:
                break
        info = client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            print(json.dumps({"error": f"publish rc={info.rc}", "sent": sent}), flush=True)
            return 1
        sent += 1
    if messages:
        all_acked.wait(max(0.0, deadline - time.monotonic()))
    seconds = time.monotonic() - started
    client.disconnect()
    client.loop_stop()
    print(json.dumps({"sent": sent, **counts, "seconds": seconds}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
