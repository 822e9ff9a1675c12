"""`fleetprint broker add-collector NAME` / `revoke-collector NAME`: a collector's own user and
its block of the collectors' rights in a copy of the shipped ACL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fleetprint.broker import broker
from fleetprint.broker_acl import COLLECTOR_USER, collector_rights, grant_collector, withdraw_collector

SHIPPED_ACL = Path(__file__).resolve().parent.parent / "deploy" / "mosquitto" / "acl"


@pytest.fixture
def acl(tmp_path: Path) -> Path:
    path = tmp_path / "acl"
    shutil.copyfile(SHIPPED_ACL, path)
    path.chmod(0o640)
    return path


def user_block(acl_text: str, user: str) -> list[str]:
    """The topic lines Mosquitto applies to `user`: those after its `user` line, up to the next one."""
    lines, rights, inside = acl_text.splitlines(), [], False
    for line in lines:
        if line.startswith("user "):
            inside = line == f"user {user}"
        elif inside and line.startswith("topic "):
            rights.append(line)
    return rights


def test_a_named_collector_gets_the_collectors_rights_once(acl: Path) -> None:
    shipped = acl.read_text()
    rights = collector_rights(shipped)
    assert "topic read fleetprint/v1/hosts/+/report" in rights
    assert grant_collector(acl, f"{COLLECTOR_USER}-a")
    assert grant_collector(acl, f"{COLLECTOR_USER}-b")
    once = acl.read_text()
    assert not grant_collector(acl, f"{COLLECTOR_USER}-a"), "a second time changes nothing"
    assert acl.read_text() == once
    for user in (COLLECTOR_USER, f"{COLLECTOR_USER}-a", f"{COLLECTOR_USER}-b"):
        assert user_block(once, user) == rights
    assert user_block(once, "web-01") == [], "hosts keep only the patterns"
    assert oct(acl.stat().st_mode & 0o777) == "0o640", "the file keeps its mode"


def test_a_withdrawn_collector_leaves_the_acl_as_it_was(acl: Path) -> None:
    shipped = acl.read_text()
    grant_collector(acl, f"{COLLECTOR_USER}-a")
    with_a = acl.read_text()
    grant_collector(acl, f"{COLLECTOR_USER}-b")
    assert withdraw_collector(acl, f"{COLLECTOR_USER}-b")
    assert acl.read_text() == with_a
    grant_collector(acl, f"{COLLECTOR_USER}-b")
    assert withdraw_collector(acl, f"{COLLECTOR_USER}-a")
    assert withdraw_collector(acl, f"{COLLECTOR_USER}-b")
    assert acl.read_text() == shipped
    assert not withdraw_collector(acl, COLLECTOR_USER), "the shipped block is not one it added"
    assert not withdraw_collector(acl, f"{COLLECTOR_USER}-a")


def test_the_cli_adds_and_revokes_a_collectors_user_and_rights(acl: Path, tmp_path: Path) -> None:
    passwd, secret = tmp_path / "passwd", tmp_path / "collector.secret"
    runner = CliRunner()
    result = runner.invoke(broker, ["add-collector", "eu-1", "-p", str(passwd), "--acl-file", str(acl),
                                    "-o", str(secret)])
    assert result.exit_code == 0, result.output
    assert 'collector.id to "fleetprint-collector-eu-1"' in result.output
    assert passwd.read_text().startswith("fleetprint-collector-eu-1:")
    assert user_block(acl.read_text(), "fleetprint-collector-eu-1") == collector_rights(acl.read_text())
    result = runner.invoke(broker, ["revoke-collector", "eu-1", "-p", str(passwd), "--acl-file", str(acl)])
    assert result.exit_code == 0, result.output
    assert "fleetprint-collector-eu-1" not in passwd.read_text() + acl.read_text()


def test_names_that_are_not_a_collectors_or_a_hosts_are_refused(acl: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    passwd = str(tmp_path / "passwd")
    for args in (["add-collector", "x" * 44], ["add-collector", "a/b"], ["add-host", COLLECTOR_USER],
                 ["add-host", f"{COLLECTOR_USER}-1"]):
        result = runner.invoke(broker, [*args, "-p", passwd])
        assert result.exit_code == 2, (args, result.output)
    no_template = tmp_path / "bare-acl"
    no_template.write_text("pattern write fleetprint/v1/hosts/%u/report\n")
    result = runner.invoke(broker, ["add-collector", "1", "-p", passwd, "--acl-file", str(no_template)])
    assert result.exit_code == 1 and "no `user fleetprint-collector` block" in result.output
