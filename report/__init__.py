"""`fleetprint report`: a period's footprint for people who do not open Grafana (docs/report.md).

Data flows down the page: `period` reads the period asked for (a month, a year, a range of
days) and its trend buckets; `collect` gathers the figures through `query` (InfluxQL, rollups
first) into the types of `model`, with `outcomes` (the budgets over the period) and `whatif`
(keeping hardware longer); `charts` draws them (matplotlib, SVG), `render_html` lays out the
page (Jinja2), `render_pdf` prints it (WeasyPrint) and `csv_export` writes the tables; `produce`
writes them to files and `cli` is the command. `extra` tells a missing `[report]` extra before any
import. Scheduled delivery: `deliveries` (the collector's job, what was sent stored in InfluxDB)
sends `render_text` (the first page in plain words) with the files by `mail` and `webhook`.
"""
