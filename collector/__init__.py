"""The collector (`fleetprint.collector`): turns the agents' messages into footprints stored in InfluxDB.

Data flows down the page: `mqtt_session` (its MQTT session held by the child process
`mqtt_child`) receives inventories and reports; `ingest` validates them (`held` keeps reports
waiting for their host's inventory, `host_limits` bounds what one host may cost) and `hosts`
keeps each host's model; `impact/` models each sample's power and footprint and splits it across
services; `store/` makes them points and writes them; `runner` runs the loop, writes the
batches, acknowledges what is stored and schedules `rollups` and `budgets/`; `stats` counts what
passed and what was dropped. `settings` declares the config's sections and `config` assembles
them; `cli`, `live` and `doctor` face the operator.
"""
