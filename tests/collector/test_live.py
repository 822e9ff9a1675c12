"""`fleetprint live` reads the InfluxDB its collector config names: the fleet's total, its top hosts,
the registered devices' last hour and a chart of the last hour, against a real InfluxDB."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from fleetprint.collector.live import live
from fleetprint.collector.live_view import column_chart
from fleetprint.collector.store.influx_v1 import InfluxV1Sink
from fleetprint.collector.store.lineprotocol import line
from fleetprint.schema import utc_now
from fleetprint.timestamps import epoch_ms

from services import free_port

# Two samples of 30 s each in the window: (host, site, power source, energy_wh, usage g, embodied g) per sample.
WINDOW_HOSTS = [("web-01", "paris", "rapl", 1.0, 0.5, 0.1), ("db-01", "lyon", "modelled", 2.5, 1.5, 0.3),
                ("pc-0042", "paris", "battery", 0.2, 0.05, 0.4)]
CHART_HOST_WH = {minute: float(minute) for minute in range(5, 51)}  # minutes ago -> Wh in that minute: 50 Wh at most


def test_the_chart_columns_rise_with_the_values_in_eighths() -> None:
    rows = column_chart([0.0, 1.0, 2.0, None, 4.0], height=2)
    assert rows == ["    █", " ▄█ █"]  # 4 fills both rows; 1 is a quarter of them: 4 eighths of the bottom row
    assert column_chart([None, None], height=1) == ["  "]


@pytest.fixture
def fleet(influxdb, influx_db) -> Iterator[str]:
    """A database holding hosts reporting now, an hour of one host's minutes and a registered device's hour."""
    now = utc_now()
    points = []
    for host, site, source, energy_wh, usage, embodied in WINDOW_HOSTS:
        for seconds in (10, 40):
            points.append(line("fp_host", {"host": host, "site": site, "power_source": source},
                               {"energy_wh": energy_wh, "power_w": energy_wh * 120, "usage_gwp_gco2e": usage,
                                "embodied_gwp_gco2e": embodied, "interval_s": 30.0},
                               epoch_ms(now - timedelta(seconds=seconds))))
    minute_now = now.replace(second=0, microsecond=0)
    for minutes_ago, energy_wh in CHART_HOST_WH.items():
        points.append(line("fp_host", {"host": "batch-01", "site": "lyon", "power_source": "rapl"},
                           {"energy_wh": energy_wh, "usage_gwp_gco2e": 1.0, "embodied_gwp_gco2e": 0.1,
                            "interval_s": 60.0}, epoch_ms(minute_now - timedelta(minutes=minutes_ago, seconds=-30))))
    last_hour_end = now.replace(minute=0, second=0, microsecond=0)
    points.append(line("fp_host", {"host": "register.csv/MON-7", "site": "paris", "power_source": "modelled"},
                       {"energy_wh": 45.0, "power_w": 45.0, "usage_gwp_gco2e": 2.0, "embodied_gwp_gco2e": 7.0,
                        "interval_s": 3600.0, "asset_quantity": 3}, epoch_ms(last_hour_end)))
    InfluxV1Sink(influxdb.url, influx_db).write(points)
    yield influx_db


def write_config(tmp_path: Path, body: str) -> Path:
    config = tmp_path / "collector.toml"
    config.write_text(body)
    return config


def run_live(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(live, ["--once", *args])
    return result.exit_code, result.output


def test_live_shows_the_total_the_top_hosts_the_estate_and_the_last_hour(influxdb, fleet, tmp_path: Path) -> None:
    config = write_config(tmp_path, f'[influxdb]\nurl = "{influxdb.url}"\ndatabase = "{fleet}"\n')
    code, out = run_live("-c", str(config), "--top", "2")
    assert code == 0, out
    rates = {host: (2 * energy * 3600 / 60, 2 * usage * 60, 2 * embodied * 60)  # 2 samples over 60 s, per hour
             for host, _, _, energy, usage, embodied in WINDOW_HOSTS}
    hosts_w = sum(w for w, _, _ in rates.values())
    hosts_g = sum(u + e for _, u, e in rates.values())
    assert f"Fleet now: {hosts_w + 45:,.0f} W, {hosts_g + 9:,.1f} gCO2e/h" in out
    assert f"3 hosts reporting in the last 120 s: {hosts_w:,.0f} W, {hosts_g:,.1f} gCO2e/h" in out
    assert "3 registered devices without an agent" in out and ": 45 W, 9.0 gCO2e/h" in out
    table = [row for row in out.splitlines() if "│" in row]  # the data rows (the header's bars are heavy: ┃)
    assert [row.split("│")[1].strip() for row in table] == ["db-01", "web-01"]  # 216, 72 gCO2e/h; pc-0042: 54
    cells = [cell.strip() for cell in table[0].split("│")[1:-1]]
    w, usage, embodied = rates["db-01"]
    assert cells == ["db-01", "lyon", "modelled", f"{w:,.0f} W", f"{usage:,.1f}", f"{embodied:,.1f}",
                     f"{(usage + embodied) / (hosts_g + 9):.1%}"]
    chart = out[out.index("Fleet power of the hosts reporting"):].splitlines()
    assert chart[1].startswith(f"{max(CHART_HOST_WH.values()) * 60:,.0f} W ┤")  # 50 Wh in a minute: 3,000 W
    assert "minutes without samples are left blank" in out  # the hour's first ten minutes have none


def test_live_runs_as_a_command_with_the_config_from_the_environment(influxdb, fleet, tmp_path: Path) -> None:
    config = write_config(tmp_path, f'[influxdb]\nurl = "{influxdb.url}"\ndatabase = "{fleet}"\n')
    result = subprocess.run([sys.executable, "-m", "fleetprint", "live", "--once"], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "FLEETPRINT_COLLECTOR_CONFIG": str(config),
                                             "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "3 hosts reporting" in result.stdout and "db-01" in result.stdout


def test_an_unreachable_database_is_said_in_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    config = write_config(tmp_path, f'[influxdb]\nurl = "{url}"\n')
    code, out = run_live("-c", str(config))
    assert code == 1
    assert out.strip() == (f"Error: cannot read the figures: InfluxDB unreachable at {url}: Failed to establish a "
                           "new connection: [Errno 111] Connection refused (InfluxDB as the [influxdb] section of "
                           f"{config} says)")


class TokenGate(http.server.ThreadingHTTPServer):
    """An InfluxDB 2.x's door in front of the real InfluxDB 1.x: InfluxQL (`/query`, DBRP) answered
    for `Authorization: Token <token>`, and 401 with InfluxDB 2.x's error body otherwise."""

    def __init__(self, upstream: str, token: str) -> None:
        gate = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                gate.authorizations.append(self.headers.get("Authorization"))
                if self.headers.get("Authorization") != f"Token {token}":
                    return self._answer(401, json.dumps({"code": "unauthorized", "message": "unauthorized access"}))
                try:
                    with urllib.request.urlopen(urllib.request.Request(upstream + self.path, method="POST")) as answer:
                        return self._answer(answer.status, answer.read().decode())
                except urllib.error.HTTPError as exc:
                    return self._answer(exc.code, exc.read().decode())

            def _answer(self, status: int, body: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.authorizations: list[str | None] = []
        super().__init__(("127.0.0.1", 0), Handler)


def test_an_influxdb_2_token_from_the_config_is_sent_and_a_wrong_one_is_said(influxdb, fleet, tmp_path: Path) -> None:
    gate = TokenGate(influxdb.url, "s3cret-token")
    threading.Thread(target=gate.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{gate.server_address[1]}"
    outputs = {}
    try:
        for token, expected_code in (("s3cret-token", 0), ("wrong", 1)):
            (tmp_path / "token").write_text(token + "\n")
            config = write_config(tmp_path, f'[influxdb]\nversion = 2\nurl = "{url}"\norg = "city"\n'
                                            f'database = "{fleet}"\ntoken_file = "{tmp_path / "token"}"\n')
            code, outputs[token] = run_live("-c", str(config))
            assert code == expected_code, outputs[token]
            assert gate.authorizations[-1] == f"Token {token}"
        assert "3 hosts reporting" in outputs["s3cret-token"]
        assert outputs["wrong"].strip().startswith(
            f"Error: cannot read the figures: InfluxDB at {url} answered HTTP 401: unauthorized access")
    finally:
        gate.shutdown()


def test_a_wrong_config_is_said_with_its_field(tmp_path: Path) -> None:
    code, out = run_live("-c", str(write_config(tmp_path, '[influxdb]\nversion = 3\n')))
    assert code == 1 and "influxdb.version" in out
