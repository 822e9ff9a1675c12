"""Reports the collector delivers on a schedule (`[[report.deliveries]]`, docs/report.md, "Delivery").

Each check, for each delivery, the period due is the last complete month (or year). Its report is
produced once this collector's rollup job has rolled up the period's last day (every level: it does
so a few minutes after midnight UTC, `rollups.lag_s` after the day's end), then mailed and/or
posted to the webhook. Each channel's outcome is stored in InfluxDB (`fp_report_delivery`, one point per
delivery, channel and period, stamped at the period's start and overwritten by each attempt), so
that whichever collector evaluates next knows what was sent: a channel that succeeded is never
sent again, one that failed is tried again at the next checks, at most `max_attempts` times.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fleetprint.collector.budgets.config import BudgetFile, load_budgets
from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.settings import DeliverySettings
from fleetprint.collector.store.influxql import InfluxQL, QueryError
from fleetprint.collector.store.lineprotocol import line
from fleetprint.collector.store.sink import Sink
from fleetprint.report import mail, webhook
from fleetprint.report.collect import NoData
from fleetprint.report.language import Words
from fleetprint.report.model import Scope
from fleetprint.report.period import DAY, Period, month, year
from fleetprint.report.produce import Produced, file_stem, produce
from fleetprint.report.render_text import render_text, subject
from fleetprint.timestamps import epoch_ms

log = logging.getLogger(__name__)
DELIVERY_MEASUREMENT = "fp_report_delivery"
CHANNELS = ("email", "webhook")


def due_period(kind: str, now: datetime) -> Period:
    """The last complete month or year before `now` (UTC)."""
    if kind == "year":
        return year(now.year - 1)
    last_day = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - DAY
    return month(last_day.year, last_day.month)


def channels(delivery: DeliverySettings) -> list[str]:
    return [channel for channel, wanted in zip(CHANNELS, (delivery.email_to, delivery.webhook_url), strict=True)
            if wanted]


@dataclass(frozen=True)
class Outcome:
    """One channel's latest attempt for one period, as stored."""

    ok: bool
    attempts: int


class ReportDeliveries:
    """The scheduled job: `run` produces and sends the reports due and not sent yet."""

    def __init__(self, config: CollectorConfig, connect: Callable[[], InfluxQL], sink: Sink,
                 rolled_up_to: Callable[[], datetime | None]) -> None:
        """`connect` gives a new InfluxQL client (the report queries on several at once); `sink` stores the
        outcomes; `rolled_up_to` says how far the rollups are complete (Rollups.rolled_up_to)."""
        self.config = config
        self.settings = config.report
        self.connect = connect
        self.influxql = connect()
        self.rolled_up_to = rolled_up_to
        self._said_no_data: set[tuple[str, str]] = set()
        self.sink = sink

    def run(self, now: datetime) -> int:
        """Send what is due; returns the number of channels that succeeded. Raises QueryError when InfluxDB
        cannot be read (nothing is recorded then: the next check starts again)."""
        rolled = self.rolled_up_to()
        sent = 0
        for delivery in self.settings.deliveries:
            period = due_period(delivery.period, now)
            if rolled is None or rolled < period.end:
                log.debug("report %s for %s: waiting for the rollups of its last day", delivery.name, period.label)
                continue
            outcomes = self.outcomes(delivery.name, period)
            todo = [channel for channel in channels(delivery) if channel not in outcomes
                    or (not outcomes[channel].ok and outcomes[channel].attempts < self.settings.max_attempts)]
            if todo:
                sent += sum(1 for ok, _ in self._deliver(delivery, period, todo, outcomes, now).values() if ok)
        return sent

    def deliver_now(self, name: str, period: Period, now: datetime) -> dict[str, tuple[bool, str]]:
        """Produce one delivery's report for `period` and send it by all its channels, whatever was sent
        before (`fleetprint report --deliver`: to try a relay, or to send again); recorded as the schedule's
        are. Raises KeyError for an unknown delivery, NoData for a period without data."""
        delivery = next((d for d in self.settings.deliveries if d.name == name), None)
        if delivery is None:
            raise KeyError(name)
        return self._deliver(delivery, period, channels(delivery), self.outcomes(name, period), now, quiet=False)

    def outcomes(self, name: str, period: Period) -> dict[str, Outcome]:
        """Each channel's stored outcome for this delivery and period."""
        rows = self.influxql.query(
            f"SELECT last(ok) AS ok, last(attempts) AS attempts FROM {DELIVERY_MEASUREMENT} "
            f"WHERE delivery = '{name}' AND time = {epoch_ms(period.start)}ms GROUP BY channel")
        return {row["channel"]: Outcome(bool(row["ok"]), int(row["attempts"])) for row in rows}

    def _deliver(self, delivery: DeliverySettings, period: Period, todo: list[str], outcomes: dict[str, Outcome],
                 now: datetime, quiet: bool = True) -> dict[str, tuple[bool, str]]:
        """Each channel's (succeeded, detail); `quiet`: a period without data is logged once, not raised."""
        scope = Scope(service=delivery.service, site=delivery.site, department=delivery.department)
        words = Words(delivery.lang or self.settings.lang)
        tz = ZoneInfo(delivery.tz or self.settings.tz)
        base = Path(self.settings.output_dir) / delivery.name / file_stem(period, scope)
        try:
            produced = produce(self.connect, period, scope, self._budgets(), tuple(delivery.formats), base, tz, words,
                               now)
        except NoData as exc:  # nothing to send yet: looked at again at the next checks, said once
            if not quiet:
                raise
            if (delivery.name, period.slug) not in self._said_no_data:
                self._said_no_data.add((delivery.name, period.slug))
                log.info("report %s for %s: nothing to report yet (%s)", delivery.name, period.label, exc)
            return {}
        except QueryError:
            raise  # the database: every delivery waits for the next check
        except Exception as exc:  # this report could not be made (rendering, disk): an attempt of each channel
            produced, failure = None, f"producing the report failed: {type(exc).__name__}: {exc}"
            results = {channel: (False, failure) for channel in todo}
        else:
            body = render_text(produced.data, produced.files, tz, words)
            results = {channel: self._send(channel, delivery, produced, words, body) for channel in todo}
        self._record(delivery.name, period, results, outcomes, produced, now)
        for channel, (ok, detail) in results.items():
            attempts = outcomes[channel].attempts + 1 if channel in outcomes else 1
            if ok:
                log.info("report %s for %s sent by %s: %s", delivery.name, period.label, channel, detail)
            elif attempts >= self.settings.max_attempts:
                log.error("report %s for %s: gave up sending it by %s after %d attempts: %s", delivery.name,
                          period.label, channel, attempts, detail)
            else:
                log.warning("report %s for %s: sending it by %s failed (attempt %d of %d, tried again at the next "
                            "check): %s", delivery.name, period.label, channel, attempts, self.settings.max_attempts,
                            detail)
        return results

    def _send(self, channel: str, delivery: DeliverySettings, produced: Produced, words: Words,
              body: str) -> tuple[bool, str]:
        """(succeeded, what was sent or why it failed)."""
        names = ", ".join(path.name for path in produced.files)
        try:
            if channel == "email":
                smtp = self.settings.smtp
                mail.send(smtp, mail.build_message(smtp.sender, delivery.email_to, subject(produced.data, words), body,
                                                   produced.files))
                return True, f"{names} to {', '.join(delivery.email_to)} through {smtp.host}:{smtp.port}"
            secret = Path(delivery.webhook_secret_file).read_bytes().strip() if delivery.webhook_secret_file else None
            webhook.post(delivery.webhook_url, webhook.payload(delivery.name, produced.data, body, produced.files,
                                                               delivery.webhook_attach), secret)
            return True, f"{names} to {delivery.webhook_url}"
        except Exception as exc:  # a relay or endpoint that fails costs this channel's attempt only
            return False, f"{type(exc).__name__}: {exc}"

    def _budgets(self) -> BudgetFile | None:
        path = self.config.budgets.file
        return load_budgets(path) if path else None

    def _record(self, name: str, period: Period, results: dict[str, tuple[bool, str]], outcomes: dict[str, Outcome],
                produced: Produced | None, now: datetime) -> None:
        lines = []
        for channel, (ok, detail) in results.items():
            fields = {"period": period.slug, "ok": ok, "detail": detail[:1000], "attempted_at": now.isoformat(),
                      "attempts": (outcomes[channel].attempts if channel in outcomes else 0) + 1}
            if produced:
                totals = produced.data.totals
                fields |= {"files": ", ".join(path.name for path in produced.files),
                           "total_gwp_gco2e": totals.usage_gwp_gco2e + totals.embodied_gwp_gco2e,
                           "energy_wh": totals.energy_wh}
            lines.append(line(DELIVERY_MEASUREMENT, {"delivery": name, "channel": channel}, fields,
                              epoch_ms(period.start)))
        self.sink.write(lines)
