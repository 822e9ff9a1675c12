"""A live carbon-intensity provider over HTTP, polled by a scheduled job and cached per zone.

The URL is a template with `{zone}` (the zone code the provider uses: `live_zones` maps
fleetprint's ISO alpha-3 codes to the provider's, e.g. FRA -> FR). The JSON answer gives
`carbonIntensity` (gCO2e/kWh, Electricity Maps' form) or `gco2e_per_kwh`, and `datetime`.
Samples look the cache up and never wait on the network; a value serves samples within
two hours of its time. When the provider fails, the cached value ages out and samples fall
back to the static factor, each point saying which it got.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from urllib.parse import quote

import urllib3

log = logging.getLogger(__name__)
VALID_FOR_MS = 2 * 3_600_000


class LiveIntensity:
    """The latest carbon intensity per zone from an HTTP API."""

    def __init__(self, url_template: str, zone_codes: dict[str, str], headers: dict[str, str],
                 timeout_s: float = 10.0) -> None:
        self.url_template = url_template
        self.zone_codes = zone_codes
        self.headers = headers
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout_s), retries=False)
        self._latest: dict[str, tuple[int, float]] = {}  # zone -> (time ms, gCO2e/kWh)
        self._lock = threading.Lock()

    def refresh(self, zones: set[str]) -> None:
        """Fetch the current intensity of each zone; a failure keeps the previous value."""
        for zone in sorted(zones):
            url = self.url_template.format(zone=quote(self.zone_codes.get(zone, zone)))
            try:
                response = self._http.request("GET", url, headers=self.headers)
                if response.status != 200:
                    raise ValueError(f"HTTP {response.status}")
                body = json.loads(response.data)
                value = float(body.get("carbonIntensity", body.get("gco2e_per_kwh")))
                at = datetime.fromisoformat(body["datetime"].replace("Z", "+00:00"))
                if at.tzinfo is None or not 0 <= value < 5000:
                    raise ValueError(f"implausible answer {body!r:.200}")
            except (urllib3.exceptions.HTTPError, ValueError, TypeError, KeyError) as exc:
                log.warning("carbon intensity for %s not refreshed from %s: %s", zone, url, exc)
                continue
            with self._lock:
                self._latest[zone] = (int(at.timestamp() * 1000), value)

    def lookup(self, zone: str, at_ms: int) -> float | None:
        """gCO2e/kWh for a sample at `at_ms`, or None when nothing recent enough is cached."""
        with self._lock:
            cached = self._latest.get(zone)
        if cached is None or abs(at_ms - cached[0]) > VALID_FOR_MS:
            return None
        return cached[1]
