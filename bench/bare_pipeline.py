"""The bare pipeline the collector is compared with (DESIGN §8): the least a Python collector does.

paho-mqtt MQTT v5 subscriber on a shared subscription (QoS 1, persistent session, Receive
Maximum 10,000, manual acknowledgement after the write, like the collector), json.loads,
one formula (a*ln(b*(x+c))+d), an f-string line of line protocol, 5,000-line batches (or
every second), POST /write to InfluxDB 1.x over one kept-alive HTTP connection. One point
per sample, measurement `fp_bare`. Runs until SIGTERM, then writes and acknowledges what
it holds.

With `--collector-points HOSTS.json` ({host_id: {"kind", "site", "zone", "services"}}) it
writes instead what the collector writes for a sample, as far as the database is concerned:
an `fp_bare_host` point with the tags and the 23-25 fields of `fp_host`, and an
`fp_bare_service` point with those of `fp_service` per service of the host, their values
from the one formula. This separates the database's work for the collector's schema from
the consumer's own.

    python bench/bare_pipeline.py --port 1883 --prefix bench/v1 --influx-url http://127.0.0.1:8086 --db bench
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import signal
import sys
import threading
import urllib.parse
from datetime import datetime

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--group", default="bare")
    parser.add_argument("--client-id", default="bare-pipeline")
    parser.add_argument("--influx-url", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--flush-s", type=float, default=1.0)
    parser.add_argument("--collector-points", help="hosts JSON: write the collector's points and fields")
    args = parser.parse_args()
    hosts = None
    if args.collector_points:
        with open(args.collector_points, encoding="utf-8") as handle:
            hosts = json.load(handle)

    url = urllib.parse.urlsplit(args.influx_url)
    path = "/write?" + urllib.parse.urlencode({"db": args.db, "precision": "ms"})
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)

    lock = threading.Condition()
    lines: list[str] = []
    acks: list[int] = []
    stop = threading.Event()
    a, b, c, d = 42.0, 0.9, 1.0, 60.0

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        client.subscribe(f"$share/{args.group}/{args.prefix}/hosts/+/report", qos=1)

    def on_subscribe(client, userdata, mid, reason_codes, properties) -> None:
        print("subscribed", flush=True)

    def as_collector(host: str, seq: int, s: dict, power: float, ts: int) -> list[str]:
        """The collector's points for one sample, their values from the formula."""
        h = hosts[host]
        head, tail = f",host={host},kind={h['kind']}", f",site={h['site']},zone={h['zone']}"
        interval = float(s["interval_s"])
        energy = power * interval / 3600
        gwp, adp, pe, emb = energy * 0.05, energy * 1e-8, energy * 0.011, interval * 0.0021
        out = [f"fp_bare_host{head},power_source=modelled{tail} interval_s={interval},"
               f"cpu_util_pct={float(s['cpu_util_pct'])},mem_used_bytes={s.get('mem_used_bytes', 0)}i,"
               f"mem_total_bytes={s.get('mem_total_bytes', 0)}i,disk_read_bytes={s.get('disk_read_bytes', 0)}i,"
               f"disk_write_bytes={s.get('disk_write_bytes', 0)}i,net_rx_bytes={s.get('net_rx_bytes', 0)}i,"
               f"net_tx_bytes={s.get('net_tx_bytes', 0)}i,power_w={power},energy_wh={energy},usage_gwp_gco2e={gwp},"
               f"usage_adp_kgsbeq={adp},usage_pe_mj={pe},embodied_gwp_gco2e={emb},embodied_adp_kgsbeq={emb * 1e-6},"
               f"embodied_pe_mj={emb * 0.1},power_model=\"specpower_fit\",pue=1.0,gwp_gco2e_per_kwh=50.0,"
               f"grid_source=\"annual\",past_lifetime=false,seq={seq}i {ts}"]
        share = 1.0 / len(h["services"])
        for service in h["services"]:
            out.append(f"fp_bare_service{head},power_source=modelled,service={service}{tail} interval_s={interval},"
                       f"cpu_share={share},power_w={power * share},energy_wh={energy * share},"
                       f"usage_gwp_gco2e={gwp * share},usage_adp_kgsbeq={adp * share},usage_pe_mj={pe * share},"
                       f"embodied_gwp_gco2e={emb * share},embodied_adp_kgsbeq={emb * share * 1e-6},"
                       f"embodied_pe_mj={emb * share * 0.1} {ts}")
        return out

    def on_message(client, userdata, message) -> None:
        report = json.loads(message.payload)
        host = report["host_id"]
        out = []
        for s in report["samples"]:
            x = s["cpu_util_pct"]
            power = a * math.log(b * (x + c)) + d
            ts = int(datetime.fromisoformat(s["ts"]).timestamp() * 1000)
            if hosts is None:
                out.append(f"fp_bare,host={host} cpu_util_pct={x},power_w={power} {ts}")
            else:
                out.extend(as_collector(host, report["seq"], s, power, ts))
        with lock:
            lines.extend(out)
            acks.append(message.mid)
            if len(lines) >= args.batch:
                lock.notify()

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=args.client_id, protocol=paho.MQTTv5,
                         manual_ack=True)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 10000
    client.connect(args.host, args.port, 60, clean_start=False, properties=props)
    client.loop_start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def take() -> tuple[list[str], list[int]]:
        nonlocal lines, acks
        with lock:
            if len(lines) < args.batch and not stop.is_set():
                lock.wait(args.flush_s)
            batch, mids = lines, acks
            lines, acks = [], []
            return batch, mids

    while True:
        stopping = stop.is_set()
        batch, mids = take()
        if batch:
            conn.request("POST", path, body="\n".join(batch).encode())
            response = conn.getresponse()
            response.read()
            if response.status != 204:
                print(f"write failed: HTTP {response.status}", file=sys.stderr, flush=True)
                continue  # not acknowledged: delivered again
        for mid in mids:
            client.ack(mid, 1)
        if stopping:
            break
    client.disconnect()
    client.loop_stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
