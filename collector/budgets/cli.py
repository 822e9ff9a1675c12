"""`fleetprint budgets ...`: the status table, and Grafana alert rules from the budget file."""

from __future__ import annotations

from pathlib import Path

import click

from fleetprint.cli_options import budgets_option, collector_config_option, output_option
from fleetprint.config import ConfigError
from fleetprint.dashboards.alert_rules import DATASOURCE_UID


def _load(config_path: str | None, budgets_path: str | None):
    from fleetprint.collector.budgets.config import load_budgets
    from fleetprint.collector.config import load_collector_config

    try:
        config = load_collector_config(config_path)
        path = budgets_path or config.budgets.file
        if not path:
            raise click.UsageError("no budget file: give --budgets or budgets.file in the collector config")
        return config, load_budgets(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def budgets() -> None:
    """Carbon and energy budgets per service."""


@budgets.command()
@collector_config_option
@budgets_option
def status(config_path: str | None, budgets_path: str | None) -> None:
    """Every budget now: spent, forecast to the end of its period, limit, state, trajectory."""
    from fleetprint.collector.budgets.evaluate import BudgetEvaluator
    from fleetprint.collector.store.connect import make_influxql
    from fleetprint.collector.store.influxql import QueryError
    from fleetprint.schema import utc_now

    config, budget_file = _load(config_path, budgets_path)
    evaluator = BudgetEvaluator(make_influxql(config.influxdb), budget_file.evaluation)
    now = utc_now()
    header = (f"{'budget':<32} {'period from':<11} {'spent':>10} {'forecast':>10} {'limit':>10} {'unit':<6} "
              f"{'state':<9} trajectory")
    click.echo(header)
    click.echo("-" * len(header))
    try:
        for budget in budget_file.budget:
            result = evaluator.evaluate(budget, now)
            trajectory = (f"-{budget.trajectory.reduction_pct_per_year:g} %/yr from {budget.trajectory.baseline_year}: "
                          f"x{result.trajectory_factor:.3f}" if budget.trajectory else "-")
            for unit, spent, forecast, limit in (("kgCO2e", result.spent.kgco2e, result.forecast.kgco2e,
                                                  result.limit_kgco2e),
                                                 ("kWh", result.spent.kwh, result.forecast.kwh, result.limit_kwh)):
                if limit is not None:
                    click.echo(f"{budget.id:<32} {result.period_start:%Y-%m-%d}  {spent:>10.2f} {forecast:>10.2f} "
                               f"{limit:>10.2f} {unit:<6} {result.state:<9} {trajectory}")
    except QueryError as exc:
        raise click.ClickException(str(exc)) from None


@budgets.command("grafana-rules")
@collector_config_option
@budgets_option
@output_option("the provisioning YAML")
@click.option("--datasource-uid", default=DATASOURCE_UID, show_default=True,
              help="UID of the Grafana datasource the rules query (the one dashboards/provisioning declares).")
def grafana_rules(config_path: str | None, budgets_path: str | None, output: Path | None, datasource_uid: str) -> None:
    """Grafana alert rules (file provisioning) for every budget."""
    from fleetprint.dashboards.alert_rules import alert_rules_yaml

    _, budget_file = _load(config_path, budgets_path)
    text = alert_rules_yaml(budget_file, datasource_uid)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{len(budget_file.budget)} rules written to {output}")
