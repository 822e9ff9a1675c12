"""Where the collector's time goes per report, outside MQTT: Ingest.handle on pre-built one-sample
reports of a simulated fleet (decode, model, line protocol), timed, then under cProfile.

    .venv/bin/python bench/profile_reports.py 500 20000    # hosts, reports; prints µs per report and the top calls
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time

from inprocess import fleet, inventory_messages, make_ingest

from fleetprint.schema import Report, encode
from fleetprint.simulator.load import LoadModel

INTERVAL_S = 30


def main(hosts: int, reports: int) -> None:
    ingest = make_ingest()
    simulated = fleet(hosts)
    for topic, payload in inventory_messages(simulated):
        ingest.handle(topic, payload)
    models = [LoadModel(host) for host in simulated]
    base = (int(time.time()) // INTERVAL_S - reports // hosts - 10) * INTERVAL_S
    messages = []
    for n in range(reports):
        model = models[n % hosts]
        ts = base + (n // hosts) * INTERVAL_S
        report = Report(host_id=model.host.host_id, seq=ts // INTERVAL_S, samples=[model.sample(ts, INTERVAL_S)])
        messages.append((ingest.topics.report(model.host.host_id), encode(report)))
    points = 0
    started = time.process_time()
    for topic, payload in messages:
        points += len(ingest.handle(topic, payload))
    spent = time.process_time() - started
    print(f"{spent / reports * 1e6:.1f} µs CPU per report, {points / reports:.2f} points per report, "
          f"{spent / points * 1e6:.1f} µs per point ({reports} reports, {hosts} hosts)")
    profile = cProfile.Profile()
    profile.enable()
    for topic, payload in messages:
        ingest.handle(topic, payload)
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500, int(sys.argv[2]) if len(sys.argv) > 2 else 20000)
