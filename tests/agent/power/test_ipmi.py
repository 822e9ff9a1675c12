"""The BMC through ipmitool (agent/power/ipmi.py): its recorded outputs, and a stand-in ipmitool run for real."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from power_trees import POWER

from fleetprint.agent.power.base import Unavailable
from fleetprint.agent.power.ipmi import IpmiSource, parse_power_reading


def recorded(name: str) -> str:
    return (POWER / "ipmi" / name).read_text() if name else ""


@pytest.mark.parametrize("stdout,stderr,expected", [
    ("activated.stdout", "", 212.0),
    ("deactivated.stdout", "",
     "no reading: the BMC says its DCMI power measurement is deactivated (try [power.redfish])"),
    ("zero.stdout", "", "no reading: the BMC reports 0 W (it does not measure power through DCMI)"),
    ("", "no-device.stderr",
     "absent: no /dev/ipmi0 (no BMC, or the ipmi_si and ipmi_devintf modules are not loaded)"),
    ("", "permission.stderr", ("denied: cannot open /dev/ipmi0: run the agent as root, or give its group "
                               "read-write access to /dev/ipmi0 with a udev rule")),
    ("", "invalid-command.stderr", "unsupported: the BMC refuses DCMI power readings: Invalid command (c1)"),
])
def test_ipmitool_output_is_parsed(stdout: str, stderr: str, expected: float | str) -> None:
    if isinstance(expected, float):
        assert parse_power_reading(recorded(stdout), recorded(stderr)) == expected
    else:
        with pytest.raises(Unavailable) as caught:
            parse_power_reading(recorded(stdout), recorded(stderr))
        assert str(caught.value) == expected


def test_ipmitool_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    source = IpmiSource()
    assert (source.read(), source.status()) == ({}, "absent: ipmitool not installed")


def fake_ipmitool(directory: Path, body: str) -> None:
    script = directory / "ipmitool"
    script.write_text(f'#!/bin/sh\n[ "$*" = "dcmi power reading" ] || exit 2\n{body}\n')
    script.chmod(0o755)


def test_ipmitool_is_run_and_its_answer_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    fake_ipmitool(tmp_path, f"cat {POWER / 'ipmi/activated.stdout'}")
    source = IpmiSource()
    assert source.read() == {"wall": 212.0}
    fake_ipmitool(tmp_path, f"cat {POWER / 'ipmi/no-device.stderr'} >&2; exit 1")
    assert source.read() == {}
    assert source.status().startswith("absent: no /dev/ipmi0")


def test_ipmitool_that_hangs_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    fake_ipmitool(tmp_path, "exec sleep 30")
    source = IpmiSource(timeout_s=0.2)
    started = time.monotonic()
    assert source.read() == {}
    assert time.monotonic() - started < 5
    assert source.status() == "unreachable: ipmitool got no answer from the BMC within 0.2 s"
