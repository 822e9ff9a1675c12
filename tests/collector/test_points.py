"""The per-sample points, written out field by field, say exactly what the generic `line()` says."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from fleetprint.collector.impact.attribution import ServiceFootprint
from fleetprint.collector.impact.footprint import SampleFootprint
from fleetprint.collector.impact.grid import zone_factors
from fleetprint.collector.impact.host_model import HostModel, build_host_model
from fleetprint.collector.store.lineprotocol import line
from fleetprint.collector.store.points import (
    HOST_MEASUREMENT,
    SERVICE_MEASUREMENT,
    host_sample_line,
    host_tag_parts,
    host_tags,
    service_sample_line,
)
from fleetprint.impacts import IMPACT_FIELDS, Impacts, LadderStep
from fleetprint.schema import Cpu, Inventory, Monitor, Sample
from fleetprint.timestamps import epoch_ms

T0 = datetime(2026, 11, 2, 10, 0, 30, tzinfo=timezone.utc)
SAMPLE = Sample(ts=T0, interval_s=30, cpu_util_pct=37.25, mem_used_bytes=7 << 30, mem_total_bytes=16 << 30,
                disk_read_bytes=4096, disk_write_bytes=0, net_rx_bytes=123456789, net_tx_bytes=987)


def _model(kind: str, site: str, department: str = "") -> HostModel:
    monitors = [Monitor(maker="DEL", serial="CN0A", diagonal_in=27.0)] if kind == "desktop" else []
    inventory = Inventory(host_id="web 01,a=b", taken_at=T0, kind=kind, ram_gb=64, monitors=monitors,
                          cpu=Cpu(model="Intel Xeon Gold 6130", sockets=2, cores=32, threads=64))
    return dataclasses.replace(build_host_model(inventory, zone_factors("FRA"), site), department=department)


def _footprints() -> list[SampleFootprint]:
    impacts = Impacts(energy_wh=1.7708333333333333, usage_gwp_gco2e=0.173541, usage_adp_kgsbeq=8.6e-9,
                      usage_pe_mj=0.0194, embodied_gwp_gco2e=3.1e-2, embodied_adp_kgsbeq=1.25e-7, embodied_pe_mj=0.41)
    full = SampleFootprint(power_w=212.5, step=LadderStep.WALL, impacts=impacts, pue=1.4, gwp_gco2e_per_kwh=98.0,
                           grid_source="profile", past_lifetime=False, calibration_ratio=1.0734)
    aged = dataclasses.replace(impacts, embodied_adp_kgsbeq=None, embodied_pe_mj=None, embodied_gwp_gco2e=0.0)
    return [full, dataclasses.replace(full, monitor_power_w=21.25),
            dataclasses.replace(full, monitor_embodied=(1.2e-2, 3.5e-9, 0.05)),
            *(dataclasses.replace(full, impacts=aged, calibration_ratio=None, step=step, past_lifetime=True)
              for step in LadderStep if step is not LadderStep.WALL)]


def _impact_fields(impacts: Impacts) -> dict[str, float | None]:
    """The impact set as the generic line takes it: every field of the type, in its order."""
    return {name: getattr(impacts, name) for name in IMPACT_FIELDS}


def _monitor_fields(fp: SampleFootprint) -> dict[str, float | None]:
    names = ("monitor_embodied_gwp_gco2e", "monitor_embodied_adp_kgsbeq", "monitor_embodied_pe_mj")
    return dict(zip(names, fp.monitor_embodied or (None, None, None)))


def _generic_host_line(model: HostModel, fp: SampleFootprint, dropped: int | None) -> str:
    s = SAMPLE
    return line(HOST_MEASUREMENT, host_tags(model) | {"power_source": fp.step.value}, {
        "interval_s": float(s.interval_s), "cpu_util_pct": float(s.cpu_util_pct), "mem_used_bytes": s.mem_used_bytes,
        "mem_total_bytes": s.mem_total_bytes, "disk_read_bytes": s.disk_read_bytes,
        "disk_write_bytes": s.disk_write_bytes, "net_rx_bytes": s.net_rx_bytes, "net_tx_bytes": s.net_tx_bytes,
        "power_w": fp.power_w, **_impact_fields(fp.impacts), **_monitor_fields(fp), "power_model": model.power_model,
        "calibration_ratio": fp.calibration_ratio, "pue": fp.pue, "gwp_gco2e_per_kwh": fp.gwp_gco2e_per_kwh,
        "grid_source": fp.grid_source, "past_lifetime": fp.past_lifetime, "seq": 42,
        "agent_dropped_samples": dropped,
        **({"monitor_power_w": fp.monitor_power_w, "monitor_energy_wh": fp.monitor_power_w * 30 / 3600}
           if model.monitors else {}),
    }, epoch_ms(s.ts))


@pytest.mark.parametrize("kind", ["server", "laptop", "desktop"])
@pytest.mark.parametrize("site", ["lyon-dc2", "Town hall, floor=2"])
@pytest.mark.parametrize("department", ["", "Finance, floor=2"])
@pytest.mark.parametrize("cached_tags", [False, True])
@pytest.mark.parametrize("monitor_sources", ["", "declared+fitted"])
def test_host_line_is_the_generic_line(kind: str, site: str, department: str, cached_tags: bool,
                                       monitor_sources: str) -> None:
    model = dataclasses.replace(_model(kind, site, department), monitor_embodied_source=monitor_sources)
    if cached_tags:
        head, tail = host_tag_parts(model)
        model = dataclasses.replace(model, tag_head=head, tag_tail=tail)
    for fp in _footprints():
        for dropped in (None, 7):
            fast = host_sample_line(model, 42, SAMPLE, fp, epoch_ms(SAMPLE.ts), dropped)
            assert fast == _generic_host_line(model, fp, dropped)


@pytest.mark.parametrize("service", ["citizen-portal", "mail relay,eu=1", "trailing\\"])
@pytest.mark.parametrize("department", ["", "Direction des finances"])
def test_service_line_is_the_generic_line(service: str, department: str) -> None:
    model = _model("server", "Town hall, floor=2", department)
    for adp, pe in ((1.5e-9, 0.25), (None, None)):
        sf = ServiceFootprint(cpu_share=0.125, power_w=80.25, impacts=Impacts(
            energy_wh=0.66875, usage_gwp_gco2e=0.0655, usage_adp_kgsbeq=3.3e-9, usage_pe_mj=0.0073,
            embodied_gwp_gco2e=0.0121, embodied_adp_kgsbeq=adp, embodied_pe_mj=pe))
        fast = service_sample_line(model, service, SAMPLE, LadderStep.COMPONENTS, sf, epoch_ms(SAMPLE.ts))
        generic = line(SERVICE_MEASUREMENT, host_tags(model) | {"service": service, "power_source": "components"}, {
            "interval_s": 30.0, "cpu_share": sf.cpu_share, "power_w": sf.power_w, **_impact_fields(sf.impacts),
        }, epoch_ms(SAMPLE.ts))
        assert fast == generic


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_values_are_refused(bad: float) -> None:
    model = _model("server", "lyon-dc2")
    full = _footprints()[0]
    fp = dataclasses.replace(full, impacts=dataclasses.replace(full.impacts, usage_pe_mj=bad))
    with pytest.raises(ValueError, match="non-finite"):
        host_sample_line(model, 1, SAMPLE, fp, epoch_ms(SAMPLE.ts))
    with pytest.raises(ValueError, match="non-finite"):
        host_sample_line(model, 1, SAMPLE, dataclasses.replace(full, pue=bad), epoch_ms(SAMPLE.ts))
    sf = ServiceFootprint(0.1, 1.0, Impacts(1.0, 1.0, 1.0, 1.0, 1.0, None, bad))
    with pytest.raises(ValueError, match="non-finite"):
        service_sample_line(model, "web", SAMPLE, LadderStep.MODELLED, sf, epoch_ms(SAMPLE.ts))
