"""Publishing a simulated fleet: retained inventories, then reports on the per-host topics at QoS 1.

One MQTT v5 connection (fleetprint.mqtt.make_client) per worker carries many hosts. Messages
in flight are bounded (by `max_in_flight` and the broker's Receive Maximum, well below the
65,535 message ids paho can number) and paced by a token bucket. Payloads are built with
msgspec for a batch of hosts at a time, then sent. One process sends about 6,000 one-sample
reports a second here (paho's own cost); `run` splits the hosts across processes for more.

- backfill: the history from `start` to `end`, `samples_per_report` samples per report, as
  fast as the rate allows, in time order across hosts (as agents catching up would send it);
- live: one sample per host per interval, aligned on the interval, until stopped.

A report's `seq` is its last sample's time in intervals since the epoch: it grows, across
runs too, and a regenerated backfill is identical message for message.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import multiprocessing.synchronize
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice

from paho.mqtt.enums import MQTTErrorCode

from fleetprint.logs import configure_logging
from fleetprint.mqtt import MqttSettings, Topics, make_client
from fleetprint.schema import Report, encode, encode_report
from fleetprint.simulator.fleet import VirtualHost
from fleetprint.simulator.load import LoadModel

log = logging.getLogger(__name__)
MAX_IN_FLIGHT = 60_000  # paho numbers messages with 16-bit ids: stay below 65,535 unacknowledged
_BATCH_HOSTS = 256  # reports built ahead of sending, per batch
_CONNECT_TIMEOUT_S = 15.0
_FLUSH_TIMEOUT_S = 30.0  # on stopping: how long to wait for the last acknowledgements
# Counters per worker, in a shared array: messages, inventories, reports, samples, acknowledged, failed (0 or 1).
MESSAGES, INVENTORIES, REPORTS, SAMPLES, ACKED, FAILED = range(6)
_COUNTERS = 6


class PublishError(Exception):
    """The broker refused the connection, or paho refused to queue a message."""


@dataclass(frozen=True)
class Plan:
    """What one worker publishes, and how fast."""

    settings: MqttSettings
    hosts: Sequence[VirtualHost]
    interval_s: int
    backfill: tuple[int, int] | None  # (start, end) in epoch seconds: samples end in (start, end]
    live: bool
    live_from: int  # epoch seconds: without backfill, live samples end at the intervals after it
    live_until: float | None  # epoch seconds; None: until stopped
    samples_per_report: int
    rate: float  # messages per second for this worker; 0: unlimited
    max_in_flight: int
    client_id: str


def sample_times(start: int, end: int, interval_s: int) -> list[int]:
    """The aligned ends of intervals in (start, end]."""
    first = (start // interval_s + 1) * interval_s
    return list(range(first, end + 1, interval_s))


def expected_messages(plan: Plan) -> int | None:
    """How many messages the plan sends in all; None when it runs until stopped or hosts sleep."""
    if any(host.sleeps for host in plan.hosts):
        return None
    hosts = len(plan.hosts)
    total = hosts  # inventories
    if plan.backfill:
        times = len(sample_times(*plan.backfill, plan.interval_s))
        total += hosts * math.ceil(times / plan.samples_per_report)
    if plan.live:
        if plan.live_until is None:
            return None
        start = plan.backfill[1] if plan.backfill else plan.live_from
        total += hosts * (2 + len(sample_times(start, int(plan.live_until), plan.interval_s)))  # + online, offline
    return total


def _batched(items: Sequence[LoadModel], size: int) -> Iterator[list[LoadModel]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class _TokenBucket:
    """Paces calls to `rate` per second, with bursts of at most a tenth of a second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(1.0, rate / 10)
        self.tokens = self.burst
        self.last = time.monotonic()

    def take(self, stop: threading.Event | multiprocessing.synchronize.Event) -> None:
        """Wait for a token (or the stop)."""
        if self.rate <= 0:
            return
        while True:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            if stop.wait((1 - self.tokens) / self.rate):
                return


class FleetPublisher:
    """One connection publishing for many hosts, with bounded messages in flight."""

    def __init__(self, plan: Plan, stop: threading.Event | multiprocessing.synchronize.Event,
                 count: Callable[[int, int], None]) -> None:
        self.plan = plan
        self.topics = Topics(plan.settings.topic_prefix)
        self.stop = stop
        self.count = count  # count(counter, amount)
        self.limit = plan.max_in_flight
        self._in_flight = 0
        self._refused = 0
        self._lock = threading.Condition()
        self._connected = threading.Event()
        self._refusal: str | None = None
        self._bucket = _TokenBucket(plan.rate)
        self._client = make_client(plan.settings, plan.client_id)
        # Our own bound stays within paho's: paho then never holds a message back as "queued".
        self._client.max_inflight_messages_set(plan.max_in_flight)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._refusal = str(reason_code)
        else:
            # MQTT v5: the broker says how many QoS 1 messages it takes unacknowledged.
            receive_maximum = getattr(properties, "ReceiveMaximum", None)
            with self._lock:
                self.limit = min(self.plan.max_in_flight, receive_maximum or self.plan.max_in_flight)
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("disconnected from the broker: %s (reconnecting; paho resends what was in flight)", reason_code)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self._in_flight -= 1
            if reason_code.is_failure:
                self._refused += 1
                if self._refused == 1:
                    log.error("the broker refused a message: %s", reason_code)
            self._lock.notify_all()
        self.count(ACKED, 1)

    def connect(self) -> None:
        settings = self.plan.settings
        self._client.reconnect_delay_set(1, 30)
        try:
            self._client.connect(settings.host, settings.port, settings.keepalive_s)
        except OSError as exc:
            raise PublishError(f"cannot connect to the broker at {settings.host}:{settings.port}: {exc}") from None
        self._client.loop_start()
        if not self._connected.wait(_CONNECT_TIMEOUT_S):
            raise PublishError(f"no answer from the broker at {settings.host}:{settings.port}")
        if self._refusal:
            raise PublishError(f"the broker refused the connection: {self._refusal}")

    def publish(self, topic: str, payload: bytes, retain: bool = False, final: bool = False) -> bool:
        """Send one message at QoS 1 once the rate and the in-flight bound allow; False if stopped first.

        `final` messages (the last words, sent after a stop too) are not paced, and give up
        after 30 s without room in flight.
        """
        if not final:
            self._bucket.take(self.stop)
        deadline = time.monotonic() + _FLUSH_TIMEOUT_S
        with self._lock:
            while self._in_flight >= self.limit and (final or not self.stop.is_set()):
                if time.monotonic() > deadline and final:
                    return False
                self._lock.wait(0.2)
            if self.stop.is_set() and not final:
                return False
            self._in_flight += 1  # before publish(): its acknowledgement may come before publish() returns
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        # NO_CONN: not connected at this instant; paho keeps the message and sends it on reconnection.
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            with self._lock:
                self._in_flight -= 1
            raise PublishError(f"paho could not queue a message for {topic}: rc={info.rc}")
        self.count(MESSAGES, 1)
        return True

    def close(self) -> int:
        """Wait for the last acknowledgements (at most 30 s), disconnect; returns the messages refused."""
        deadline = time.monotonic() + _FLUSH_TIMEOUT_S
        with self._lock:
            while self._in_flight > 0 and time.monotonic() < deadline:
                self._lock.wait(0.2)
            if self._in_flight:
                log.warning("%d messages still unacknowledged after %.0f s", self._in_flight, _FLUSH_TIMEOUT_S)
        self._client.disconnect()
        self._client.loop_stop()
        return self._refused


class Worker:
    """Runs one plan: inventories, then the backfill, then live samples."""

    def __init__(self, plan: Plan, stop: threading.Event | multiprocessing.synchronize.Event,
                 count: Callable[[int, int], None]) -> None:
        self.plan = plan
        self.stop = stop
        self.count = count
        self.models = [LoadModel(host) for host in plan.hosts]
        self.publisher = FleetPublisher(plan, stop, count)
        self.topics = self.publisher.topics

    def run(self) -> None:
        plan = self.plan
        self.publisher.connect()
        try:
            taken_at = datetime.fromtimestamp(plan.backfill[0] if plan.backfill else time.time(), timezone.utc)
            for host in plan.hosts:
                if not self.publisher.publish(self.topics.inventory(host.host_id), encode(host.inventory(taken_at)),
                                              retain=True):
                    return
                self.count(INVENTORIES, 1)
            if plan.backfill:
                self._backfill(*plan.backfill)
            if plan.live:
                self._live(plan.backfill[1] if plan.backfill else plan.live_from)
        finally:
            refused = self.publisher.close()
            if refused:
                log.error("the broker refused %d messages", refused)

    def _send_reports(self, times: list[int]) -> bool:
        """One report per host with the samples ending at `times`, built a batch at a time."""
        interval = self.plan.interval_s
        seq = times[-1] // interval
        for batch in _batched(self.models, _BATCH_HOSTS):
            reports = [(model.host.host_id, [model.sample(ts, interval) for ts in times if model.on(ts, interval)])
                       for model in batch]
            for host_id, samples in reports:
                if not samples:  # off or asleep: its agent sends nothing
                    continue
                payload = encode_report(Report(host_id=host_id, seq=seq, samples=samples))
                if not self.publisher.publish(self.topics.report(host_id), payload):
                    return False
                self.count(REPORTS, 1)
                self.count(SAMPLES, len(samples))
        return True

    def _backfill(self, start: int, end: int) -> None:
        times = sample_times(start, end, self.plan.interval_s)
        size = self.plan.samples_per_report
        for first in range(0, len(times), size):
            if not self._send_reports(times[first:first + size]):
                return

    def _live(self, after: int) -> None:
        """One sample per host at each interval's end, from the first after `after`."""
        interval, until = self.plan.interval_s, self.plan.live_until
        if not self._statuses(b"online"):
            return
        ts = (after // interval + 1) * interval
        while (until is None or ts <= until) and not self.stop.wait(max(0.0, ts - time.time())):
            if not self._send_reports([ts]):
                break
            ts += interval
        self._statuses(b"offline", final=True)

    def _statuses(self, status: bytes, final: bool = False) -> bool:
        """Each host's retained status, as its agent would say it."""
        for host in self.plan.hosts:
            if not self.publisher.publish(self.topics.status(host.host_id), status, retain=True, final=final):
                return False
        return True


@dataclass(frozen=True)
class Totals:
    """What a run sent, over all workers."""

    messages: int
    inventories: int
    reports: int
    samples: int
    acknowledged: int
    seconds: float
    failed: bool


def run(plans: Sequence[Plan], progress: Callable[[int], None]) -> Totals:
    """Run the plans, one per process (or in this process when there is one), until they end or
    Ctrl-C; `progress(n)` is told of every n messages sent."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    stop = context.Event()
    counters = context.Array("q", _COUNTERS * len(plans), lock=False)
    if len(plans) == 1:
        workers: list[threading.Thread | multiprocessing.process.BaseProcess] = [
            threading.Thread(target=_work, args=(plans[0], stop, counters, 0), daemon=True)]
    else:
        workers = [context.Process(target=_work_in_process, args=(plan, stop, counters, slot, log.getEffectiveLevel()))
                   for slot, plan in enumerate(plans)]
    shown = 0

    def total(counter: int) -> int:
        return sum(counters[slot * _COUNTERS + counter] for slot in range(len(plans)))

    def show() -> None:
        nonlocal shown
        sent = total(MESSAGES)
        progress(sent - shown)
        shown = sent

    started = time.monotonic()
    for worker in workers:
        worker.start()
    try:
        while any(worker.is_alive() for worker in workers):
            time.sleep(0.2)  # not join(timeout): a join interrupted by Ctrl-C may not wait next time
            show()
    except KeyboardInterrupt:
        stop.set()
        for worker in workers:
            worker.join()
    show()
    failed = bool(total(FAILED)) or any(getattr(worker, "exitcode", 0) for worker in workers)
    return Totals(messages=total(MESSAGES), inventories=total(INVENTORIES), reports=total(REPORTS),
                  samples=total(SAMPLES), acknowledged=total(ACKED), seconds=time.monotonic() - started,
                  failed=failed)


def _work(plan: Plan, stop: multiprocessing.synchronize.Event, counters, slot: int) -> None:
    base = slot * _COUNTERS

    def count(counter: int, amount: int) -> None:
        counters[base + counter] += amount  # each counter has one writer thread

    try:
        Worker(plan, stop, count).run()
    except PublishError as exc:
        log.error("%s", exc)
        counters[base + FAILED] = 1
        stop.set()
    except Exception:
        log.exception("the simulator failed")
        counters[base + FAILED] = 1
        stop.set()


def _work_in_process(plan: Plan, stop: multiprocessing.synchronize.Event, counters, slot: int, log_level: int) -> None:
    """A worker process: Ctrl-C reaches the whole process group, but only the parent decides to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(log_level)
    _work(plan, stop, counters, slot)
