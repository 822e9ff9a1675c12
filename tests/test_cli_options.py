"""Every command's options, walked from `fleetprint`: each has help and a shown default, one name
per meaning, one meaning per name."""

from __future__ import annotations

from collections import defaultdict

import click
import pytest

from fleetprint.cli import main

# Names not to use, and the name the CLI uses for that meaning instead.
SYNONYMS = {
    "--out": "-o/--output (a file) or -o/--output-dir (a folder)",
    "--output-file": "-o/--output", "--outfile": "-o/--output", "--secret-out": "-o/--output",
    "--out-dir": "-o/--output-dir", "--outdir": "-o/--output-dir", "--dir": "-o/--output-dir",
    "--config-file": "-c/--config", "--conf": "-c/--config", "--cfg": "-c/--config",
    "--url": "-c/--config (influxdb.url)", "--influx-url": "-c/--config (influxdb.url)",
    "--influxdb-url": "-c/--config (influxdb.url)", "--database": "-c/--config (influxdb.database)",
    "--db": "-c/--config (influxdb.database)", "--bucket": "-c/--config (influxdb.bucket)",
    "--host": "--mqtt-host (the broker) or --hosts (how many)", "--broker": "--mqtt-host",
    "--port": "--mqtt-port", "--username": "--mqtt-username", "--user": "--mqtt-username",
    "--tls": "--mqtt-tls", "--ca-file": "--mqtt-ca-file", "--prefix": "--mqtt-topic-prefix",
    "--topic-prefix": "--mqtt-topic-prefix", "--budget-file": "-b/--budgets",
    "--loglevel": "--log-level", "--verbosity": "--log-level",
    "--since": "--from", "--until": "--to", "--start": "--from", "--end": "--to",
}
# Each short flag and the long names it may go with.
SHORT_FLAGS = {
    "-c": {"--config"},
    "-o": {"--output", "--output-dir"},
    "-b": {"--budgets"},
    "-p": {"--password-file"},
}


def commands() -> list[tuple[str, click.Command]]:
    """Every leaf command under `fleetprint`, with its full name."""
    found = []

    def walk(command: click.Command, ctx: click.Context) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                walk(sub, click.Context(sub, info_name=name, parent=ctx))
        else:
            found.append((ctx.command_path, command))

    walk(main, click.Context(main, info_name="fleetprint"))
    return found


COMMANDS = commands()
OPTIONS = [(path, option) for path, command in COMMANDS for option in command.params
           if isinstance(option, click.Option) and not option.hidden]


def kind(option: click.Option) -> str:
    """What an option takes, coarsely: a file, a folder, a flag, a number, a choice or text."""
    if option.is_flag:
        return "flag"
    if isinstance(option.type, click.Path):
        return "folder" if not option.type.file_okay else "file"
    if isinstance(option.type, (click.types.IntParamType, click.types.FloatParamType)):
        return "number"
    return "choice" if isinstance(option.type, click.Choice) else "text"


def test_the_walk_reaches_every_group() -> None:
    paths = {path for path, _ in COMMANDS}
    assert {path.split()[1] for path in paths} == set(main.list_commands(click.Context(main)))
    assert {"fleetprint broker add-host", "fleetprint live", "fleetprint dashboards build"} <= paths


@pytest.mark.parametrize("path,option", OPTIONS, ids=lambda item: item if isinstance(item, str) else item.opts[0])
def test_every_option_has_help_and_shows_its_default(path: str, option: click.Option) -> None:
    assert option.help and option.help.strip(), f"{path} {option.opts[0]} has no help"
    if not option.is_flag and option.default not in (None, getattr(click.core, "UNSET", None)):
        assert option.show_default, f"{path} {option.opts[0]}: its default {option.default!r} is not shown"


@pytest.mark.parametrize("path,command", COMMANDS, ids=[path for path, _ in COMMANDS])
def test_every_argument_is_explained_in_its_commands_help(path: str, command: click.Command) -> None:
    for argument in (param for param in command.params if isinstance(param, click.Argument)):
        assert argument.make_metavar(click.Context(command)).strip("[].") in (command.help or ""), \
            f"{path}: the help does not say what {argument.name} is"


def test_one_name_per_meaning() -> None:
    misnamed = [f"{path} {name}: use {SYNONYMS[name]}" for path, option in OPTIONS
                for name in option.opts + option.secondary_opts if name in SYNONYMS]
    assert not misnamed, "\n".join(misnamed)


def test_one_meaning_per_name() -> None:
    seen: dict[str, set[tuple[str, tuple[str, ...]]]] = defaultdict(set)
    where: dict[str, list[str]] = defaultdict(list)
    for path, option in OPTIONS:
        long = [name for name in option.opts if name.startswith("--")]
        short = tuple(sorted(name for name in option.opts if not name.startswith("--")))
        for name in long:
            seen[name].add((kind(option), short))
            where[name].append(f"{path}: {kind(option)} {' '.join(short) or '(no short flag)'}")
    clashes = [f"{name} means different things:\n  " + "\n  ".join(where[name])
               for name, meanings in seen.items() if len(meanings) > 1]
    assert not clashes, "\n".join(clashes)


def test_each_short_flag_keeps_its_meaning() -> None:
    wrong = []
    for path, option in OPTIONS:
        long = {name for name in option.opts if name.startswith("--")}
        for short in (name for name in option.opts if not name.startswith("--")):
            if not long <= SHORT_FLAGS.get(short, set()):
                wrong.append(f"{path}: {short} with {', '.join(sorted(long))} (allowed: "
                             f"{', '.join(sorted(SHORT_FLAGS.get(short, set()))) or 'none; add it to SHORT_FLAGS'})")
    assert not wrong, "\n".join(wrong)
