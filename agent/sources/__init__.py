"""Where the agent's readings come from: one module per source, each reading files under a root
("/" live, a recorded tree in tests) and degrading to an empty result when the source is absent."""

from __future__ import annotations

from pathlib import Path


def read_attr(path: Path) -> str:
    """A small text file's content, stripped; "" when missing, unreadable or not a file."""
    try:
        return path.read_bytes().decode("utf-8", "replace").strip("\x00 \t\r\n")
    except OSError:
        return ""
