"""The InfluxDB schema (docs/storage.md): which measurement, tags and fields each fact becomes."""

from __future__ import annotations

from datetime import datetime

from fleetprint.collector.impact.attribution import ServiceFootprint
from fleetprint.collector.impact.footprint import SampleFootprint
from fleetprint.collector.impact.host_model import HostModel
from fleetprint.collector.store.lineprotocol import epoch_ms, line
from fleetprint.schema import Inventory, Sample

HOST_MEASUREMENT = "fp_host"
SERVICE_MEASUREMENT = "fp_service"
INVENTORY_MEASUREMENT = "fp_inventory"
COLLECTOR_MEASUREMENT = "fp_collector"


def host_tags(model: HostModel) -> dict[str, str]:
    return {"host": model.host_id, "kind": model.kind, "site": model.site, "zone": model.zone.zone}


def host_sample_line(model: HostModel, seq: int, sample: Sample, fp: SampleFootprint,
                     agent_dropped_samples: int | None = None) -> str:
    """One `fp_host` point per sample, at the end of its interval; a report's count of samples
    its agent had to drop goes on its first sample's point."""
    tags = host_tags(model)
    tags["power_source"] = fp.power_source
    return line(
        HOST_MEASUREMENT,
        tags,
        {
            "interval_s": float(sample.interval_s),
            "cpu_util_pct": float(sample.cpu_util_pct),
            "mem_used_bytes": sample.mem_used_bytes,
            "mem_total_bytes": sample.mem_total_bytes,
            "disk_read_bytes": sample.disk_read_bytes,
            "disk_write_bytes": sample.disk_write_bytes,
            "net_rx_bytes": sample.net_rx_bytes,
            "net_tx_bytes": sample.net_tx_bytes,
            "power_w": fp.power_w,
            "energy_wh": fp.energy_wh,
            "usage_gwp_gco2e": fp.usage_gwp_gco2e,
            "usage_adp_kgsbeq": fp.usage_adp_kgsbeq,
            "usage_pe_mj": fp.usage_pe_mj,
            "embodied_gwp_gco2e": fp.embodied_gwp_gco2e,
            "embodied_adp_kgsbeq": fp.embodied_adp_kgsbeq,
            "embodied_pe_mj": fp.embodied_pe_mj,
            "power_model": model.power_model,
            "calibration_ratio": fp.calibration_ratio,
            "pue": fp.pue,
            "gwp_gco2e_per_kwh": fp.gwp_gco2e_per_kwh,
            "grid_source": fp.grid_source,
            "past_lifetime": fp.past_lifetime,
            "seq": seq,
            "agent_dropped_samples": agent_dropped_samples,
        },
        epoch_ms(sample.ts),
    )


def service_sample_line(model: HostModel, service: str, sample: Sample, power_source: str,
                        sf: ServiceFootprint) -> str:
    """One `fp_service` point per service per host sample, at the end of its interval."""
    tags = host_tags(model)
    tags["service"] = service
    tags["power_source"] = power_source
    return line(
        SERVICE_MEASUREMENT,
        tags,
        {
            "interval_s": float(sample.interval_s),
            "cpu_share": sf.cpu_share,
            "power_w": sf.power_w,
            "energy_wh": sf.energy_wh,
            "usage_gwp_gco2e": sf.usage_gwp_gco2e,
            "usage_adp_kgsbeq": sf.usage_adp_kgsbeq,
            "usage_pe_mj": sf.usage_pe_mj,
            "embodied_gwp_gco2e": sf.embodied_gwp_gco2e,
            "embodied_adp_kgsbeq": sf.embodied_adp_kgsbeq,
            "embodied_pe_mj": sf.embodied_pe_mj,
        },
        epoch_ms(sample.ts),
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
        },
        epoch_ms(inventory.taken_at),
    )


def collector_health_line(collector_id: str, counters: dict[str, int], at: datetime) -> str:
    """One `fp_collector` point: the collector's running counters."""
    return line(COLLECTOR_MEASUREMENT, {"collector": collector_id}, dict(counters), epoch_ms(at))
