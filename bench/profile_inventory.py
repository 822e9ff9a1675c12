"""Where the collector's time goes per inventory (one HostModel per host): cProfile of Ingest.handle.

    .venv/bin/python bench/profile_inventory.py 400     # hosts; prints ms per inventory and the top calls
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time

from inprocess import fleet, inventory_messages, make_ingest

WARM_UP = 20  # inventories taken before profiling: boaviztapi's first tables and caches


def main(hosts: int) -> None:
    ingest = make_ingest()
    messages = inventory_messages(fleet(hosts))
    for topic, payload in messages[:WARM_UP]:
        ingest.handle(topic, payload)
    profile = cProfile.Profile()
    started = time.process_time()
    profile.enable()
    for topic, payload in messages[WARM_UP:]:
        ingest.handle(topic, payload)
    profile.disable()
    spent = time.process_time() - started
    print(f"{spent / (len(messages) - WARM_UP) * 1e3:.2f} ms CPU per inventory (under cProfile)")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
