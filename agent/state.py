"""State the agent keeps across restarts: the report sequence number."""

from __future__ import annotations

import os
from pathlib import Path


class SequenceFile:
    """A counter persisted in a file, written atomically before each value is used."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._last = int(path.read_text(encoding="ascii").strip() or 0)
        except FileNotFoundError:
            self._last = 0
        except (ValueError, UnicodeDecodeError):
            raise RuntimeError(f"{path} holds no sequence number: delete it to restart from 0") from None

    def next(self) -> int:
        value = self._last + 1
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="ascii") as handle:
            handle.write(str(value))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        self._last = value
        return value
