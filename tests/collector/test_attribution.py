"""The split of a host's footprint across services: rules, and conservation as a property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetprint.collector.impact.attribution import service_footprints, split
from fleetprint.collector.impact.footprint import SampleFootprint
from fleetprint.impacts import IMPACT_FIELDS, Impacts, LadderStep

names = st.sampled_from(["web", "db", "mail", "batch", "other", "unallocated"])
shares = st.dictionaries(names, st.floats(min_value=0, max_value=1), max_size=5)
weights = st.dictionaries(names, st.floats(min_value=0.01, max_value=100), max_size=4)
rules = st.sampled_from(["cpu_share", "weights", "unallocated"])


def footprint(power_w: float, hours: float = 0.5, embodied_pe: float | None = 3.0) -> SampleFootprint:
    energy = power_w * hours
    return SampleFootprint(power_w, LadderStep.MODELLED,
                           Impacts(energy, energy * 0.1, energy * 1e-8, energy * 0.01, 12.0, 1e-4, embodied_pe))


@given(shares, weights, rules, st.floats(min_value=0, max_value=5000), st.floats(min_value=0, max_value=5000))
def test_services_add_up_to_the_host(cpu: dict, host_weights: dict, rule: str, power_w: float, idle_w: float) -> None:
    fp = footprint(power_w)
    parts = service_footprints(fp, idle_w, split(cpu, host_weights, rule, "unallocated"), cpu)
    total_w = sum(part.power_w for part in parts.values())
    assert total_w == pytest.approx(fp.power_w, rel=1e-9, abs=1e-12)
    for field in IMPACT_FIELDS:
        total = sum(getattr(part.impacts, field) for part in parts.values())
        assert total == pytest.approx(getattr(fp.impacts, field), rel=1e-9, abs=1e-12), field
    assert all(getattr(part, "power_w") >= 0 for part in parts.values())


def test_active_power_follows_cpu_and_idle_follows_the_rule() -> None:
    fp = footprint(300.0)
    cpu = {"web": 0.3, "db": 0.1}
    by_share = service_footprints(fp, 100.0, split(cpu, {"mail": 1}, "cpu_share", "unallocated"), cpu)
    # 200 W active and 100 W idle, both split 3:1 by CPU time
    assert by_share["web"].power_w == pytest.approx(150.0 + 75.0)
    assert by_share["db"].power_w == pytest.approx(50.0 + 25.0)
    by_weight = service_footprints(fp, 100.0, split(cpu, {"mail": 1}, "weights", "unallocated"), cpu)
    assert by_weight["web"].power_w == pytest.approx(150.0)  # active power only
    assert by_weight["mail"].power_w == pytest.approx(100.0)  # all the idle power
    assert by_weight["mail"].impacts.embodied_gwp_gco2e == pytest.approx(12.0)
    visible = service_footprints(fp, 100.0, split(cpu, {}, "unallocated", "unallocated"), cpu)
    assert visible["unallocated"].power_w == pytest.approx(100.0)
    assert visible["unallocated"].impacts.embodied_gwp_gco2e == pytest.approx(12.0)


def test_without_process_data_the_weights_and_then_unallocated_take_all() -> None:
    fp = footprint(200.0)
    weighted = service_footprints(fp, 50.0, split({}, {"mail": 3, "web": 1}, "cpu_share", "unallocated"), {})
    assert weighted["mail"].power_w == pytest.approx(150.0) and weighted["web"].power_w == pytest.approx(50.0)
    nothing = service_footprints(fp, 50.0, split({}, {}, "cpu_share", "unallocated"), {})
    assert list(nothing) == ["unallocated"] and nothing["unallocated"].power_w == pytest.approx(200.0)
