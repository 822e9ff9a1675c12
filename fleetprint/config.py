"""Loading TOML config files with `FLEETPRINT_*` environment overrides, validated at start.

A config is a msgspec Struct tree. Environment variables override file values: the
variable `FLEETPRINT_MQTT__PORT=8883` sets `[mqtt] port`; the part after the prefix is the
key path, sections separated by a double underscore, case-insensitive. Values are strings,
converted to the field's type, except arrays and tables written in TOML (`["mail", "web"]`). Any problem raises ConfigError
naming the file, the key and the reason.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Mapping, TypeVar

import msgspec

ENV_PREFIX = "FLEETPRINT_"
log = logging.getLogger(__name__)
C = TypeVar("C", bound=msgspec.Struct)


class ConfigError(Exception):
    """A config that cannot be used: says the file, the key and the reason."""

    def __init__(self, source: str, key: str, reason: str) -> None:
        where = f"{source}: {key}" if key else source
        super().__init__(f"invalid config {where}: {reason}")
        self.source = source
        self.key = key
        self.reason = reason


def _env_overrides(environ: Mapping[str, str], section: str) -> dict[str, Any]:
    """Nest `FLEETPRINT_<SECTION>_<A>__<B>=v` into {"a": {"b": "v"}} for one program's section
    (`FLEETPRINT_<SECTION>_CONFIG` is the config file's path, `--config`, not a key)."""
    prefix = f"{ENV_PREFIX}{section.upper()}_"
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(prefix) or name == f"{prefix}CONFIG":
            continue
        path = [part.lower() for part in name[len(prefix):].split("__") if part]
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"environment {name}", ".".join(path), "conflicts with another variable")
        if path:
            node[path[-1]] = _env_value(value)
    return tree


def _env_value(text: str) -> Any:
    """A TOML array or inline table for `[...]`/`{...}` (`["mail", "web"]`), else the text itself
    (converted later to the field's type: "8883" to an int for a port, kept a string for an id)."""
    if not text.lstrip().startswith(("[", "{")):
        return text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _key_from_error(message: str) -> str:
    """`... - at `$.mqtt.port`` -> `mqtt.port`; `$.services.rule[0].cmdline` keeps its index."""
    match = re.search(r"at `\$(.*?)`", message)
    if not match:
        field = re.search(r"field `([^`]+)`", message)
        return field.group(1) if field else ""
    return match.group(1).lstrip(".")


def load_config(
    path: str | os.PathLike[str] | None,
    config_type: type[C],
    section: str,
    environ: Mapping[str, str] | None = None,
    check: bool = True,
    upgrade: Callable[[dict[str, Any]], list[str]] | None = None,
) -> C:
    """Read `path` (optional), apply `FLEETPRINT_<SECTION>_*` overrides, validate into `config_type`
    (without `check`, only the types: what the cross-field checks would load, e.g. boaviztapi, stays out).

    `section` is the program ("agent" or "collector"), so that one environment can hold
    both programs' overrides: `FLEETPRINT_AGENT_MQTT__HOST` and `FLEETPRINT_COLLECTOR_MQTT__HOST`.
    `upgrade` moves keys of earlier releases to their new place in the merged tree, before
    validation, and returns a deprecation message for each, logged as a warning.
    """
    environ = os.environ if environ is None else environ
    source = str(path) if path is not None else "(defaults)"
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(source, "", "file not found") from None
        except PermissionError:
            raise ConfigError(source, "", "permission denied") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source, "", f"not valid TOML: {exc}") from None
    overrides = _env_overrides(environ, section)
    if overrides:
        source = f"{source} + FLEETPRINT_{section.upper()}_* environment"
    merged = _merge(data, overrides)
    if upgrade is not None:
        try:
            deprecations = upgrade(merged)
        except ValueError as exc:
            key, _, reason = str(exc).partition(": ")
            raise ConfigError(source, key, reason or str(exc)) from None
        for message in deprecations:
            log.warning("%s: %s", source, message)
    try:
        config = msgspec.convert(merged, config_type, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        raise ConfigError(source, _key_from_error(message), message.split(" - at ")[0]) from None
    cross_check = getattr(config, "check", None) if check else None
    if callable(cross_check):
        try:
            cross_check()
        except ValueError as exc:
            key, _, reason = str(exc).partition(": ")
            raise ConfigError(source, key, reason or str(exc)) from None
    return config


def world_readable(path: str | os.PathLike[str]) -> bool:
    """True when others may read the file (a file holding a secret should not be)."""
    return bool(Path(path).stat().st_mode & stat.S_IROTH)
