"""The InfluxDB an `[influxdb]` section names: its writer (raw points, or the rollups) and its InfluxQL.

What `fleetprint collector run`, `live`, `budgets` and `report` share; each sink's client is
imported only when one is made.
"""

from __future__ import annotations

from fleetprint.collector.settings import InfluxSettings
from fleetprint.collector.store.influxql import InfluxQL
from fleetprint.collector.store.sink import Sink


def make_influxql(settings: InfluxSettings) -> InfluxQL:
    """InfluxQL on the collector's database (on InfluxDB 2.x, the database its DBRP mappings name)."""
    if settings.version == 1:
        return InfluxQL(settings.url, settings.database, settings.username, settings.password,
                        rollup_retention_policy=settings.rollup_retention_policy)
    return InfluxQL(settings.url, settings.database, token=settings.secret_token(),
                    rollup_retention_policy=settings.rollup_retention_policy)


def make_sink(settings: InfluxSettings, rollups: bool = False) -> Sink:
    """The writer of raw points, or with `rollups` of the rollups (in their retention policy or bucket)."""
    if settings.version == 1:
        from fleetprint.collector.store.influx_v1 import InfluxV1Sink

        policy = settings.rollup_retention_policy if rollups else ""
        sink = InfluxV1Sink(settings.url, settings.database, settings.username, settings.password, settings.timeout_s,
                            policy)
        if settings.create_database and not rollups:
            sink.create_database()
        return sink
    from fleetprint.collector.store.influx_v2 import InfluxV2Sink

    bucket = settings.rollup_bucket if rollups and settings.rollup_bucket else settings.bucket
    return InfluxV2Sink(settings.url, bucket, settings.org, settings.secret_token() or "", settings.timeout_s)
