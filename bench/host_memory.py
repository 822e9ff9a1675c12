"""What the collector keeps per known host, outside MQTT: Ingest.handle on a simulated fleet's
inventories, then one report per host (what the collector keeps per reporting host: its latest
`seq`, its rate bucket, its services), its resident memory and its traced Python allocations
before and after.

    .venv/bin/python bench/host_memory.py 10000            # hosts; bytes per host, models, ms per inventory
    .venv/bin/python bench/host_memory.py 10000 --traced   # the same, with tracemalloc's count
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc

import psutil
from inprocess import fleet, inventory_messages, make_ingest

from fleetprint.schema import Report, encode
from fleetprint.simulator.load import LoadModel

WARM_UP = 50  # hosts taken before measuring: boaviztapi's import-time tables and first caches


def main(hosts: int, traced: bool) -> None:
    ingest = make_ingest()
    registry = ingest.hosts
    simulated = fleet(hosts + WARM_UP)
    messages = inventory_messages(simulated)
    now = int(time.time()) // 30 * 30
    reports = [(ingest.topics.report(host.host_id), encode(Report(host_id=host.host_id, seq=1, samples=[
        LoadModel(host).sample(now, 30)]))) for host in simulated]
    for topic, payload in messages[:WARM_UP] + reports[:WARM_UP]:
        ingest.handle(topic, payload)
    gc.collect()
    process = psutil.Process()
    if traced:
        tracemalloc.start()
    rss0, cpu0 = process.memory_info().rss, time.process_time()
    for topic, payload in messages[WARM_UP:]:
        ingest.handle(topic, payload)
    cpu = time.process_time() - cpu0
    for topic, payload in reports[WARM_UP:]:
        ingest.handle(topic, payload)
    gc.collect()
    rss = (process.memory_info().rss - rss0) / hosts
    line = f"{hosts} hosts, {registry.configurations()} models: resident {rss:,.0f} B per host"
    if traced:
        line += f", traced {tracemalloc.get_traced_memory()[0] / hosts:,.0f} B per host"
    else:
        line += f", {cpu / hosts * 1e3:.2f} ms CPU per inventory"
    print(line)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000, "--traced" in sys.argv)
