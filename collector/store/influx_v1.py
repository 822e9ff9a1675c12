"""InfluxDB 1.x writer: POST /write (line protocol, ms precision) to a database."""

from __future__ import annotations

from urllib.parse import urlencode

import urllib3

from fleetprint.collector.store.sink import RetryableWriteError, TooLargeWriteError, refusal, unreachable


class InfluxV1Sink:
    """Writes to InfluxDB 1.x's `/write` endpoint (also served by InfluxDB 1.8+ and 2.x's v1 API), in
    `retention_policy` when given, else in the database's default one."""

    def __init__(self, url: str, database: str, username: str | None = None, password: str | None = None,
                 timeout_s: float = 10.0, retention_policy: str = "") -> None:
        self._url = url.rstrip("/")
        self._fields = {"db": database, "precision": "ms"}
        if retention_policy:
            self._fields["rp"] = retention_policy
        if username:
            self._fields.update(u=username, p=password or "")
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout_s), retries=False)

    def write(self, lines: list[str]) -> None:
        body = "\n".join(lines).encode("utf-8")
        try:
            response = self._http.request(
                "POST", f"{self._url}/write?{urlencode(self._fields)}", body=body,
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
        except urllib3.exceptions.HTTPError as exc:
            raise unreachable(exc) from None
        if response.status == 204:
            return
        detail = response.data.decode("utf-8", "replace")[:500]
        if response.status == 413:
            raise TooLargeWriteError(f"InfluxDB refused {len(body):,} bytes as too large: {detail}")
        if 400 <= response.status < 500 and response.status not in (401, 403, 404, 408, 429):
            raise refusal(f"InfluxDB refused the batch ({response.status}): {detail}", detail)
        raise RetryableWriteError(f"write failed ({response.status}): {detail}")

    def create_database(self) -> None:
        """CREATE DATABASE (a no-op when it exists)."""
        params = {k: v for k, v in self._fields.items() if k in ("u", "p")}
        params["q"] = f'CREATE DATABASE "{self._fields["db"]}"'
        try:
            response = self._http.request("POST", f"{self._url}/query?{urlencode(params)}")
        except urllib3.exceptions.HTTPError as exc:
            raise unreachable(exc) from None
        if response.status != 200:
            raise RetryableWriteError(f"CREATE DATABASE failed ({response.status})")

    def close(self) -> None:
        self._http.clear()
