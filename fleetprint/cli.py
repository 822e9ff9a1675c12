"""The `fleetprint` command: `agent ...`, `collector ...`, `broker ...`, `live`."""

from __future__ import annotations

import click

from fleetprint import __version__


class _LazyGroup(click.Group):
    """Imports a subcommand's module only when it runs, so the agent never loads collector code."""

    _commands = {
        "agent": ("fleetprint.agent.cli", "agent"),
        "assets": ("fleetprint.collector.assets.cli", "assets"),
        "broker": ("fleetprint.broker", "broker"),
        "budgets": ("fleetprint.collector.budgets.cli", "budgets"),
        "dashboards": ("fleetprint.dashboards.cli", "dashboards"),
        "doctor": ("fleetprint.doctor", "doctor"),
        "collector": ("fleetprint.collector.cli", "collector"),
        "live": ("fleetprint.collector.live", "live"),
        "report": ("fleetprint.report.cli", "report"),
        "simulate": ("fleetprint.simulator.cli", "simulate"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self._commands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self._commands:
            return None
        module_name, attribute = self._commands[name]
        import importlib

        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            extra = "report" if name == "report" else "collector" if name in (
                "collector", "live", "budgets", "dashboards", "simulate", "assets") else "agent"
            raise click.ClickException(
                f"`fleetprint {name}` needs the [{extra}] extra: pip install 'fleetprint[{extra}]' ({exc})"
            ) from None
        return getattr(module, attribute)


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="fleetprint")
def main() -> None:
    """fleetprint: the energy and carbon footprint of an IT fleet, service by service."""
