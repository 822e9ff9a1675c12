"""`fleetprint live` reads the InfluxDB its collector config names, as the other commands do."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from fleetprint.collector.store.influx_v1 import InfluxV1Sink
from fleetprint.collector.store.lineprotocol import line
from fleetprint.schema import utc_now
from fleetprint.timestamps import epoch_ms


def live(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fleetprint", "live", "--once", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_live_reads_the_database_of_the_collector_config(influxdb, influx_db, tmp_path: Path) -> None:
    now = utc_now()
    InfluxV1Sink(influxdb.url, influx_db).write([
        line("fp_host", {"host": "web-01", "power_source": "rapl"},
             {"power_w": 100.0, "usage_gwp_gco2e": 0.5, "embodied_gwp_gco2e": 0.1, "interval_s": 30.0},
             epoch_ms(now - timedelta(seconds=seconds)))
        for seconds in (10, 40)])
    config = tmp_path / "collector.toml"
    config.write_text(f'[influxdb]\nurl = "{influxdb.url}"\ndatabase = "{influx_db}"\n')
    for args, env in ((["-c", str(config)], None), ([], {"FLEETPRINT_COLLECTOR_CONFIG": str(config)})):
        result = live(*args, env=env)
        assert result.returncode == 0, result.stderr
        row = next(row for row in result.stdout.splitlines() if row.startswith("web-01"))
        assert row.split()[1:] == ["rapl", "100.0", "60.00", "12.00", "2"]  # 1 g and 0.2 g over 60 s, per hour


def test_live_says_which_config_is_wrong(tmp_path: Path) -> None:
    config = tmp_path / "collector.toml"
    config.write_text('[influxdb]\nversion = 3\n')
    result = live("-c", str(config))
    assert result.returncode == 1 and "influxdb.version" in result.stderr
