"""Virtualisation: the hypervisor the host runs under and the container the agent runs in.

Files under the root decide. On the live root, when they cannot name a hypervisor or see
no container, `systemd-detect-virt` is asked if it is installed; nothing depends on it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from fleetprint.agent.platform import Virtualisation
from fleetprint.agent.sources import read_attr
from fleetprint.agent.sources.cpuinfo import has_hypervisor_flag, read_blocks
from fleetprint.agent.sources.dmi import read_dmi

OTHER_VM = "vm-other"  # a hypervisor is there but does not say which (systemd's name)
# Words in /proc/1/cgroup that name the engine running PID 1's container, most specific first.
_CGROUP_HINTS = (("docker", "docker"), ("libpod", "podman"), ("lxc", "lxc"), ("kubepods", "kubernetes"))
# systemd-detect-virt names that differ from ours.
_SYSTEMD_NAMES = {"microsoft": "hyperv", "oracle": "virtualbox", "none": ""}


def detect_virtualisation(root: Path = Path("/")) -> Virtualisation:
    """Detect the hypervisor and the container, without needing systemd-detect-virt."""
    vm, container = _vm(root), _container(root)
    if root == Path("/"):
        if vm in ("", OTHER_VM):
            vm = _systemd_detect_virt("--vm") or vm
        container = container or _systemd_detect_virt("--container")
    return Virtualisation(vm=vm, container=container)


def _vm(root: Path) -> str:
    if "control_d" in read_attr(root / "proc/xen/capabilities"):
        return ""  # Xen's dom0 manages the hypervisor: it is the physical host
    dmi_name = read_dmi(root).vm_name
    if dmi_name:
        return dmi_name
    if read_attr(root / "sys/hypervisor/type") == "xen":
        return "xen"
    return OTHER_VM if has_hypervisor_flag(read_blocks(root)) else ""


def _container(root: Path) -> str:
    if (root / ".dockerenv").exists():
        return "docker"
    if (root / "run/.containerenv").exists():
        return "podman"
    declared = read_attr(root / "run/systemd/container")  # written by systemd inside one
    if declared:
        return declared
    cgroup = read_attr(root / "proc/1/cgroup")
    return next((name for word, name in _CGROUP_HINTS if word in cgroup), "")


def _systemd_detect_virt(option: str) -> str:
    """systemd-detect-virt's answer for `--vm` or `--container`; "" if none or no binary."""
    binary = shutil.which("systemd-detect-virt")
    if binary is None:
        return ""
    try:
        result = subprocess.run([binary, option], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    name = result.stdout.strip()
    return _SYSTEMD_NAMES.get(name, name)
