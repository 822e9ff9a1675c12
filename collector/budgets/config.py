"""The budget file (TOML): one `[[budget]]` table per service or department (and optionally site) and period.

    [[budget]]
    service = "payroll"
    period = "month"                 # day, week (ISO, from Monday), month, year; UTC
    limit_kgco2e = 120               # and/or limit_kwh
    site = "paris-dc1"               # optional: only this site's hosts
    include_embodied = true          # kgCO2e counts manufacture as well as use (default)
    trajectory = { baseline_year = 2025, reduction_pct_per_year = 8 }
    webhooks = ["https://chat.example.org/hooks/abc"]

    [[budget]]
    department = "finance"           # a department's budget: all its services (or, with service, one)
    period = "year"
    limit_kgco2e = 4000

With a trajectory, the limits are the baseline year's, and shrink by the reduction every
year after it: limit x (1 - pct/100) ^ (year - baseline_year).
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

import msgspec

from fleetprint.config import load_config

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f/+#]+\Z")]
Period = Literal["day", "week", "month", "year"]


class Trajectory(msgspec.Struct, forbid_unknown_fields=True):
    baseline_year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    reduction_pct_per_year: Annotated[float, msgspec.Meta(ge=0, lt=100)]


class Budget(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    period: Period
    service: Name | None = None
    department: Name | None = None  # the organisation's unit: its hosts' and registered devices' share
    limit_kgco2e: Annotated[float, msgspec.Meta(gt=0)] | None = None
    limit_kwh: Annotated[float, msgspec.Meta(gt=0)] | None = None
    site: Name | None = None
    include_embodied: bool = True
    trajectory: Trajectory | None = None
    webhooks: list[str] = []

    @property
    def id(self) -> str:
        """`service[/site]/period`, with `department=<name>` before the period for a department's: unique in
        a budget file, and the alert topic's tail."""
        department = f"department={self.department}" if self.department else None
        return "/".join(part for part in (self.service, self.site, department, self.period) if part)

    @property
    def label(self) -> str:
        """What the budget covers, for people: "service payroll at paris-dc1", "department finance"."""
        whose = " of ".join(part for part in (f"service {self.service}" if self.service else None,
                                              f"department {self.department}" if self.department else None) if part)
        return whose + (f" at {self.site}" if self.site else "")


class Notifications(msgspec.Struct, forbid_unknown_fields=True):
    """Defaults for every budget."""

    webhooks: list[str] = []
    # HMAC-SHA256 of each webhook body, sent as `X-Fleetprint-Signature: sha256=<hex>`.
    webhook_secret_file: str | None = None
    webhook_attempts: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5


class Evaluation(msgspec.Struct, forbid_unknown_fields=True):
    interval_s: Annotated[float, msgspec.Meta(ge=1, le=86400)] = 300.0
    # The burn rate behind the forecast: spend over this many hours before now.
    burn_window_h: Annotated[float, msgspec.Meta(gt=0, le=24 * 31)] = 24.0
    # Leave `at_risk` only once the forecast is this far under the limit (no flapping).
    hysteresis_pct: Annotated[float, msgspec.Meta(ge=0, lt=50)] = 5.0


class BudgetFile(msgspec.Struct, forbid_unknown_fields=True):
    budget: list[Budget] = []
    notifications: Notifications = msgspec.field(default_factory=Notifications)
    evaluation: Evaluation = msgspec.field(default_factory=Evaluation)

    def check(self) -> None:
        seen: set[str] = set()
        for index, budget in enumerate(self.budget):
            key = f"budget[{index}]"
            if budget.service is None and budget.department is None:
                raise ValueError(f"{key}: give the service, the department, or both, the budget is for")
            if budget.limit_kgco2e is None and budget.limit_kwh is None:
                raise ValueError(f"{key}: give limit_kgco2e, limit_kwh or both")
            if budget.id in seen:
                raise ValueError(f"{key}: a second budget for {budget.id}")
            seen.add(budget.id)
            for url in budget.webhooks:
                if not url.startswith(("http://", "https://")):
                    raise ValueError(f"{key}.webhooks: not an http(s) URL: {url!r}")
        for url in self.notifications.webhooks:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"notifications.webhooks: not an http(s) URL: {url!r}")
        if self.notifications.webhook_secret_file and not os.path.isfile(self.notifications.webhook_secret_file):
            raise ValueError(f"notifications.webhook_secret_file: no such file {self.notifications.webhook_secret_file}")


def load_budgets(path: str) -> BudgetFile:
    """Load and validate a budget file, or raise ConfigError (file, key, reason)."""
    return load_config(path, BudgetFile, "budgets")
