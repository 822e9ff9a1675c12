"""InfluxDB 2.x/3.x writer through influxdb-client (`/api/v2/write`, bucket + token)."""

from __future__ import annotations

from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException
from urllib3.exceptions import HTTPError

from fleetprint.collector.store.sink import RetryableWriteError, TooLargeWriteError, refusal, unreachable


class InfluxV2Sink:
    """Synchronous writes of pre-formatted line protocol; batching is the collector's own."""

    def __init__(self, url: str, bucket: str, org: str, token: str, timeout_s: float = 10.0) -> None:
        self._bucket = bucket
        self._org = org
        self._client = InfluxDBClient(url=url, token=token, org=org, timeout=int(timeout_s * 1000),
                                      retries=False)
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, lines: list[str]) -> None:
        try:
            self._write_api.write(bucket=self._bucket, org=self._org, record="\n".join(lines),
                                  write_precision=WritePrecision.MS)
        except ApiException as exc:
            if exc.status == 413:
                raise TooLargeWriteError(f"InfluxDB refused {len(lines):,} points as too large: {exc.body}") from None
            if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 403, 404, 408, 429):
                raise refusal(f"InfluxDB refused the batch ({exc.status}): {exc.body}", str(exc.body)) from None
            raise RetryableWriteError(f"write failed ({exc.status}): {exc.reason}") from None
        except HTTPError as exc:
            raise unreachable(exc) from None

    def close(self) -> None:
        self._client.close()
