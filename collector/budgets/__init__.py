"""Budgets per service: the budget file, periods and trajectory, evaluation, notifications.

Data flows down the page: `config` reads the budget file (TOML); `periods` places a budget's
period in UTC and applies its reduction trajectory; `evaluate` reads the spend so far from
InfluxDB (rollups first) and forecasts the period's end into a state (`ok`, `at_risk`,
`exceeded`); `job` runs the evaluation on the one collector `leader` elects, stores the
statuses as points and hands the changes to `notify` (the retained MQTT alert, webhooks, the
log). `cli` is `fleetprint budgets`: the status table, and Grafana alert rules made by
dashboards/alert_rules.py.
"""
