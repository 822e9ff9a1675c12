"""deploy/macos/: the launchd daemon's plist and the install script an MDM runs, on this Linux
machine: the plist as launchd reads it (plistlib), the script into a scratch root with a stand-in
Python (it makes the virtual environment and records what pip was asked), the config it writes
as the agent loads it, shellcheck. launchctl itself only runs on a Mac."""

from __future__ import annotations

import plistlib
import subprocess
import sys
from pathlib import Path

from fleetprint.agent.config import load_agent_config
from fleetprint.agent.platform.macos import CommandResult, MacPlatform

MACOS = Path(__file__).resolve().parents[2] / "deploy" / "macos"
BIN = Path(sys.executable).parent


def test_the_daemon_runs_the_agent_with_its_config_in_the_state_directory() -> None:
    daemon = plistlib.loads((MACOS / "org.fleetprint.agent.plist").read_bytes())
    assert daemon["Label"] == "org.fleetprint.agent"
    assert daemon["ProgramArguments"] == ["/usr/local/fleetprint-agent/bin/fleetprint", "agent", "run", "--config",
                                          "/Library/Application Support/fleetprint/agent.toml"]
    state_dir = MacPlatform(run=lambda argv: CommandResult()).state_dir  # where the agent keeps its queue
    assert daemon["ProgramArguments"][-1] == f"{state_dir}/agent.toml"
    assert (daemon["RunAtLoad"], daemon["KeepAlive"], daemon["ProcessType"], daemon["Umask"]) == (
        True, True, "Background", 0o077)
    assert "UserName" not in daemon  # root: the process scan needs every user's CPU times


def fake_python(tmp_path: Path) -> Path:
    """A `python3` whose `-m venv DIR` makes DIR/bin/pip, which records its arguments."""
    python = tmp_path / "python3"
    python.write_text('#!/bin/sh\nset -e\n[ "$1 $2" = "-m venv" ]\nmkdir -p "$3/bin"\n'
                      'printf \'#!/bin/sh\\necho "$@" >> "%s/pip.log"\\n\' "$3" > "$3/bin/pip"\n'
                      'ln -s "$(command -v sh)" "$3/bin/python"\nchmod 755 "$3/bin/pip"\n')
    python.chmod(0o755)
    return python


def install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(MACOS / "install-agent-macos.sh"), "--root", str(root), *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_install_keeps_the_config_and_uninstall_removes_everything(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (tmp_path / "mac.secret").write_text("s3cret\n")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "fleetprint-0.2.0-py3-none-any.whl").write_bytes(b"")
    args = ("--python", str(fake_python(tmp_path)), "--wheel", str(tmp_path / "fleetprint-0.2.0-py3-none-any.whl"),
            "--broker", "mqtt.example.org:8884", "--ca-file", str(tmp_path / "ca.crt"),
            "--secret-file", str(tmp_path / "mac.secret"), "--host-id", "mac-042", "--site", "Zürich",
            "--zone", "CHE", "--department", "Église & co")
    result = install(root, *args)
    assert result.returncode == 0, result.stderr
    support = root / "Library/Application Support/fleetprint"
    config = load_agent_config(str(support / "agent.toml"))
    assert (config.host.id, config.host.site, config.host.zone, config.host.department) == (
        "mac-042", "Zürich", "CHE", "Église & co")
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.username, config.mqtt.tls) == (
        "mqtt.example.org", 8884, "mac-042", True)
    assert config.mqtt.password_file == "/Library/Application Support/fleetprint/agent.secret"
    assert config.mqtt.ca_file == "/Library/Application Support/fleetprint/ca.crt"
    assert (support / "agent.secret").stat().st_mode & 0o777 == 0o600
    assert (support / "agent.secret").read_text() == "s3cret\n"
    daemon = root / "Library/LaunchDaemons/org.fleetprint.agent.plist"
    assert daemon.read_bytes() == (MACOS / "org.fleetprint.agent.plist").read_bytes()
    pip_log = (root / "usr/local/fleetprint-agent/pip.log").read_text()
    wheel = f"file://{tmp_path}/fleetprint-0.2.0-py3-none-any.whl"
    assert f"install --quiet --upgrade fleetprint[agent] @ {wheel}" in pip_log

    (support / "agent.toml").write_text((support / "agent.toml").read_text() + "# the operator's edit\n")
    assert install(root, *args).returncode == 0  # an upgrade: pip again, the config kept
    assert (support / "agent.toml").read_text().endswith("# the operator's edit\n")
    assert len((root / "usr/local/fleetprint-agent/pip.log").read_text().splitlines()) == 2

    result = install(root, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert not support.exists() and not daemon.exists() and not (root / "usr/local/fleetprint-agent").exists()


def test_a_first_install_needs_a_broker_and_a_password(tmp_path: Path) -> None:
    python = fake_python(tmp_path)
    result = install(tmp_path / "root", "--python", str(python), "--package", "fleetprint[agent]", "--host-id", "m")
    assert result.returncode == 1 and "--broker is needed" in result.stderr
    result = install(tmp_path / "root", "--python", str(python), "--package", "fleetprint[agent]", "--host-id", "m",
                     "--broker", "mqtt.example.org")
    assert result.returncode == 1 and "no broker password" in result.stderr


def test_the_script_passes_shellcheck() -> None:
    result = subprocess.run([str(BIN / "shellcheck"), str(MACOS / "install-agent-macos.sh")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
