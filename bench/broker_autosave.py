"""What a broker killed with -9 loses while the collectors are down, and what saving more often
costs: Mosquitto's `autosave_interval` and `autosave_on_changes`, measured.

Mosquitto keeps its sessions, queues and retained messages in memory and writes all of it to
`mosquitto.db` (a new file, fsync, rename) at each autosave and at a clean stop. With the
collectors down, every acknowledged report waits in their sessions' queues; a `kill -9` (or a
crash, or a power cut) loses what was queued since the last save, although the agents had
their PUBACK and deleted it. For each setting this starts a broker (tests/services.py) holding
the retained inventories of `--hosts` hosts, creates the collector's persistent session on the
shared subscription and disconnects it, publishes reports at `--rate` a second for `--seconds`,
waits for the last acknowledgement, reads the broker's CPU time and disk writes, kills it with
SIGKILL, starts it again on the same data and takes the collector's session back: lost = reports
acknowledged - reports delivered after the restart.

    .venv/bin/python bench/broker_autosave.py [--hosts 3000 --rate 100 --seconds 20] [--only "interval 10 s"]

(Keep rate x seconds under 65,000: the PUBACKs are matched by paho's 16-bit message ids.)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from services import Mosquitto  # noqa: E402  (tests/services.py)

from fleetprint.mqtt import MqttSettings, Topics, make_client  # noqa: E402

SETTINGS = {  # name: mosquitto.conf lines
    "interval 60 s": ["autosave_interval 60"],
    "interval 10 s": ["autosave_interval 10"],
    "interval 1 s": ["autosave_interval 1"],
    "on changes 1000": ["autosave_on_changes true", "autosave_interval 1000"],
    "on changes 100": ["autosave_on_changes true", "autosave_interval 100"],
    "on changes 1": ["autosave_on_changes true", "autosave_interval 1"],
}
topics = Topics()
REPORT_SUBSCRIPTION = f"$share/fleetprint/{topics.all_reports}"
INVENTORY = json.dumps({"schema": "fleetprint.inventory/1", "padding": "x" * 1400}).encode()  # ~1.5 KB, as real ones


def report(host: int, seq: int) -> bytes:
    """~600 bytes, as a one-sample report with a few services."""
    return json.dumps({"schema": "fleetprint.report/1", "host_id": f"h{host}", "seq": seq,
                       "padding": "x" * 520}).encode()


def collector_session(port: int, on_message=None):
    """The collector's persistent session on the shared subscription, connected."""
    client = make_client(MqttSettings(port=port), "collector", manual_ack=False)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    subscribed = threading.Event()
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_connect = lambda c, *_: c.subscribe(REPORT_SUBSCRIPTION, qos=1)
    if on_message:
        client.on_message = on_message
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    client.loop_start()
    if not subscribed.wait(10):
        raise RuntimeError("no SUBACK")
    return client


def publish_inventories(port: int, hosts: int) -> None:
    client = make_client(MqttSettings(port=port), "inventories")
    client.connect("127.0.0.1", port)
    client.loop_start()
    for host in range(hosts):
        info = client.publish(topics.inventory(f"h{host}"), INVENTORY, qos=1, retain=True)
    info.wait_for_publish(30)
    client.disconnect()
    client.loop_stop()


def publish_reports(port: int, hosts: int, rate: float, seconds: float) -> tuple[int, float, float]:
    """Reports at `rate`/s; returns (reports acknowledged, seconds, longest wait for a PUBACK in s:
    the broker answers nothing while it saves)."""
    client = make_client(MqttSettings(port=port), "fleet")
    client.max_inflight_messages_set(65000)
    acked: set[int] = set()
    report_mids: set[int] = set()
    sent_at: dict[int, float] = {}
    longest = [0.0]
    lock = threading.Lock()

    def on_publish(client, userdata, mid, reason_code, properties) -> None:
        with lock:
            longest[0] = max(longest[0], time.monotonic() - sent_at.get(mid, time.monotonic()))
            if not reason_code.is_failure and reason_code.value == 0:
                acked.add(mid)

    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    start = time.monotonic()
    sent = 0
    while (now := time.monotonic()) - start < seconds:
        while sent < (now - start) * rate:
            with lock:
                info = client.publish(topics.report(f"h{sent % hosts}"), report(sent % hosts, sent), qos=1)
                sent_at[info.mid] = time.monotonic()
                report_mids.add(info.mid)
            sent += 1
        time.sleep(0.005)
    elapsed = time.monotonic() - start
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with lock:
            if report_mids <= acked:
                break
        time.sleep(0.01)
    client.disconnect()
    client.loop_stop()
    with lock:
        return len(report_mids & acked), elapsed, longest[0]


def measure(name: str, lines: list[str], hosts: int, rate: float, seconds: float, work: Path) -> dict:
    broker = Mosquitto(extra_config=[*lines, "log_type all"])
    broker.start(work / name.replace(" ", "-"))
    try:
        collector_session(broker.port).disconnect()  # the collector is down: its queue fills
        publish_inventories(broker.port, hosts)
        time.sleep(1.5)  # a save of the inventories, where the setting saves by time
        process = psutil.Process(broker.pid)
        cpu0, io0 = sum(process.cpu_times()[:2]), process.io_counters().write_bytes
        saves0 = broker.log_text().count("Saving in-memory database")
        acked, elapsed, longest_wait = publish_reports(broker.port, hosts, rate, seconds)
        cpu = sum(process.cpu_times()[:2]) - cpu0
        written = process.io_counters().write_bytes - io0
        saves = broker.log_text().count("Saving in-memory database") - saves0
        db_file = broker.dir / "data" / "mosquitto.db"
        db_size = db_file.stat().st_size if db_file.exists() else 0
        os.kill(broker.pid, signal.SIGKILL)
        broker._proc.wait()  # noqa: SLF001 (reaped before the same data is used again)
        broker.restart()
        delivered: set[bytes] = set()
        last = [time.monotonic()]

        def on_message(client, userdata, message) -> None:
            delivered.add(message.payload[:80])
            last[0] = time.monotonic()

        client = collector_session(broker.port, on_message)
        while time.monotonic() - last[0] < 2:
            time.sleep(0.1)
        client.disconnect()
        client.loop_stop()
    finally:
        broker.stop()
    lost = acked - len(delivered)
    return {"setting": name, "acked": acked, "reports_per_s": acked / elapsed, "wait_ms": 1000 * longest_wait,
            "lost": lost,
            "lost_s": lost / rate, "saves": saves, "cpu_s": cpu, "cpu_pct": 100 * cpu / elapsed,
            "written_mb": written / 1e6, "written_mb_per_s": written / 1e6 / elapsed, "db_mb": db_size / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=3000, help="retained inventories (~1.5 KB each)")
    parser.add_argument("--rate", type=float, default=100, help="reports a second (~600 B each)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--only", action="append", choices=list(SETTINGS), help="these settings only")
    args = parser.parse_args()
    print(f"{args.hosts} retained inventories, {args.rate:g} reports/s for {args.seconds:g} s to a stopped "
          "collector's session, then kill -9 and restart")
    print(f"{'setting':<16} {'acked':>6} {'rep/s':>6} {'wait ms':>7} {'lost':>6} {'lost s':>7} {'saves':>6} "
          f"{'CPU s':>6} {'CPU %':>6} {'written MB':>10} {'MB/s':>6} {'db MB':>6}")
    with tempfile.TemporaryDirectory(dir="/var/tmp") as work:  # a real disk: fsync costs what it costs
        for name in args.only or SETTINGS:
            row = measure(name, SETTINGS[name], args.hosts, args.rate, args.seconds, Path(work))
            print(f"{row['setting']:<16} {row['acked']:>6} {row['reports_per_s']:>6.0f} {row['wait_ms']:>7.0f} "
                  f"{row['lost']:>6} "
                  f"{row['lost_s']:>7.1f} {row['saves']:>6} {row['cpu_s']:>6.2f} {row['cpu_pct']:>6.1f} "
                  f"{row['written_mb']:>10.1f} {row['written_mb_per_s']:>6.1f} {row['db_mb']:>6.1f}", flush=True)


if __name__ == "__main__":
    main()
