"""The fitted server power model: shipped figures reproduce, fallbacks stay sane, evaluation is plain floats.

The figures derive from SPECpower_ssj2008 results published by the Standard Performance
Evaluation Corporation (SPEC), https://www.spec.org/power_ssj2008/results/.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from specpower import DATA, REPO, needs_data

from fleetprint.collector.impact import fitted_power as fp

SHIPPED = json.loads(fp.default_params_path().read_text(encoding="utf-8"))
LOADS = [i * 0.5 for i in range(201)]


def assert_sane(curve: fp.FittedServerCurve) -> None:
    """Finite, positive and non-decreasing over 0..100 %, clamped outside."""
    watts = [curve.power_w(x) for x in LOADS]
    assert all(math.isfinite(w) and w > 0 for w in watts)
    assert all(a <= b for a, b in zip(watts, watts[1:]))
    assert curve.power_w(-20.0) == curve.power_w(0.0) == pytest.approx(curve.idle_w)
    assert curve.power_w(250.0) == pytest.approx(curve.power_w(100.0)) == pytest.approx(curve.max_w)
    assert curve.power_w(float("nan")) == curve.power_w(0.0)


# (a) The shipped parameters and figures come from the training file by the shipped procedure.


@needs_data
def test_training_file_is_the_one_fitted() -> None:
    digest = hashlib.sha256(DATA.read_bytes()).hexdigest()
    assert digest == SHIPPED["data"]["sha256"], "the training file changed: refit with tools/fit_power_model.py"


@needs_data
def test_shipped_coefficients_refit_from_training_file(tool, training) -> None:
    model = tool.fit_all(training)
    assert model["generations"] == SHIPPED["model"]["generations"] and model["makers"] == SHIPPED["model"]["makers"]
    for memory in tool.MEMORY:
        for ours, shipped in zip(model["coefficients"][memory], SHIPPED["model"]["coefficients"][memory], strict=True):
            assert ours == pytest.approx(shipped, rel=1e-9, abs=1e-12)
    assert model["range"] == SHIPPED["model"]["range"]
    assert model["year_fallback"]["coefficients"] == pytest.approx(SHIPPED["model"]["year_fallback"]["coefficients"])


@needs_data
def test_shipped_figures_beat_boavizta() -> None:
    v = SHIPPED["validation"]
    assert v["fallback"]["dimms"]["mape"] < v["fallback_previous"]["mape"] < v["boavizta"]["all"]["mape"] / 5
    for entry in v["newer_cpus"]:
        assert entry["fallback"]["mape"] < entry["boavizta"]["mape"]


# (b) The runtime path on the whole training file: equal to the shipped in-sample figure.


@needs_data
def test_runtime_model_on_training_file(training, tool) -> None:
    errors = []
    for row in training.itertuples():
        result = fp.fitted_server_curve(row.cpu_name, int(row.chips), int(row.cores), int(row.threads),
                                        float(row.ram_gb), None, int(row.available), ram_modules=int(row.dimm_count),
                                        vendor=row.vendor)
        measured = [getattr(row, c) for c in tool.LEVEL_COLUMNS]
        errors += [abs(result.curve.power_w(float(x)) - w) / w for x, w in zip(fp.LEVELS, measured, strict=True)]
    mape = 100 * sum(errors) / len(errors)
    assert mape == pytest.approx(SHIPPED["validation"]["fallback_in_sample"]["mape"], abs=0.01)


# (c) Fallbacks: never raise, always a sane curve, and say what was assumed.


def test_unknown_cpu_name() -> None:
    result = fp.fitted_server_curve("Acme Hyperion 9000", 2, 32, 64, 256.0, None, None)
    assert_sane(result.curve)
    assert not result.in_range
    assert "not found in boaviztapi's CPU table" in result.notes
    assert "year unknown: estimated" in result.notes


def test_unknown_cpu_with_year_uses_it() -> None:
    older = fp.fitted_server_curve("Acme Hyperion 9000", 2, 32, 64, 256.0, None, 2012)
    assert "year 2012: from the inventory" in older.notes
    assert_sane(older.curve)


def test_cpu_without_tdp_in_table() -> None:
    spec = fp.match_cpu("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz")
    assert spec is not None and spec.name == "Intel Xeon Gold 6130" and spec.tdp_w is None
    result = fp.fitted_server_curve("Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", 2, 32, 64, 384.0, None, None)
    assert_sane(result.curve)
    assert result.in_range
    assert "no TDP in the CPU table" in result.notes
    assert "year 2017" in result.notes  # Skylake-SP, from the model number


def test_eight_sockets_outside_range() -> None:
    two = fp.fitted_server_curve("Intel Xeon Platinum 8280", 2, 56, 112, 384.0, None, None)
    eight = fp.fitted_server_curve("Intel Xeon Platinum 8280", 8, 224, 448, 1536.0, None, None)
    assert two.in_range and not eight.in_range
    assert "8 sockets, outside the fitted 1-2" in eight.notes
    assert_sane(eight.curve)
    # Four two-socket nodes' worth of cores and RAM: four times the two-socket server.
    assert eight.curve.max_w == pytest.approx(4 * two.curve.max_w)


def test_strict_cpu_match_refuses_another_model() -> None:
    # boaviztapi's own matcher pairs these with E5-2670 and D-1540; their power differs.
    assert fp.match_cpu("Intel Xeon X5670") is None
    assert fp.match_cpu("Intel Xeon L5430") is None
    assert fp.match_cpu("Intel Xeon E5-2660") is None  # only the v2, v3, v4 are in the table
    assert fp.match_cpu("AMD EPYC 7742 64-Core Processor").name == "AMD EPYC 7742"


def test_memory_as_dimms_when_known_else_ram_gb() -> None:
    by_dimms = fp.fitted_server_curve("Intel Xeon Platinum 8280", 2, 56, 112, 384.0, None, None, ram_modules=12)
    by_ram = fp.fitted_server_curve("Intel Xeon Platinum 8280", 2, 56, 112, 384.0, None, None)
    more_dimms = fp.fitted_server_curve("Intel Xeon Platinum 8280", 2, 56, 112, 384.0, None, None, ram_modules=24)
    assert "memory as 12 DIMMs" in by_dimms.notes and "memory as RAM GB" in by_ram.notes
    assert by_dimms.curve.idle_w != by_ram.curve.idle_w
    assert more_dimms.curve.idle_w > by_dimms.curve.idle_w  # more modules, more power at the same capacity


def test_generation_and_entry_from_the_name() -> None:
    assert fp.generation("Intel(R) Xeon(R) Platinum 8180 CPU @ 2.50GHz") == "intel-2017-main"
    assert fp.generation("AMD EPYC 7763 64-Core Processor") == "amd-2021-main"
    assert fp.generation("Intel Xeon E3-1240 v2") == "intel-2012-entry"
    assert fp.generation("Intel Xeon X3470") == "intel-2009-entry"
    assert fp.generation("Acme Hyperion 9000") is None
    assert not fp.is_entry("Intel Xeon Bronze 3104") and not fp.is_entry("AMD EPYC 7313")


def test_nonsense_inventory_values_do_not_raise() -> None:
    result = fp.fitted_server_curve("", 0, 0, 0, 0.0, None, None)
    assert_sane(result.curve)
    assert not result.in_range


def test_share_scales_like_server_curve() -> None:
    curve = fp.fitted_server_curve("AMD EPYC 7763", 2, 128, 256, 512.0, 280.0, 2021).curve
    half = fp.FittedServerCurve(curve.idle_w, curve.max_w, curve.shape, share=0.5)
    for x in (0.0, 33.3, 100.0):
        assert half.power_w(x) == pytest.approx(curve.power_w(x) / 2)


@given(st.floats(min_value=-50, max_value=150), st.floats(min_value=-50, max_value=150))
def test_monotone_in_load(a: float, b: float) -> None:
    curve = fp.fitted_server_curve("Intel Xeon E5-2699 v4", 2, 44, 88, 64.0, None, None).curve
    lo, hi = min(a, b), max(a, b)
    assert curve.power_w(lo) <= curve.power_w(hi)


# (d) Evaluation is plain float arithmetic.


def test_curve_is_plain_floats() -> None:
    curve = fp.fitted_server_curve("AMD EPYC 7742", 2, 128, 256, 256.0, None, None).curve
    assert type(curve.idle_w) is float and type(curve.max_w) is float and type(curve.share) is float
    assert type(curve.shape) is tuple and len(curve.shape) == len(fp.LEVELS)
    assert all(type(s) is float for s in curve.shape)
    assert curve.shape[0] == 0.0 and curve.shape[-1] == 1.0
    assert all(type(curve.power_w(x)) is float for x in (0, 5, 37.5, 100))


def test_runtime_path_imports_no_numpy() -> None:
    code = ("import sys\n"
            "from fleetprint.collector.impact import fitted_power as fp\n"
            "r = fp.fitted_server_curve('Intel Xeon Gold 6130', 2, 32, 64, 384.0, None, None)\n"
            "r.curve.power_w(42.0)\n"
            "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'boaviztapi') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO.parent)
    assert out.stdout.strip() == "[]"


def test_packaged_parameters_load() -> None:
    params = fp.load_params()
    assert params is fp.load_params()  # read once
    assert params.features == fp.FEATURES and set(params.coefficients) == {"dimms", "ram_gb"}
    assert all(len(rows) == len(fp.LEVELS) for rows in params.coefficients.values())
    assert all(len(row) == len(fp.FEATURES) + len(params.generations) + len(params.makers)
               for rows in params.coefficients.values() for row in rows)
    assert params.data_sha256 == SHIPPED["data"]["sha256"]
