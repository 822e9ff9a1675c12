"""The store: what the collector's figures become in InfluxDB, how they are written and read back.

`points` is the schema (which measurement, tags and fields each fact becomes; docs/storage.md),
written as `lineprotocol` lines; a `sink` writes batches of them: `influx_v1` (POST /write) or
`influx_v2` (influxdb-client); `influxql` reads them back for the rollups, the budgets, the
report and `fleetprint live`; `connect` makes the sink and the InfluxQL an `[influxdb]` section
names. The store formats what the impact models give and is used by the services above it.
"""
