"""Options that several commands take, declared once so that each has one name and one meaning.

`-c/--config FILE` is a program's TOML; `-o/--output FILE` is where a command writes what it
would otherwise print; `-o/--output-dir DIR` is the folder where it writes several files;
`-b/--budgets FILE` is the budget file. Options that override a config key are named after it
(`mqtt.host`: `--mqtt-host`). tests/test_cli_options.py holds the whole tree to these rules.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def agent_config_option(func: F) -> F:
    """`-c/--config`: the agent's TOML."""
    return click.option(
        "--config", "-c", "config_path", type=click.Path(dir_okay=False), envvar="FLEETPRINT_AGENT_CONFIG",
        show_envvar=True, help="agent.toml (default: built-in defaults; FLEETPRINT_AGENT_* variables override).",
    )(func)


def collector_config_option(func: F) -> F:
    """`-c/--config`: the collector's TOML, which also says where InfluxDB and the budget file are."""
    return click.option(
        "--config", "-c", "config_path", type=click.Path(dir_okay=False), envvar="FLEETPRINT_COLLECTOR_CONFIG",
        show_envvar=True, help="collector.toml: where the broker, InfluxDB and the budget file are (default: "
        "built-in defaults; FLEETPRINT_COLLECTOR_* variables override).",
    )(func)


def budgets_option(func: F) -> F:
    """`-b/--budgets`: the budget file, else the collector config's."""
    return click.option("--budgets", "-b", "budgets_path", type=click.Path(dir_okay=False),
                        help="The budget file (default: the collector config's budgets.file).")(func)


def output_option(what: str) -> Callable[[F], F]:
    """`-o/--output FILE`: `what` goes there instead of standard output."""
    return click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help=f"Write {what} to this file instead of printing it.")


def output_dir_option(default: str, what: str) -> Callable[[F], F]:
    """`-o/--output-dir DIR`: the folder for the files a command writes."""
    return click.option("--output-dir", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path(default),
                        show_default=True, metavar="DIR", help=f"Folder for {what}, created when missing.")


def log_level_option(default: str) -> Callable[[F], F]:
    """`--log-level`: the least severe log lines written to standard error."""
    return click.option("--log-level", default=default, show_default=True,
                        type=click.Choice(LOG_LEVELS, case_sensitive=False),
                        help="Write log lines of this level and above to standard error.")
