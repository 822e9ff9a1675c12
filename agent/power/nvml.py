"""Discrete NVIDIA GPUs' power through NVML (the optional nvidia-ml-py package, module `pynvml`).

pynvml is imported only on a host where the platform lists an NVIDIA GPU, and NVML is initialised
once: whether the package or the driver is there is decided at the first read (restart the agent
after installing either). Utilisation and memory use are not read: the sample has no field for them.
"""

from __future__ import annotations

from types import ModuleType

from fleetprint.agent.platform import Platform
from fleetprint.agent.power.base import PowerSource, PowerSourceType, Unavailable

NOT_INSTALLED = "not installed: nvidia-ml-py, needed to read NVIDIA GPUs (pip install 'fleetprint[gpu]')"


class NvmlSource(PowerSource):
    """The sum of every NVIDIA board's power draw (NVML's own short average, in mW)."""

    def __init__(self, platform: Platform) -> None:
        super().__init__()
        self.name = "nvml"
        self.platform = platform
        self._nvml: ModuleType | None = None
        self._failure = ""

    def _read(self) -> dict[str, float]:
        nvml = self._nvml or self._start()
        try:
            handles = [nvml.nvmlDeviceGetHandleByIndex(index) for index in range(nvml.nvmlDeviceGetCount())]
            if not handles:
                raise Unavailable("absent: NVML sees no GPU")
            milliwatts = 0
            for index, handle in enumerate(handles):
                try:
                    milliwatts += nvml.nvmlDeviceGetPowerUsage(handle)
                except nvml.NVMLError_NotSupported:
                    raise Unavailable(f"unsupported: GPU {index} ({nvml.nvmlDeviceGetName(handle)}) "
                                      "does not report its power draw") from None
        except nvml.NVMLError as exc:
            raise Unavailable(f"error: NVML: {exc}") from None
        return {"gpu": milliwatts / 1000}

    def _start(self) -> ModuleType:
        """Import pynvml and initialise NVML, once; later reads repeat a failure's reason."""
        self._failure = self._failure or _start_failure(self.platform)
        if self._failure:
            raise Unavailable(self._failure)
        import pynvml

        self._nvml = pynvml
        return pynvml


def _start_failure(platform: Platform) -> str:
    """Why NVML cannot be used, or "" once it is initialised."""
    if not any(gpu.vendor == "NVIDIA" for gpu in platform.gpus()):
        return "absent: no NVIDIA GPU on the PCI bus"
    try:
        import pynvml
    except ImportError:
        return NOT_INSTALLED
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        if exc.value == pynvml.NVML_ERROR_LIBRARY_NOT_FOUND:
            return "no driver: libnvidia-ml not found (the NVIDIA driver is not installed)"
        if exc.value == pynvml.NVML_ERROR_DRIVER_NOT_LOADED:
            return "no driver: the NVIDIA kernel driver is not loaded"
        if exc.value == pynvml.NVML_ERROR_NO_PERMISSION:
            return "denied: NVML refuses this user access to the GPUs (/dev/nvidia*)"
        return f"error: NVML: {exc}"
    return ""


SOURCE = PowerSourceType("nvml", lambda _, platform: NvmlSource(platform))
