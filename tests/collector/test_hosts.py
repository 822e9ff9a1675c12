"""HostRegistry: hosts alike in what the model reads share one model, and get the model they would alone."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone

import msgspec
import pytest

from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.hosts import HostRegistry
from fleetprint.collector.impact.grid import zone_factors
from fleetprint.collector.impact.host_model import build_host_model
from fleetprint.schema import Disk
from fleetprint.simulator.fleet import generate_fleet

NOW = datetime(2026, 11, 2, tzinfo=timezone.utc)
LOADS = (0.0, 7.5, 50.0, 100.0)


@pytest.fixture(scope="module")
def fleet():
    return generate_fleet(60, 7, date(2026, 11, 2))


def test_each_host_gets_the_model_it_would_get_alone(fleet) -> None:
    """A key that missed an input the model reads would hand a host another host's model."""
    config = CollectorConfig()
    registry = HostRegistry(config)
    for host in fleet:
        inventory = host.inventory(NOW)
        shared = registry.update(inventory)
        site, zone = registry.site_and_zone(inventory)
        alone = build_host_model(inventory, zone_factors(zone), site,
                                 default_lifetime_years=getattr(config.lifetimes, inventory.kind),
                                 vm_host_threads=config.impact.vm_host_threads)
        assert (shared.kind, shared.site, shared.zone, shared.power_model, shared.cpu_matched, shared.power_notes) == (
            alone.kind, alone.site, alone.zone, alone.power_model, alone.cpu_matched, alone.power_notes), host.host_id
        assert shared.embodied == alone.embodied, host.host_id
        assert shared.amortised_at_ms == alone.amortised_at_ms, host.host_id
        assert [shared.power.power_w(x) for x in LOADS] == [alone.power.power_w(x) for x in LOADS], host.host_id
        assert shared.host_id == inventory.host_id and shared.service_weights == dict(inventory.services)


def test_alike_hosts_share_one_model(fleet) -> None:
    registry = HostRegistry(CollectorConfig())
    laptop = next(host.inventory(NOW) for host in fleet if host.kind == "laptop")
    laptops = [msgspec.structs.replace(laptop, host_id=f"l{n}", ram_gb=8.0 * (n + 1)) for n in range(5)]
    models = [registry.update(inventory) for inventory in laptops]  # RAM is not an input of a workstation's model
    assert len({(id(m.power), id(m.embodied)) for m in models}) == 1
    assert registry.configurations() == 1


def test_a_model_input_changes_the_model(fleet) -> None:
    registry = HostRegistry(CollectorConfig())
    server = next(host.inventory(NOW) for host in fleet if host.kind == "server")
    base = registry.update(server)
    for change in ({"ram_gb": server.ram_gb * 2}, {"disks": [*server.disks, Disk(name="sdz", kind="hdd", size_gb=4000.0)]},
                   {"lifetime_years": 9.0}):
        other = registry.update(msgspec.structs.replace(server, host_id=f"other-{len(change)}", **change))
        assert other.embodied != base.embodied or other.power.power_w(50.0) != base.power.power_w(50.0), change
    older = registry.update(msgspec.structs.replace(server, host_id="older", purchase_date=date(2015, 1, 1)))
    assert older.amortised_at_ms < base.amortised_at_ms  # per host, even where the model is shared
    renamed = registry.update(msgspec.structs.replace(server, host_id="renamed", os="Other"))
    assert dataclasses.replace(renamed, host_id=base.host_id, tag_head=base.tag_head) == base
    # The maker and model name the product whose footprint it declared, and the maker is a power feature.
    rebranded = registry.update(msgspec.structs.replace(server, host_id="rebranded", vendor="HPE",
                                                        model="ProLiant DL380 Gen10"))
    assert rebranded.embodied_source == "declared" and rebranded.embodied != base.embodied


def test_the_purchase_year_separates_models_of_servers_and_vms(fleet) -> None:
    """The SPECpower fit reads the purchase year (a CPU of its time), for a VM's host too."""
    for kind in ("server", "vm"):
        registry = HostRegistry(CollectorConfig())
        host = next(h.inventory(NOW) for h in fleet if h.kind == kind)
        registry.update(msgspec.structs.replace(host, purchase_date=date(2019, 6, 1)))
        registry.update(msgspec.structs.replace(host, host_id="same-year", purchase_date=date(2019, 1, 1)))
        assert registry.configurations() == 1, kind
        registry.update(msgspec.structs.replace(host, host_id="other-year", purchase_date=date(2023, 1, 1)))
        assert registry.configurations() == 2, kind


def test_hosts_with_the_same_service_weights_share_them(fleet, monkeypatch) -> None:
    registry = HostRegistry(CollectorConfig())
    laptop = next(host.inventory(NOW) for host in fleet if host.kind == "laptop")
    first = registry.update(msgspec.structs.replace(laptop, host_id="a", services={"web": 2.0, "db": 1.0}))
    second = registry.update(msgspec.structs.replace(laptop, host_id="b", services={"web": 2.0, "db": 1.0}))
    other = registry.update(msgspec.structs.replace(laptop, host_id="c", services={"web": 1.0}))
    assert first.service_weights is second.service_weights and first.service_weights == {"web": 2.0, "db": 1.0}
    assert other.service_weights == {"web": 1.0}
    # Weights that change at every inventory do not pile up: the shared set starts afresh.
    monkeypatch.setattr("fleetprint.collector.hosts.MAX_SHARED_WEIGHTS", 5)
    for n in range(20):
        model = registry.update(msgspec.structs.replace(laptop, host_id="d", services={"web": float(n + 1)}))
        assert model.service_weights == {"web": float(n + 1)}
    assert len(registry._weights) <= 5


def test_a_host_names_its_department_else_its_site_does(fleet) -> None:
    config = msgspec.convert({"sites": {"paris": {"department": "Culture"}}}, CollectorConfig)
    registry = HostRegistry(config)
    server = next(host.inventory(NOW) for host in fleet if host.kind == "server")
    own = registry.update(msgspec.structs.replace(server, host_id="a", site="paris", department="Finance"))
    defaulted = registry.update(msgspec.structs.replace(server, host_id="b", site="paris", department=None))
    elsewhere = registry.update(msgspec.structs.replace(server, host_id="c", site="lyon", department=None))
    assert (own.department, defaulted.department, elsewhere.department) == ("Finance", "Culture", "")
    assert own.power is defaulted.power, "a department changes no figure: the model stays shared"
    assert own.tag_head.startswith(",department=Finance,embodied_source=fitted,host=a,")
    assert elsewhere.tag_head.startswith(",embodied_source=fitted,host=c,")
