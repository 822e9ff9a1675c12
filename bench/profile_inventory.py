"""Where the collector's time goes per inventory (one HostModel per host): cProfile of Ingest.handle.

    .venv/bin/python bench/profile_inventory.py 400     # hosts; prints ms per inventory and the top calls
"""
import cProfile, pstats, time, sys
from datetime import date, datetime, timezone
from fleetprint.collector.config import load_collector_config
from fleetprint.collector.hosts import HostRegistry
from fleetprint.collector.impact.assess import Assessor
from fleetprint.collector.impact.grid import GridFactors
from fleetprint.collector.ingest import Ingest
from fleetprint.collector.stats import Counters
from fleetprint.mqtt import Topics
from fleetprint.schema import encode
from fleetprint.simulator.fleet import FleetSpec, generate_fleet
config = load_collector_config(None)
grid = GridFactors.from_config(config)
ingest = Ingest(HostRegistry(config), Topics(), Counters(), Assessor(config, grid))
fleet = generate_fleet(int(sys.argv[1]) if len(sys.argv) > 1 else 300, 1, date.today(), FleetSpec())
now = datetime.now(timezone.utc)
msgs = [(f"fleetprint/v1/hosts/{h.host_id}/inventory", encode(h.inventory(now))) for h in fleet]
for t, p in msgs[:20]: ingest.handle(t, p)
pr = cProfile.Profile(); t0 = time.process_time(); pr.enable()
for t, p in msgs[20:]: ingest.handle(t, p)
pr.disable(); dt = time.process_time() - t0
print(f"{dt / (len(msgs) - 20) * 1e3:.2f} ms CPU per inventory (under cProfile)")
pstats.Stats(pr).sort_stats("cumulative").print_stats(25)
