#!/bin/bash
# Run once by the influxdb image after its initial setup: maps the InfluxQL database the
# dashboards and the collector's reads use ($FLEETPRINT_DATABASE, retention policy autogen) to
# the bucket the setup created (raw points), and creates the rollups' bucket
# ($FLEETPRINT_ROLLUP_BUCKET, kept $FLEETPRINT_ROLLUP_RETENTION, 0 for ever), mapped to the same
# database as retention policy $FLEETPRINT_ROLLUP_POLICY. The image's influx CLI is configured
# with the admin token here.
set -euo pipefail
database="${FLEETPRINT_DATABASE:-fleetprint}"
influx v1 dbrp create \
  --org "${DOCKER_INFLUXDB_INIT_ORG}" \
  --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --db "${database}" \
  --rp autogen \
  --default
rollup_bucket_id="$(influx bucket create \
  --org "${DOCKER_INFLUXDB_INIT_ORG}" \
  --name "${FLEETPRINT_ROLLUP_BUCKET:-fleetprint-rollups}" \
  --retention "${FLEETPRINT_ROLLUP_RETENTION:-0}" \
  --json | sed -n 's/^[[:space:]]*"id":[[:space:]]*"\([0-9a-f]*\)".*/\1/p')"
influx v1 dbrp create \
  --org "${DOCKER_INFLUXDB_INIT_ORG}" \
  --bucket-id "${rollup_bucket_id}" \
  --db "${database}" \
  --rp "${FLEETPRINT_ROLLUP_POLICY:-rollups}"
