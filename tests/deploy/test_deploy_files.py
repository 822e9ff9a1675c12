"""The deployment files checked as far as this machine allows (no container engine, no running
systemd, no cluster): systemd units with systemd-analyze, the compose file against the compose
spec and with `docker compose config`, the Kubernetes manifests against Kubernetes' schemas, the
Dockerfiles with hadolint and the scripts with shellcheck; the configs they carry load."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from stack import DEPLOY, REPO, make_secrets

from fleetprint.agent.config import AgentConfig
from fleetprint.collector.config import CollectorConfig
from fleetprint.config import load_config

BIN = Path(sys.executable).parent
COMPOSE = DEPLOY / "compose"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
# systemd-analyze security's overall exposure (0 safest .. 10): the hardening must stay this good.
MAX_EXPOSURE = {"fleetprint-agent.service": 2.5, "fleetprint-collector.service": 1.5}


def run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(arg) for arg in args], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def unit_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch root with the system's units, ours, and the programs their ExecStart names."""
    root = tmp_path_factory.mktemp("units")
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for unit in UNITS:
        shutil.copy(unit, root / "usr/lib/systemd/system" / unit.name)
        program = root / re.search(r"^ExecStart=(\S+)", unit.read_text(), re.M).group(1).lstrip("/")
        program.parent.mkdir(parents=True, exist_ok=True)
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    return root


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_systemd_unit_verifies_and_is_hardened(unit: Path, unit_root: Path) -> None:
    installed = unit_root / "usr/lib/systemd/system" / unit.name
    verify = run("systemd-analyze", "verify", f"--root={unit_root}", "--man=no", installed)
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
    security = run("systemd-analyze", "security", "--offline=true", f"--root={unit_root}", installed)
    exposure = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout).group(1))
    assert exposure <= MAX_EXPOSURE[unit.name], security.stdout


def test_a_broken_unit_is_caught(unit_root: Path) -> None:
    broken = unit_root / "etc/systemd/system/broken.service"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text(UNITS[0].read_text().replace("ProtectSystem=strict", "ProtectSystem=sometimes")
                      .replace("/opt/fleetprint-agent/", "/opt/nowhere/"))
    verify = run("systemd-analyze", "verify", f"--root={unit_root}", "--man=no", broken)
    assert "Failed to parse protect system value, ignoring: sometimes" in verify.stderr
    assert "/opt/nowhere/bin/fleetprint is not executable" in verify.stderr


@pytest.fixture(scope="module")
def compose_config(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`docker compose config` of the stack (agent profile on), with secrets from make-secrets.sh."""
    secrets = make_secrets(tmp_path_factory.mktemp("compose") / "secrets")
    result = run(BIN / "docker-compose", "--env-file", ".env.example", "--profile", "agent", "config",
                 "--format", "json", env={"FLEETPRINT_SECRETS_DIR": str(secrets)}, cwd=COMPOSE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_file_against_the_compose_spec() -> None:
    result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", COMPOSE / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_references_resolve(compose_config: dict) -> None:
    assert set(compose_config["services"]) == {"mosquitto", "influxdb", "grafana", "collector", "agent"}
    for name, secret in compose_config["secrets"].items():
        assert Path(secret["file"]).is_file(), f"make-secrets.sh writes no {secret['file']} for secret {name}"
    for name, service in compose_config["services"].items():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind" and volume["source"] != "/sys":
                assert Path(volume["source"]).exists(), f"{name} mounts {volume['source']}, which is not in the repo"
        if "build" in service:
            dockerfile = Path(service["build"]["context"]) / service["build"]["dockerfile"]
            assert dockerfile.is_file(), dockerfile


def test_compose_variables_are_documented_and_no_secret_is_committed() -> None:
    used = set(re.findall(r"\$\{(\w+)", (COMPOSE / "compose.yaml").read_text()))
    example = dict(line.split("=", 1) for line in (COMPOSE / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert used <= set(example), f"undocumented in .env.example: {used - set(example)}"
    assert not [key for key in example if re.search("PASSWORD|TOKEN|SECRET$|KEY", key)], "secrets go in files"
    ignored = run("git", "check-ignore", "deploy/compose/secrets/x", "deploy/compose/.env", cwd=REPO)
    assert ignored.stdout.split() == ["deploy/compose/secrets/x", "deploy/compose/.env"]
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            assert "PRIVATE KEY-----" not in path.read_text(errors="replace"), path


def test_compose_collector_config_loads(compose_config: dict) -> None:
    environment = compose_config["services"]["collector"]["environment"]
    config = load_config(COMPOSE / "collector.toml", CollectorConfig, "collector", environ=environment)
    assert (config.influxdb.version, config.influxdb.org, config.collector.id) == (2, "fleetprint",
                                                                                   config.mqtt.username)
    secrets = {secret["target"] if secret["target"].startswith("/") else f"/run/secrets/{secret['target']}"
               for secret in compose_config["services"]["collector"]["secrets"]}
    assert {config.mqtt.password_file, config.mqtt.ca_file, config.influxdb.token_file} <= secrets
    agent_env = compose_config["services"]["agent"]["environment"]
    agent = load_config(None, AgentConfig, "agent", environ=agent_env)
    assert agent.mqtt.username == agent.host.id == "compose-host" and agent.mqtt.tls


def manifests() -> list[dict]:
    return [document for path in sorted((DEPLOY / "kubernetes").glob("*.yaml"))
            for document in yaml.safe_load_all(path.read_text()) if document]


def test_kubernetes_manifests_against_kubernetes_schemas() -> None:
    files = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
    for version in ("1.28.0", "1.33.0"):
        result = run(BIN / "kubernetes-validate", "--strict", "-k", version, *files)
        assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_configs_load_with_the_pod_environment(tmp_path: Path) -> None:
    documents = {(doc["kind"], doc["metadata"]["name"]): doc for doc in manifests()}
    daemonset = documents[("DaemonSet", "fleetprint-agent")]["spec"]["template"]["spec"]
    assert daemonset["hostPID"]
    assert {volume["hostPath"]["path"] for volume in daemonset["volumes"] if "hostPath" in volume} >= {"/sys"}
    agent_container = daemonset["containers"][0]
    assert all(mount.get("readOnly") for mount in agent_container["volumeMounts"] if mount["name"] == "sys")
    statefulset = documents[("StatefulSet", "fleetprint-collector")]["spec"]["template"]["spec"]
    pod_env = {
        "agent": {env["name"]: env.get("value", "").replace("$(NODE_NAME)", "node-7")
                  for env in agent_container["env"]},
        "collector": {env["name"]: env.get("value", "").replace("$(POD_NAME)", "fleetprint-collector-1")
                      for env in statefulset["containers"][0]["env"]},
    }
    for kind, config_type, section in (("agent", AgentConfig, "agent"), ("collector", CollectorConfig, "collector")):
        path = tmp_path / f"{kind}.toml"
        path.write_text(documents[("ConfigMap", f"fleetprint-{kind}")]["data"][path.name])
        config = load_config(path, config_type, section, environ=pod_env[kind])
        assert config.mqtt.tls and config.mqtt.port == 8883
        if kind == "agent":
            assert config.host.id == config.mqtt.username == "node-7"
            assert config.mqtt.password_file == "/etc/fleetprint/passwords/node-7"
        else:  # each replica its own broker user (the broker's client id): `add-collector 1` for pod 1
            assert config.collector.id == config.mqtt.username == "fleetprint-collector-1"
            assert config.mqtt.password_file == "/etc/fleetprint/mqtt-passwords/fleetprint-collector-1"
    for doc in manifests():
        for container in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]


def test_dockerfiles_lint_and_copy_every_package() -> None:
    dockerfiles = sorted((DEPLOY / "docker").glob("Dockerfile.*"))
    result = run(BIN / "hadolint", *dockerfiles)
    assert result.returncode == 0, result.stdout + result.stderr
    package_dirs = {path.split("/")[0] for path in
                    tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"].values()}
    for dockerfile in dockerfiles:
        copied = set(re.findall(r"^COPY (\w+) \1$", dockerfile.read_text(), re.M))
        assert package_dirs <= copied, f"{dockerfile.name} misses {package_dirs - copied}"


def test_shell_scripts_pass_shellcheck() -> None:
    scripts = [DEPLOY / "install-agent.sh", COMPOSE / "make-secrets.sh", *sorted(COMPOSE.glob("influxdb/init/*.sh")),
               REPO / "tools" / "as-recorded-host"]
    result = run(BIN / "shellcheck", "-x", *scripts)
    assert result.returncode == 0, result.stdout
