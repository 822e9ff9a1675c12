#!/bin/bash
# Run once by the influxdb image after its initial setup: maps the InfluxQL database the
# dashboards and the collector's reads use ($FLEETPRINT_DATABASE, retention policy autogen) to
# the bucket the setup created. The image's influx CLI is configured with the admin token here.
set -euo pipefail
influx v1 dbrp create \
  --org "${DOCKER_INFLUXDB_INIT_ORG}" \
  --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --db "${FLEETPRINT_DATABASE:-fleetprint}" \
  --rp autogen \
  --default
