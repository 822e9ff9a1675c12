"""The agent's Windows code for real: the official Windows CPython under Wine (tests/wine.py).

Wine is not Windows: it has no PowerShell (its powershell.exe is a stub that prints nothing),
a partial WMI, no battery. So these tests see the agent take its Windows paths (sys.platform
"win32", the registry, the process scan's system call, the service manager, the Windows state
directory) and the WMI-less path for real; what WMI gives on real machines is tested from
recordings in tests/agent/test_windows_platform.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetprint.schema import decode_inventory, decode_report

from processes import agent_config, collector_config, start_collector, wait_until
from wine import WindowsPython, require_wine, windows_path

HOST_ID = "wine-host"

# Run as `python.exe probe.py agent once`: the real command, with an audit hook that notes every
# file the agent opens under /proc or /sys, then a look at what the Windows platform reads.
PROBE = r'''
import atexit, json, locale, os, sys

opened = []

def audit(event, args):
    if event in ("open", "os.scandir", "os.listdir") and args and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.fsdecode(args[0]).replace("\\", "/").lower()
        if "/proc" in path or "/sys/" in path:
            opened.append(path)

sys.addaudithook(audit)

def probe():
    import psutil
    from fleetprint.agent.platform import default_state_dir, host_platform
    from fleetprint.agent.services import Classifier, ServiceRule, ServiceSettings

    platform = host_platform()
    scan = platform.process_times()
    classifier = Classifier(ServiceSettings(rule=[ServiceRule(service="drivers", windows_service="Winedevice*"),
                                                  ServiceRule(service="python", exe="python")]))
    services = {}
    for process in scan:
        try:
            facts = platform.process_facts(process.pid)
        except psutil.NoSuchProcess:
            continue
        services[str(process.pid)] = [facts.name, classifier.service_of(facts), list(facts.windows_services)]
    locale.setlocale(locale.LC_ALL, "")
    print("PROBE " + json.dumps({
        "sys_platform": sys.platform, "platform": type(platform).__name__, "state_dir": default_state_dir(),
        "opened": opened, "scanned": sorted(p.pid for p in scan), "psutil_pids": sorted(p for p in psutil.pids() if p),
        "services": services, "denied": platform.denied, "decimal_point": locale.localeconv()["decimal_point"],
        "awake_s": platform.awake_clock(),
    }))

atexit.register(probe)
sys.argv = ["fleetprint", *sys.argv[1:]]
import runpy
runpy.run_module("fleetprint", run_name="__main__", alter_sys=True)
'''


@pytest.fixture(scope="session")
def windows_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WindowsPython]:
    require_wine()
    started = time.monotonic()
    python = WindowsPython(tmp_path_factory.mktemp("wine"))
    print(f"Windows Python under Wine ready in {time.monotonic() - started:.1f} s")
    yield python
    python.close()


def test_agent_once_takes_the_windows_paths(windows_python: WindowsPython) -> None:
    """`fleetprint agent once` under Windows CPython, in a German locale (decimal comma, code
    page 1252) with non-ASCII names in its config: the
    Windows platform reads the machine, nothing under /proc or /sys is opened, and WMI's
    absence (Wine's powershell.exe prints nothing) leaves its fields empty, said in the log."""
    probe = windows_python.workdir / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    config = windows_python.workdir / "once.toml"
    config.write_text('[host]\nsite = "Köln"\ndepartment = "Dépt. R&D"\n', encoding="utf-8")
    result = windows_python.run([str(probe.name), "agent", "once", "--interval", "0.5", "-c", windows_path(config)],
                                env={"LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8"})
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    inventory = decode_inventory(next(line for line in lines if '"fleetprint.inventory/1"' in line).encode())
    report = decode_report(next(line for line in lines if '"fleetprint.report/1"' in line).encode())
    found = json.loads(next(line for line in lines if line.startswith("PROBE "))[6:])

    assert found["sys_platform"] == "win32" and found["platform"] == "WindowsPlatform"
    assert found["state_dir"] == "C:\\ProgramData\\fleetprint"  # platformdirs: the common application data folder
    assert found["opened"] == [], "the Windows agent reads nothing under /proc or /sys"
    assert found["decimal_point"] == ",", "the agent ran in a locale with a decimal comma"

    # The registry: the CPU Wine describes, the installation's MachineGuid as the host id's source.
    assert inventory.cpu.model and inventory.cpu.model != "Unknown CPU" and inventory.cpu.vendor
    assert inventory.cpu.threads >= 1 and inventory.ram_gb > 0
    assert inventory.host_id.startswith("fp-") and len(inventory.host_id) == 19
    assert inventory.os.startswith("Windows") and ", build " in inventory.os
    assert (inventory.site, inventory.department) == ("Köln", "Dépt. R&D"), "UTF-8 JSON, whatever the code page"
    # No WMI under Wine: maker, model, disks and GPUs empty; the edition (a client Windows) says desktop.
    assert (inventory.vendor, inventory.model, inventory.disks, inventory.gpus) == ("", "", [], [])
    assert inventory.kind == "desktop" and inventory.virtualisation == ""
    assert "inventory: WMI Win32_ComputerSystem: PowerShell gave no output: left empty" in result.stdout
    assert result.stdout.count("inventory: WMI Win32_ComputerSystem") == 1, "one WMI read serves the whole start"
    assert inventory.power_sources["battery"] == "absent: Windows reports no system battery"

    sample = report.samples[0]
    assert 0.4 < sample.interval_s < 5 and sample.mem_total_bytes > 0

    # The process scan (one system call) sees the processes psutil lists, with their names; the
    # service manager names the services Wine's winedevice.exe processes run (its drivers), which
    # a windows_service rule matches.
    assert set(found["psutil_pids"]) - set(found["scanned"]) <= {4}, "psutil's pid 4 ('System') aside, the same"
    classified = sorted(found["services"].values())
    assert ["python.exe", "python", []] in classified
    hosting = [row for row in classified if row[2]]  # (a prefix's first start may leave an idle winedevice.exe)
    assert hosting and all(row[0] == "winedevice.exe" and row[1] == "drivers" for row in hosting), classified
    assert found["awake_s"] > 0


def test_windows_agent_reports_reach_influxdb(windows_python, mosquitto, influxdb, influx_db, tmp_path: Path) -> None:
    """The agent under Wine for a few intervals, against the suite's Mosquitto: the real
    collector stores its reports in InfluxDB, its inventory says Windows."""
    collector = start_collector(collector_config(tmp_path / "collector.toml", mosquitto, influxdb, influx_db,
                                                 "wine-collector"), tmp_path / "collector.log")
    # Windows takes "/" in paths too: Z:/tmp/... is the state directory on Wine's drive Z.
    config = agent_config(tmp_path / "agent.toml", mosquitto, HOST_ID, f"Z:{tmp_path / 'state'}",
                          extra_host='site = "lab"')
    with config.open("a", encoding="utf-8") as toml:
        toml.write('[[services.rule]]\nservice = "agent"\nexe = "python"\n')
    agent = windows_python.start(["-m", "fleetprint", "agent", "run", "-c", windows_path(config)],
                                 tmp_path / "agent.log")
    try:
        rows = wait_until(
            lambda: len(r := influxdb.query(f"SELECT * FROM fp_host WHERE host = '{HOST_ID}'", influx_db)) >= 3 and r,
            timeout_s=60, what="3 samples of the Windows agent in InfluxDB", watch=[agent, collector])
    finally:
        exit_code = agent.interrupt()
        collector.stop()
    assert exit_code == 0, agent.log_text()
    assert "agent stopped" in agent.log_text()
    seqs = [row["seq"] for row in rows]
    assert seqs == list(range(seqs[0], seqs[0] + len(rows)))
    for row in rows:
        assert row["site"] == "lab" and row["kind"] == "desktop" and 0.5 < row["interval_s"] < 5
        assert row["power_w"] > 0 and row["embodied_gwp_gco2e"] > 0
    inventories = influxdb.query(f"SELECT * FROM fp_inventory WHERE host = '{HOST_ID}'", influx_db)
    assert inventories and inventories[0]["os"].startswith("Windows")
    assert (tmp_path / "state" / "buffer.sqlite3").exists(), "the queue is where state_dir says, on Windows"
