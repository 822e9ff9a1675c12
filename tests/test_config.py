"""Config files: validated at start; a bad one stops the program naming the file, the key and the reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fleetprint.agent.config import load_agent_config
from fleetprint.collector.config import load_collector_config
from fleetprint.config import ConfigError
from fleetprint.report import extra

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleetprint.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text,key,reason", [
    ("[mqtt]\nport = 'abc'\n", "mqtt.port", "Expected `int`, got `str`"),
    ("[mqtt]\nport = 70000\n", "mqtt.port", "<= 65535"),
    ("[sampling]\ninterval_s = 0.1\n", "sampling.interval_s", ">= 1"),
    ("[host]\nzone = 'france'\n", "host.zone", "matching regex"),
    ("[host]\nid = 'has space'\n", "host.id", "matching regex"),
    ("[host]\nkind = 'toaster'\n", "host.kind", "must be one of"),
    ("[mqtt]\nprot = 1883\n", "mqtt", "unknown field `prot`"),
    ("[mqtt\nport = 1\n", "", "not valid TOML"),
    ("[[services.rule]]\nservice = 'web'\n", "services.rule[0]", "needs at least one of"),
    ("[[services.rule]]\nservice = 'web'\ncmdline = '(unclosed'\n", "services.rule[0].cmdline", "regular expression"),
    ("[[services.rule]]\nservice = 'web'\ncontainer_id = 'XYZ'\n", "services.rule[0].container_id", "matching regex"),
])
def test_bad_agent_config_names_file_key_and_reason(tmp_path: Path, text: str, key: str, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_agent_config(str(path))
    assert caught.value.source == str(path)
    assert caught.value.key == key
    assert reason in caught.value.reason


@pytest.mark.parametrize("kind", ["server", "desktop", "laptop", "vm", "thin_client"])
def test_every_machine_kind_may_be_configured(tmp_path: Path, kind: str) -> None:
    """A thin client is only ever named in the config: nothing the OS says tells one from a small desktop."""
    assert load_agent_config(str(write(tmp_path, f"[host]\nkind = '{kind}'\n"))).host.kind == kind


@pytest.mark.parametrize("text,key", [
    ("[impact]\ndefault_zone = 'XYZ'\n", "impact.default_zone"),
    ("[sites.paris]\nzone = 'QQQ'\n", "sites.paris.zone"),
    ("[influxdb]\nversion = 2\norg = 'x'\n", "influxdb.token"),
    ("[influxdb]\nbatch_size = 0\n", "influxdb.batch_size"),
    ("[influxdb]\nbatch_size = 5000\nmax_pending_points = 100\n", "influxdb.max_pending_points"),
    ("[influxdb]\nrollup_retention_policy = 'kept \"forever\"'\n", "influxdb.rollup_retention_policy"),
    ("[influxdb]\nrollup_bucket = 'fleetprint-rollups'\n", "influxdb.rollup_bucket"),
    ("[influxdb]\nversion = 2\norg = 'x'\ntoken = 't'\nrollup_retention_policy = 'r'\n", "influxdb.rollup_bucket"),
    ("[influxdb]\nversion = 2\norg = 'x'\ntoken = 't'\nrollup_bucket = 'r'\n", "influxdb.rollup_retention_policy"),
    ("[report]\ntz = 'Mars/Olympus'\n", "report.tz"),
    ("[report.smtp]\nhost = 'relay'\n", "report.smtp.sender"),
    ("[report.smtp]\nhost = 'relay'\nsender = 'a@b.example'\nusername = 'u'\n", "report.smtp.password_file"),
    ("[[report.deliveries]]\nname = 'm'\n", "report.deliveries.m"),
    ("[[report.deliveries]]\nname = 'm'\nemail_to = ['a@b.example']\n", "report.smtp.host"),
    ("[report.smtp]\nhost = 'relay'\nsender = 'a@b.example'\n[[report.deliveries]]\nname = 'm'\n"
     "email_to = ['nobody']\n", "report.deliveries.m.email_to"),
    ("[[report.deliveries]]\nname = 'm'\nwebhook_url = 'ftp://x'\n", "report.deliveries.m.webhook_url"),
    ("[[report.deliveries]]\nname = 'm'\nwebhook_url = 'https://x'\nservice = 'a'\nsite = 'b'\n",
     "report.deliveries.m"),
    ("[[report.deliveries]]\nname = 'm'\nwebhook_url = 'https://x'\ntz = 'Nowhere'\n", "report.deliveries.m.tz"),
    ("[[report.deliveries]]\nname = 'm'\nwebhook_url = 'https://x'\n[[report.deliveries]]\nname = 'm'\n"
     "webhook_url = 'https://y'\n", "report.deliveries.m"),
    ("[report.smtp]\nhost = 'relay'\nsender = 'a@b.example'\nusername = 'u'\npassword_file = '/nonexistent/pw'\n",
     "report.smtp.password_file"),
    ("[[report.deliveries]]\nname = 'm'\nwebhook_url = 'https://x'\nwebhook_secret_file = '/nonexistent/s'\n",
     "report.deliveries.m.webhook_secret_file"),
    ("[rollups]\nenabled = false\n[[report.deliveries]]\nname = 'm'\nwebhook_url = 'https://x'\n", "rollups.enabled"),
])
def test_bad_collector_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_collector_config(str(write(tmp_path, text)))
    assert caught.value.key == key


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[mqtt]\nport = 1883\nhost = 'broker.example'\n")
    monkeypatch.setenv("FLEETPRINT_AGENT_MQTT__PORT", "8883")
    monkeypatch.setenv("FLEETPRINT_AGENT_HOST__SERVICES", '{ mail = 2, web = 1 }')
    monkeypatch.setenv("FLEETPRINT_COLLECTOR_MQTT__PORT", "9999")  # the other program's: ignored here
    monkeypatch.setenv("FLEETPRINT_AGENT_CONFIG", str(path))  # `--config` by environment, not a key
    config = load_agent_config(str(path))
    assert (config.mqtt.host, config.mqtt.port) == ("broker.example", 8883)
    assert config.host.services == {"mail": 2.0, "web": 1.0}


def test_bad_environment_value_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETPRINT_COLLECTOR_INFLUXDB__FLUSH_INTERVAL_S", "soon")
    with pytest.raises(ConfigError) as caught:
        load_collector_config(None)
    assert "FLEETPRINT_COLLECTOR_* environment" in str(caught.value)
    assert caught.value.key == "influxdb.flush_interval_s"


@pytest.mark.parametrize("program", ["agent", "collector"])
def test_example_configs_are_valid(program: str) -> None:
    loader = load_agent_config if program == "agent" else load_collector_config
    loader(str(EXAMPLES / f"{program}.toml"))


@pytest.mark.parametrize("program", ["agent", "collector"])
def test_program_exits_non_zero_on_bad_config(tmp_path: Path, program: str) -> None:
    path = write(tmp_path, "[mqtt]\nport = -1\n")
    result = subprocess.run([sys.executable, "-m", "fleetprint", program, "run", "-c", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"invalid config {path}: mqtt.port" in result.stderr


def test_world_readable_config_with_a_secret_is_warned_about(tmp_path: Path) -> None:
    path = write(tmp_path, "[mqtt]\nport = 1\npassword = 'hunter2-secret'\n[influxdb]\nurl = 'http://127.0.0.1:1'\n")
    path.chmod(0o644)
    result = subprocess.run([sys.executable, "-m", "fleetprint", "collector", "run", "-c", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert "readable by every user: chmod 600" in result.stderr
    assert "hunter2-secret" not in result.stderr + result.stdout


def test_example_budget_file_is_valid() -> None:
    from fleetprint.collector.budgets.config import load_budgets

    assert len(load_budgets(str(EXAMPLES / "budgets.toml")).budget) == 2


def test_a_bad_rollup_retention_policy_says_the_file_the_key_and_why(tmp_path: Path) -> None:
    path = write(tmp_path, "[influxdb]\nrollup_retention_policy = 'kept forever'\n")
    with pytest.raises(ConfigError) as caught:
        load_collector_config(str(path))
    assert str(caught.value) == (f"invalid config {path}: influxdb.rollup_retention_policy: a retention policy's "
                                 "name is 1 to 64 letters, digits, '.', '_' or '-'")


def test_deliveries_without_the_report_extra_stop_the_collector_at_start(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    real = extra.find_spec
    monkeypatch.setattr(extra, "find_spec", lambda name: None if name == "weasyprint" else real(name))
    path = write(tmp_path, "[[report.deliveries]]\nname = 'm'\nwebhook_url = 'https://x'\n")  # pdf and csv
    with pytest.raises(ConfigError) as caught:
        load_collector_config(str(path))
    assert caught.value.key == "report.deliveries"
    assert "[report] extra (missing: weasyprint): pip install 'fleetprint[report]'" in caught.value.reason
    html_only = write(tmp_path, "[[report.deliveries]]\nname = 'm'\nwebhook_url = 'https://x'\nformats = ['html']\n")
    assert load_collector_config(str(html_only)).report.deliveries[0].formats == ["html"]
