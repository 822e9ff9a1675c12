"""The impact models' shipped tables (collector/impact/data/*.json): where each is, and each read once."""

from __future__ import annotations

import functools
import importlib.resources
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def packaged(name: str) -> Path:
    """The path of a table shipped in the package's data folder."""
    return Path(str(importlib.resources.files(__package__).joinpath("data", name)))


@functools.lru_cache(maxsize=16)
def _parsed(path: str, parse: Callable[[dict[str, Any]], Any]) -> Any:
    with open(path, encoding="utf-8") as f:
        return parse(json.load(f))


def load(path: str | os.PathLike[str] | None, default_name: str, parse: Callable[[dict[str, Any]], T]) -> T:
    """The table at `path` (default: the packaged `default_name`), parsed by `parse`, read once per path."""
    return _parsed(os.fspath(path) if path is not None else str(packaged(default_name)), parse)
