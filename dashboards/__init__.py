"""Grafana provisioning for fleetprint: dashboards, the datasource, alert rules, and the code that makes them."""
