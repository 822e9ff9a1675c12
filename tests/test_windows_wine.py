"""The agent's Windows code for real: the official Windows CPython under Wine (tests/wine.py).

Wine is not Windows: it has no PowerShell (its powershell.exe is a stub that prints nothing),
a partial WMI, no battery. So these tests see the agent take its Windows paths (sys.platform
"win32", the registry, the process scan's system call, the service manager, the Windows state
directory) and the WMI-less path for real; what WMI gives on real machines is tested from
recordings in tests/agent/test_windows_platform.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from fleetprint.schema import decode_inventory, decode_report

from processes import agent_config, collector_config, start_collector, wait_until
from wine import WindowsPython, require_wine, timed, windows_path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from build_msi import build as build_msi  # noqa: E402  (tools/ is not a package)

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
    # Which other services Wine runs depends on what ran in the prefix before (the MSI's tests start its
    # service manager's own): the rule takes the drivers' hosts, and only them.
    drivers = [row for row in classified if row[0] == "winedevice.exe" and row[2]]
    assert drivers and all(row[1] == "drivers" for row in drivers), classified
    assert all(row[1] != "drivers" for row in classified if row[0] != "winedevice.exe"), classified
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


# The MSI (tools/build_msi.py), built once from the session's wheel, installed in the session's prefix.
SERVICE_KEY = r"HKLM\System\CurrentControlSet\Services\fleetprint-agent"


@pytest.fixture(scope="session")
def agent_msi(windows_python: WindowsPython) -> Path:
    started = time.monotonic()
    wheel = next((windows_python.workdir / "wheels").glob("fleetprint-*.whl"))
    msi = build_msi(wheel, windows_python.workdir / "msi")
    timed("MSI built", started)
    return msi


def msi_table(msi: Path, table: str) -> list[dict[str, str]]:
    """A table's rows as msiinfo exports them (names, types and key lines first)."""
    lines = subprocess.run(["msiinfo", "export", str(msi), table], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    columns = lines[0].split("\t")
    return [dict(zip(columns, line.split("\t"))) for line in lines[3:]]


def test_the_msi_holds_the_runtime_the_service_and_the_settings(agent_msi: Path) -> None:
    """What msiexec will read: the embeddable CPython and the agent's files, the service, the
    custom action that writes agent.toml from the public properties, which managed installs pass."""
    files = {row["FileName"].split("|")[-1] for row in msi_table(agent_msi, "File")}
    assert {"python.exe", "python313.dll", "python313.zip", "python313._pth", "windows_service.py", "runner.py",
            "client.py", "_psutil_windows.pyd"} <= files
    assert "sitecustomize.py" not in files, "the Wine workaround is not shipped"
    [service] = msi_table(agent_msi, "ServiceInstall")
    assert service["Name"] == "fleetprint-agent" and service["StartName"] == "LocalSystem"
    assert (service["ServiceType"], service["StartType"]) == ("16", "2"), "own process, automatic start"
    assert service["Arguments"] == r'-B -m fleetprint agent service -c "[CommonAppDataFolder]fleetprint\agent.toml"'
    [control] = msi_table(agent_msi, "ServiceControl")
    assert control["Name"] == "fleetprint-agent"
    assert int(control["Event"]) == 0x1 | 0x2 | 0x20 | 0x80, "start on install, stop on both, remove on uninstall"
    actions = {row["Action"]: row for row in msi_table(agent_msi, "CustomAction")}
    configure = actions["ConfigureAgent"]
    assert int(configure["Type"]) & 0x400 and int(configure["Type"]) & 0x800, "deferred, as LocalSystem"
    assert "[BROKER]" in actions["SetFP_BROKER_ARGS"]["Target"] and "[ZONE]" in actions["SetFP_HOST_ARGS"]["Target"]
    properties = {row["Property"]: row["Value"] for row in msi_table(agent_msi, "Property")}
    secure = properties["SecureCustomProperties"].split(";")
    assert {"BROKER", "CA_FILE", "SECRET_FILE", "SITE", "ZONE", "DEPARTMENT", "HOST_ID"} <= set(secure)
    assert properties["UpgradeCode"] == "{6b1f3d0e-5a2c-4f6e-9d1a-7c3b2e8f4a10}"
    sequence = {row["Action"]: int(row["Sequence"]) for row in msi_table(agent_msi, "InstallExecuteSequence")}
    assert sequence["InstallServices"] < sequence["ConfigureAgent"] < sequence["StartServices"]
    assert sequence["InstallValidate"] < sequence["RemoveExistingProducts"] < sequence["InstallInitialize"]


def wine(windows_python: WindowsPython, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["wine", *args], env=windows_python.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace", timeout=timeout_s)


def msiexec(windows_python: WindowsPython, *args: str, log: Path) -> int:
    """msiexec's exit code; what it says goes to `log` (/l*v). Not through a pipe: the service it
    starts would hold the pipe open."""
    return subprocess.run(["wine", "msiexec", *args, "/l*v", windows_path(log)], env=windows_python.env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          timeout=120).returncode


def test_the_msi_installs_configures_and_runs_the_service_under_wine(windows_python: WindowsPython, agent_msi: Path,
                                                                    tmp_path: Path) -> None:
    """`msiexec /i ... /qn BROKER=...` as Group Policy runs it: the files, agent.toml from the
    properties with the password and CA copied beside it, the service registered (automatic,
    LocalSystem) and running the agent; `sc stop` stops it; the uninstall removes the program
    and the service and keeps %ProgramData%\\fleetprint (config, queue)."""
    drive_c = windows_python.prefix / "drive_c"
    program = drive_c / "Program Files" / "fleetprint-agent"
    data = drive_c / "ProgramData" / "fleetprint"
    # Wine's gap (tests/wine.py), in the program's folder before the install, which leaves it there.
    (program / "Lib" / "site-packages").mkdir(parents=True)
    (program / "Lib" / "site-packages" / "sitecustomize.py").write_text("import sys\nsys.modules['_wmi'] = None\n")
    secret, ca = tmp_path / "wine-pc.secret", tmp_path / "broker-ca.crt"
    secret.write_text("s3cret\n")
    trustme.CA().cert_pem.write_to_path(str(ca))
    # Wine ends its services when its last program ends (and starts the automatic ones with the next):
    # a program that waits keeps the service's process alive while the test looks at it.
    keeper = windows_python.start(["-c", "import time; time.sleep(600)"], tmp_path / "keeper.log")
    started = time.monotonic()
    installed = msiexec(windows_python, "/i", windows_path(agent_msi), "/qn", "BROKER=broker.invalid:8884",
                        f"SECRET_FILE={windows_path(secret)}", f"CA_FILE={windows_path(ca)}", "SITE=Köln-1",
                        "ZONE=DEU", "DEPARTMENT=R&D", "HOST_ID=wine-pc", log=tmp_path / "install.log")
    timed("msiexec /i", started)
    assert installed == 0, (tmp_path / "install.log").read_text(errors="replace")[-4000:]
    try:
        assert (program / "python.exe").is_file() and (program / "python313._pth").is_file()
        assert (program / "Lib/site-packages/fleetprint/agent/platform/windows_service.py").is_file()
        assert (data / "agent.secret").read_text() == "s3cret\n" and (data / "ca.crt").read_text() == ca.read_text()
        config = tomllib.loads((data / "agent.toml").read_text(encoding="utf-8"))
        assert config["host"] == {"id": "wine-pc", "site": "Köln-1", "zone": "DEU", "department": "R&D"}
        assert config["mqtt"] == {"host": "broker.invalid", "port": 8884, "username": "wine-pc", "tls": True,
                                  "password_file": "C:\\ProgramData\\fleetprint\\agent.secret",
                                  "ca_file": "C:\\ProgramData\\fleetprint\\ca.crt"}
        registered = wine(windows_python, "reg", "query", SERVICE_KEY).stdout
        assert re.search(r"Start\s+REG_DWORD\s+0x2\b", registered), registered  # automatic
        assert re.search(r"Type\s+REG_DWORD\s+0x10\b", registered) and "LocalSystem" in registered
        assert ('C:\\Program Files\\fleetprint-agent\\python.exe -B -m fleetprint agent service -c '
                '"C:\\ProgramData\\fleetprint\\agent.toml"') in registered
        # The service runs the agent (the broker does not resolve: it queues), and stops when asked.
        log = data / "agent.log"
        try:
            wait_until(lambda: log.exists() and "sampling every 30 s" in log.read_text(errors="replace"), timeout_s=60,
                       what="the service's agent to start")
        except AssertionError:
            raise AssertionError(wine(windows_python, "sc", "query", "fleetprint-agent").stdout + "\n" + (
                log.read_text(errors="replace") if log.exists() else "(no agent.log)")) from None
        assert "RUNNING" in wine(windows_python, "sc", "query", "fleetprint-agent").stdout
        wine(windows_python, "sc", "stop", "fleetprint-agent")
        wait_until(lambda: "agent stopped" in log.read_text(errors="replace"), timeout_s=30, what="the service to stop")
        wait_until(lambda: "STOPPED" in wine(windows_python, "sc", "query", "fleetprint-agent").stdout, timeout_s=20,
                   what="the service manager to see it stopped")
    finally:  # (the keeper, if this fails, ends with the session's prefix)
        started = time.monotonic()
        removed = msiexec(windows_python, "/x", windows_path(agent_msi), "/qn", log=tmp_path / "uninstall.log")
        timed("msiexec /x", started)
    try:
        assert removed == 0, (tmp_path / "uninstall.log").read_text(errors="replace")[-4000:]
        assert not (program / "python.exe").exists()
        assert wine(windows_python, "reg", "query", SERVICE_KEY).returncode != 0, "the service is deleted"
        assert {"agent.toml", "agent.secret", "buffer.sqlite3"} <= {path.name for path in data.iterdir()}, \
            "the uninstall keeps the config and the queue"

        # Installed again with no properties (agent.toml is kept), then a newer release pushed the same
        # way: it replaces the program and keeps agent.toml and the queue.
        config_before = (data / "agent.toml").read_text(encoding="utf-8")
        assert msiexec(windows_python, "/i", windows_path(agent_msi), "/qn", log=tmp_path / "reinstall.log") == 0
        newer_wheel = tmp_path / "fleetprint-99.1.0-py3-none-any.whl"
        shutil.copyfile(next((windows_python.workdir / "wheels").glob("fleetprint-*.whl")), newer_wheel)
        newer = build_msi(newer_wheel, tmp_path / "newer")
        # Wine's msi does not wait for the older release's service to stop before starting the newer one's
        # (the agent takes about a second to stop), so the test stops it first.
        wine(windows_python, "sc", "stop", "fleetprint-agent")
        wait_until(lambda: "STOPPED" in wine(windows_python, "sc", "query", "fleetprint-agent").stdout, timeout_s=20,
                   what="the older release's service to stop")
        started = time.monotonic()
        upgraded = msiexec(windows_python, "/i", windows_path(newer), "/qn", log=tmp_path / "upgrade.log")
        timed("msiexec /i (upgrade)", started)
        assert upgraded == 0, (tmp_path / "upgrade.log").read_text(errors="replace")[-4000:]
        assert (data / "agent.toml").read_text(encoding="utf-8") == config_before
        assert (program / "python.exe").is_file() and (data / "buffer.sqlite3").is_file()
        assert "ImagePath" in wine(windows_python, "reg", "query", SERVICE_KEY).stdout, "the service is registered"
        products = wine(windows_python, "reg", "query",
                        r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall", "/s").stdout
        assert products.count("fleetprint agent") == 1, "the newer product replaced the older one"
        # Wine's msi keeps the older product's hold on the components after this upgrade, so uninstalling
        # the newer one leaves the files and the service under Wine: the removal is checked above, after a
        # plain install.
        assert msiexec(windows_python, "/x", windows_path(newer), "/qn", log=tmp_path / "uninstall-newer.log") == 0
    finally:
        keeper.process.kill()
        keeper.process.wait()
