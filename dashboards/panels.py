"""Building blocks of Grafana dashboards as plain dicts: InfluxQL targets, panels, variables.

Every query is raw InfluxQL (which InfluxDB 1.x, and 2.x/3.x through DBRP, all serve), on
the datasource that provisioning declares (uid `fleetprint-influxdb`).
"""

from __future__ import annotations

from typing import Any

DATASOURCE = {"type": "influxdb", "uid": "fleetprint-influxdb"}


def target(query: str, ref: str = "A", alias: str | None = None, table: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"refId": ref, "datasource": DATASOURCE, "rawQuery": True, "query": query,
                           "resultFormat": "table" if table else "time_series"}
    if alias:
        out["alias"] = alias
    return out


def panel(kind: str, title: str, targets: list[dict[str, Any]], unit: str | None = None, description: str = "",
          w: int = 12, h: int = 8, options: dict[str, Any] | None = None, field: dict[str, Any] | None = None,
          transformations: list[dict[str, Any]] | None = None, stack: bool = False) -> dict[str, Any]:
    """A panel; its position and id are set when the dashboard is laid out."""
    defaults: dict[str, Any] = dict(field or {})
    if unit:
        defaults["unit"] = unit
    if stack:
        defaults.setdefault("custom", {})["stacking"] = {"mode": "normal", "group": "A"}
    out: dict[str, Any] = {"type": kind, "title": title, "description": description, "datasource": DATASOURCE,
                           "targets": targets, "fieldConfig": {"defaults": defaults, "overrides": []},
                           "options": options or {}, "gridPos": {"w": w, "h": h}}
    if transformations:
        out["transformations"] = transformations
    return out


def timeseries(title: str, targets: list[dict[str, Any]], unit: str, description: str = "", w: int = 12,
               stack: bool = False, bars: bool = False) -> dict[str, Any]:
    field = {"custom": {"drawStyle": "bars" if bars else "line", "fillOpacity": 60 if bars or stack else 10}}
    return panel("timeseries", title, targets, unit, description, w=w, field=field, stack=stack)


def stat(title: str, query: str, unit: str, description: str = "", w: int = 6,
         mappings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    field = {"mappings": mappings} if mappings else None
    return panel("stat", title, [target(query)], unit, description, w=w, h=5, field=field,
                 options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}})


def table(title: str, query: str, description: str = "", w: int = 12, h: int = 9, unit: str | None = None,
          sort_by: str | None = None, transformations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {"showHeader": True}
    if sort_by:
        options["sortBy"] = [{"displayName": sort_by, "desc": True}]
    return panel("table", title, [target(query, table=True)], unit, description, w=w, h=h, options=options,
                 transformations=transformations)


def bars(title: str, query: str, unit: str, description: str = "", w: int = 12) -> dict[str, Any]:
    """A bar gauge over a table result (one bar per row, e.g. per service or per kind)."""
    return panel("bargauge", title, [target(query, table=True)], unit, description, w=w,
                 options={"orientation": "horizontal", "displayMode": "gradient",
                          "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": True}})


def query_variable(name: str, label: str, query: str, multi: bool = True) -> dict[str, Any]:
    return {"name": name, "label": label, "type": "query", "datasource": DATASOURCE, "query": query,
            "definition": query, "refresh": 2, "multi": multi, "includeAll": multi,
            "allValue": ".*" if multi else None, "sort": 1,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]} if multi else {}}


def retention_policy_variable(name: str, label: str, default: str) -> dict[str, Any]:
    """The database's retention policies in its own order, `default` selected; where it is none of
    them, Grafana selects the first listed (with a single policy, the default one)."""
    variable = query_variable(name, label, "SHOW RETENTION POLICIES", multi=False)
    variable["sort"] = 0
    variable["current"] = {"selected": True, "text": default, "value": default}
    return variable


def dashboard(uid: str, title: str, description: str, panels: list[dict[str, Any]],
              variables: list[dict[str, Any]], time_from: str = "now-7d") -> dict[str, Any]:
    """A dashboard with its panels laid out left to right, top to bottom, ids in order."""
    x = y = row_h = 0
    laid_out = []
    for number, item in enumerate(panels, start=1):
        w, h = item["gridPos"]["w"], item["gridPos"]["h"]
        if x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        laid_out.append({**item, "id": number, "gridPos": {"x": x, "y": y, "w": w, "h": h}})
        x, row_h = x + w, max(row_h, h)
    return {
        "uid": uid, "title": title, "description": description, "tags": ["fleetprint"], "timezone": "utc",
        "editable": False, "schemaVersion": 39, "version": 1, "refresh": "1m", "graphTooltip": 1,
        "time": {"from": time_from, "to": "now"}, "templating": {"list": variables}, "panels": laid_out,
        "links": [{"title": "fleetprint", "type": "dashboards", "tags": ["fleetprint"], "asDropdown": True}],
    }
