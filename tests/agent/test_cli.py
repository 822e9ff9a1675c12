"""`fleetprint agent once` and `agent inventory`: the first thing a new user runs, with no broker."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fleetprint.schema import decode_inventory, decode_report


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fleetprint", *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "FLEETPRINT_AGENT_HOST__ID": "cli-test"})


def test_agent_once_prints_an_inventory_and_a_report() -> None:
    result = run("agent", "once", "--interval", "0.2")
    assert result.returncode == 0, result.stderr
    inventory_line, report_line = result.stdout.strip().splitlines()
    inventory = decode_inventory(inventory_line.encode())
    report = decode_report(report_line.encode())
    assert inventory.host_id == report.host_id == "cli-test"
    assert 0.15 < report.samples[0].interval_s < 5
    assert report.samples[0].mem_total_bytes > 0


def test_agent_never_imports_the_collector_dependencies() -> None:
    code = ("import sys; from fleetprint.agent.runner import Agent; from fleetprint.agent.cli import agent; "
            "heavy = [m for m in ('boaviztapi', 'influxdb_client', 'pandas', 'scipy', 'pydantic', 'apscheduler', 'asyncio') "
            "if m in sys.modules]; "
            "print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize("redfish_url, loaded", [(None, False), ("http://127.0.0.1:9", True)])
def test_redfish_http_stack_loads_only_when_configured(redfish_url: str | None, loaded: bool) -> None:
    """Every source module is imported (the registry), but Redfish's HTTP stack only with a BMC to read."""
    code = ("import sys; from fleetprint.agent.config import AgentConfig; "
            "from fleetprint.agent.power import power_reader_for; "
            "from fleetprint.agent.power.redfish import RedfishSettings; "
            "from fleetprint.agent.runner import Agent; config = AgentConfig(); "
            f"config.power.redfish = RedfishSettings(url={redfish_url!r}); "
            "power_reader_for(config.power).read(); print('http.client' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == str(loaded), result.stderr


def test_agent_configure_writes_what_the_msi_properties_say(tmp_path) -> None:
    """`agent configure`, the MSI's custom action: empty properties are left out, the password
    and CA are copied beside agent.toml, what it writes loads; no --mqtt-host keeps a config
    (an upgrade) and is an error without one; a bad value is refused before anything is written."""
    import tomllib

    from click.testing import CliRunner

    from fleetprint.agent.cli import agent
    from fleetprint.agent.config import load_agent_config

    secret, ca, output = tmp_path / "pc-7.secret", tmp_path / "ca.pem", tmp_path / "data" / "agent.toml"
    secret.write_text("pw\n")
    ca.write_text("CA\n")
    runner = CliRunner()
    blank = ["--site", "", "--zone", "", "--department", "", "--host-id", ""]
    assert runner.invoke(agent, ["configure", "-o", str(output), *blank]).exit_code == 2, "no config, no broker"
    refused = runner.invoke(agent, ["configure", "-o", str(output), "--mqtt-host", "b", "--zone", "fr"])
    assert refused.exit_code == 1 and "host.zone" in refused.output and not output.exists()
    result = runner.invoke(agent, ["configure", "-o", str(output), "--mqtt-host", "mqtt.example.org", "--mqtt-ca-file",
                                   str(ca), "--mqtt-password-file", str(secret), "--site", 'Köln "1"', "--zone", "DEU",
                                   "--department", "", "--host-id", "pc-7"])
    assert result.exit_code == 0, result.output
    written = tomllib.loads(output.read_text(encoding="utf-8"))
    assert written["host"] == {"id": "pc-7", "site": 'Köln "1"', "zone": "DEU"}
    assert written["mqtt"] == {"host": "mqtt.example.org", "port": 8883, "username": "pc-7", "tls": True,
                               "password_file": str(output.parent / "agent.secret"),
                               "ca_file": str(output.parent / "ca.crt")}
    assert (output.parent / "agent.secret").read_text() == "pw\n" and (output.parent / "ca.crt").read_text() == "CA\n"
    assert (output.parent / "agent.secret").stat().st_mode & 0o077 == 0, "the copied password is the owner's only"
    assert load_agent_config(str(output)).mqtt.secret() == "pw"
    kept = runner.invoke(agent, ["configure", "-o", str(output), "--mqtt-host", "", *blank])
    assert kept.exit_code == 0 and "kept" in kept.output
    assert tomllib.loads(output.read_text(encoding="utf-8")) == written
    printed = runner.invoke(agent, ["configure", "--mqtt-host", "b:1884", "--host-id", "x"])
    assert printed.exit_code == 0 and 'host = "b"\nport = 1884\n' in printed.output
