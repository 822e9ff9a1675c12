"""A scheduled report handed to a webhook: one JSON POST (`fleetprint.report_delivery/1`) with the
first page as `text` (what chat tools show), the figures, and the files (base64, or their names,
sizes and sha256 only), signed like the budget alerts when a secret is set."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import urllib3

from fleetprint.collector.budgets.notify import signature
from fleetprint.report.collect import ReportData
from fleetprint.report.produce import content_type

SCHEMA = "fleetprint.report_delivery/1"


class WebhookFailed(Exception):
    """The endpoint could not be reached or did not answer 2xx."""


def payload(delivery: str, data: ReportData, text: str, files: list[Path], attach: bool) -> dict[str, Any]:
    totals = data.totals
    described = []
    for path in files:
        content = path.read_bytes()
        entry = {"name": path.name, "content_type": content_type(path),
                 "size_bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}
        if attach:
            entry["content_base64"] = base64.b64encode(content).decode("ascii")
        described.append(entry)
    return {
        "schema": SCHEMA, "delivery": delivery, "text": text,
        "period": data.period.slug, "period_start": data.period.start.isoformat(),
        "period_end": data.period.end.isoformat(), "scope": data.scope.label,
        "total_gwp_gco2e": totals.usage_gwp_gco2e + totals.embodied_gwp_gco2e,
        "usage_gwp_gco2e": totals.usage_gwp_gco2e, "embodied_gwp_gco2e": totals.embodied_gwp_gco2e,
        "energy_wh": totals.energy_wh,
        "hosts": len(data.hosts), "files": described,
    }


def post(url: str, body: dict[str, Any], secret: bytes | None, timeout_s: float = 60.0) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Fleetprint-Signature"] = signature(secret, data)
    try:
        response = urllib3.request("POST", url, body=data, headers=headers, timeout=timeout_s, retries=False)
    except urllib3.exceptions.HTTPError as exc:
        raise WebhookFailed(f"{url}: {exc}") from None
    if not 200 <= response.status < 300:
        raise WebhookFailed(f"{url} answered HTTP {response.status}: {response.data[:200]!r}")


