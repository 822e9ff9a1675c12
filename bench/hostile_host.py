"""What one flooding host costs the others: a canary host's delay while another floods.

    .venv/bin/python bench/hostile_host.py                              # 60 s of flood per case
    .venv/bin/python bench/hostile_host.py --seconds 20 --flood-rate 100

One host publishes 20 reports a second (`--flood-rate`), each one sample naming the same 256
services, while a canary host publishes one small report every 0.5 s. The real collector
runs twice: once with the per-host limits lifted (`max_services_per_host = 256`, no rate limit)
and once with the defaults (64 services per host, 5,000 points/s with a burst of 300,000).
For each, the canary's delay (from publication to its point being readable in InfluxDB,
polled every 0.1 s) and what the collector counted. Mosquitto and InfluxDB are started here
on free loopback ports (tests/services.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))

from processes import Program, collector_config, connected_client, wait_until  # noqa: E402  (tests/)
from services import InfluxDB, Mosquitto  # noqa: E402  (tests/services.py)

from fleetprint.mqtt import Topics  # noqa: E402
from fleetprint.schema import Cpu, Inventory, Report, Sample, encode  # noqa: E402

FLOOD_SERVICES = 256
CANARY_EVERY_S = 0.5
CASES = {
    "limits lifted": "max_services_per_host = 256\nmax_points_per_host_per_s = 1e12\n"
                     "max_points_per_host_burst = 1e12",
    "defaults": "",
}


def _inventory(host: str) -> bytes:
    return encode(Inventory(host_id=host, taken_at=datetime.now(timezone.utc), kind="server", ram_gb=64,
                            cpu=Cpu(model="Intel Xeon Gold 6130", sockets=2, cores=32, threads=64)))


def _report(host: str, seq: int, cpu_shares: dict[str, float]) -> tuple[bytes, float]:
    now = datetime.now(timezone.utc)
    return encode(Report(host_id=host, seq=seq, samples=[Sample(ts=now, interval_s=0.05, cpu_util_pct=50.0,
                                                                cpu_shares=cpu_shares)])), now.timestamp()


def _flood(publisher, reports_per_s: float, stop: threading.Event) -> None:
    topic, seq = Topics().report("flooding-host"), 0
    next_at = time.monotonic()
    while not stop.is_set():
        seq += 1
        services = {f"svc-{n}": 0.9 / FLOOD_SERVICES for n in range(FLOOD_SERVICES)}
        publisher.publish(topic, _report("flooding-host", seq, services)[0], qos=1)
        next_at += 1 / reports_per_s
        stop.wait(max(0.0, next_at - time.monotonic()))


def run_case(name: str, extra: str, seconds: float, flood_rate: float, workdir: Path) -> dict[str, float]:
    mosquitto, influx = Mosquitto(), InfluxDB()
    mosquitto.start(workdir / f"{name}-mosquitto")
    influx.start(workdir / f"{name}-influxdb")
    database = "hostile"
    influx.create_database(database)
    config = collector_config(workdir / f"{name}.toml", mosquitto, influx, database, "hostile-bench",
                              collector_extra=extra)
    collector = Program(["collector", "run", "-c", str(config)], workdir / f"{name}.log")
    publisher = connected_client(mosquitto.port, "bench-hostile")
    stop = threading.Event()
    try:
        wait_until(lambda: "subscribed to reports" in collector.log_text(), watch=[collector], what="subscribed")
        for host in ("flooding-host", "canary-host"):
            publisher.publish(Topics().inventory(host), _inventory(host), qos=1, retain=True).wait_for_publish(5)
        flood = threading.Thread(target=_flood, args=(publisher, flood_rate, stop), daemon=True)
        flood.start()
        delays, seq, ends = [], 0, time.monotonic() + seconds
        while time.monotonic() < ends:
            seq += 1
            payload, sent_at = _report("canary-host", seq, {})
            publisher.publish(Topics().report("canary-host"), payload, qos=1)
            query = f"SELECT count(power_w) AS n FROM fp_host WHERE host = 'canary-host' AND seq = {seq}"
            wait_until(lambda: influx.query(query, database), timeout_s=300, poll_s=0.1, watch=[collector],
                       what=f"canary report {seq}")
            delays.append(time.time() - sent_at)
            time.sleep(max(0.0, CANARY_EVERY_S - (time.time() - sent_at)))
        stop.set()
        flood.join(5)
        counts = influx.query("SELECT last(rejected_rate_limited) AS limited, last(services_over_limit) AS over, "
                              "last(reports_ok) AS ok FROM fp_collector", database)[0]
    finally:
        stop.set()
        publisher.disconnect()
        publisher.loop_stop()
        collector.stop(60)
        mosquitto.stop()
        influx.stop()
    delays.sort()
    return {"canary reports": len(delays), "canary delay p50 s": statistics.median(delays),
            "canary delay p95 s": delays[int(0.95 * (len(delays) - 1))], "canary delay max s": delays[-1],
            "reports stored": counts["ok"] or 0, "flood reports rate-limited": counts["limited"] or 0,
            "service shares folded": counts["over"] or 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="flood time per case")
    parser.add_argument("--flood-rate", type=float, default=20.0, help="the flooding host's reports per second")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="fp-hostile-") as workdir:
        for name, extra in CASES.items():
            print(f"[{time.strftime('%H:%M:%S')}] case: {name}", file=sys.stderr, flush=True)
            results[name] = run_case(name.replace(" ", "-"), extra, args.seconds, args.flood_rate, Path(workdir))
    print(f"\nOne host flooding ({args.flood_rate:g} reports/s of {FLOOD_SERVICES} services) for "
          f"{args.seconds:.0f} s; a canary every {CANARY_EVERY_S} s")
    print(f"{'':30}" + "".join(f"{name:>16}" for name in results))
    for key in next(iter(results.values())):
        print(f"{key:30}" + "".join(f"{values[key]:>16,.2f}" if isinstance(values[key], float)
                                     else f"{values[key]:>16,}" for values in results.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
