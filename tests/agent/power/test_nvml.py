"""NVIDIA GPUs through NVML (agent/power/nvml.py): absent, not installed, no driver."""

from __future__ import annotations

import ctypes.util
import importlib.util
import subprocess
import sys

import pytest
from power_trees import HOSTS

from fleetprint.agent.platform.linux import LinuxPlatform
from fleetprint.agent.power.nvml import NOT_INSTALLED, NvmlSource


def test_host_without_nvidia_gpu_is_absent_without_importing_pynvml() -> None:
    code = ("import sys; from pathlib import Path; from fleetprint.agent.power.nvml import NvmlSource; "
            "from fleetprint.agent.platform.linux import LinuxPlatform; "
            f"print(NvmlSource(LinuxPlatform(Path({str(HOSTS / 'kvm-vm')!r}))).status()); "
            "print('pynvml' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.splitlines() == ["absent: no NVIDIA GPU on the PCI bus", "False"], result.stderr


def test_nvidia_gpu_without_nvidia_ml_py(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # what `import` does when the package is not installed
    source = NvmlSource(LinuxPlatform(HOSTS / "xeon-rack-server"))  # a Tesla T4 on its PCI bus
    assert (source.read(), source.status()) == ({}, NOT_INSTALLED)


def test_nvidia_gpu_without_a_driver_for_real() -> None:
    """Whatever this machine has installed: nvidia-ml-py or not, and no NVIDIA driver."""
    if importlib.util.find_spec("pynvml") is None:
        expected = NOT_INSTALLED
    elif ctypes.util.find_library("nvidia-ml"):
        pytest.skip("an NVIDIA driver is installed here: this test is about its absence")
    else:
        expected = "no driver: libnvidia-ml not found (the NVIDIA driver is not installed)"
    source = NvmlSource(LinuxPlatform(HOSTS / "xeon-rack-server"))
    assert (source.read(), source.status()) == ({}, expected)
    assert (source.read(), source.status()) == ({}, expected)  # decided once, said again
