"""The `[power]` section: one table per source (agent/power/registry.py), checked, and the flat keys
of earlier releases still read with a deprecation warning naming the new key."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fleetprint.agent.config import load_agent_config
from fleetprint.agent.power.ipmi import IpmiSettings
from fleetprint.agent.power.redfish import RedfishSettings
from fleetprint.config import ConfigError

SECTIONS = """
[power.ipmi]
enabled = true

[power.redfish]
url = "https://bmc-web-01.example"
username = "fleetprint"
password_file = "/etc/fleetprint/bmc.secret"
chassis = "System.Embedded.1"
verify_tls = false
"""
FLAT = """
[power]
ipmi = true
redfish_url = "https://bmc-web-01.example"
redfish_username = "fleetprint"
redfish_password_file = "/etc/fleetprint/bmc.secret"
redfish_chassis = "System.Embedded.1"
redfish_verify_tls = false
"""
EXPECTED = (IpmiSettings(enabled=True), RedfishSettings(
    url="https://bmc-web-01.example", username="fleetprint", password_file="/etc/fleetprint/bmc.secret",
    chassis="System.Embedded.1", verify_tls=False))


def load(tmp_path: Path, text: str):
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return load_agent_config(str(path)).power


def test_each_source_reads_its_own_section(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    power = load(tmp_path, SECTIONS)
    assert (power.ipmi, power.redfish) == EXPECTED
    assert caplog.records == []


def test_defaults_leave_the_bmc_sources_off(tmp_path: Path) -> None:
    power = load(tmp_path, "")
    assert (power.ipmi, power.redfish) == (IpmiSettings(enabled=False), RedfishSettings())


def test_a_section_can_be_set_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETPRINT_AGENT_POWER__IPMI__ENABLED", "true")
    monkeypatch.setenv("FLEETPRINT_AGENT_POWER__REDFISH__URL", "https://bmc.example")
    power = load(tmp_path, "")
    assert (power.ipmi.enabled, power.redfish.url) == (True, "https://bmc.example")


def test_flat_keys_of_earlier_releases_still_work_and_say_their_new_place(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="fleetprint.config"):
        power = load(tmp_path, FLAT)
    assert (power.ipmi, power.redfish) == EXPECTED
    assert [record.getMessage() for record in caplog.records] == [
        f"{tmp_path / 'agent.toml'}: power.{old} is deprecated: use [power.{section}] {new}" for old, section, new in [
            ("ipmi", "ipmi", "enabled"), ("redfish_url", "redfish", "url"), ("redfish_username", "redfish", "username"),
            ("redfish_password_file", "redfish", "password_file"), ("redfish_chassis", "redfish", "chassis"),
            ("redfish_verify_tls", "redfish", "verify_tls")]]
    assert {record.levelno for record in caplog.records} == {logging.WARNING}


def test_a_flat_key_from_the_environment_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("FLEETPRINT_AGENT_POWER__IPMI", "true")
    assert load(tmp_path, "").ipmi.enabled is True
    assert "power.ipmi is deprecated: use [power.ipmi] enabled" in caplog.text


def test_a_key_given_both_ways_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "[power]\nredfish_url = 'https://a.example'\n[power.redfish]\nurl = 'https://b.example'\n")
    assert caught.value.key == "power.redfish_url"
    assert "keep only the latter" in caught.value.reason


@pytest.mark.parametrize("text,key", [
    ("[power.ipmi]\nenabled = 'sometimes'\n", "power.ipmi.enabled"),
    ("[power]\nwatts = 3\n", "power"),
    ("[power.rapl]\nenabled = true\n", "power"),  # RAPL has no settings, so no section
    ("[power.redfish]\nurl = 'bmc.example'\n", "power.redfish.url"),
    ("[power.redfish]\nurl = 'https://bmc.example/redfish/v1'\n", "power.redfish.url"),
    ("[power.redfish]\nurl = 'https://bmc.example'\nusername = 'x'\n", "power.redfish.password_file"),
    ("[power.redfish]\nurl = 'https://bmc.example'\npassword_file = '/f'\n", "power.redfish.username"),
    ("[power.redfish]\nusername = 'x'\npassword_file = '/f'\n", "power.redfish.url"),
    ("[power.redfish]\nchassis = '1/../2'\n", "power.redfish.chassis"),
    ("[power]\nredfish_chassis = '1/../2'\n", "power.redfish.chassis"),  # a flat key is checked in its new place
    ("[power]\nipmi = 'sometimes'\n", "power.ipmi.enabled"),
])
def test_bad_power_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    assert caught.value.key == key
