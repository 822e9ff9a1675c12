"""Services end to end: real CPU burners, the real agent with process rules, the collector, InfluxDB."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from burners import start_burner, stop

from processes import Program, agent_config, collector_config, start_collector, wait_until

HOST_ID = "services-host"
RULES = """
[[services.rule]]
service = "alpha"
cmdline = "burner-alpha"
[[services.rule]]
service = "beta"
cmdline = "burner-beta"
"""


def test_per_service_series_follow_the_cpu_and_add_up_to_the_host(mosquitto, influxdb, influx_db,
                                                                   tmp_path: Path) -> None:
    collector = start_collector(collector_config(
        tmp_path / "collector.toml", mosquitto, influxdb, influx_db, "services-collector"), tmp_path / "collector.log")
    config = agent_config(tmp_path / "agent.toml", mosquitto, HOST_ID, tmp_path / "state",
                          extra_host='kind = "server"')
    config.write_text(config.read_text() + RULES)
    agent = None
    burners = [start_burner("burner-alpha", 0.3), start_burner("burner-alpha", 0.3), start_burner("burner-beta", 0.3)]
    try:
        agent = Program(["agent", "run", "-c", str(config)], tmp_path / "agent.log")
        wait_until(lambda: len(influxdb.query(f"SELECT power_w FROM fp_host WHERE host = '{HOST_ID}'", influx_db)) >= 6,
                   timeout_s=40, what="6 samples", watch=[agent, collector])
    finally:
        stop(*burners)
        exit_codes = (agent.stop() if agent else 0, collector.stop())
    assert exit_codes == (0, 0)

    hosts = {row["time"]: row for row in influxdb.query(f"SELECT * FROM fp_host WHERE host = '{HOST_ID}'", influx_db)}
    by_time: dict[int, dict[str, dict]] = defaultdict(dict)
    for row in influxdb.query(f"SELECT * FROM fp_service WHERE host = '{HOST_ID}' GROUP BY service", influx_db):
        by_time[row["time"]][row["service"]] = row
    assert set(by_time) == set(hosts)
    for at, services in by_time.items():
        for field in ("power_w", "energy_wh", "usage_gwp_gco2e", "embodied_gwp_gco2e", "embodied_pe_mj"):
            assert sum(s[field] for s in services.values()) == pytest.approx(hosts[at][field], rel=1e-9), field
    steady = [services for at, services in sorted(by_time.items())[1:]]  # the first sample starts mid-interval
    alpha = sum(s["alpha"]["cpu_share"] for s in steady)
    beta = sum(s["beta"]["cpu_share"] for s in steady)
    # Two burners against one at the same duty cycle: 2:1 within 25 % on a busy 2-core machine.
    assert alpha / beta == pytest.approx(2.0, rel=0.25)
    # Each burns 30 % of a core: 2 x 30 % of 2 cores is 0.3 of the host, within 30 %.
    assert alpha / len(steady) == pytest.approx(0.3, rel=0.3)
    assert all(s["alpha"]["power_w"] > s["beta"]["power_w"] for s in steady)
