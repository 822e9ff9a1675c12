"""The collectors' users in Mosquitto's ACL file.

Mosquitto's ACL has no wildcard users, and the broker uses each user name as client id
(deploy/mosquitto/mosquitto.conf), so every collector needs a user of its own and a block of
rights under it. The shipped ACL holds the block of `fleetprint-collector`; a named collector's
block is a copy of its `topic` lines, added under a marker line so that it can be removed again.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

COLLECTOR_USER = "fleetprint-collector"
MARKER = "# fleetprint broker add-collector: "


def _block_end(lines: list[str], start: int) -> int:
    """The index after the `user` block that starts at `start`: its topic lines, comments and blanks."""
    end = start + 1
    while end < len(lines) and not lines[end].startswith(("user ", "pattern ", MARKER)):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():  # the blank lines after it are not its own
        end -= 1
    return end


def _user_line(lines: list[str], user: str) -> int | None:
    return next((i for i, line in enumerate(lines) if line.split() == ["user", user]), None)


def collector_rights(acl_text: str) -> list[str]:
    """The `topic` lines of the `fleetprint-collector` block: what every collector may do."""
    lines = acl_text.splitlines()
    start = _user_line(lines, COLLECTOR_USER)
    if start is None:
        raise ValueError(f"no `user {COLLECTOR_USER}` block to take the collectors' rights from")
    return [line for line in lines[start + 1:_block_end(lines, start)] if line.startswith("topic ")]


def grant_collector(acl_file: Path, user: str) -> bool:
    """Give `user` the collectors' rights in `acl_file`; False when it has a block already."""
    text = acl_file.read_text(encoding="utf-8")
    if _user_line(text.splitlines(), user) is not None:
        return False
    block = [MARKER + user, f"user {user}", *collector_rights(text)]
    _replace(acl_file, text.rstrip("\n") + "\n\n" + "\n".join(block) + "\n")
    return True


def withdraw_collector(acl_file: Path, user: str) -> bool:
    """Remove the block `grant_collector` added for `user`; False when there is none."""
    lines = acl_file.read_text(encoding="utf-8").splitlines()
    start = _user_line(lines, user)
    if start is None or start == 0 or lines[start - 1] != MARKER + user:
        return False
    first = start - 2 if start >= 2 and not lines[start - 2].strip() else start - 1  # with the blank line before
    _replace(acl_file, "\n".join(lines[:first] + lines[_block_end(lines, start):]) + "\n")
    return True


def _replace(path: Path, text: str) -> None:
    """Write `text` to `path` at once (the broker may reload meanwhile), keeping its mode and owner."""
    status = path.stat()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, status.st_mode & 0o7777)
        if os.geteuid() == 0:
            os.chown(temporary, status.st_uid, status.st_gid)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
