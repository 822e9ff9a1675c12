"""Wall power from the BMC through IPMI DCMI: `ipmitool dcmi power reading` on the local interface.

Read only when configured (`[power.ipmi] enabled = true`): the BMC answers slowly, and opening
/dev/ipmi0 needs root (or a udev rule granting the agent's group access to it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import msgspec

from fleetprint.agent.power.base import NotConfigured, PowerSource, PowerSourceType, Unavailable

_COMMAND = ("dcmi", "power", "reading")
_INSTANTANEOUS = re.compile(r"^\s*Instantaneous power reading:\s*(\d+)\s+Watts", re.MULTILINE)
_STATE = re.compile(r"^\s*Power reading state is:\s*(\w+)", re.MULTILINE)
_DCMI_REFUSED = re.compile(r"DCMI request failed because: (.+)")


class IpmiSettings(msgspec.Struct, forbid_unknown_fields=True):
    """The `[power.ipmi]` section."""

    enabled: bool = False


class IpmiSource(PowerSource):
    """The BMC's instantaneous wall power, one `ipmitool` run (with a timeout) per read."""

    def __init__(self, binary: str = "ipmitool", timeout_s: float = 5.0) -> None:
        super().__init__()
        self.name = "ipmi"
        self.binary = binary
        self.timeout_s = timeout_s

    def _read(self) -> dict[str, float]:
        path = shutil.which(self.binary)
        if path is None:
            raise Unavailable("absent: ipmitool not installed")
        try:
            result = subprocess.run(
                [path, *_COMMAND], capture_output=True, encoding="utf-8", errors="replace", timeout=self.timeout_s,
                env={**os.environ, "LC_ALL": "C"}, check=False,  # error texts (strerror) in English, to be parsed
            )
        except subprocess.TimeoutExpired:
            raise Unavailable(f"unreachable: ipmitool got no answer from the BMC within {self.timeout_s:g} s") from None
        except OSError as exc:
            raise Unavailable(f"error: cannot run {path}: {exc.strerror}") from None
        return {"wall": parse_power_reading(result.stdout, result.stderr)}


def parse_power_reading(stdout: str, stderr: str) -> float:
    """Watts from `ipmitool dcmi power reading`'s output, or Unavailable saying why there are none."""
    reading, state = _INSTANTANEOUS.search(stdout), _STATE.search(stdout)
    if reading and state:
        if state.group(1) != "activated":
            raise Unavailable("no reading: the BMC says its DCMI power measurement is deactivated "
                              "(try [power.redfish])")
        if int(reading.group(1)) == 0:
            raise Unavailable("no reading: the BMC reports 0 W (it does not measure power through DCMI)")
        return float(reading.group(1))
    if "Could not open device" in stderr:
        if "Permission denied" in stderr:
            raise Unavailable("denied: cannot open /dev/ipmi0: run the agent as root, or give its group read-write "
                              "access to /dev/ipmi0 with a udev rule")
        raise Unavailable("absent: no /dev/ipmi0 (no BMC, or the ipmi_si and ipmi_devintf modules are not loaded)")
    refused = _DCMI_REFUSED.search(stderr)
    if refused:
        raise Unavailable(f"unsupported: the BMC refuses DCMI power readings: {refused.group(1).strip()}")
    last_line = next((line.strip() for line in reversed((stderr or stdout).splitlines()) if line.strip()), "no output")
    raise Unavailable(f"error: ipmitool: {last_line}")


def _build(settings: IpmiSettings, _platform: object) -> PowerSource:
    return IpmiSource() if settings.enabled else NotConfigured("ipmi")


SOURCE = PowerSourceType("ipmi", _build, IpmiSettings, opt_in=True, renamed={"ipmi": "enabled"})
