"""The collector's main loop (`Collector`): MQTT in, points out, each message acknowledged only once stored.

Reports arrive on one MQTT v5 shared subscription (`$share/<group>/<prefix>/hosts/+/report`)
so that N collectors split the load; every collector also reads all inventories. The
session is persistent (`clean_start=False` plus a session expiry), so a restarted
collector gets what arrived while it was away. Acknowledgement is manual: a message is
PUBACKed after its points are written, so while InfluxDB is down the broker keeps holding
what is not yet stored, and the number of unacknowledged messages (Receive Maximum)
bounds the collector's memory. The session is held by a child process
(collector/mqtt_session.py), so that receiving and modelling run on two cores. The main loop
rewrites the health file (fleetprint/health.py) at most every `health_interval_s`, also while it
retries a database that is down.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from fleetprint.collector.assets.job import EstateJob
from fleetprint.collector.budgets.job import BudgetJob
from fleetprint.collector.budgets.leader import Leadership
from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.held import HeldMessage, HeldReports
from fleetprint.collector.impact.grid_live import LiveIntensity
from fleetprint.collector.ingest import AwaitingInventory, Ingest
from fleetprint.collector.mqtt_session import MqttSession, SessionLost, SessionSettings, Subscription
from fleetprint.collector.rollups import RollupFailed, Rollups
from fleetprint.collector.stats import Counters, ThrottledLog
from fleetprint.collector.store.points import collector_health_line
from fleetprint.collector.store.sink import (
    RejectedWriteError,
    RetryableWriteError,
    Sink,
    TooLargeWriteError,
)
from fleetprint.health import HealthFile
from fleetprint.mqtt import Topics
from fleetprint.reach import ReachLog
from fleetprint.schema import utc_now

if TYPE_CHECKING:  # the report's modules (the [report] extra) are imported only when deliveries are configured
    from fleetprint.report.deliveries import ReportDeliveries

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 30.0
# Mosquitto's count of messages it dropped (queues full): a loss that agents cannot see.
BROKER_DROPPED_TOPIC = "$SYS/broker/publish/messages/dropped"


@dataclass
class _Batch:
    lines: list[str] = field(default_factory=list)
    acks: list[tuple[int, int]] = field(default_factory=list)  # (mid, qos) to PUBACK once written


class Collector:
    """Subscribes, turns messages into points, writes them in batches and then acknowledges."""

    def __init__(self, config: CollectorConfig, sink: Sink, ingest: Ingest, counters: Counters,
                 rollups: Rollups | None = None, live_intensity: LiveIntensity | None = None,
                 budgets: BudgetJob | None = None, leadership: Leadership | None = None,
                 estate: EstateJob | None = None) -> None:
        self.config = config
        self.estate = estate
        self.reports: ReportDeliveries | None = None
        self.rollups = rollups
        self.live_intensity = live_intensity
        self.budgets = budgets
        self.leadership = leadership or Leadership(config.collector.id, config.budgets.leader_settle_s)
        self.sink = sink
        self.ingest = ingest
        self.counters = counters
        self.topics = Topics(config.mqtt.topic_prefix)
        self._collectors_head = f"{self.topics.prefix}/collectors/"
        self._alerts_head = f"{self.topics.prefix}/alerts/"
        self._batch = _Batch()
        self._batch_ready = threading.Condition()
        self._closing = False  # set before the last batch: nothing waits for room any more
        self._refusals = ThrottledLog(log, logging.ERROR)
        self._influxdb_reach = ReachLog(log, config.influxdb.url, "reports wait unacknowledged in the broker",
                                        peer="InfluxDB")
        self._held = HeldReports(config.collector.receive_maximum, config.collector.max_held_bytes,
                                 config.collector.inventory_wait_s)
        self.session = MqttSession(self._session_settings(), self._on_message)
        self.health = HealthFile(Path(config.collector.health_file), "collector", config.collector.id,
                                 "main-loop pass", config.collector.health_interval_s, self.health_max_age_s(config))
        self._next_beat = 0.0

    @staticmethod
    def health_max_age_s(config: CollectorConfig) -> float:
        """Past this, the main loop is hung: three beats missed, plus one flush wait, one write's timeout
        and one retry pause (the loop beats between retries too)."""
        return (3 * config.collector.health_interval_s + config.influxdb.flush_interval_s
                + config.influxdb.timeout_s + MAX_BACKOFF_S)

    def _beat(self) -> None:
        """Rewrite the health file if it is due."""
        now = time.monotonic()
        if now >= self._next_beat:
            self._next_beat = now + self.config.collector.health_interval_s
            self.health.beat([("broker", self.session.broker), ("InfluxDB", self._influxdb_reach.link)],
                             f"{len(self.ingest.hosts)} hosts known")

    def _session_settings(self) -> SessionSettings:
        settings, group = self.config.collector, self.config.collector.share_group
        return SessionSettings(
            mqtt=self.config.mqtt, client_id=settings.id,
            subscriptions=(Subscription("reports", f"$share/{group}/{self.topics.all_reports}", 1),
                           # QoS 0: retained inventories, sent again at every (re)subscription,
                           # then pass the reports queued ahead of them outside the Receive Maximum
                           # window, which held reports fill after a restart (docs/reliability.md).
                           Subscription("inventories", self.topics.all_inventories, 0),
                           # The retained alerts before the statuses: a collector's own status starts its
                           # evaluator's settling time, by which it has read the states already announced.
                           Subscription("budget alerts", self.topics.all_alerts, 1),
                           Subscription("collectors' statuses", self.topics.all_collector_statuses, 1),
                           Subscription("the broker's dropped-message count", BROKER_DROPPED_TOPIC, 0,
                                        required=False)),
            status_topic=self.topics.collector_status(settings.id), session_expiry_s=settings.session_expiry_s,
            receive_maximum=settings.receive_maximum, max_queued_bytes=settings.max_queued_bytes,
            log_level=logging.getLogger().getEffectiveLevel())

    # -- messages (the session's reader thread) ----------------------------------------

    def _on_message(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        if topic == BROKER_DROPPED_TOPIC:
            self._broker_dropped(payload)
            return
        if self._control_message(topic, payload):
            if qos:
                self.session.ack([(mid, qos)])
            return
        self._process(HeldMessage(topic, payload, mid, qos), first_time=True)

    def _process(self, message: HeldMessage, first_time: bool) -> None:
        try:
            lines = self.ingest.handle(message.topic, message.payload, first_time)
        except AwaitingInventory as waiting:
            self.counters.add("reports_held")
            for pushed_out in self._held.hold(waiting.host_id, message):
                self._drop_unknown(pushed_out)
            return
        self._add(lines, message)
        if message.topic.endswith("/inventory") and lines:
            host_id = self.topics.host_of(message.topic)
            for held in self._held.release(host_id) if host_id else ():
                self._process(held, first_time=False)

    def _control_message(self, topic: str, payload: bytes) -> bool:
        """Collectors' statuses (who evaluates budgets) and announced budget alerts."""
        if topic.startswith(self._collectors_head) and topic.endswith("/status"):
            self.leadership.update(topic[len(self._collectors_head):-len("/status")], payload == b"online")
            return True
        if topic.startswith(self._alerts_head):
            if self.budgets is not None and payload:
                self.budgets.on_alert(topic, payload)
            return True
        return False

    def publish_retained(self, topic: str, payload: bytes) -> None:
        self.session.publish(topic, payload, qos=1, retain=True)

    def _evaluate_budgets(self) -> None:
        try:
            self.budgets.run()
        except Exception as exc:  # InfluxDB may be down: the next run tries again
            self.counters.add("budget_failures")
            log.warning("budget evaluation failed, retried at the next run: %s", exc)

    def _write_estate(self) -> None:
        """The scheduled estate job (APScheduler's thread): by the budgets' evaluator only."""
        if not self.leadership.is_evaluator():
            return
        try:
            self.ingest.hosts.register_departments = self.estate.register_departments()
            self.counters.add("estate_points_written", self.estate.run(utc_now()))
        except Exception as exc:  # InfluxDB may be down: the next run writes the hours still missing
            self.counters.add("estate_failures")
            log.warning("estate job failed, retried at the next run: %s", exc)

    def _deliver_reports(self) -> None:
        """The scheduled report deliveries (APScheduler's thread): by the budgets' evaluator only."""
        if not self.leadership.is_evaluator():
            return
        try:
            self.counters.add("reports_delivered", self.reports.run(utc_now()))
        except Exception as exc:  # InfluxDB may be down: the next check tries again
            self.counters.add("report_failures")
            log.warning("report deliveries failed, retried at the next check: %s", exc)

    def _broker_dropped(self, payload: bytes) -> None:
        try:
            dropped = int(payload)
        except ValueError:
            return
        before = self.counters.get("broker_dropped_messages")
        self.counters.set("broker_dropped_messages", dropped)
        if dropped > before:
            log.error("the broker dropped %d messages (%d since it started): its queues are full; "
                      "raise max_queued_messages or add collectors", dropped - before, dropped)

    def _drop_unknown(self, message: HeldMessage) -> None:
        self.ingest.reject_unknown_host(message.topic)
        self._add([], message)

    def _add(self, lines: list[str], message: HeldMessage) -> None:
        """Queue a message's points for writing, and its acknowledgement for after the write.

        While `max_pending_points` wait for a database that is slow, a message bringing points
        waits too (it comes from the broker's thread), so that the broker, not the collector's
        memory, holds the backlog. One bringing none (a rejection, or a held report given up
        by the writer's thread) never waits: the writer must not wait for itself.
        """
        with self._batch_ready:
            while lines and len(self._batch.lines) >= self.config.influxdb.max_pending_points and not self._closing:
                self._batch_ready.wait(1.0)
            self._batch.lines.extend(lines)
            if message.qos:
                self._batch.acks.append((message.mid, message.qos))
            if len(self._batch.lines) >= self.config.influxdb.batch_size:
                self._batch_ready.notify()

    # -- writer side (the thread that calls run) ---------------------------------------

    def _take_batch(self, timeout_s: float) -> _Batch:
        with self._batch_ready:
            if len(self._batch.lines) < self.config.influxdb.batch_size:
                self._batch_ready.wait(timeout_s)
            batch, self._batch = self._batch, _Batch()
            self._batch_ready.notify_all()  # room again for a thread waiting in _add
            return batch

    def _write(self, batch: _Batch, stop: threading.Event) -> None:
        """Write a batch in chunks of at most `batch_size` points (it grows past it while the
        database is slow), retrying while the database is unavailable; then acknowledge."""
        size = self.config.influxdb.batch_size
        for start in range(0, len(batch.lines), size):
            if not self._write_chunk(batch.lines[start:start + size], stop):
                return  # stopping: unacknowledged, the broker delivers them again later
        self.session.ack(batch.acks)

    def _write_chunk(self, lines: list[str], stop: threading.Event) -> bool:
        """Write one chunk, retrying while the database is unavailable; False when stopping first.

        A chunk the database finds too large is halved until it goes through. A chunk it
        refuses is bisected down to the points it refuses, so that one host's bad point never
        costs the other points of its chunk (InfluxDB may have stored some of them already:
        writing them again overwrites them with themselves).
        """
        backoff = 0.5
        while True:
            self._beat()
            try:
                self.sink.write(lines)
                self.counters.add("points_written", len(lines))
                self._influxdb_reach.recovered()
                return True
            except (TooLargeWriteError, RejectedWriteError) as exc:
                self._influxdb_reach.recovered()  # it answered
                reason = exc.reason if isinstance(exc, RejectedWriteError) else "too_large"
                if isinstance(exc, RejectedWriteError) and exc.dropped is not None:  # the rest is stored
                    self.counters.add("points_written", len(lines) - exc.dropped)
                    self._refuse_points(exc.dropped, reason, f"{exc}"[:600])
                    return True
                if len(lines) == 1:
                    self._refuse_point(lines[0], reason, exc)
                    return True
                self.counters.add("writes_split")
                level = logging.WARNING if reason == "too_large" else logging.DEBUG
                log.log(level, "%s; writing it in two halves", exc)
                half = len(lines) // 2
                return self._write_chunk(lines[:half], stop) and self._write_chunk(lines[half:], stop)
            except RetryableWriteError as exc:
                self.counters.add("write_retries")
                self._influxdb_reach.failed(str(exc))
                if stop.wait(backoff):
                    return False
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _refuse_point(self, point: str, reason: str, exc: Exception) -> None:
        head = point.split(" ", 1)[0] if reason != "unparsable" else point
        self._refuse_points(1, reason, f"{head[:300]!r}: {str(exc)[:300]}")

    def _refuse_points(self, count: int, reason: str, what: str) -> None:
        self.counters.refuse_points(reason, count)
        self._refusals.log(reason, f"InfluxDB refused {count} points ({reason}), dropped: {what}",
                           self.counters.get(f"points_refused_{reason}"))

    def _health_line(self) -> str:
        counters = self.counters.snapshot()
        counters["hosts_known"] = len(self.ingest.hosts)
        return collector_health_line(self.config.collector.id, counters, utc_now())

    def _roll_up(self) -> None:
        """The scheduled rollup job (APScheduler's thread)."""
        try:
            self.counters.add("rollup_points_written", self.rollups.run())
        except RollupFailed as exc:  # the database may be down: the next run catches up
            self.counters.add("rollup_points_written", exc.written)
            self.counters.add("rollup_failures")
            log.warning("rollup failed in part, retried at the next run: %s", exc)
        except Exception as exc:
            self.counters.add("rollup_failures")
            log.warning("rollup failed, retried at the next run: %s", exc)

    def _start_jobs(self) -> BackgroundScheduler:
        scheduler = BackgroundScheduler(timezone="UTC")
        if self.rollups is not None:
            scheduler.add_job(self._roll_up, IntervalTrigger(seconds=self.config.rollups.interval_s),
                              id="rollups", coalesce=True, max_instances=1)
        if self.budgets is not None:
            scheduler.add_job(self._evaluate_budgets,
                              IntervalTrigger(seconds=self.budgets.budgets.evaluation.interval_s),
                              id="budgets", coalesce=True, max_instances=1)
        if self.estate is not None:
            scheduler.add_job(self._write_estate, IntervalTrigger(seconds=self.config.assets.interval_s), id="estate",
                              coalesce=True, max_instances=1,
                              next_run_time=datetime.now(timezone.utc) + timedelta(seconds=5))
        if self.reports is not None:
            interval_s = self.config.report.check_interval_s
            scheduler.add_job(self._deliver_reports, IntervalTrigger(seconds=interval_s), id="reports", coalesce=True,
                              max_instances=1, next_run_time=datetime.now(timezone.utc) + timedelta(
                                  seconds=min(interval_s, 30.0)))
        if self.live_intensity is not None:
            scheduler.add_job(lambda: self.live_intensity.refresh(self.ingest.hosts.zones_in_use()),
                              IntervalTrigger(seconds=self.config.grid.live_refresh_s), id="carbon-intensity",
                              coalesce=True, max_instances=1,
                              next_run_time=datetime.now(timezone.utc) + timedelta(seconds=10))
        scheduler.start()
        return scheduler

    def run(self, stop: threading.Event) -> None:
        """Connect and process until `stop` is set; then flush, acknowledge and disconnect.

        Raises SessionLost when the MQTT session ended first (its process died, or handing a
        message over failed): what was not acknowledged, the broker delivers again to the
        restarted collector.
        """
        settings = self.config.collector
        self.session.start(on_lost=stop.set)
        scheduler = self._start_jobs()
        next_health = time.monotonic()
        try:
            while not stop.is_set():
                self._beat()
                for expired in self._held.expired():
                    self._drop_unknown(expired)
                batch = self._take_batch(self.config.influxdb.flush_interval_s)
                if time.monotonic() >= next_health:
                    batch.lines.append(self._health_line())
                    next_health = time.monotonic() + settings.health_interval_s
                self._write(batch, stop)
            with self._batch_ready:
                self._closing = True
                self._batch_ready.notify_all()
            final = self._take_batch(0)
            final.lines.append(self._health_line())
            self._write(final, stop)
        finally:
            scheduler.shutdown(wait=False)
            if self.budgets is not None:
                self.budgets.close()
            if self.estate is not None:
                self.estate.estate.close()
            self.session.close()
            self.sink.close()
            if self.rollups is not None and self.rollups.sink is not self.sink:  # their own retention policy's
                self.rollups.sink.close()
            self.health.stopped()
        if self.session.lost.is_set():
            raise SessionLost(self.session.lost_reason)
