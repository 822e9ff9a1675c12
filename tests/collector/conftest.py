"""Fixtures shared by the collector's tests: the power-model fitting tool and its training rows, loaded once."""

from __future__ import annotations

from types import ModuleType

import pytest
from specpower import DATA, load_tool


@pytest.fixture(scope="session")
def tool() -> ModuleType:
    return load_tool()


@pytest.fixture(scope="session")
def training(tool):
    return tool.load_training(DATA)
