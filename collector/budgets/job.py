"""The scheduled budget evaluation: reload the file when it changed, evaluate, store, notify.

Only the evaluator collector (leader.py) evaluates. A state is announced on change only:
the retained alert on `<prefix>/alerts/<service>[/<site>]/<period>` holds the last one, so
after a restart the evaluator, reading the retained alerts back, never announces the same
state twice. Webhooks and the log speak when the state differs from the one announced (a
first `ok` only sets the retained alert); `fp_budget` gets every evaluation.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from fleetprint.collector.budgets.config import BudgetFile, load_budgets
from fleetprint.collector.budgets.evaluate import BudgetEvaluator, BudgetStatus
from fleetprint.collector.budgets.leader import Leadership
from fleetprint.collector.budgets.notify import WebhookSender, alert_payload
from fleetprint.collector.stats import Counters
from fleetprint.collector.store.lineprotocol import line
from fleetprint.collector.store.sink import Sink
from fleetprint.config import ConfigError
from fleetprint.mqtt import Topics
from fleetprint.schema import utc_now
from fleetprint.timestamps import epoch_ms

log = logging.getLogger(__name__)
BUDGET_MEASUREMENT = "fp_budget"


def status_line(status: BudgetStatus) -> str:
    budget = status.budget
    return line(BUDGET_MEASUREMENT,
                {"budget": budget.id, "service": budget.service or "", "department": budget.department or "",
                 "site": budget.site or "", "period": budget.period},
                {"state": status.state, "state_level": status.level,
                 "spent_kgco2e": status.spent.kgco2e, "forecast_kgco2e": status.forecast.kgco2e,
                 "limit_kgco2e": status.limit_kgco2e, "spent_kwh": status.spent.kwh,
                 "forecast_kwh": status.forecast.kwh, "limit_kwh": status.limit_kwh,
                 "trajectory_factor": status.trajectory_factor},
                epoch_ms(status.evaluated_at))


class BudgetJob:
    """Evaluates every budget of a file and announces the changes."""

    def __init__(self, path: str, evaluator: BudgetEvaluator, sink: Sink, topics: Topics,
                 publish: Callable[[str, bytes], None], leadership: Leadership, counters: Counters) -> None:
        self.path = path
        self.evaluator = evaluator
        self.sink = sink
        self.topics = topics
        self.publish = publish  # retained, QoS 1
        self.leadership = leadership
        self.counters = counters
        self.budgets: BudgetFile = load_budgets(path)
        self._mtime = os.stat(path).st_mtime
        self._announced: dict[str, tuple[str, str]] = {}  # budget id -> (period start, state)
        self._lock = threading.Lock()
        self.webhooks = self._webhook_sender(self.budgets)

    @staticmethod
    def _webhook_sender(budgets: BudgetFile) -> WebhookSender:
        secret_file = budgets.notifications.webhook_secret_file
        secret = Path(secret_file).read_bytes().strip() if secret_file else None
        return WebhookSender(secret, budgets.notifications.webhook_attempts)

    def reload(self, force: bool = False) -> None:
        """Read the file again if it changed (or `force`, on SIGHUP); a bad file keeps the old budgets."""
        try:
            mtime = os.stat(self.path).st_mtime
            if not force and mtime == self._mtime:
                return
            budgets = load_budgets(self.path)
        except (ConfigError, OSError) as exc:
            log.error("budget file not reloaded, keeping the previous budgets: %s", exc)
            return
        self._mtime = mtime
        secret_file = budgets.notifications.webhook_secret_file
        self.webhooks.secret = Path(secret_file).read_bytes().strip() if secret_file else None
        self.webhooks.attempts = budgets.notifications.webhook_attempts
        self.evaluator.settings = budgets.evaluation
        self.budgets = budgets
        log.info("budget file reloaded: %d budgets", len(budgets.budget))

    def on_alert(self, topic: str, payload: bytes) -> None:
        """A retained alert came back from the broker: that state is announced."""
        try:
            alert = json.loads(payload)
            budget_id, period_start, state = alert["budget"], alert["period_start"], alert["state"]
        except (ValueError, KeyError, TypeError):
            return
        with self._lock:
            self._announced[budget_id] = (period_start, state)

    def run(self) -> list[BudgetStatus]:
        """One evaluation round (by the evaluator only); returns the statuses."""
        self.reload()
        if not self.leadership.is_evaluator():
            return []
        now = utc_now()
        statuses = []
        for budget in self.budgets.budget:
            with self._lock:
                announced = self._announced.get(budget.id)
            status = self.evaluator.evaluate(budget, now, "ok")
            same_period = announced is not None and announced[0] == status.period_start.isoformat()
            if same_period and announced[1] != "ok":  # hysteresis from the announced state
                status = self.evaluator.evaluate(budget, now, announced[1])
            statuses.append(status)
            self._announce(status, announced)
        if statuses:
            self.sink.write([status_line(status) for status in statuses])
            self.counters.add("budget_evaluations", len(statuses))
        return statuses

    def _announce(self, status: BudgetStatus, announced: tuple[str, str] | None) -> None:
        budget = status.budget
        key = (status.period_start.isoformat(), status.state)
        if announced == key:
            return
        previous_state = announced[1] if announced else "ok"
        payload = alert_payload(status, previous_state)
        self.publish(self.topics.alert(budget.id), json.dumps(payload).encode())
        with self._lock:
            self._announced[budget.id] = key
        if status.state == previous_state:
            return  # a new period in the same state, or a first "ok": the retained alert is enough
        self.counters.add("budget_notifications")
        log.warning("budget %s: %s -> %s: %s", budget.id, previous_state, status.state, payload["text"])
        for url in [*self.budgets.notifications.webhooks, *budget.webhooks]:
            self.webhooks.send(url, payload)

    def close(self) -> None:
        self.webhooks.close()
