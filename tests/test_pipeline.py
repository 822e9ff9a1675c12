"""End to end: the real agent and collector as processes, real Mosquitto, real InfluxDB.

The stored figures are checked against boaviztapi computing the same servers by its own path (a
Server request built here by the rules docs/impact-model.md states) for fixed inventories: the
machines recorded in tests/data/hosts and two more unlike them, published through the agent's
own queue and publisher. Their manufacture GWP is the maker's declared figure or the fitted
model's, read here from the shipped table (ADP and PE stay boaviztapi's). Never this machine's
inventory, so that the check means the same on every machine the suite runs on. The real
agent's run is checked for what holds on any machine.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import msgspec
import pytest
from feeder import START, Feeder

from fleetprint.agent.config import HostFacts
from fleetprint.agent.inventory import collect_inventory
from fleetprint.mqtt import Topics
from fleetprint.schema import Cpu, Disk, Inventory, decode_inventory

from processes import Program, agent_config, collector_config, retained_payload, start_collector, wait_until

HOST_ID = "e2e-host"
ZONE = "FRA"
RECORDED_HOSTS = Path(__file__).resolve().parent / "data" / "hosts"
LOADS_CHECKED = (0, 13, 50, 87, 100)  # of the 0..100 % each fixed host reports
DECLARED_SERVER = "hp|proliant dl385 g10"  # fixed-epyc-2s, as HPE's firmware names it


def retained_inventory(mosquitto, host_id: str) -> Inventory:
    """The inventory the agent left retained on the broker, read by a fresh subscriber."""
    return decode_inventory(retained_payload(mosquitto, Topics().inventory(host_id), "test-inventory-reader"))


def fixed_inventories() -> list[Inventory]:
    """Servers unlike one another and unlike any test machine, each assessed as a server in ZONE."""
    recorded = [msgspec.structs.replace(collect_inventory(HostFacts(), f"recorded-{tree.name}", root=tree, now=START),
                                        kind="server", zone=ZONE, site="lab")
                for tree in sorted(RECORDED_HOSTS.iterdir())]
    return recorded + [
        # A KVM guest whose CPU the hypervisor names generically, with RAM in no whole number of
        # DIMMs and one virtio disk seen as rotating.
        Inventory(host_id="fixed-virtio-guest", taken_at=START, kind="server", zone=ZONE, site="lab",
                  cpu=Cpu(model="Intel(R) Xeon(R) Processor", vendor="Intel", sockets=1, cores=8, threads=8),
                  ram_gb=23.54, disks=[Disk(name="vda", kind="hdd", size_gb=107.37)]),
        # Two AMD sockets with their TDP, the DIMM count read from SMBIOS, two NVMe drives.
        Inventory(host_id="fixed-epyc-2s", taken_at=START, kind="server", zone=ZONE, site="lab",
                  vendor="HPE", model="ProLiant DL385 Gen10",
                  cpu=Cpu(model="AMD EPYC 7543 32-Core Processor", vendor="AMD", sockets=2, cores=64, threads=128,
                          tdp_w=225),
                  ram_gb=1007.7, ram_modules=16,
                  disks=[Disk(name=f"nvme{n}n1", kind="nvme", size_gb=3840.76) for n in range(2)]),
    ]


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
    # the agent read, else 32 GB modules (Boavizta's typical DDR4 DIMM); whole gigabytes.
    dimms = inventory.ram_modules or max(1, round(inventory.ram_gb / 32))
    server = Server(
        model={"type": "rack"},
        configuration={
            "cpu": {"units": cpu.sockets, "name": clean_cpu_name(cpu.model),
                    "core_units": max(1, cpu.cores // cpu.sockets), **({"tdp": cpu.tdp_w} if cpu.tdp_w else {})},
            "ram": [{"units": dimms, "capacity": max(1, round(inventory.ram_gb / dimms))}],
            "disk": [{"units": 1, "type": "hdd" if d.kind == "hdd" else "ssd", "capacity": max(1, round(d.size_gb))}
                     for d in inventory.disks],
        },
        usage={"usage_location": ZONE, "time_workload": load_pct},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        device = mapper_server(server, archetype=get_server_archetype("platform_compute_medium"))
        compute_impacts(device, selected_criteria=["gwp", "adp", "pe"], duration=hours)
    return device


def expected_manufacture(inventory: Inventory) -> tuple[str, float]:
    """The manufacture GWP (kgCO2e) the shipped table gives a fixed server, by hand: the declared
    product's, else the fitted server model at its defaults (no purchase year)."""
    from fleetprint.collector.impact.makers_footprints import load_table

    table = load_table()
    if inventory.host_id == "fixed-epyc-2s":
        return "declared", next(p for p in table["products"] if p["key"] == DECLARED_SERVER)["manufacture_gwp_kgco2e"]
    server = table["categories"]["server"]
    features = zip(server["features"], server["coefficients"][1:])
    log_gwp = server["coefficients"][0] + sum(coefficient * server["defaults"][name] for name, coefficient in features)
    return "fitted", math.exp(log_gwp)


def boavizta_collector_config(tmp_path: Path, mosquitto, influxdb, influx_db: str, collector_id: str) -> Path:
    """A collector that models servers with Boavizta's own curve, the one boaviztapi checks."""
    config = collector_config(tmp_path / "collector.toml", mosquitto, influxdb, influx_db, collector_id)
    config.write_text(config.read_text() + '[impact]\nserver_power_model = "boavizta"\n')
    return config


def test_fixed_servers_through_the_pipeline_match_boaviztapi(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    inventories = fixed_inventories()
    assert len({(i.cpu.model, i.ram_gb, len(i.disks)) for i in inventories}) == len(inventories) == 6
    collector = start_collector(boavizta_collector_config(tmp_path, mosquitto, influxdb, influx_db, "ref-collector"),
                                tmp_path / "collector.log")
    feeders = [Feeder(inventory.host_id, mosquitto.port, tmp_path / inventory.host_id, inventory=inventory)
               for inventory in inventories]
    try:
        for feeder in feeders:
            feeder.start()
            feeder.take(101)  # 0, 1, ... 100 % of CPU, 30 s each
        wait_until(lambda: (influxdb.query("SELECT count(power_w) FROM fp_host", influx_db) or [{}])[0].get("count")
                   == 101 * len(inventories), timeout_s=60, what="every sample stored", watch=[collector])
    finally:
        for feeder in feeders:
            feeder.stop()
        assert collector.stop() == 0

    from boaviztapi.data.factor_provider import get_electrical_impact_factor

    gwp_kg_per_kwh = get_electrical_impact_factor(ZONE, "gwp")["value"]
    for inventory in inventories:
        rows = {row["cpu_util_pct"]: row for row in influxdb.query(
            f"SELECT * FROM fp_host WHERE host = '{inventory.host_id}'", influx_db)}
        source, manufacture_kg = expected_manufacture(inventory)
        for load in LOADS_CHECKED:
            row, hours = rows[load], 30 / 3600
            assert (row["interval_s"], row["zone"], row["power_model"]) == (30, ZONE, "boavizta_server")
            reference = boavizta_reference(inventory, load, hours)
            what = f"{inventory.host_id} at {load} %"
            expected_w = reference.usage.avg_power.value
            assert row["power_w"] == pytest.approx(expected_w, rel=1e-3), what
            assert row["energy_wh"] == pytest.approx(expected_w * hours, rel=1e-3), what
            assert row["usage_gwp_gco2e"] == pytest.approx(expected_w * hours * gwp_kg_per_kwh, rel=1e-3), what
            assert row["usage_gwp_gco2e"] == pytest.approx(reference.impacts["gwp"]["use"].value * 1000,
                                                           rel=1e-3), what
            assert row["embodied_source"] == source, what
            lifetime_h = reference.usage.hours_life_time.value
            assert row["embodied_gwp_gco2e"] == pytest.approx(manufacture_kg * 1000 * hours / lifetime_h,
                                                              rel=1e-3), what
            for criterion, field in (("adp", "embodied_adp_kgsbeq"), ("pe", "embodied_pe_mj")):
                assert row[field] == pytest.approx(reference.impacts[criterion]["embedded"].value,
                                                   rel=1e-3), (what, field)


def test_agent_to_influxdb(mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    """This machine's agent through the pipeline: what holds whatever machine it is."""
    collector = start_collector(boavizta_collector_config(tmp_path, mosquitto, influxdb, influx_db, "e2e-collector"),
                                tmp_path / "collector.log")
    # kind = "server" so that the check does not depend on whether this machine is a VM.
    agent = Program(["agent", "run", "-c", str(agent_config(
        tmp_path / "agent.toml", mosquitto, HOST_ID, tmp_path / "state",
        extra_host=f'kind = "server"\nzone = "{ZONE}"\nsite = "lab"\ndepartment = "Finance"'))], tmp_path / "agent.log")
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
    embodied_per_s = rows[0]["embodied_gwp_gco2e"] / rows[0]["interval_s"]
    assert embodied_per_s > 0
    for row in rows:
        assert (row["kind"], row["site"], row["department"], row["zone"], row["power_source"]) == (
            "server", "lab", "Finance", ZONE, "modelled")
        assert row["power_model"] == "boavizta_server"
        hours = row["interval_s"] / 3600
        assert 0.5 < row["interval_s"] < 5
        assert 0 <= row["cpu_util_pct"] <= 100 and row["power_w"] > 0
        assert row["energy_wh"] == pytest.approx(row["power_w"] * hours, rel=1e-3)
        assert row["usage_gwp_gco2e"] == pytest.approx(row["energy_wh"] * fra_gwp_kg_per_kwh, rel=1e-3)
        assert row["embodied_gwp_gco2e"] == pytest.approx(embodied_per_s * row["interval_s"], rel=1e-3), \
            "manufacture is amortised by the hour, whatever the load"
        assert row["mem_total_bytes"] > 0

    inventories = influxdb.query(f"SELECT * FROM fp_inventory WHERE host = '{HOST_ID}'", influx_db)
    assert inventories and inventories[0]["cpu_model"] == inventory.cpu.model
    health = influxdb.query("SELECT last(reports_ok) AS reports_ok FROM fp_collector", influx_db)
    assert health and health[0]["reports_ok"] >= len(rows)
