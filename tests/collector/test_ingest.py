"""Ingest: a report becomes one point per sample; the agent's drop count rides on the first."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.host_limits import ServiceBound
from fleetprint.collector.hosts import HostRegistry
from fleetprint.collector.impact.assess import Assessor
from fleetprint.collector.impact.grid import GridFactors
from fleetprint.collector.ingest import Ingest, SampleWindow
from fleetprint.collector.settings import AttributionSettings
from fleetprint.collector.stats import Counters
from fleetprint.mqtt import Topics
from fleetprint.schema import Cpu, Inventory, Report, Sample, encode, encode_report

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)


def _ingest(**options) -> tuple[Ingest, Counters]:
    """An Ingest that knows host h1, at T0 by its clock."""
    hosts = HostRegistry(CollectorConfig())
    hosts.update(Inventory(host_id="h1", taken_at=T0, kind="server", ram_gb=32,
                           cpu=Cpu(model="Intel Xeon Gold 6130", sockets=1, cores=16, threads=32)))
    counters = Counters()
    return Ingest(hosts, Topics(), counters, Assessor(AttributionSettings(), {}, GridFactors({}, {}, None)),
                  clock=lambda: T0.timestamp(), **options), counters


def test_report_points_and_dropped_count() -> None:
    ingest, counters = _ingest()
    samples = [Sample(ts=T0 + timedelta(seconds=30 * i), interval_s=30, cpu_util_pct=10.0) for i in range(3)]
    lines = ingest.handle(Topics().report("h1"), encode(Report(host_id="h1", seq=4, samples=samples, dropped_samples=7)))
    host_lines = [line for line in lines if line.startswith("fp_host,")]
    service_lines = [line for line in lines if line.startswith("fp_service,")]
    assert len(host_lines) == 3 and len(service_lines) == 3  # no process data, no weights: all unallocated
    assert all(",service=unallocated," in line for line in service_lines)
    assert "agent_dropped_samples=7i" in host_lines[0]
    assert all("agent_dropped_samples" not in line for line in host_lines[1:])
    assert counters.get("samples_ok") == 3 and counters.get("reports_ok") == 1


def test_an_earlier_agents_report_and_a_new_agents_write_the_same_points() -> None:
    """Report schema 1 (CPU shares as `services`, agents of earlier releases) and 2 (`cpu_shares`)."""
    shares = {"web": 0.3, "db": 0.1, "over-the-limit": 0.05}
    samples = [Sample(ts=T0 + timedelta(seconds=30 * i), interval_s=30, cpu_util_pct=50.0, cpu_shares=shares)
               for i in range(2)]
    new = encode_report(Report(host_id="h1", seq=1, samples=samples))
    old = new.replace(b'"fleetprint.report/2"', b'"fleetprint.report/1"').replace(b'"cpu_shares"', b'"services"')
    assert b'"schema":"fleetprint.report/2"' in new and b'"services"' in old
    lines = {}
    for name, payload in (("new", new), ("old", old)):
        ingest, counters = _ingest(service_bound=ServiceBound(2, "unallocated"))
        lines[name] = ingest.handle(Topics().report("h1"), payload)
        assert counters.get("reports_ok") == 1 and counters.get("services_over_limit") == 2, name
    assert lines["old"] == lines["new"]
    services = {line.split(",service=")[1].split(",")[0] for line in lines["new"] if line.startswith("fp_service,")}
    assert services == {"web", "db", "unallocated"}


def test_samples_dated_far_from_now_are_refused_and_counted() -> None:
    """A wrong clock or a hostile host must not open shards far from now nor freeze the rollups."""
    marked: list[int] = []
    ingest, counters = _ingest(on_sample=marked.append, window=SampleWindow(max_age_s=86_400, max_ahead_s=300))
    times = [datetime(1600, 1, 1, tzinfo=timezone.utc), T0 - timedelta(days=1, seconds=1),
             T0 - timedelta(days=1), T0, T0 + timedelta(seconds=300), T0 + timedelta(seconds=301),
             datetime(9999, 12, 31, tzinfo=timezone.utc)]
    samples = [Sample(ts=ts, interval_s=30, cpu_util_pct=10.0) for ts in times]
    lines = ingest.handle(Topics().report("h1"), encode(Report(host_id="h1", seq=1, samples=samples,
                                                               dropped_samples=2)))
    host_lines = [line for line in lines if line.startswith("fp_host,")]
    kept_ms = [int(ts.timestamp() * 1000) for ts in times[2:5]]
    assert [int(line.rsplit(" ", 1)[1]) for line in host_lines] == kept_ms == marked
    assert "agent_dropped_samples=2i" in host_lines[0]  # the agent's count survives a refused first sample
    assert counters.get("samples_refused_too_old") == 2 and counters.get("samples_refused_in_future") == 2
    assert counters.get("samples_refused_total") == 4 and counters.get("samples_ok") == 3


def test_a_replayed_report_never_overwrites_a_later_one() -> None:
    ingest, counters = _ingest()

    def send(seq: int, *offsets_s: int) -> list[int]:
        samples = [Sample(ts=T0 + timedelta(seconds=s), interval_s=30, cpu_util_pct=10.0) for s in offsets_s]
        lines = ingest.handle(Topics().report("h1"), encode(Report(host_id="h1", seq=seq, samples=samples)))
        return [int(line.rsplit(" ", 1)[1]) // 1000 - int(T0.timestamp()) for line in lines
                if line.startswith("fp_host,")]

    assert send(5, 0, 30, 60) == [0, 30, 60]
    assert send(3, 30, 90) == [90], "an older seq may bring newer samples (an agent whose state was wiped)"
    assert send(5, 0, 30, 60) == [0, 30, 60], "the same message delivered twice writes the same points"
    assert send(4, 60) == []
    assert counters.get("samples_refused_replayed") == 2
    assert send(6, 120) == [120]
