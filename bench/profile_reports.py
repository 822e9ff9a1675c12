"""Where the collector's time goes per report, outside MQTT: Ingest.handle on pre-built one-sample
reports of a simulated fleet (decode, model, line protocol), timed, then under cProfile.

    .venv/bin/python bench/profile_reports.py 500 20000    # hosts, reports; prints µs per report and the top calls
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
from datetime import date, datetime, timezone

from fleetprint.collector.config import load_collector_config
from fleetprint.collector.hosts import HostRegistry
from fleetprint.collector.impact.assess import Assessor
from fleetprint.collector.impact.grid import GridFactors
from fleetprint.collector.ingest import Ingest
from fleetprint.collector.stats import Counters
from fleetprint.mqtt import Topics
from fleetprint.schema import Report, encode
from fleetprint.simulator.fleet import FleetSpec, generate_fleet
from fleetprint.simulator.load import LoadModel

INTERVAL_S = 30


def main(hosts: int, reports: int) -> None:
    config = load_collector_config(None)
    ingest = Ingest(HostRegistry(config), Topics(), Counters(), Assessor(config, GridFactors.from_config(config)))
    fleet = generate_fleet(hosts, 1, date.today(), FleetSpec())
    now = datetime.now(timezone.utc)
    for host in fleet:
        ingest.handle(Topics().inventory(host.host_id), encode(host.inventory(now)))
    models = [LoadModel(host) for host in fleet]
    base = (int(time.time()) // INTERVAL_S - reports // hosts - 10) * INTERVAL_S
    messages = []
    for n in range(reports):
        model = models[n % hosts]
        ts = base + (n // hosts) * INTERVAL_S
        report = Report(host_id=model.host.host_id, seq=ts // INTERVAL_S, samples=[model.sample(ts, INTERVAL_S)])
        messages.append((Topics().report(model.host.host_id), encode(report)))
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
