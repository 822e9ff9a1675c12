"""The six fleetprint dashboards, as code: what each panel shows and the InfluxQL behind it.

Macros are Grafana's: `$timeFilter`, `$__interval`, and the template variables `$site`,
`$department`, `$service`, `$host` (multi-valued ones expand to a regex alternation, `All` to `.*`), and
`$rollup_rp`, the retention policy the rollups are read in (docs/storage.md, "Retention").
"""

from __future__ import annotations

from typing import Any

from fleetprint.dashboards.panels import (
    bars,
    dashboard,
    panel,
    query_variable,
    retention_policy_variable,
    stat,
    table,
    target,
    timeseries,
)
from fleetprint.impacts import LadderStep

SITE = '"site" =~ /^$site$/'
# Hosts and devices without a department have none: `All` (.*) takes them, a chosen one leaves them out.
DEPARTMENT = '"department" =~ /^$department$/'
SERVICE = '"service" =~ /^$service$/'
HOST = '"host" =~ /^$host$/'
# The retention policy the shipped setups keep rollups in (deploy/, docs/storage.md).
ROLLUP_POLICY = "rollups"
CARBON_KG = '(sum("usage_gwp_gco2e") + sum("embodied_gwp_gco2e")) / 1000'
FLEET_1H = '"$rollup_rp"."fp_fleet_1h"'
SERVICE_1H = '"$rollup_rp"."fp_service_1h"'
HOST_1D = '"$rollup_rp"."fp_host_1d"'
RECENT = "3h"  # how far back panels read raw points next to a rollup
LAST_HOUR = "1h"
HOURLY_SHORT = "Whole UTC hours: the current hour joins once rolled up, a few minutes after it ends."
HOURLY = f"From the hourly rollup fp_fleet_1h. {HOURLY_SHORT}"
DAILY = ("From the daily rollup per host fp_host_1d: the range's whole UTC days, today's joins after midnight "
         "(a range shorter than a day may show none).")
BUDGET_STATES = [{"type": "value", "options": {"0": {"text": "ok", "color": "green"},
                                                "1": {"text": "at risk", "color": "orange"},
                                                "2": {"text": "exceeded", "color": "red"}}}]


def _site_variable() -> dict[str, Any]:
    return query_variable("site", "Site", 'SHOW TAG VALUES FROM "fp_host" WITH KEY = "site"')


def _department_variable() -> dict[str, Any]:
    return query_variable("department", "Department", 'SHOW TAG VALUES FROM "fp_host" WITH KEY = "department"')


def _rollup_variable(default: str) -> dict[str, Any]:
    return retention_policy_variable("rollup_rp", "Rollups in", default)


def _fleet_power(measurement: str, where: str) -> str:
    """Total power of many hosts: each host's mean per interval, then summed."""
    return (f'SELECT sum("power_w") AS "power_w" FROM (SELECT mean("power_w") AS "power_w" FROM "{measurement}" '
            f'WHERE $timeFilter AND {where} GROUP BY time($__interval), "host" fill(none)) '
            f'GROUP BY time($__interval) fill(none)')


def _hourly_power(rollup: str, where: str) -> str:
    """Total power from an hourly rollup: each hour's groups summed, then the hours' mean per interval."""
    return (f'SELECT mean("power_w") AS "power_w" FROM (SELECT sum("power_w") AS "power_w" FROM {rollup} '
            f'WHERE $timeFilter AND {where} GROUP BY time(1h) fill(none)) GROUP BY time($__interval) fill(none)')


def fleet_overview(rollup_policy: str = ROLLUP_POLICY) -> dict[str, Any]:
    where = f"{SITE} AND {DEPARTMENT}"
    panels = [
        stat("Carbon in the range", f'SELECT {CARBON_KG} FROM {FLEET_1H} WHERE $timeFilter AND {where}', "kgCO2e",
             f"Use and manufacture, all hosts and registered devices of the selected sites and departments. {HOURLY}"),
        stat("Energy in the range", f'SELECT sum("energy_wh") / 1000 FROM {FLEET_1H} WHERE $timeFilter AND {where}',
             "kwatth", HOURLY),
        stat("Mean fleet power", f'SELECT mean("power_w") FROM (SELECT sum("power_w") AS "power_w" FROM {FLEET_1H} '
             f'WHERE $timeFilter AND {where} GROUP BY time(1h) fill(none))', "watt", HOURLY),
        stat("Hosts reporting", 'SELECT count("last") FROM (SELECT last("power_w") FROM "fp_host" '
                                f'WHERE time > now() - {LAST_HOUR} AND {where} GROUP BY "host")', "none",
             f"Hosts and registered devices with a point in the last hour ({LAST_HOUR}, raw points)."),
        timeseries("Fleet power", [
            target(_hourly_power(FLEET_1H, where), alias="hourly mean"),
            target(_fleet_power("fp_host", f"time > now() - {RECENT} AND {where}"), ref="B",
                   alias=f"last {RECENT}")], "watt",
                   f"Measured or modelled power of every host, summed: hourly means from the hourly rollup, and "
                   f"over the last {RECENT} from the raw points at the panel's resolution.", w=24),
        timeseries("Energy per day by site", [target(
            f'SELECT sum("energy_wh") / 1000 FROM {FLEET_1H} WHERE $timeFilter AND {where} '
            'GROUP BY time(1d), "site" fill(none)', alias="$tag_site")], "kwatth", HOURLY, bars=True, stack=True),
        timeseries("Carbon per day: use and manufacture", [target(
            'SELECT sum("usage_gwp_gco2e") / 1000 AS "use", sum("embodied_gwp_gco2e") / 1000 AS "manufacture" '
            f'FROM {FLEET_1H} WHERE $timeFilter AND {where} GROUP BY time(1d) fill(none)')], "kgCO2e",
                   "Use: energy x PUE x the grid's carbon intensity. Manufacture: embodied impacts spread "
                   f"over each host's lifetime. {HOURLY}", bars=True, stack=True),
        bars("Carbon by site", f'SELECT {CARBON_KG} AS "kgCO2e" FROM {FLEET_1H} WHERE $timeFilter AND {where} '
             'GROUP BY "site"', "kgCO2e", HOURLY, w=8),
        bars("Carbon by department", f'SELECT {CARBON_KG} AS "kgCO2e" FROM {FLEET_1H} WHERE $timeFilter '
             f'AND {where} GROUP BY "department"', "kgCO2e", HOURLY, w=8),
        bars("Carbon by kind of machine", f'SELECT {CARBON_KG} AS "kgCO2e" FROM {FLEET_1H} WHERE $timeFilter '
             f'AND {where} GROUP BY "kind"', "kgCO2e",
             "agents' hosts by kind (server, vm, desktop, laptop, thin_client), the asset register's devices by "
             f"category (docs/assets.md). {HOURLY}", w=8),
        bars("Top services", f'SELECT {CARBON_KG} AS "kgCO2e" FROM {SERVICE_1H} WHERE $timeFilter AND {where} '
             'GROUP BY "service"', "kgCO2e", f"From fp_service_1h. {HOURLY_SHORT}", w=8),
        bars("Energy by kind: all, and workstations' monitors", 'SELECT sum("energy_wh") / 1000 AS "all", '
             f'sum("monitor_energy_wh") / 1000 AS "monitors" FROM {FLEET_1H} WHERE $timeFilter AND {where} '
             'GROUP BY "kind"', "kwatth", "A workstation's energy includes its external monitors' (modelled while "
             f"it reports), shown apart here; a laptop's own panel is in the machine's figure. {HOURLY}", w=16),
        table("Top hosts", f'SELECT {CARBON_KG} AS "kgCO2e", sum("energy_wh") / 1000 AS "kWh", '
              'sum("energy_wh") / sum("interval_s") * 3600 AS "mean W", '
              'sum("cpu_util_pct_sum") / sum("cpu_util_samples") AS "CPU %" '
              f'FROM {HOST_1D} WHERE $timeFilter AND {where} GROUP BY "host", "site", "kind"', DAILY, w=24,
              sort_by="kgCO2e"),
    ]
    return dashboard("fp-fleet", "fleetprint: fleet overview",
                     "Power, energy and carbon of the whole fleet, by site, department, kind, service and host.",
                     panels, [_site_variable(), _department_variable(), _rollup_variable(rollup_policy)])


def service_view(rollup_policy: str = ROLLUP_POLICY) -> dict[str, Any]:
    where = f"{SERVICE} AND {SITE}"
    panels = [
        stat("Carbon in the range", f'SELECT {CARBON_KG} FROM {SERVICE_1H} WHERE $timeFilter AND {where}', "kgCO2e",
             f"From fp_service_1h. {HOURLY_SHORT}"),
        stat("Energy in the range", f'SELECT sum("energy_wh") / 1000 FROM {SERVICE_1H} WHERE $timeFilter AND {where}',
             "kwatth", f"From fp_service_1h. {HOURLY_SHORT}"),
        stat("Budget state", f'SELECT last("state_level") FROM "fp_budget" WHERE $timeFilter AND {SERVICE}',
             "none", "The worst of the service's budgets: ok, at risk (forecast over the limit), exceeded.",
             mappings=BUDGET_STATES),
        stat("Hosts", 'SELECT count("last") FROM (SELECT last("power_w") FROM "fp_service" '
                      f'WHERE time > now() - {LAST_HOUR} AND {where} GROUP BY "host")', "none",
             f"Hosts that ran the service in the last hour ({LAST_HOUR}, raw points)."),
        timeseries("Carbon per day (daily rollup)", [target(
            'SELECT sum("usage_gwp_gco2e") / 1000 AS "use", sum("embodied_gwp_gco2e") / 1000 AS "manufacture" '
            f'FROM "$rollup_rp"."fp_service_1d" WHERE $timeFilter AND {where} GROUP BY time(1d) fill(none)')],
                   "kgCO2e",
                   "From fp_service_1d: fast over a year.", bars=True, stack=True),
        timeseries("Power", [
            target(_hourly_power(SERVICE_1H, where), alias="$service hourly mean"),
            target(_fleet_power("fp_service", f"time > now() - {RECENT} AND {where}"), ref="B",
                   alias=f"$service last {RECENT}")], "watt",
                   "The service's share of its hosts' power, summed: hourly means from fp_service_1h, and over "
                   f"the last {RECENT} from the raw points at the panel's resolution."),
        timeseries("Budget: spent, forecast and limit", [target(
            'SELECT last("spent_kgco2e") AS "spent", last("forecast_kgco2e") AS "forecast", '
            'last("limit_kgco2e") AS "limit" FROM "fp_budget" WHERE $timeFilter AND ' + SERVICE
            + ' GROUP BY time($__interval), "budget" fill(none)', alias="$tag_budget $col")], "kgCO2e",
                   "The limit follows the reduction trajectory year by year."),
        timeseries("Trajectory: the limit's factor", [target(
            'SELECT last("trajectory_factor") FROM "fp_budget" WHERE $timeFilter AND ' + SERVICE
            + ' GROUP BY time(1d), "budget" fill(none)', alias="$tag_budget")], "percentunit",
                   "1 in the baseline year, shrinking by the yearly reduction after it."),
        table("Hosts of the service, last 24 h", f'SELECT {CARBON_KG} AS "kgCO2e", sum("energy_wh") / 1000 AS "kWh", '
              f'mean("cpu_share") * 100 AS "CPU % of host" FROM "fp_service" WHERE $timeFilter AND '
              f'time > now() - 24h AND {where} GROUP BY "host", "site"',
              "From the raw points of the last 24 hours of the range (no rollup is kept per host and service).",
              w=24, sort_by="kgCO2e"),
    ]
    variables = [query_variable("service", "Service", 'SHOW TAG VALUES FROM "fp_service" WITH KEY = "service"',
                                multi=False), _site_variable(), _rollup_variable(rollup_policy)]
    return dashboard("fp-service", "fleetprint: service", "One service's footprint, hosts, budget and trajectory.",
                     panels, variables)


def host_view(rollup_policy: str = ROLLUP_POLICY) -> dict[str, Any]:
    panels = [
        timeseries("Power by source", [target(
            f'SELECT mean("power_w") FROM "fp_host" WHERE $timeFilter AND {HOST} '
            'GROUP BY time($__interval), "power_source" fill(none)', alias="$tag_power_source")], "watt",
                   f"{' > '.join(LadderStep)}: the best source the host had."),
        timeseries("Utilisation", [target(
            'SELECT mean("cpu_util_pct") AS "CPU", mean("mem_used_bytes") / mean("mem_total_bytes") * 100 AS "memory" '
            f'FROM "fp_host" WHERE $timeFilter AND {HOST} GROUP BY time($__interval) fill(none)')], "percent"),
        timeseries("Power by service", [target(
            f'SELECT mean("power_w") FROM "fp_service" WHERE $timeFilter AND {HOST} '
            'GROUP BY time($__interval), "service" fill(none)', alias="$tag_service")], "watt", stack=True),
        timeseries("Embodied carbon charged, cumulated", [target(
            f'SELECT cumulative_sum(sum("embodied_gwp_gco2e")) / 1000 FROM {HOST_1D} WHERE $timeFilter AND '
            f'{HOST} GROUP BY time(1d) fill(none)', alias="charged")], "kgCO2e",
                   f"Manufacture impacts spread over the lifetime; nothing more once past it. {DAILY}"),
        table("Inventory", 'SELECT last("cpu_model") AS "CPU", last("cpu_sockets") AS "sockets", '
              'last("cpu_threads") AS "threads", last("ram_gb") AS "RAM GB", last("disk_count") AS "disks", '
              'last("disk_total_gb") AS "disk GB", last("os") AS "OS", last("power_model") AS "power model", '
              'last("lifetime_h") / 8760 AS "lifetime years", last("embodied_gwp_total_gco2e") / 1000 AS '
              f'"manufacture kgCO2e" FROM "fp_inventory" WHERE {HOST} GROUP BY "host", "kind", "site"', w=24, h=5),
    ]
    variables = [query_variable("host", "Host", 'SHOW TAG VALUES FROM "fp_host" WITH KEY = "host"', multi=False),
                 _rollup_variable(rollup_policy)]
    return dashboard("fp-host", "fleetprint: host", "One host: power by source, utilisation, services, inventory.",
                     panels, variables, time_from="now-24h")


def budgets_view(rollup_policy: str = ROLLUP_POLICY) -> dict[str, Any]:
    panels = [
        table("Budgets now", 'SELECT last("state") AS "state", last("spent_kgco2e") AS "spent kgCO2e", '
              'last("forecast_kgco2e") AS "forecast kgCO2e", last("limit_kgco2e") AS "limit kgCO2e", '
              'last("spent_kwh") AS "spent kWh", last("forecast_kwh") AS "forecast kWh", '
              'last("limit_kwh") AS "limit kWh", last("trajectory_factor") AS "trajectory" '
              'FROM "fp_budget" WHERE $timeFilter GROUP BY "budget"', w=24),
        panel_state_timeline(),
        timeseries("Fleet carbon per week (use and manufacture)", [target(
            f'SELECT {CARBON_KG} FROM "$rollup_rp"."fp_service_1d" '
            'WHERE $timeFilter GROUP BY time(7d) fill(none)', alias="kgCO2e per week")], "kgCO2e",
                   "Progress of the whole fleet, week by week, for the reduction plan.", bars=True),
        timeseries("Spend against limit", [target(
            'SELECT last("spent_kgco2e") / last("limit_kgco2e") * 100 FROM "fp_budget" WHERE $timeFilter '
            'GROUP BY time($__interval), "budget" fill(none)', alias="$tag_budget")], "percent",
                   "Each budget's spend as a share of its limit for the current period."),
    ]
    return dashboard("fp-budgets", "fleetprint: budgets and trajectory",
                     "Every budget's state, spend, forecast and limit, and the fleet's trend.", panels,
                     [_rollup_variable(rollup_policy)], time_from="now-30d")


def panel_state_timeline() -> dict[str, Any]:
    return panel("state-timeline", "States over time", [target(
        'SELECT last("state_level") FROM "fp_budget" WHERE $timeFilter GROUP BY time($__interval), "budget" '
        'fill(previous)', alias="$tag_budget")], None, "ok, at risk, exceeded", w=24,
                 field={"mappings": BUDGET_STATES})


def inventory_view(rollup_policy: str = ROLLUP_POLICY) -> dict[str, Any]:
    per_host = 'FROM "fp_inventory" GROUP BY "host", "kind"'
    panels = [
        bars("Hosts by kind", f'SELECT count("last") FROM (SELECT last("ram_gb") {per_host}) GROUP BY "kind"',
             "none", w=8),
        bars("Manufacture carbon by kind (whole life)", 'SELECT sum("last") / 1000 FROM (SELECT '
             f'last("embodied_gwp_total_gco2e") {per_host}) GROUP BY "kind"', "kgCO2e", w=8),
        bars("Manufacture carbon charged in the range, by kind", 'SELECT sum("embodied_gwp_gco2e") / 1000 '
             f'FROM {FLEET_1H} WHERE $timeFilter AND {SITE} GROUP BY "kind"', "kgCO2e", HOURLY, w=8),
        table("Hardware age", 'SELECT last("purchase_year") AS "bought", last("lifetime_h") / 8760 AS '
              '"lifetime years", last("cpu_model") AS "CPU" FROM "fp_inventory" GROUP BY "host", "kind", "site"',
              "Hosts whose agent gives a purchase date.", w=12),
        table("Hosts past their lifetime", 'SELECT sum("past_lifetime_energy_wh") / 1000 AS "kWh past lifetime", '
              f'sum("energy_wh") / 1000 AS "kWh in range" FROM {HOST_1D} WHERE $timeFilter AND {SITE} '
              'GROUP BY "host", "kind"', f"Fully amortised: no more manufacture impacts charged. {DAILY}", w=12,
              transformations=[{"id": "filterByValue", "options": {
                  "filters": [{"fieldName": "kWh past lifetime", "config": {"id": "greater", "options": {"value": 0}}}],
                  "type": "include", "match": "all"}}]),
    ]
    return dashboard("fp-inventory", "fleetprint: inventory and lifecycle",
                     "What the fleet is made of, its manufacture footprint, and its age.", panels,
                     [_site_variable(), _rollup_variable(rollup_policy)], time_from="now-30d")


def data_quality_view(rollup_policy: str = ROLLUP_POLICY) -> dict[str, Any]:
    panels = [
        table("Last report per host, last 24 h", 'SELECT last("power_w") AS "last power W", last("seq") AS "seq" '
              'FROM "fp_host" WHERE time > now() - 24h GROUP BY "host"',
              "Sort by time: agents that went quiet are at the top (raw points).", w=12, h=10),
        table("Last day reported per host, 30 days", 'SELECT last("samples") AS "samples that day" '
              f'FROM {HOST_1D} WHERE time > now() - 30d GROUP BY "host"',
              "The last whole UTC day each host reported, from fp_host_1d: hosts quiet for days are at the top.",
              w=12, h=10),
        bars("Power sources used", f'SELECT sum("samples") FROM {FLEET_1H} WHERE $timeFilter GROUP BY "power_source"',
             "none", f"How much of the fleet's power is measured rather than modelled: samples. {HOURLY}", w=12),
        table("Modelled energy by power model",
              f'SELECT sum("energy_wh") / 1000 AS "kWh", last("power_model") AS "power model" FROM {HOST_1D} '
              'WHERE $timeFilter AND "power_source" = \'modelled\' GROUP BY "host"',
              "Which model gave the modelled energy: specpower_published (published SPECpower results of the "
              "host's CPU and socket count), specpower_fit (the model fitted on them, for other CPUs), "
              "boavizta_server, the workstation models; _vm_share for virtual machines (docs/power-model.md). "
              f"Each host counts under its latest model. {DAILY}", w=12, h=8, unit="kwatth", sort_by="kWh (sum)",
              transformations=[{"id": "groupBy", "options": {"fields": {
                  "power model": {"aggregations": [], "operation": "groupby"},
                  "kWh": {"aggregations": ["sum"], "operation": "aggregate"}}}}]),
        bars("Manufacture GWP by source", f'SELECT sum("embodied_gwp_gco2e") / 1000 AS "kgCO2e" FROM {HOST_1D} '
             'WHERE $timeFilter GROUP BY "embodied_source"', "kgCO2e",
             "Where the hosts' manufacture GWP comes from: declared (the maker's product footprint), fitted (a model "
             "fitted on makers' footprints), boavizta (Boavizta's bottom-up model). Makers' figures have large "
             "margins of error. A host's monitors count here under the host's source: the next panel splits them. "
             f"{DAILY}", w=12),
        table("Manufacture GWP of hosts and their monitors by source",
              'SELECT sum("embodied_gwp_gco2e") / 1000 AS "kgCO2e", sum("monitor_embodied_gwp_gco2e") / 1000 AS '
              f'"of which monitors kgCO2e" FROM {HOST_1D} WHERE $timeFilter GROUP BY "embodied_source", '
              '"monitor_embodied_source"',
              "Per source of the machines' figure and of their monitors' (declared, fitted, boavizta; "
              "declared+fitted when one host's monitors have both): the hosts' manufacture GWP over the range and "
              f"the part of it that is their external monitors'. {DAILY}", w=12),
        timeseries("Dropped by reason", [target(
            'SELECT non_negative_difference(max(/^(rejected|samples_refused|points_refused)_/)) FROM "fp_collector" '
            'WHERE $timeFilter GROUP BY time($__interval), "collector" fill(none)', alias="$tag_collector $col"),
            target('SELECT non_negative_difference(max("services_over_limit")) AS "services_over_limit" FROM '
                   '"fp_collector" WHERE $timeFilter GROUP BY time($__interval), "collector" fill(none)', ref="B",
                   alias="$tag_collector $col")], "none",
                   "Per interval, each counted once under its reason (docs/reliability.md): messages rejected "
                   "(malformed, invalid, oversize, other host's, no inventory, rate limited...), samples refused "
                   "(too old, in the future, replayed), points the database refused, and service shares folded "
                   "into unallocated past the per-host bound. *_total are the sums."),
        timeseries("Broker drops and held reports", [target(
            'SELECT max("broker_dropped_messages") AS "broker drops", max("reports_held") AS "held reports", '
            'max("write_retries") AS "write retries" FROM "fp_collector" WHERE $timeFilter '
            'GROUP BY time($__interval), "collector" fill(none)', alias="$tag_collector $col")], "none",
                   "Broker drops mean lost data: raise max_queued_messages or add collectors."),
        timeseries("Points written per interval", [target(
            'SELECT non_negative_difference(max("points_written")) FROM "fp_collector" WHERE $timeFilter '
            'GROUP BY time($__interval), "collector" fill(none)', alias="$tag_collector")], "none"),
        table("Samples dropped by agents", 'SELECT sum("agent_dropped_samples") AS "dropped" FROM "fp_host" '
              'WHERE $timeFilter GROUP BY "host"',
              "Samples an agent could not keep: its disk queue overflowed during an outage, or its disk was full."),
        table("Scheduled reports sent", 'SELECT last("period") AS "period", last("ok") AS "sent", last("attempts") AS '
              '"attempts", last("attempted_at") AS "last attempt", last("detail") AS "detail" FROM '
              '"fp_report_delivery" WHERE time > now() - 400d GROUP BY "delivery", "channel"',
              "Each delivery's latest period by mail and webhook (report.deliveries, docs/report.md): sent, or "
              "why not and after how many attempts. Over the last 400 days whatever the range: a record is "
              "stamped at its period's start.", w=24, h=6),
    ]
    return dashboard("fp-quality", "fleetprint: data quality",
                     "Are agents reporting, how are power and manufacture known, what is rejected or lost.", panels,
                     [_rollup_variable(rollup_policy)], time_from="now-7d")


def all_dashboards(rollup_policy: str = ROLLUP_POLICY) -> list[dict[str, Any]]:
    """Every dashboard; those reading rollups select the retention policy `rollup_policy` first."""
    return [fleet_overview(rollup_policy), service_view(rollup_policy), host_view(rollup_policy),
            budgets_view(rollup_policy), inventory_view(rollup_policy), data_quality_view(rollup_policy)]
