"""Telling people a budget changed state: the retained MQTT alert, webhooks, the log.

Alert payload (`fleetprint.alert/1`, JSON), the same on MQTT and webhooks. Its `text` field
is what chat tools' incoming webhooks show (Slack, Mattermost, Rocket.Chat, Teams' classic
connectors take `{"text": ...}`). With a secret, each webhook carries
`X-Fleetprint-Signature: sha256=<HMAC-SHA256 of the body>`. A webhook that fails is tried
again with exponential backoff (1 s, 2 s, 4 s, ...) up to `webhook_attempts` times, in the
background: a slow endpoint never holds an evaluation up.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
from typing import Any

import urllib3

from fleetprint.collector.budgets.evaluate import BudgetStatus

log = logging.getLogger(__name__)
ALERT_SCHEMA = "fleetprint.alert/1"
_EMOJI_FREE_WORDS = {"ok": "back within budget", "at_risk": "AT RISK of exceeding its budget",
                     "exceeded": "has EXCEEDED its budget"}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def alert_payload(status: BudgetStatus, previous_state: str) -> dict[str, Any]:
    """The alert, for MQTT and webhooks."""
    budget = status.budget
    figures = []
    if status.limit_kgco2e is not None:
        figures.append(f"{status.spent.kgco2e:.1f} kgCO2e spent, {status.forecast.kgco2e:.1f} forecast, "
                       f"limit {status.limit_kgco2e:.1f}")
    if status.limit_kwh is not None:
        figures.append(f"{status.spent.kwh:.1f} kWh spent, {status.forecast.kwh:.1f} forecast, "
                       f"limit {status.limit_kwh:.1f}")
    text = (f"fleetprint: {budget.label} {_EMOJI_FREE_WORDS[status.state]} for the {budget.period} "
            f"from {status.period_start:%Y-%m-%d}: " + "; ".join(figures) + ".")
    return {
        "schema": ALERT_SCHEMA,
        "text": text,
        "budget": budget.id,
        "service": budget.service,
        "department": budget.department,
        "site": budget.site,
        "period": budget.period,
        "period_start": status.period_start.isoformat(),
        "period_end": status.period_end.isoformat(),
        "state": status.state,
        "previous_state": previous_state,
        "evaluated_at": status.evaluated_at.isoformat(),
        "spent_kgco2e": _round(status.spent.kgco2e),
        "forecast_kgco2e": _round(status.forecast.kgco2e),
        "limit_kgco2e": _round(status.limit_kgco2e),
        "spent_kwh": _round(status.spent.kwh),
        "forecast_kwh": _round(status.forecast.kwh),
        "limit_kwh": _round(status.limit_kwh),
        "trajectory_factor": round(status.trajectory_factor, 6),
    }


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookSender:
    """Delivers webhook posts from a background thread, retrying failures with backoff."""

    def __init__(self, secret: bytes | None, attempts: int, timeout_s: float = 10.0, first_backoff_s: float = 1.0) -> None:
        self.secret = secret
        self.attempts = attempts
        self.first_backoff_s = first_backoff_s
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout_s), retries=False)
        self._queue: list[tuple[float, int, str, bytes, int]] = []  # (due, order, url, body, attempt)
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stop = False
        self.delivered = 0
        self.given_up = 0
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def send(self, url: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        with self._wake:
            heapq.heappush(self._queue, (time.monotonic(), next(self._order), url, body, 1))
            self._wake.notify()

    def pending(self) -> int:
        with self._wake:
            return len(self._queue)

    def close(self, timeout_s: float = 5.0) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stop and (not self._queue or self._queue[0][0] > time.monotonic()):
                    self._wake.wait(None if not self._queue else self._queue[0][0] - time.monotonic())
                if self._stop:
                    return
                _, _, url, body, attempt = heapq.heappop(self._queue)
            if self._post(url, body):
                self.delivered += 1
            elif attempt < self.attempts:
                delay = self.first_backoff_s * 2 ** (attempt - 1)
                log.warning("webhook %s failed (attempt %d of %d); again in %.0f s", url, attempt, self.attempts, delay)
                with self._wake:
                    heapq.heappush(self._queue, (time.monotonic() + delay, next(self._order), url, body, attempt + 1))
            else:
                self.given_up += 1
                log.error("webhook %s failed %d times; giving this alert up", url, attempt)

    def _post(self, url: str, body: bytes) -> bool:
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers["X-Fleetprint-Signature"] = signature(self.secret, body)
        try:
            response = self._http.request("POST", url, body=body, headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            log.debug("webhook %s: %s", url, exc)
            return False
        return 200 <= response.status < 300
