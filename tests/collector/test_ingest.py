"""Ingest: a report becomes one point per sample; the agent's drop count rides on the first."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.hosts import HostRegistry
from fleetprint.collector.impact.assess import Assessor
from fleetprint.collector.impact.grid import GridFactors
from fleetprint.collector.ingest import Ingest
from fleetprint.collector.stats import Counters
from fleetprint.mqtt import Topics
from fleetprint.schema import Cpu, Inventory, Report, Sample, encode

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)


def test_report_points_and_dropped_count() -> None:
    hosts = HostRegistry(CollectorConfig())
    hosts.update(Inventory(host_id="h1", taken_at=T0, kind="server", ram_gb=32,
                           cpu=Cpu(model="Intel Xeon Gold 6130", sockets=1, cores=16, threads=32)))
    counters = Counters()
    ingest = Ingest(hosts, Topics(), counters, Assessor(CollectorConfig(), GridFactors({}, {}, None)))
    samples = [Sample(ts=T0 + timedelta(seconds=30 * i), interval_s=30, cpu_util_pct=10.0) for i in range(3)]
    lines = ingest.handle(Topics().report("h1"), encode(Report(host_id="h1", seq=4, samples=samples, dropped_samples=7)))
    host_lines = [line for line in lines if line.startswith("fp_host,")]
    service_lines = [line for line in lines if line.startswith("fp_service,")]
    assert len(host_lines) == 3 and len(service_lines) == 3  # no process data, no weights: all unallocated
    assert all(",service=unallocated," in line for line in service_lines)
    assert "agent_dropped_samples=7i" in host_lines[0]
    assert all("agent_dropped_samples" not in line for line in host_lines[1:])
    assert counters.get("samples_ok") == 3 and counters.get("reports_ok") == 1
