"""Which service a process belongs to: rules from the agent config, checked at start.

A rule names a service and one or more criteria, all of which must hold: the executable
name (`exe`, a glob on the process name or the executable's file name), the command line
(`cmdline`, a regular expression searched in the arguments joined by spaces), the user
(`user`), the systemd unit (`systemd_unit`, a glob on the unit found in /proc/PID/cgroup),
the cgroup path (`cgroup`, a regular expression: containers and Kubernetes pods show there),
the container id (`container_id`, a prefix of the 64-hex id in the cgroup path) and, on
Windows, the service (`windows_service`, a glob on the names of the Windows services the
process runs: svchost.exe runs several). On Windows `exe` also matches the name without
".exe" (`exe = "sqlservr"` matches sqlservr.exe), `user` matches "DOMAIN\\user" or the
bare user name, and every criterion ignores case, as Windows does for file, user and service
names (`exe = "SQLServr.exe"` matches sqlservr.exe). The first matching rule wins; a process no
rule matches belongs to `catch_all`.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Annotated

import msgspec

ServiceName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+\Z")]
_UNIT = re.compile(r"/([^/]+\.(?:service|scope))(?:/|$)")
_CONTAINER_ID = re.compile(r"(?:docker-|crio-|cri-containerd-|libpod-|/)([0-9a-f]{64})(?:\.scope)?(?:/|$)")


class ServiceRule(msgspec.Struct, forbid_unknown_fields=True):
    """One `[[services.rule]]` table."""

    service: ServiceName
    exe: str | None = None
    cmdline: str | None = None
    user: str | None = None
    systemd_unit: str | None = None
    cgroup: str | None = None
    container_id: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{1,64}\Z")] | None = None
    windows_service: str | None = None


class ServiceSettings(msgspec.Struct, forbid_unknown_fields=True):
    """The `[services]` section: process rules, and the name for what matches none."""

    rule: list[ServiceRule] = []
    catch_all: ServiceName = "other"

    def check(self) -> None:
        """Each rule has a criterion and valid regular expressions (ValueError names the rule)."""
        for index, rule in enumerate(self.rule):
            key = f"services.rule[{index}]"
            if not any((rule.exe, rule.cmdline, rule.user, rule.systemd_unit, rule.cgroup, rule.container_id,
                        rule.windows_service)):
                raise ValueError(f"{key}: a rule needs at least one of exe, cmdline, user, systemd_unit, "
                                 "cgroup, container_id, windows_service")
            for name in ("cmdline", "cgroup"):
                pattern = getattr(rule, name)
                if pattern is not None:
                    try:
                        re.compile(pattern)
                    except re.error as exc:
                        raise ValueError(f"{key}.{name}: not a valid regular expression: {exc}") from None


@dataclass(frozen=True, slots=True)
class ProcessFacts:
    """What the rules look at, read once per process."""

    name: str
    exe: str
    cmdline: str
    user: str
    cgroup: str
    windows_services: tuple[str, ...] = ()  # the Windows services the process runs

    @property
    def systemd_unit(self) -> str:
        units = _UNIT.findall(self.cgroup)
        return units[-1] if units else ""

    @property
    def container_id(self) -> str:
        found = _CONTAINER_ID.findall(self.cgroup)
        return found[-1] if found else ""


class Classifier:
    """Maps a process to its service with the configured rules (compiled once)."""

    def __init__(self, settings: ServiceSettings, ignore_case: bool = False) -> None:
        """`ignore_case`: names match whatever their case (the platform's `names_ignore_case`)."""
        self.catch_all = settings.catch_all
        self._fold = str.casefold if ignore_case else _same
        flags = re.IGNORECASE if ignore_case else 0
        self._rules = [
            (rule, re.compile(rule.cmdline, flags) if rule.cmdline else None,
             re.compile(rule.cgroup) if rule.cgroup else None)
            for rule in settings.rule
        ]

    @property
    def has_rules(self) -> bool:
        return bool(self._rules)

    def service_of(self, process: ProcessFacts) -> str:
        fold = self._fold
        for rule, cmdline, cgroup in self._rules:
            if rule.exe and not any(fnmatch.fnmatchcase(fold(name), fold(rule.exe)) for name in _exe_names(process)):
                continue
            if cmdline and not cmdline.search(process.cmdline):
                continue
            if rule.user and fold(rule.user) not in (fold(process.user), fold(process.user.rpartition("\\")[2])):
                continue
            if rule.systemd_unit and not fnmatch.fnmatchcase(process.systemd_unit, rule.systemd_unit):
                continue
            if cgroup and not cgroup.search(process.cgroup):
                continue
            if rule.container_id and not process.container_id.startswith(rule.container_id):
                continue
            if rule.windows_service and not any(fnmatch.fnmatchcase(fold(name), fold(rule.windows_service))
                                                for name in process.windows_services):
                continue
            return rule.service
        return self.catch_all


def _same(text: str) -> str:
    return text


def _exe_names(process: ProcessFacts) -> set[str]:
    """The names `exe` globs are tried on: the process name and the executable's file name (either
    path separator), and on Windows both without ".exe"."""
    names = {process.name, re.split(r"[/\\]", process.exe)[-1]}
    return names | {name[:-4] for name in names if name.lower().endswith(".exe")}
