"""The InfluxDB schema (docs/storage.md): which measurement, tags and fields each fact becomes."""

from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache

from fleetprint.collector.impact.attribution import ServiceFootprint
from fleetprint.collector.impact.footprint import SampleFootprint
from fleetprint.collector.impact.host_model import HostModel
from fleetprint.collector.store.lineprotocol import escape_tag, format_field, line
from fleetprint.impacts import Impacts, LadderStep
from fleetprint.schema import Inventory, Sample
from fleetprint.timestamps import epoch_ms

HOST_MEASUREMENT = "fp_host"
SERVICE_MEASUREMENT = "fp_service"
INVENTORY_MEASUREMENT = "fp_inventory"
COLLECTOR_MEASUREMENT = "fp_collector"


def host_tags(model: HostModel) -> dict[str, str]:
    return {"department": model.department, "embodied_source": model.embodied_source, "host": model.host_id,
            "kind": model.kind, "monitor_embodied_source": model.monitor_embodied_source, "site": model.site,
            "zone": model.zone.zone}


def _tag(key: str, value: str) -> str:
    escaped = escape_tag(value)
    return f",{key}={escaped}" if escaped else ""


def host_tag_parts(model: HostModel) -> tuple[str, str]:
    """A host's escaped tags around where `power_source` (the ladder's step) and `service` sort:
    `,department=…,embodied_source=…,host=…,kind=…,monitor_embodied_source=…` and `,site=…,zone=…` (the
    registry keeps them on the model, escaped once)."""
    return (_tag("department", model.department) + _tag("embodied_source", model.embodied_source)
            + _tag("host", model.host_id) + _tag("kind", model.kind)
            + _tag("monitor_embodied_source", model.monitor_embodied_source),
            _tag("site", model.site) + _tag("zone", model.zone.zone))


@lru_cache(maxsize=4096)
def _service_tag(service: str) -> str:
    return _tag("service", service)


# The ladder's steps as the `power_source` tag, escaped once (and plain str: an enum formats slowly).
_POWER_SOURCE_TAGS = {step: f",power_source={escape_tag(step.value)}" for step in LadderStep}


@lru_cache(maxsize=256)
def _string_field(value: str) -> str:
    """A string field from a small set (power models, grid sources), quoted once."""
    return format_field(value)


def _tags(model: HostModel) -> tuple[str, str]:
    return (model.tag_head, model.tag_tail) if model.tag_head else host_tag_parts(model)


def _finite(*values: float) -> None:
    if not math.isfinite(sum(values)):  # NaN and ±inf propagate through the sum
        raise ValueError(f"non-finite field value among {values!r}")


def _optional(name: str, value: float | None) -> str:
    return "" if value is None else f",{name}={value!r}"


def _impact_fields(i: Impacts) -> str:
    """The impact set's fields (IMPACT_FIELDS, in their order), after checking that they are finite."""
    adp, pe = i.embodied_adp_kgsbeq, i.embodied_pe_mj
    _finite(i.energy_wh, i.usage_gwp_gco2e, i.usage_adp_kgsbeq, i.usage_pe_mj, i.embodied_gwp_gco2e, adp or 0.0,
            pe or 0.0)
    return (f"energy_wh={i.energy_wh!r},usage_gwp_gco2e={i.usage_gwp_gco2e!r},"
            f"usage_adp_kgsbeq={i.usage_adp_kgsbeq!r},usage_pe_mj={i.usage_pe_mj!r},"
            f"embodied_gwp_gco2e={i.embodied_gwp_gco2e!r}{_optional('embodied_adp_kgsbeq', adp)}"
            f"{_optional('embodied_pe_mj', pe)}")


def _monitor_embodied_fields(monitors: tuple[float, float, float] | None) -> str:
    """The external monitors' part of the embodied impacts, on the points of hosts that have some."""
    if monitors is None:
        return ""
    _finite(*monitors)
    return (f",monitor_embodied_gwp_gco2e={monitors[0]!r},monitor_embodied_adp_kgsbeq={monitors[1]!r},"
            f"monitor_embodied_pe_mj={monitors[2]!r}")


def host_sample_line(model: HostModel, seq: int, sample: Sample, fp: SampleFootprint, time_ms: int,
                     agent_dropped_samples: int | None = None) -> str:
    """One `fp_host` point per sample, at the end of its interval; a report's count of samples
    its agent had to drop goes on its first sample's point.

    Written out field by field (a fifth of the generic `line()`'s cost); the same text as
    `line(HOST_MEASUREMENT, …)` would give, which the tests check.
    """
    head, tail = _tags(model)
    interval_s, cpu = float(sample.interval_s), float(sample.cpu_util_pct)
    _finite(interval_s, cpu, fp.power_w, fp.calibration_ratio or 0.0, fp.pue, fp.gwp_gco2e_per_kwh)
    dropped = "" if agent_dropped_samples is None else f",agent_dropped_samples={agent_dropped_samples}i"
    return (
        f"{HOST_MEASUREMENT}{head}{_POWER_SOURCE_TAGS[fp.step]}{tail} "
        f"interval_s={interval_s!r},cpu_util_pct={cpu!r},mem_used_bytes={sample.mem_used_bytes}i,"
        f"mem_total_bytes={sample.mem_total_bytes}i,disk_read_bytes={sample.disk_read_bytes}i,"
        f"disk_write_bytes={sample.disk_write_bytes}i,net_rx_bytes={sample.net_rx_bytes}i,"
        f"net_tx_bytes={sample.net_tx_bytes}i,power_w={fp.power_w!r},{_impact_fields(fp.impacts)}"
        f"{_monitor_embodied_fields(fp.monitor_embodied)},"
        f"power_model={_string_field(model.power_model)}{_optional('calibration_ratio', fp.calibration_ratio)},"
        f"pue={fp.pue!r},gwp_gco2e_per_kwh={fp.gwp_gco2e_per_kwh!r},grid_source={_string_field(fp.grid_source)},"
        f"past_lifetime={'true' if fp.past_lifetime else 'false'},seq={seq}i{dropped}"
        f"{_monitor_fields(model, fp, sample)} {time_ms}"
    )


def _monitor_fields(model: HostModel, fp: SampleFootprint, sample: Sample) -> str:
    """A workstation's external monitors' part of power_w and energy_wh (0 when another host counted them)."""
    if not model.monitors:
        return ""
    watts = fp.monitor_power_w
    return f",monitor_power_w={watts!r},monitor_energy_wh={watts * sample.interval_s / 3600.0!r}"


def service_sample_line(model: HostModel, service: str, sample: Sample, step: LadderStep,
                        sf: ServiceFootprint, time_ms: int) -> str:
    """One `fp_service` point per service per host sample, at the end of its interval (written
    out like `host_sample_line`)."""
    head, tail = _tags(model)
    interval_s = float(sample.interval_s)
    _finite(interval_s, sf.cpu_share, sf.power_w)
    return (
        f"{SERVICE_MEASUREMENT}{head}{_POWER_SOURCE_TAGS[step]}{_service_tag(service)}{tail} "
        f"interval_s={interval_s!r},cpu_share={float(sf.cpu_share)!r},power_w={sf.power_w!r},"
        f"{_impact_fields(sf.impacts)} {time_ms}"
    )


def inventory_line(inventory: Inventory, model: HostModel) -> str:
    """One `fp_inventory` point per inventory received, at the time it was taken."""
    embodied = model.embodied
    return line(
        INVENTORY_MEASUREMENT,
        host_tags(model),
        {
            "cpu_model": inventory.cpu.model,
            "cpu_matched": model.cpu_matched,
            "power_notes": model.power_notes,
            "cpu_sockets": inventory.cpu.sockets,
            "cpu_cores": inventory.cpu.cores,
            "cpu_threads": inventory.cpu.threads,
            "ram_gb": float(inventory.ram_gb),
            "disk_count": len(inventory.disks),
            "disk_total_gb": float(sum(d.size_gb for d in inventory.disks)),
            "gpu_count": len(inventory.gpus),
            "monitor_count": len(model.monitors),
            "monitors_on_w": float(sum(m.on_w for m in model.monitors)),
            "vendor": inventory.vendor,
            "model": inventory.model,
            "os": inventory.os,
            "agent_version": inventory.agent_version,
            "power_model": model.power_model,
            "lifetime_h": embodied.lifetime_h,
            "purchase_year": inventory.purchase_date.year if inventory.purchase_date else None,
            "embodied_gwp_total_gco2e": embodied.total_gwp_kgco2e * 1000.0,
            "embodied_adp_total_kgsbeq": embodied.total_adp_kgsbeq,
            "embodied_pe_total_mj": embodied.total_pe_mj,
            "embodied_basis": model.embodied_basis,
            "monitor_embodied_gwp_total_gco2e": sum(m.rate.total_gwp_kgco2e for m in model.monitor_embodied) * 1000.0,
        },
        epoch_ms(inventory.taken_at),
    )


def collector_health_line(collector_id: str, counters: dict[str, int], at: datetime) -> str:
    """One `fp_collector` point: the collector's running counters."""
    return line(COLLECTOR_MEASUREMENT, {"collector": collector_id}, dict(counters), epoch_ms(at))
