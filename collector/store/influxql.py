"""InfluxQL queries over HTTP `/query`: InfluxDB 1.x, and 2.x/3.x through their v1 API (DBRP)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import urllib3


class QueryError(Exception):
    """The database answered a query with an error, or could not be reached."""


def _reason(exc: Exception) -> str:
    """urllib3's error without the connection object it starts with: "[Errno 111] Connection refused"."""
    return re.sub(r"^\w+\(host=[^)]*\): ", "", str(exc))


class InfluxQL:
    """Runs InfluxQL statements against one database; rows come back as dicts with their tags.

    `rollup_retention_policy` is where the rollups are kept (empty: the database's default
    retention policy, with the raw points); `rollup()` names a rollup measurement there.
    """

    def __init__(self, url: str, database: str, username: str | None = None, password: str | None = None,
                 token: str | None = None, timeout_s: float = 30.0, rollup_retention_policy: str = "") -> None:
        self._url = url.rstrip("/")
        self.rollup_retention_policy = rollup_retention_policy
        self._params = {"db": database, "epoch": "ms"}
        if username:
            self._params.update(u=username, p=password or "")
        self._headers = {"Authorization": f"Token {token}"} if token else {}
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout_s), retries=False)

    def rollup(self, measurement: str) -> str:
        """A rollup measurement as a FROM clause names it: `"rp"."fp_host_1d"`, or bare in the default policy."""
        policy = self.rollup_retention_policy
        return f'"{policy}"."{measurement}"' if policy else measurement

    def query(self, statement: str) -> list[dict[str, Any]]:
        """Rows of every series of the statement's result; [] when the database does not exist yet."""
        try:
            response = self._http.request("POST", f"{self._url}/query?{urlencode({**self._params, 'q': statement})}",
                                          headers=self._headers)
        except urllib3.exceptions.HTTPError as exc:
            raise QueryError(f"InfluxDB unreachable at {self._url}: {_reason(exc)}") from None
        try:
            body = json.loads(response.data or b"{}")
        except ValueError:
            raise QueryError(f"InfluxDB at {self._url} answered HTTP {response.status} with no JSON") from None
        if response.status >= 400 or "error" in body:  # InfluxDB 2.x says {"code": ..., "message": ...}
            detail = body.get("error") or body.get("message") or "no reason given"
            raise QueryError(f"InfluxDB at {self._url} answered HTTP {response.status}: {detail}")
        rows: list[dict[str, Any]] = []
        for result in body.get("results", []):
            if "error" in result:
                if result["error"].startswith("database not found"):
                    return []
                raise QueryError(result["error"])
            for series in result.get("series", []):
                tags = series.get("tags", {})
                rows.extend({**tags, **dict(zip(series["columns"], values))} for values in series["values"])
        return rows
