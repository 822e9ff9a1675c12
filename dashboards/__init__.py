"""Grafana provisioning for fleetprint: dashboards, the datasource, alert rules, and the code that makes them.

The dashboards are code: `panels` makes panels, InfluxQL targets and variables as plain dicts,
`definitions` the dashboards from them (rollups read in the retention policy given),
`provisioning` the datasource and dashboard provider files, and `build` writes them all under
`json/` and `provisioning/`, the committed copies (tests/dashboards checks they are current);
`alert_rules` turns the budget file into Grafana alert rules; `cli` is `fleetprint dashboards
build`. Data flows one way: from the collector's schema and budget file to files Grafana reads.
"""
