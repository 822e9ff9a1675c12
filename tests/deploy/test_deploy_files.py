"""The deployment files checked as far as this machine allows (no container engine, no running
systemd, no cluster): systemd units with systemd-analyze, the compose file against the compose
spec and with `docker compose config`, the Kubernetes manifests against Kubernetes' schemas, the
Dockerfiles with hadolint and the scripts with shellcheck; the configs they carry load."""

from __future__ import annotations

import fnmatch
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
from fleetprint.collector.budgets.config import load_budgets
from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.runner import Collector
from fleetprint.config import load_config
from fleetprint.dashboards.definitions import ROLLUP_POLICY
from fleetprint.health import HealthFile, Link

from processes import wait_until
from services import free_port

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
    collector = compose_config["services"]["collector"]
    mounted = {volume["target"]: volume["source"] for volume in collector["volumes"]}
    budgets_file = tomllib.loads((COMPOSE / "collector.toml").read_text())["budgets"]["file"]
    assert Path(mounted[budgets_file]) == COMPOSE / "budgets.toml", "the collector's budgets file is mounted"
    environment = {**collector["environment"], "FLEETPRINT_COLLECTOR_BUDGETS__FILE": mounted[budgets_file]}
    config = load_config(COMPOSE / "collector.toml", CollectorConfig, "collector", environ=environment)
    assert (config.influxdb.version, config.influxdb.org, config.collector.id) == (2, "fleetprint",
                                                                                   config.mqtt.username)
    assert load_budgets(config.budgets.file).budget, "the example budgets file loads, with a budget"
    secrets = {secret["target"] if secret["target"].startswith("/") else f"/run/secrets/{secret['target']}"
               for secret in collector["secrets"]}
    assert {config.mqtt.password_file, config.mqtt.ca_file, config.influxdb.token_file} <= secrets
    agent_env = compose_config["services"]["agent"]["environment"]
    agent = load_config(None, AgentConfig, "agent", environ=agent_env)
    assert agent.mqtt.username == agent.host.id == "compose-host" and agent.mqtt.tls


def pinned_release() -> str:
    """The release of our images that the deploy files name: compose's default (scripts/release
    warns when a release differs from it)."""
    return re.search(r"\$\{FLEETPRINT_VERSION:-([^}]*)\}", (COMPOSE / "compose.yaml").read_text()).group(1)


def test_compose_images_are_exact_releases() -> None:
    """In the file's defaults and in .env.example alike: no floating tag, ours at the pinned release."""
    compose = (COMPOSE / "compose.yaml").read_text()
    defaults = dict(re.findall(r"\$\{(\w+_VERSION):-([^}]*)\}", compose))
    example = dict(line.split("=", 1) for line in (COMPOSE / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert set(defaults) == {"MOSQUITTO_VERSION", "INFLUXDB_VERSION", "GRAFANA_VERSION", "FLEETPRINT_VERSION"}
    for name, default in defaults.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", default) and example[name] == default, (name, default, example[name])
    images = re.findall(r"^\s+image: (\S+)$", compose, re.M)
    assert len(images) == 5 and all(re.fullmatch(r"[\w./-]+:\$\{\w+_VERSION:-[\d.]+\}", image) for image in images)


def test_every_compose_service_has_a_healthcheck_and_waits_for_healthy_ones(compose_config: dict) -> None:
    services = compose_config["services"]
    for name, service in services.items():
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    waits = {name: {other: need["condition"] for other, need in service.get("depends_on", {}).items()}
             for name, service in services.items()}
    assert waits == {"mosquitto": {}, "influxdb": {},
                     "grafana": {"influxdb": "service_healthy"},
                     "collector": {"mosquitto": "service_healthy", "influxdb": "service_healthy"},
                     "agent": {"mosquitto": "service_healthy"}}


def test_the_compose_broker_healthcheck_tells_a_broker_from_none(compose_config: dict, tls_broker) -> None:
    """Its command against the shipped broker config: the loopback listener answers "not authorised"."""
    assert shutil.which("mosquitto_sub"), "mosquitto_sub not found: scripts/setup dev installs mosquitto-clients"
    kind, command = compose_config["services"]["mosquitto"]["healthcheck"]["test"]
    command = command.replace("$$", "$")  # compose's escape, as the container's shell gets it
    assert kind == "CMD-SHELL" and " -p 1883 " in command
    listening = run("sh", "-c", command.replace(" -p 1883 ", f" -p {tls_broker.port} "))
    assert listening.returncode == 0, listening.stdout + listening.stderr
    assert run("sh", "-c", command.replace(" -p 1883 ", f" -p {free_port()} ")).returncode == 1


def test_the_compose_programs_healthchecks_run_with_their_environment(compose_config: dict) -> None:
    """The collector's and the agent's: their commands parse, and read a health file where compose
    gives the program a writable place (a tmpfs; the agent's state volume)."""
    services = compose_config["services"]
    collector, agent = services["collector"], services["agent"]
    config = load_config(COMPOSE / "collector.toml", CollectorConfig, "collector", environ=collector["environment"],
                         check=False)
    assert str(Path(config.collector.health_file).parent) in collector["tmpfs"]
    agent_config = load_config(None, AgentConfig, "agent", environ=agent["environment"])
    assert agent_config.state_dir in {volume["target"] for volume in agent["volumes"] if volume["type"] == "volume"}
    for service, config_path, health_file in ((collector, COMPOSE / "collector.toml", config.collector.health_file),
                                              (agent, None, str(agent_config.health_file))):
        command = service["healthcheck"]["test"]
        assert command[:2] == ["CMD", "fleetprint"]
        args = [str(config_path) if arg.endswith("collector.toml") else arg for arg in command[2:]]
        result = run(sys.executable, "-m", "fleetprint", *args, env=service["environment"])
        assert result.returncode == 1 and result.stdout.startswith(f"unhealthy: no health file {health_file}: ")


def test_compose_keeps_rollups_longer_than_raw_points_where_the_collector_and_dashboards_look(
        compose_config: dict) -> None:
    influxdb = compose_config["services"]["influxdb"]["environment"]
    collector = load_config(COMPOSE / "collector.toml", CollectorConfig, "collector",
                            environ=compose_config["services"]["collector"]["environment"], check=False)
    raw_days = int(influxdb["DOCKER_INFLUXDB_INIT_RETENTION"].removesuffix("d"))
    assert raw_days > 365 + 31 and raw_days > collector.collector.max_sample_age_days, "a year-on-year month, raw"
    assert influxdb["FLEETPRINT_ROLLUP_RETENTION"] == "0", "rollups kept for ever"
    assert collector.influxdb.rollup_bucket == influxdb["FLEETPRINT_ROLLUP_BUCKET"] != collector.influxdb.bucket
    assert collector.influxdb.rollup_retention_policy == influxdb["FLEETPRINT_ROLLUP_POLICY"] == ROLLUP_POLICY
    assert collector.influxdb.database == influxdb["FLEETPRINT_DATABASE"]
    init = (COMPOSE / "influxdb/init/10-dbrp.sh").read_text()
    assert {"FLEETPRINT_ROLLUP_BUCKET", "FLEETPRINT_ROLLUP_RETENTION", "FLEETPRINT_ROLLUP_POLICY"} <= set(
        re.findall(r"\$\{(FLEETPRINT_\w+)", init))


KUBERNETES = DEPLOY / "kubernetes"
MANIFEST_FILES = sorted(path for path in KUBERNETES.glob("*.yaml") if path.name != "kustomization.yaml")


def manifests() -> list[dict]:
    return [document for path in MANIFEST_FILES for document in yaml.safe_load_all(path.read_text()) if document]


def by_kind_and_name(documents: list[dict]) -> dict[tuple[str, str], dict]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in documents}


def pod_specs(documents: list[dict]) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc["spec"]["template"]["spec"] for doc in documents
            if doc["kind"] in ("DaemonSet", "StatefulSet", "Deployment")}


def kustomize(directory: Path) -> list[dict]:
    """`kubectl kustomize DIR`: what `kubectl apply -k DIR` would apply."""
    result = run("kubectl", "kustomize", directory)
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def test_kubernetes_manifests_against_kubernetes_schemas(tmp_path: Path) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(kustomize(KUBERNETES)))
    for version in ("1.28.0", "1.33.0"):
        result = run(BIN / "kubernetes-validate", "--strict", "-k", version, *MANIFEST_FILES, rendered)
        assert result.returncode == 0, result.stdout + result.stderr


def test_kustomization_applies_every_manifest_and_sets_registry_and_tag_in_one_place(tmp_path: Path) -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(path.name for path in MANIFEST_FILES)
    assert {image["newTag"] for image in kustomization["images"]} == {pinned_release()}
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "resources": [os.path.relpath(KUBERNETES, tmp_path)],
        "images": [{"name": image["name"], "newName": f"registry.internal:5000/ops/{image['name'].rsplit('/', 1)[1]}",
                    "newTag": "9.9.9"} for image in kustomization["images"]]}))
    images = {container["image"] for spec in pod_specs(kustomize(tmp_path)).values()
              for container in spec["containers"] + spec.get("initContainers", [])}
    assert images == {"registry.internal:5000/ops/fleetprint-agent:9.9.9",
                      "registry.internal:5000/ops/fleetprint-collector:9.9.9"}


def test_images_name_their_registry_and_the_pinned_release() -> None:
    for name, spec in pod_specs(manifests()).items():
        for container in spec["containers"] + spec.get("initContainers", []):
            registry, _, rest = container["image"].partition("/")
            assert "." in registry or ":" in registry, f"{name}: {container['image']} names no registry"
            assert rest.rsplit(":", 1)[1] == pinned_release(), f"{name}: {container['image']} is not {pinned_release()}"


def test_the_agent_has_a_modest_priority_that_never_preempts() -> None:
    documents = by_kind_and_name(manifests())
    for name, spec in pod_specs(manifests()).items():
        assert not spec.get("priorityClassName", "").startswith("system-"), name
    agent_class = documents[("PriorityClass", pod_specs(manifests())["fleetprint-agent"]["priorityClassName"])]
    assert 0 < agent_class["value"] <= 10_000 and agent_class["preemptionPolicy"] == "Never"
    assert not agent_class["globalDefault"]


def test_each_agent_pod_reads_its_own_node_password_and_no_other() -> None:
    spec = pod_specs(manifests())["fleetprint-agent"]
    secrets = {volume["secret"]["secretName"] for volume in spec["volumes"] if "secret" in volume}
    assert secrets == {"fleetprint-broker-ca"}, "no Secret may hold the nodes' passwords"
    host_paths = {volume["name"]: volume["hostPath"]["path"] for volume in spec["volumes"] if "hostPath" in volume}
    for container in spec["containers"] + spec["initContainers"]:
        password_file = next(env["value"] for env in container["env"]
                             if env["name"] == "FLEETPRINT_AGENT_MQTT__PASSWORD_FILE")
        mount = next(mount for mount in container["volumeMounts"] if password_file.startswith(mount["mountPath"] + "/"))
        on_node = host_paths[mount["name"]] + password_file[len(mount["mountPath"]):]
        assert on_node == "/etc/fleetprint/agent.secret" and mount["readOnly"], container["name"]
    for path in [*DEPLOY.rglob("*"), *(REPO / "docs").rglob("*.md"), REPO / "README.md"]:
        if path.is_file():
            assert "fleetprint-agent-passwords" not in path.read_text(errors="replace"), path


def test_a_new_node_waits_in_init_saying_which_file_and_command(tmp_path: Path) -> None:
    init = pod_specs(manifests())["fleetprint-agent"]["initContainers"][0]
    script = tmp_path / "wait-for-credential.sh"
    script.write_text("#!/bin/sh\n" + init["args"][0])
    lint = run(BIN / "shellcheck", script)
    assert lint.returncode == 0, lint.stdout
    password = tmp_path / "node" / "agent.secret"
    log = tmp_path / "init.log"
    with open(log, "w") as out:
        waiting = subprocess.Popen([*init["command"], init["args"][0]], stdout=out, stderr=subprocess.STDOUT,
                                   env={"PATH": os.environ["PATH"], "NODE_NAME": "node-7",
                                        "FLEETPRINT_AGENT_MQTT__PASSWORD_FILE": str(password)})
        try:
            wait_until(lambda: "\n" in log.read_text(), timeout_s=10, what="the init container's first line")
            assert log.read_text() == (
                "waiting for /etc/fleetprint/agent.secret on node node-7 (0 s so far): create it with `fleetprint "
                "broker add-host node-7 -o agent.secret` on the broker, then install -D -m 600 -o root "
                "agent.secret /etc/fleetprint/agent.secret on the node\n")
            assert waiting.poll() is None, "it waits while the file is missing"
            password.parent.mkdir()
            password.write_text("s3cret\n")
            assert waiting.wait(10) == 0
        finally:
            waiting.kill()
    assert log.read_text().splitlines()[-1].startswith("found this node's broker password after ")


def test_every_container_has_probes_running_its_health_command(tmp_path: Path) -> None:
    """Each probe's command, run with the pod's config and environment: no health file yet, then a fresh one."""
    documents = by_kind_and_name(manifests())
    for name, spec in pod_specs(manifests()).items():
        program = name.removeprefix("fleetprint-")
        container = spec["containers"][0]
        config = tmp_path / f"{program}.toml"
        config.write_text(documents[("ConfigMap", name)]["data"][config.name])
        health_file = tmp_path / f"{program}-state" / "health.json"
        health_file.parent.mkdir()
        environ = {env["name"]: env.get("value", "").replace("$(NODE_NAME)", "node-7").replace("$(POD_NAME)", name)
                   for env in container["env"]}
        environ.update({"FLEETPRINT_AGENT_STATE_DIR": str(health_file.parent),
                        "FLEETPRINT_COLLECTOR_COLLECTOR__HEALTH_FILE": str(health_file)})
        probes = [container[probe]["exec"]["command"] for probe in ("startupProbe", "livenessProbe", "readinessProbe")]
        assert all(command[:3] == ["fleetprint", program, "health"] for command in probes), probes
        assert probes[2][-1] == "--ready", "readiness wants the connections up"

        def probe(command: list[str]) -> tuple[int, str]:
            args = [str(config) if arg.endswith(config.name) else arg for arg in command[1:]]
            result = run(sys.executable, "-m", "fleetprint", *args, env=environ)
            return result.returncode, result.stdout + result.stderr

        for command in probes:
            assert probe(command) == (1, f"unhealthy: no health file {health_file}: the {program} is not running "
                                         "(or runs with another config)\n")
        HealthFile(health_file, program, name, "sample", 30, 90).beat([("broker", Link("mqtt").restored())])
        for command in probes:
            assert probe(command)[0] == 0, probe(command)


def test_kubernetes_configs_load_with_the_pod_environment(tmp_path: Path) -> None:
    documents = by_kind_and_name(manifests())
    specs = pod_specs(manifests())
    daemonset = specs["fleetprint-agent"]
    assert daemonset["hostPID"]
    assert {volume["hostPath"]["path"] for volume in daemonset["volumes"] if "hostPath" in volume} >= {"/sys"}
    agent_container = daemonset["containers"][0]
    assert all(mount.get("readOnly") for mount in agent_container["volumeMounts"] if mount["name"] == "sys")
    statefulset = specs["fleetprint-collector"]
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
            assert config.mqtt.password_file == "/etc/fleetprint/node/agent.secret"
        else:  # each replica its own broker user (the broker's client id): `add-collector 1` for pod 1
            assert config.collector.id == config.mqtt.username == "fleetprint-collector-1"
            assert config.influxdb.rollup_retention_policy == ROLLUP_POLICY and config.influxdb.rollup_bucket
            assert config.mqtt.password_file == "/etc/fleetprint/mqtt-passwords/fleetprint-collector-1"
            mounts = {mount["mountPath"]: mount["name"] for mount in statefulset["containers"][0]["volumeMounts"]}
            run_volume = next(v for v in statefulset["volumes"] if v["name"] == mounts[str(Path(
                config.collector.health_file).parent)])
            assert "emptyDir" in run_volume, "the health file's directory is writable on a read-only root"
            stale_after = Collector.health_max_age_s(config)
            assert f"stale after {stale_after:g} s" in (KUBERNETES / "collector.yaml").read_text()
    for spec in specs.values():
        for container in spec["containers"] + spec.get("initContainers", []):
            assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]


def docker_context(paths: list[str]) -> set[str]:
    """Those of `paths` that reach the Docker builds' context, the checkout less /.dockerignore: no folder of
    theirs matches a line (fnmatch's * also crosses a /, so this leaves out at least what Docker does)."""
    patterns = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert not [pattern for pattern in patterns if pattern.startswith("!")], "exceptions would need Docker's rules"

    def ignored(path: str) -> bool:
        parts = path.split("/")
        return any(fnmatch.fnmatch("/".join(parts[:end]), pattern) or pattern.startswith("**/")
                   and fnmatch.fnmatch(parts[end - 1], pattern[3:]) for pattern in patterns
                   for end in range(1, len(parts) + 1))

    return {path for path in paths if not ignored(path)}


def test_dockerfiles_lint_and_install_the_wheel_of_the_checkout(compose_config: dict) -> None:
    """Each image installs the wheel that its build stage makes from the whole checkout (less .dockerignore),
    as a release does, rather than from folders named one by one: the context holds every tracked file of the
    packages and what the build reads, and not the history, the tests or the deploy files (the secrets)."""
    dockerfiles = sorted((DEPLOY / "docker").glob("Dockerfile.*"))
    result = run(BIN / "hadolint", *dockerfiles)
    assert result.returncode == 0, result.stdout + result.stderr
    for dockerfile in dockerfiles:
        text = dockerfile.read_text()
        assert re.findall(r"^COPY (.*)$", text, re.M) == [". .", "--from=build /wheels /wheels"], dockerfile.name
        assert re.search(r"^RUN pip wheel .*--wheel-dir /wheels \.$", text, re.M), dockerfile.name
        assert re.search(r'pip install --no-cache-dir "\$\{wheel\}\[\w+', text), dockerfile.name
    assert {service["build"]["context"] for service in compose_config["services"].values()
            if "build" in service} == {str(REPO)}, "the compose builds' context is the checkout, with .dockerignore"
    folders = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"].values()
    tracked = run("git", "ls-files", cwd=REPO).stdout.split()
    needed = {"pyproject.toml", "README.md", "LICENSE"} | {path for path in tracked if path.split("/")[0] in folders}
    context = docker_context(tracked)
    assert sorted(needed - context) == []
    assert not [path for path in context if path.split("/")[0] in ("tests", "deploy", "docs")]
    assert docker_context([".git/HEAD", ".venv/bin/python", "deploy/compose/secrets/influxdb_token", "dist/x.whl",
                           "agent/__pycache__/cli.cpython-311.pyc", "fleetprint.egg-info/PKG-INFO"]) == set()


def test_shell_scripts_pass_shellcheck() -> None:
    scripts = [DEPLOY / "install-agent.sh", COMPOSE / "make-secrets.sh", *sorted(COMPOSE.glob("influxdb/init/*.sh")),
               REPO / "tools" / "as-recorded-host", REPO / "scripts/release", REPO / "scripts/build-installers"]
    result = run(BIN / "shellcheck", "-x", *scripts)
    assert result.returncode == 0, result.stdout
