"""The power measurement ladder: each sample's power from the best reading the host has. Its
steps (`LadderStep`, fleetprint/impacts.py) are stored in the `power_source` tag:

1. `wall`: the BMC's reading of the whole machine (IPMI DCMI or Redfish).
2. `battery`: a laptop's discharge power, the whole machine while on battery.
3. `components`: measured CPU packages (RAPL) and memory (RAPL dram, else modelled), plus
   Boavizta's overhead ratio and disk power, plus measured GPUs (NVML).
4. `modelled`: the host model at the sample's CPU utilisation.

A host that reports wall power learns two corrections, as exponentially weighted means of
wall / components and wall / modelled. When its wall reading is missing, the components or
the model are multiplied by the learned ratio (`calibrated`), once enough samples back it.

A reading above a plausible bound (5 times the model's full-load power plus 200 W; a tool
of the field once reported 160 kW for one server) is rejected, counted and logged, and the
ladder goes on to the next source.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from fleetprint.collector.impact.host_model import HostModel
from fleetprint.impacts import LadderStep
from fleetprint.schema import Sample

log = logging.getLogger(__name__)
LEARNING_WEIGHT = 0.05  # each wall sample's weight in the running ratio
MIN_LEARNING_SAMPLES = 10  # wall samples needed before a ratio is used
PLAUSIBLE_FACTOR, PLAUSIBLE_MARGIN_W = 5.0, 200.0


@dataclass(slots=True)  # made per sample: not frozen, which costs 5x to create
class PowerEstimate:
    """A sample's power, the ladder's step that gave it, and the readings refused on the way."""

    power_w: float
    step: LadderStep
    calibration_ratio: float | None = None
    rejected: tuple[str, ...] = ()
    modelled_w: float = 0.0  # the host model at the sample's load, whatever the step


@dataclass(slots=True)
class _Ratio:
    value: float = 0.0
    samples: int = 0

    def learn(self, ratio: float) -> None:
        self.value = ratio if self.samples == 0 else self.value + LEARNING_WEIGHT * (ratio - self.value)
        self.samples += 1

    @property
    def usable(self) -> bool:
        return self.samples >= MIN_LEARNING_SAMPLES


@dataclass(slots=True)
class _Calibration:
    components: _Ratio
    model: _Ratio


class PowerLadder:
    """Chooses each sample's step and keeps each host's learned wall corrections."""

    def __init__(self) -> None:
        self._calibrations: dict[str, _Calibration] = {}
        self._lock = threading.Lock()

    def estimate(self, model: HostModel, sample: Sample) -> PowerEstimate:
        load = sample.cpu_util_pct
        modelled_w = model.power.power_w(load)
        readings: dict[str, float] = {}
        rejected: tuple[str, ...] = ()
        if sample.power_w:
            bound_w = PLAUSIBLE_FACTOR * model.power.power_w(100.0) + PLAUSIBLE_MARGIN_W
            readings = {name: w for name, w in sample.power_w.items() if w <= bound_w}
            rejected = tuple(sorted(name for name, w in sample.power_w.items() if w > bound_w))
            if rejected:
                log.warning("host %s: implausible power readings rejected (bound %.0f W): %s", model.host_id,
                            bound_w, {name: sample.power_w[name] for name in rejected})
        components_w = self._components_w(model, readings, load)
        calibration = self._calibrations.get(model.host_id)  # only hosts that ever reported wall power
        if "wall" in readings:
            wall_w = readings["wall"]
            calibration = self._calibration(model.host_id)
            with self._lock:
                if components_w:
                    calibration.components.learn(wall_w / components_w)
                if modelled_w > 0:
                    calibration.model.learn(wall_w / modelled_w)
            return PowerEstimate(wall_w, LadderStep.WALL, None, rejected, modelled_w)
        if "battery" in readings:
            return PowerEstimate(readings["battery"], LadderStep.BATTERY, None, rejected, modelled_w)
        if components_w is not None:
            if calibration is not None and calibration.components.usable:
                ratio = calibration.components.value
                return PowerEstimate(components_w * ratio, LadderStep.CALIBRATED, ratio, rejected, modelled_w)
            return PowerEstimate(components_w, LadderStep.COMPONENTS, None, rejected, modelled_w)
        if calibration is not None and calibration.model.usable:
            ratio = calibration.model.value
            return PowerEstimate(modelled_w * ratio, LadderStep.CALIBRATED, ratio, rejected, modelled_w)
        return PowerEstimate(modelled_w, LadderStep.MODELLED, None, rejected, modelled_w)

    def _calibration(self, host_id: str) -> _Calibration:
        with self._lock:
            if host_id not in self._calibrations:
                self._calibrations[host_id] = _Calibration(_Ratio(), _Ratio())
            return self._calibrations[host_id]

    @staticmethod
    def _components_w(model: HostModel, readings: dict[str, float], load: float) -> float | None:
        """Measured CPU (and memory, GPUs) with the modelled rest; None without a CPU reading."""
        curve = model.components_curve
        if "rapl_package" not in readings or curve is None or curve.share != 1.0:
            return None
        ram_w = readings.get("rapl_dram", curve.ram_w(load))
        return curve.with_components(readings["rapl_package"], ram_w) + readings.get("gpu", 0.0)
