"""The per-sample model against boaviztapi's own computation for the same inputs (within 0.1 %)."""

from __future__ import annotations

import warnings
from datetime import datetime, timezone

import pytest

from fleetprint.collector.impact import boavizta
from fleetprint.collector.impact.footprint import SampleFootprint, sample_footprint
from fleetprint.collector.impact.grid import zone_factors
from fleetprint.collector.impact.host_model import HostModel, build_host_model
from fleetprint.collector.impact.ladder import PowerEstimate
from fleetprint.collector.impact.workplace_power import workstation_curve
from fleetprint.impacts import LadderStep
from fleetprint.schema import Cpu, Disk, Inventory, Sample

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
SERVER = Inventory(
    host_id="rack-1", taken_at=NOW, kind="server",
    cpu=Cpu(model="Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", vendor="GenuineIntel", sockets=2, cores=32, threads=64),
    ram_gb=384, ram_modules=12,
    disks=[Disk(name=f"sd{c}", kind="ssd", size_gb=1000) for c in "abcd"] + [Disk(name="sde", kind="hdd", size_gb=4000)],
)
VM = Inventory(host_id="vm-1", taken_at=NOW, kind="vm", cpu=Cpu(model="AMD EPYC 7B13", sockets=1, cores=4, threads=8),
               ram_gb=16, disks=[Disk(name="vda", kind="hdd", size_gb=50)])


def reference_server(fields: dict, load_pct: float, hours: float = 1.0):
    """boaviztapi's own assessment of the same request body at `load_pct`, over `hours`, as its API runs it."""
    from boaviztapi.compute.impacts_computation import compute_impacts

    body = dict(fields, usage=dict(fields["usage"], time_workload=load_pct))
    device = boavizta.build_server(body)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compute_impacts(device, selected_criteria=["gwp", "adp", "pe"], duration=hours)
    return device


def sample_at(load_pct: float, interval_s: float = 3600.0) -> Sample:
    return Sample(ts=NOW, interval_s=interval_s, cpu_util_pct=load_pct)


def modelled_footprint(model: HostModel, sample: Sample) -> SampleFootprint:
    """The footprint at the modelled power, with the zone's static factor and no PUE."""
    power = PowerEstimate(model.power.power_w(sample.cpu_util_pct), LadderStep.MODELLED)
    return sample_footprint(model, sample, power, model.zone.gwp_gco2e_per_wh, "boavizta")


@pytest.mark.parametrize("load_pct", [0.0, 3.0, 10.0, 37.5, 50.0, 90.0, 100.0])
def test_server_power_matches_boaviztapi(load_pct: float) -> None:
    model = build_host_model(SERVER, zone_factors("FRA"), "paris", server_power_model="boavizta")
    expected_w = reference_server(boavizta.server_dto_fields(SERVER, "FRA"), load_pct).usage.avg_power.value
    assert model.power.power_w(load_pct) == pytest.approx(expected_w, rel=1e-3)


def test_server_impacts_for_one_hour_match_boaviztapi() -> None:
    """Usage and embodied impacts of one hour at 40 % load, against compute_impacts(duration=1 h)."""
    model = build_host_model(SERVER, zone_factors("DEU"), "berlin", server_power_model="boavizta",
                             embodied_gwp_model="boavizta")
    footprint = modelled_footprint(model, sample_at(40.0))
    impacts = reference_server(boavizta.server_dto_fields(SERVER, "DEU"), 40.0).impacts
    assert footprint.impacts.usage_gwp_gco2e == pytest.approx(impacts["gwp"]["use"].value * 1000, rel=1e-3)
    assert footprint.impacts.usage_adp_kgsbeq == pytest.approx(impacts["adp"]["use"].value, rel=1e-3)
    assert footprint.impacts.usage_pe_mj == pytest.approx(impacts["pe"]["use"].value, rel=1e-3)
    assert footprint.impacts.embodied_gwp_gco2e == pytest.approx(impacts["gwp"]["embedded"].value * 1000, rel=1e-3)
    assert footprint.impacts.embodied_adp_kgsbeq == pytest.approx(impacts["adp"]["embedded"].value, rel=1e-3)
    assert footprint.impacts.embodied_pe_mj == pytest.approx(impacts["pe"]["embedded"].value, rel=1e-3)


def test_energy_scales_with_interval() -> None:
    model = build_host_model(SERVER, zone_factors("FRA"), "paris", server_power_model="boavizta")
    hour, half_minute = modelled_footprint(model, sample_at(20.0)), modelled_footprint(model, sample_at(20.0, 30.0))
    assert half_minute.impacts.energy_wh == pytest.approx(hour.impacts.energy_wh * 30 / 3600)
    assert half_minute.impacts.embodied_gwp_gco2e == pytest.approx(hour.impacts.embodied_gwp_gco2e * 30 / 3600)


def test_vm_takes_its_vcpu_share_of_a_host() -> None:
    model = build_host_model(VM, zone_factors("FRA"), "cloud", server_power_model="boavizta")
    host = reference_server(boavizta.vm_host_dto_fields(VM, "FRA"), 30.0)
    share = 8 / host.get_total_vcpu()
    assert 0 < share < 1
    assert model.power.power_w(30.0) == pytest.approx(host.usage.avg_power.value * share, rel=1e-3)
    one_hour_kg = host.impacts["gwp"]["embedded"].value  # the host's manufacture share for one hour
    assert model.embodied.gwp_gco2e_per_h == pytest.approx(one_hour_kg * 1000 * share, rel=1e-3)


@pytest.mark.parametrize("kind,embodied_kg,embodied_adpf_mj",
                         [("laptop", 181.0, 2410.0), ("desktop", 277.0, 5110.0), ("thin_client", 277.0, 5110.0)])
def test_workstations_power_from_the_declared_consumption_fit_embodied_from_boavizta_archetypes(
        kind: str, embodied_kg: float, embodied_adpf_mj: float) -> None:
    """Embodied figures from boaviztapi's user_terminal.csv (laptop-pro, desktop-pro) and notes/boavizta.md;
    power from workplace_power (tests/collector/test_workplace_power.py), following the load."""
    inventory = Inventory(host_id="t", taken_at=NOW, kind=kind, cpu=Cpu(model="Intel Core i5-8350U"), ram_gb=16)
    model = build_host_model(inventory, zone_factors("FRA"), "office", embodied_gwp_model="boavizta")
    assert model.power == workstation_curve(inventory).curve and model.power_model == f"tec_fit_{kind}"
    assert model.power.power_w(0.0) < model.power.power_w(50.0) < model.power.power_w(100.0)
    assert model.embodied_source == "boavizta"
    assert model.embodied.total_gwp_kgco2e == pytest.approx(embodied_kg)
    # Boavizta has no manufacture PE for user terminals: ADPf (fossil resources, MJ) stands for it.
    assert model.embodied.total_pe_mj == pytest.approx(embodied_adpf_mj)


def test_configured_lifetime_overrides_boavizta_default() -> None:
    default = build_host_model(SERVER, zone_factors("FRA"), "paris", server_power_model="boavizta")
    six_years = build_host_model(
        Inventory(**{f: getattr(SERVER, f) for f in SERVER.__struct_fields__ if f != "lifetime_years"}, lifetime_years=6),
        zone_factors("FRA"), "paris", server_power_model="boavizta")
    assert default.embodied.lifetime_h == 35040
    assert six_years.embodied.lifetime_h == 6 * 8760
    assert six_years.embodied.gwp_gco2e_per_h == pytest.approx(default.embodied.gwp_gco2e_per_h * 4 / 6)


def test_zone_factors_are_boaviztas() -> None:
    fra = zone_factors("FRA")
    assert fra.gwp_gco2e_per_wh == pytest.approx(0.098)
    with pytest.raises(KeyError):
        zone_factors("XXX")


def test_servers_default_to_the_specpower_fit() -> None:
    """The fitted model by default, Boavizta's terms kept for components; VMs take their share of it."""
    from fleetprint.collector.impact.fitted_power import fitted_server_curve

    model = build_host_model(SERVER, zone_factors("FRA"), "paris")
    assert model.power_model == "specpower_fit"  # no published result of a Gold 6130 in the table
    expected = fitted_server_curve("Intel Xeon Gold 6130", 2, 32, 64, 384, None, None, ram_modules=12).curve
    assert model.power.power_w(50.0) == pytest.approx(expected.power_w(50.0))
    assert model.components_curve is not None and model.idle_w == pytest.approx(expected.power_w(0.0))
    boavizta_model = build_host_model(SERVER, zone_factors("FRA"), "paris", server_power_model="boavizta")
    assert model.power.power_w(50.0) < boavizta_model.power.power_w(50.0), "the fit is below Boavizta's overshoot"
    vm = build_host_model(VM, zone_factors("FRA"), "cloud")
    assert vm.power_model == "specpower_fit_vm_share" and 0 < vm.power.share < 1



def test_servers_with_published_results_use_them() -> None:
    """A CPU and socket count the published table has: its results' curve, for servers and VMs' hosts."""
    from fleetprint.collector.impact.published_power import published_server_curve

    published = Inventory(host_id="rack-2", taken_at=NOW, kind="server", ram_gb=192, ram_modules=12,
                          cpu=Cpu(model="Intel(R) Xeon(R) Platinum 8180 CPU @ 2.50GHz", sockets=2, cores=56,
                                  threads=112))
    model = build_host_model(published, zone_factors("FRA"), "paris")
    expected = published_server_curve("Intel(R) Xeon(R) Platinum 8180 CPU @ 2.50GHz", 2, 192, 12)
    assert expected is not None
    assert model.power_model == "specpower_published"
    assert model.power.power_w(50.0) == pytest.approx(expected.curve.power_w(50.0))
    assert "published SPECpower result(s) of intel:8180" in model.power_notes
    near_miss = Inventory(host_id="rack-3", taken_at=NOW, kind="server", ram_gb=192, ram_modules=12,
                          cpu=Cpu(model="Intel(R) Xeon(R) Platinum 8180M CPU @ 2.50GHz", sockets=2, cores=56,
                                  threads=112))
    assert build_host_model(near_miss, zone_factors("FRA"), "paris").power_model == "specpower_fit"
    vm = build_host_model(Inventory(host_id="vm-2", taken_at=NOW, kind="vm", ram_gb=16,
                                    cpu=Cpu(model="AMD EPYC 7742 64-Core Processor", sockets=1, cores=4, threads=8)),
                          zone_factors("FRA"), "cloud")
    assert vm.power_model == "specpower_published_vm_share" and 0 < vm.power.share < 1


def test_remembered_cpu_profiles_give_boaviztapis_own_figures() -> None:
    """Models built with the remembered CPU lookups and fits equal models built with boaviztapi's own functions."""
    from boaviztapi.models.component import cpu as cpu_module
    from boaviztapi.models.consumption_profile.consumption_profile import CPUConsumptionProfileModel as Profile

    taken = datetime(2026, 11, 2, tzinfo=timezone.utc)
    inventories = [Inventory(host_id=f"h{n}", taken_at=taken, kind=kind, ram_gb=ram,
                             cpu=Cpu(model=cpu, sockets=2, cores=32, threads=64))
                   for n, (kind, cpu, ram) in enumerate([("server", "Intel Xeon Gold 6130", 128),
                                                         ("server", "Intel Xeon Gold 6130", 256),
                                                         ("server", "AMD EPYC 7513", 512), ("vm", "AMD EPYC 7513", 16)])]

    def figures(inventory: Inventory) -> tuple:
        model = build_host_model(inventory, zone_factors("FRA"), "dc", server_power_model="boavizta")
        return model.embodied, model.components_curve, model.power.power_w(37.0)

    remembered = [figures(inventory) for inventory in inventories * 2]  # the second round from the cache
    cached_fit = Profile._CPUConsumptionProfileModel__compute_model_adaptation
    cached_lookup = Profile.__dict__["lookup_consumption_profile"]
    cached_attributes = cpu_module.attributes_from_cpu_name
    try:
        Profile._CPUConsumptionProfileModel__compute_model_adaptation = boavizta._UNCACHED["fit"]
        Profile.lookup_consumption_profile = staticmethod(boavizta._UNCACHED["lookup"])
        cpu_module.attributes_from_cpu_name = boavizta._UNCACHED["attributes"]
        own = [figures(inventory) for inventory in inventories]
    finally:
        Profile._CPUConsumptionProfileModel__compute_model_adaptation = cached_fit
        Profile.lookup_consumption_profile = cached_lookup
        cpu_module.attributes_from_cpu_name = cached_attributes
    assert remembered == own * 2


@pytest.mark.parametrize(("raw", "clean"), [
    ("Intel(R) Xeon(R) Processor", "Intel Xeon"),
    ("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", "Intel Xeon Gold 6130"),
    ("AMD EPYC 7763 64-Core Processor", "AMD EPYC 7763"),
    ("11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz", "Intel Core i7-1165G7"),
    ("AMD Ryzen 7 5800U with Radeon Graphics", "AMD Ryzen 7 5800U"),
])
def test_cpu_names_lose_what_the_os_adds(raw: str, clean: str) -> None:
    assert boavizta.clean_cpu_name(raw) == clean
