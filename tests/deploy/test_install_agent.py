"""deploy/install-agent.sh into a scratch root on this machine, from wheels of this checkout built by
scripts/release: install, a second run that changes nothing, an upgrade, the unit verified where it
was installed, and an uninstall that leaves nothing behind."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from releases import RELEASED, serving, tag_and_build_wheel
from stack import DEPLOY

from fleetprint.agent.config import load_agent_config

HOST_ID = "web-01"
UNIT = "etc/systemd/system/fleetprint-agent.service"


def install(root: Path, *args: str) -> str:
    result = subprocess.run(["bash", str(DEPLOY / "install-agent.sh"), "--root", str(root), *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every path under root: mode, modification time and content digest (or link target)."""
    state = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest = (str(path.readlink()) if path.is_symlink()
                  else hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "")
        state[str(path.relative_to(root))] = (info.st_mode, info.st_mtime_ns, digest)
    return state


UPGRADE = "9.8.8"


@pytest.fixture(scope="module")
def wheels(released) -> tuple[Path, Path]:
    """The wheels of the release and of the next one, tagged on a later commit."""
    clone, _ = released
    return clone / f"dist/fleetprint-{RELEASED}-py3-none-any.whl", tag_and_build_wheel(clone, UPGRADE)


def verify_unit(root: Path) -> str:
    """`systemd-analyze verify` of the installed unit in the scratch root, with the system's units."""
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True, dirs_exist_ok=True)
    result = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "--man=no", str(root / UNIT)],
                            capture_output=True, text=True, timeout=60)
    shutil.rmtree(root / "usr")
    return result.stderr if result.returncode else result.stderr or "ok"


def test_install_upgrade_uninstall(wheels, tmp_path) -> None:
    """Installed from the wheel's file, upgraded from a package index that has the next release."""
    old, new = wheels
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    secret, ca = tmp_path / "web-01.secret", tmp_path / "ca.crt"
    secret.write_text("s3cret\n")
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    args = ["--wheel", str(old), "--broker", "mqtt.example.org", "--ca-file", str(ca), "--secret-file", str(secret),
            "--host-id", HOST_ID, "--site", "paris dc1", "--zone", "FRA", "--department", "payroll & hr"]

    output = install(root, *args)
    assert f"fleetprint not installed -> {RELEASED}" in output
    venv = root / "opt/fleetprint-agent"
    said = subprocess.run([str(venv / "bin/fleetprint"), "--version"], capture_output=True, text=True, timeout=60)
    assert said.stdout.strip() == f"fleetprint, version {RELEASED}"
    config = load_agent_config(str(root / "etc/fleetprint/agent.toml"))
    assert (config.host.id, config.mqtt.username, config.mqtt.host, config.mqtt.port, config.mqtt.tls) == (
        HOST_ID, HOST_ID, "mqtt.example.org", 8883, True)
    assert (config.host.site, config.host.zone, config.host.department) == ("paris dc1", "FRA", "payroll & hr")
    assert (root / "etc/fleetprint/agent.secret").stat().st_mode & 0o777 == 0o600
    assert (root / "etc/systemd/system/multi-user.target.wants/fleetprint-agent.service").is_symlink()
    assert verify_unit(root) == "ok"
    agent_only = subprocess.run([str(venv / "bin/python"), "-I", "-c", "import boaviztapi"], capture_output=True)
    assert agent_only.returncode != 0, "the agent's environment has none of the collector's dependencies"

    before = snapshot(root)
    assert install(root, *args).strip().endswith("nothing to change")
    assert snapshot(root) == before, "a second run changes nothing"

    config_text = (root / "etc/fleetprint/agent.toml").read_text()
    (tmp_path / "index/simple/fleetprint").mkdir(parents=True)
    shutil.copy(new, tmp_path / "index/simple/fleetprint")
    with serving(tmp_path / "index") as url:
        output = install(root, *args[2:], "--upgrade", "--index-url", f"{url}/simple/")
    assert f"fleetprint {RELEASED} -> {UPGRADE}" in output
    version = subprocess.run([str(venv / "bin/python"), "-I", "-c", "import importlib.metadata as m; "
                              "print(m.version('fleetprint'))"], capture_output=True, text=True)
    assert version.stdout.strip() == UPGRADE
    assert (root / "etc/fleetprint/agent.toml").read_text() == config_text, "an upgrade keeps the config"

    install(root, "--uninstall")
    left = [str(path.relative_to(root)) for path in root.rglob("*") if not path.is_dir()]
    assert left == ["etc/machine-id"], "uninstall leaves no file but what was there"


def test_a_wrong_option_or_no_package_stops_before_anything_is_installed(tmp_path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    for args, said in ((["--zone", "fra"], "--zone fra: three capital letters"),
                       (["--site", 'dc"1'], "--site: 1 to 64 characters"),
                       (["--department", "a\\b"], "--department: 1 to 64 characters"),
                       (["--wheel", "dist/none.whl"], "--wheel dist/none.whl: no such file"),
                       ([], "what to install? --wheel dist/fleetprint-X.Y.Z-py3-none-any.whl (or its URL), built by "
                            "scripts/release")):
        result = subprocess.run(["bash", str(DEPLOY / "install-agent.sh"), "--root", str(root), "--broker",
                                 "mqtt.example.org", *args], capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert result.returncode == 1 and said in result.stderr, result.stderr
    assert not any(root.iterdir()), "nothing installed"
