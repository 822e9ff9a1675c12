"""The SPECpower training file and the fitting tool, for the power models' tests.

The figures derive from SPECpower_ssj2008 results published by the Standard Performance
Evaluation Corporation (SPEC), https://www.spec.org/power_ssj2008/results/.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "fit_power_model.py"
DATA = Path(os.environ.get("FLEETPRINT_SPECPOWER_CSV", REPO.parent / "shared" / "data" / "specpower_ssj2008_train.csv"))

needs_data = pytest.mark.skipif(not DATA.is_file(),
                                reason=f"training file {DATA} absent (set FLEETPRINT_SPECPOWER_CSV)")


def load_tool() -> ModuleType:
    """tools/fit_power_model.py as a module."""
    spec = importlib.util.spec_from_file_location("fit_power_model", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
