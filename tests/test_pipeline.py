"""End to end: the real agent and collector as processes, real Mosquitto, real InfluxDB.

The stored figures are checked against boaviztapi computing the same inventory and load by
its own path (a Server request built here from the inventory the agent published).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from fleetprint.mqtt import Topics
from fleetprint.schema import Inventory, decode_inventory

from processes import Program, agent_config, collector_config, retained_payload, start_collector, wait_until

HOST_ID = "e2e-host"
ZONE = "FRA"


def retained_inventory(mosquitto, host_id: str) -> Inventory:
    """The inventory the agent left retained on the broker, read by a fresh subscriber."""
    return decode_inventory(retained_payload(mosquitto, Topics().inventory(host_id), "test-inventory-reader"))


def boavizta_reference(inventory: Inventory, load_pct: float, hours: float):
    """boaviztapi's own assessment of this server at `load_pct` for `hours` (its API's path)."""
    from boaviztapi.compute.impacts_computation import compute_impacts
    from boaviztapi.data.archetype import get_server_archetype
    from boaviztapi.dto.device import Server
    from boaviztapi.dto.device.device import mapper_server

    from fleetprint.collector.impact.boavizta import clean_cpu_name

    cpu = inventory.cpu
    # The documented rules (docs/impact-model.md): the CPU's name without what the OS adds to it
    # (clean_cpu_name, tested on fixed names in tests/collector/test_host_model.py); the DIMM count
    # the agent read, else 32 GB modules (Boavizta's typical DDR4 DIMM).
    dimms = inventory.ram_modules or max(1, round(inventory.ram_gb / 32))
    server = Server(
        model={"type": "rack"},
        configuration={
            "cpu": {"units": cpu.sockets, "name": clean_cpu_name(cpu.model),
                    "core_units": max(1, cpu.cores // cpu.sockets), **({"tdp": cpu.tdp_w} if cpu.tdp_w else {})},
            "ram": [{"units": dimms, "capacity": max(1, round(inventory.ram_gb / dimms))}],
            "disk": [{"units": 1, "type": "hdd" if d.kind == "hdd" else "ssd", "capacity": round(d.size_gb)}
                     for d in inventory.disks],
        },
        usage={"usage_location": ZONE, "time_workload": load_pct},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        device = mapper_server(server, archetype=get_server_archetype("platform_compute_medium"))
        compute_impacts(device, selected_criteria=["gwp", "adp", "pe"], duration=hours)
    return device


def test_agent_to_influxdb_matches_boaviztapi(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    config = collector_config(tmp_path / "collector.toml", mosquitto, influxdb, influx_db, "e2e-collector")
    config.write_text(config.read_text() + '[impact]\nserver_power_model = "boavizta"\n')  # checked against boaviztapi
    collector = start_collector(config, tmp_path / "collector.log")
    # kind = "server" so that the check does not depend on whether this machine is a VM.
    agent = Program(["agent", "run", "-c", str(agent_config(
        tmp_path / "agent.toml", mosquitto, HOST_ID, tmp_path / "state",
        extra_host=f'kind = "server"\nzone = "{ZONE}"\nsite = "lab"'))], tmp_path / "agent.log")
    try:
        rows = wait_until(
            lambda: len(r := influxdb.query(f"SELECT * FROM fp_host WHERE host = '{HOST_ID}'", influx_db)) >= 4 and r,
            timeout_s=40, what="4 samples in InfluxDB", watch=[agent, collector])
    finally:
        exit_codes = (agent.stop(), collector.stop())
    assert exit_codes == (0, 0), agent.log_text() + collector.log_text()

    inventory = retained_inventory(mosquitto, HOST_ID)
    assert inventory.kind == "server" and inventory.zone == ZONE
    rows = influxdb.query(f"SELECT * FROM fp_host WHERE host = '{HOST_ID}'", influx_db)
    seqs = [row["seq"] for row in rows]
    assert seqs == list(range(seqs[0], seqs[0] + len(rows))), "every report the agent numbered is stored, once"

    from boaviztapi.data.factor_provider import get_electrical_impact_factor

    fra_gwp_kg_per_kwh = get_electrical_impact_factor(ZONE, "gwp")["value"]
    for row in rows:
        assert (row["kind"], row["site"], row["zone"], row["power_source"]) == ("server", "lab", ZONE, "modelled")
        assert row["power_model"] == "boavizta_server"
        hours = row["interval_s"] / 3600
        assert 0.5 < row["interval_s"] < 5
        reference = boavizta_reference(inventory, row["cpu_util_pct"], hours)
        expected_w = reference.usage.avg_power.value
        assert row["power_w"] == pytest.approx(expected_w, rel=1e-3)
        assert row["energy_wh"] == pytest.approx(expected_w * hours, rel=1e-3)
        assert row["usage_gwp_gco2e"] == pytest.approx(expected_w * hours * fra_gwp_kg_per_kwh, rel=1e-3)
        assert row["usage_gwp_gco2e"] == pytest.approx(reference.impacts["gwp"]["use"].value * 1000, rel=1e-3)
        assert row["embodied_gwp_gco2e"] == pytest.approx(reference.impacts["gwp"]["embedded"].value * 1000, rel=1e-3)
        assert row["embodied_pe_mj"] == pytest.approx(reference.impacts["pe"]["embedded"].value, rel=1e-3)
        assert row["mem_total_bytes"] > 0

    inventories = influxdb.query(f"SELECT * FROM fp_inventory WHERE host = '{HOST_ID}'", influx_db)
    assert inventories and inventories[0]["cpu_model"] == inventory.cpu.model
    health = influxdb.query("SELECT last(reports_ok) AS reports_ok FROM fp_collector", influx_db)
    assert health and health[0]["reports_ok"] >= len(rows)
