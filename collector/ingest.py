"""Validating messages from the broker and turning them into points.

Every message either becomes points or is rejected with a reason: `oversize`,
`malformed` (not JSON), `wrong_schema`, `invalid` (types, ranges, NaN, unknown fields),
`bad_topic`, `host_mismatch` (the body names another host than its topic),
`no_inventory` (a report whose host's inventory did not arrive in time: see held.py),
`rate_limited` (the host brings points faster than its share: see host_limits.py), and
`internal_error` (the collector failed on it: a bug or a model failure, logged with its traceback).
Samples of a report that is otherwise stored are refused when dated too far from now
(`too_old`, `in_future`) or already stored under a later sequence number (`replayed`).
Rejections and refusals are counted per reason and logged; they never stop the collector.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.host_limits import ReportGuard, ServiceBound
from fleetprint.collector.hosts import HostRegistry
from fleetprint.collector.impact.assess import Assessor
from fleetprint.collector.impact.grid import GridFactors
from fleetprint.collector.impact.host_model import HostModel
from fleetprint.collector.settings import MAX_SAMPLE_AGE_DAYS, MAX_SAMPLE_AHEAD_S, MAX_SERVICES_PER_HOST
from fleetprint.collector.stats import Counters, ThrottledLog
from fleetprint.collector.store.points import host_sample_line, inventory_line, service_sample_line
from fleetprint.mqtt import Topics
from fleetprint.schema import PayloadError, Sample, decode_inventory, decode_report

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SampleWindow:
    """How far from now a sample's time may lie to be stored."""

    max_age_s: float = MAX_SAMPLE_AGE_DAYS * 86_400
    max_ahead_s: float = MAX_SAMPLE_AHEAD_S


def ingest_from_config(config: CollectorConfig, counters: Counters, grid: GridFactors,
                       on_sample: Callable[[int], None] | None = None) -> Ingest:
    """The Ingest that `fleetprint collector run` uses, with the config's limits."""
    limits = config.collector
    window = SampleWindow(limits.max_sample_age_days * 86_400, limits.max_sample_ahead_s)
    return Ingest(HostRegistry(config), Topics(config.mqtt.topic_prefix), counters,
                  Assessor(config.attribution, config.sites, grid), on_sample=on_sample, window=window,
                  service_bound=ServiceBound(limits.max_services_per_host, config.attribution.unallocated),
                  guard=ReportGuard(limits.max_points_per_host_per_s, limits.max_points_per_host_burst))


class AwaitingInventory(Exception):
    """A valid-looking report from a host whose inventory has not arrived yet: hold it."""

    def __init__(self, host_id: str) -> None:
        super().__init__(host_id)
        self.host_id = host_id


class Ingest:
    """Decodes, validates and models inventories and reports; returns line-protocol points."""

    def __init__(self, hosts: HostRegistry, topics: Topics, counters: Counters, assessor: Assessor,
                 on_sample: Callable[[int], None] | None = None, window: SampleWindow = SampleWindow(),
                 clock: Callable[[], float] = time.time, service_bound: ServiceBound | None = None,
                 guard: ReportGuard | None = None) -> None:
        self.hosts = hosts
        self.service_bound = service_bound or ServiceBound(MAX_SERVICES_PER_HOST, assessor.attribution.unallocated)
        self.guard = guard or ReportGuard(rate_per_s=math.inf, burst=math.inf)
        self.window = window
        self.clock = clock
        self.assessor = assessor
        self.on_sample = on_sample  # told each sample's time (ms), e.g. to roll its period up again
        self.topics = topics
        self.counters = counters
        self._rejections = ThrottledLog(log)

    def handle(self, topic: str, payload: bytes, first_time: bool = True) -> list[str]:
        """Points for one message; [] when it was rejected (counted and logged) or carries none.

        Raises AwaitingInventory for a report from a host not known yet; `first_time` is
        False when a held report is handled again.
        """
        if first_time:
            self.counters.add("messages_total")
        try:
            host_id = self.topics.host_of(topic)
            if host_id is None:
                raise PayloadError("bad_topic", f"not a per-host topic: {topic[:200]!r}")
            if topic.endswith("/report"):
                return self._report(host_id, payload)
            if topic.endswith("/inventory"):
                return self._inventory(host_id, payload)
            raise PayloadError("bad_topic", f"unexpected topic {topic[:200]!r}")
        except PayloadError as exc:
            self._reject(topic, exc)
            return []
        except AwaitingInventory:
            raise
        except Exception as exc:  # a bug or a model failure must cost one message, never the collector
            log.exception("failed to process a message on %s", topic[:200])
            self._reject(topic, PayloadError("internal_error", f"{type(exc).__name__}: {exc}"))
            return []

    def _inventory(self, host_id: str, payload: bytes) -> list[str]:
        if not payload:
            self.counters.add("inventories_cleared")
            return []
        inventory = decode_inventory(payload)
        if inventory.host_id != host_id:
            raise PayloadError("host_mismatch", f"body names host {inventory.host_id!r}")
        model = self.hosts.update(inventory)
        self.counters.add("inventories_ok")
        return [inventory_line(inventory, model)]

    def _report(self, host_id: str, payload: bytes) -> list[str]:
        report = decode_report(payload)
        if report.host_id != host_id:
            raise PayloadError("host_mismatch", f"body names host {report.host_id!r}")
        model = self.hosts.get(host_id)
        if model is None:
            raise AwaitingInventory(host_id)
        points = sum(1 + len(sample.cpu_shares) for sample in report.samples)
        if not self.guard.take(host_id, points):
            raise PayloadError("rate_limited", f"{points} points over the host's rate "
                                               f"({self.guard.rate_per_s:g} points/s)")
        times_s = [sample.ts.timestamp() for sample in report.samples]
        samples, times_s = self._in_window(host_id, report.samples, times_s)
        samples, times_s = self._not_replayed(host_id, report.seq, samples, times_s)
        dropped = report.dropped_samples or None
        lines: list[str] = []
        for sample, ts in zip(samples, times_s):
            lines.extend(self._sample_lines(model, report.seq, sample, int(round(ts * 1000)), dropped))
            dropped = None  # the agent's count of dropped samples goes on the first point only
        self.counters.add("reports_ok")
        self.counters.add("samples_ok", len(samples))
        return lines

    def _in_window(self, host_id: str, samples: list[Sample], times_s: list[float]) -> tuple[list[Sample], list[float]]:
        """The samples dated within the window around now, and their times (s); the others are
        counted and logged."""
        now_s = self.clock()
        oldest_s, newest_s = now_s - self.window.max_age_s, now_s + self.window.max_ahead_s
        if oldest_s <= min(times_s) and max(times_s) <= newest_s:
            return samples, times_s
        kept: list[Sample] = []
        kept_times: list[float] = []
        for sample, ts in zip(samples, times_s):
            if oldest_s <= ts <= newest_s:
                kept.append(sample)
                kept_times.append(ts)
                continue
            reason = "too_old" if ts < oldest_s else "in_future"
            self.counters.refuse_samples(reason)
            self._rejections.log(reason, f"refused a sample of {host_id} dated {sample.ts.isoformat()}: {reason}",
                                 self.counters.get(f"samples_refused_{reason}"))
        return kept, kept_times

    def _not_replayed(self, host_id: str, seq: int, samples: list[Sample],
                      times_s: list[float]) -> tuple[list[Sample], list[float]]:
        """Samples not already stored under a later sequence number, and their times (s).

        A report with a lower `seq` than the host's latest must not overwrite what that one
        stored: its samples dated up to the latest's newest are refused as `replayed`. The same
        `seq` again (the broker delivering a message twice) writes the same points and passes;
        so do samples newer than any seen (an agent whose state was wiped starts again at 1).
        """
        if not samples:
            return samples, times_s
        stored_up_to_s = self.guard.stored_up_to(host_id, seq, max(times_s))
        if stored_up_to_s is None:
            return samples, times_s
        kept = [sample for sample, ts in zip(samples, times_s) if ts > stored_up_to_s]
        kept_times = [ts for ts in times_s if ts > stored_up_to_s]
        if len(kept) < len(samples):
            self.counters.refuse_samples("replayed", len(samples) - len(kept))
            self._rejections.log("replayed", f"refused {len(samples) - len(kept)} samples of {host_id} sent again "
                                 f"under seq {seq}, older than its latest",
                                 self.counters.get("samples_refused_replayed"))
        return kept, kept_times

    def _sample_lines(self, model: HostModel, seq: int, sample: Sample, time_ms: int,
                      dropped: int | None) -> list[str]:
        """The host's point and one point per service it is split across."""
        if sample.cpu_shares:
            shares, over = self.service_bound.bounded(model.host_id, sample.cpu_shares)
            if over:
                sample = msgspec.structs.replace(sample, cpu_shares=shares)
                self.counters.add("services_over_limit", over)
                self._rejections.log("services_over_limit", f"{model.host_id} names more than "
                                     f"{self.service_bound.max_services} services: the share of {over} more goes "
                                     f"to {self.service_bound.unallocated}", self.counters.get("services_over_limit"))
        assessment = self.assessor.assess(model, sample, time_ms)
        if assessment.power.rejected:
            self.counters.add("power_readings_rejected", len(assessment.power.rejected))
        fp = assessment.footprint
        lines = [host_sample_line(model, seq, sample, fp, time_ms, dropped)]
        if self.on_sample is not None:
            self.on_sample(time_ms)
        for service, part in assessment.services.items():
            lines.append(service_sample_line(model, service, sample, fp.step, part, time_ms))
        return lines

    def reject_unknown_host(self, topic: str) -> None:
        """A held report whose host's inventory never came."""
        self._reject(topic, PayloadError("no_inventory", "no inventory received for this host in time"))

    def _reject(self, topic: str, exc: PayloadError) -> None:
        self.counters.reject(exc.reason)
        self._rejections.log(exc.reason, f"rejected message on {topic[:200]}: {exc.reason}: {exc.detail[:300]}",
                             self.counters.get(f"rejected_{exc.reason}"))
