"""The fitted server power model: shipped figures reproduce, fallbacks stay sane, evaluation is plain floats.

The figures derive from SPECpower_ssj2008 results published by the Standard Performance
Evaluation Corporation (SPEC), https://www.spec.org/power_ssj2008/results/.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleetprint.collector.impact import fitted_power as fp

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "fit_power_model.py"
DATA = Path(os.environ.get("FLEETPRINT_SPECPOWER_CSV", REPO.parent / "shared" / "data" / "specpower_ssj2008_train.csv"))
SHIPPED = json.loads(fp.default_params_path().read_text(encoding="utf-8"))
LOADS = [i * 0.5 for i in range(201)]

needs_data = pytest.mark.skipif(not DATA.is_file(),
                                reason=f"training file {DATA} absent (set FLEETPRINT_SPECPOWER_CSV)")


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("fit_power_model", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def training(tool):
    return tool.load_training(DATA)


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
    for ours, shipped in zip(model["coefficients"], SHIPPED["model"]["coefficients"], strict=True):
        assert ours == pytest.approx(shipped, rel=1e-9, abs=1e-12)
    assert model["range"] == SHIPPED["model"]["range"]
    assert model["year_fallback"]["coefficients"] == pytest.approx(SHIPPED["model"]["year_fallback"]["coefficients"])


@needs_data
def test_shipped_cross_validation_reproduces(tool, training) -> None:
    p = tool.measured(training)
    kfold = tool.scores(tool.out_of_sample(training, tool.CHOSEN_FORM, tool.kfold_splits(training)), p)
    shipped = SHIPPED["validation"]["kfold"]["ours"]
    assert kfold["rows"] == shipped["rows"] == SHIPPED["data"]["rows_used"]
    assert kfold["mape"] == pytest.approx(shipped["mape"], abs=0.01)
    assert kfold["per_level"] == pytest.approx(shipped["per_level"], abs=0.01)
    for entry in SHIPPED["validation"]["by_year"]:
        split = tool.year_split(training, entry["test_from"])
        figures = tool.scores(tool.out_of_sample(training, tool.CHOSEN_FORM, split), p)
        assert figures["rows"] == entry["ours"]["rows"]
        assert figures["mape"] == pytest.approx(entry["ours"]["mape"], abs=0.01)


@needs_data
def test_shipped_figures_beat_boavizta_and_meet_target() -> None:
    kfold = SHIPPED["validation"]["kfold"]
    assert kfold["ours"]["mape"] < 15.0
    assert kfold["ours"]["mape"] < kfold["boavizta"]["mape"] / 5
    for entry in SHIPPED["validation"]["by_year"]:
        assert entry["ours"]["mape"] < entry["boavizta"]["mape"]


# (b) The runtime path on the whole training file: under 15 %, equal to the shipped in-sample figure.


@needs_data
def test_runtime_model_on_training_file(training, tool) -> None:
    errors = []
    for row in training.itertuples():
        result = fp.fitted_server_curve(row.cpu_name, int(row.chips), int(row.cores), int(row.threads),
                                        float(row.ram_gb), None, int(row.available))
        measured = [getattr(row, c) for c in tool.LEVEL_COLUMNS]
        errors += [abs(result.curve.power_w(float(x)) - w) / w for x, w in zip(fp.LEVELS, measured, strict=True)]
    mape = 100 * sum(errors) / len(errors)
    assert mape < 15.0
    assert mape == pytest.approx(SHIPPED["validation"]["in_sample"]["mape"], abs=0.01)


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
    assert params.features == fp.FEATURES and len(params.coefficients) == len(fp.LEVELS)
    assert params.data_sha256 == SHIPPED["data"]["sha256"]
