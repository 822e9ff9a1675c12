"""WMI on Windows, read through PowerShell's CIM cmdlets: one `powershell.exe` run per inventory.

Why this access: it needs nothing installed (PowerShell 5.1 ships with every Windows 10/11
and Server), it costs the agent nothing between inventories (no COM library loaded, no
pywin32's ~10 MB), and `ConvertTo-Json` writes numbers and booleans culture-invariant, so
a locale with a decimal comma changes nothing. It is slow-ish (about a second of CPU to start
PowerShell), which is why it runs once per inventory (at start, then every
`sampling.inventory_refresh_s`) and never per sample.

Every class is queried on its own, with `-OperationTimeoutSec`, and the whole run is bounded
by a timeout: a class that is missing (WMI repository damage, `MSFT_PhysicalDisk` before
Windows 8, Wine) or slow gives no instances and a reason (`CimResult.why`), never an error.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Instance = dict[str, Any]
TIMEOUT_S = 30.0  # the whole PowerShell run; each class has at most CLASS_TIMEOUT_S of it
CLASS_TIMEOUT_S = 10
_CREATE_NO_WINDOW = 0x08000000  # subprocess.CREATE_NO_WINDOW, which exists only on Windows


@dataclass(frozen=True)
class CimQuery:
    """One WMI class to read, with the properties the agent uses."""

    cls: str
    properties: tuple[str, ...]
    namespace: str = "root/cimv2"


@dataclass
class CimResult:
    """Each queried class's instances (a dict of property values per instance, as JSON gives
    them: strings, int, float, bool, None, lists), or why it has none."""

    instances: dict[str, list[Instance]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, cls: str) -> list[Instance]:
        return self.instances.get(cls, [])

    def why(self, cls: str) -> str:
        """Why `cls` gave no instances ("" when it was read)."""
        if cls in self.instances:
            return "" if self.instances[cls] else f"{cls}: no instance"
        return f"{cls}: {self.errors.get(cls, 'not read')}"


def powershell_script(queries: tuple[CimQuery, ...]) -> str:
    """The script that reads `queries` and prints one JSON object: class -> list of instances,
    or {"error": message}. UTF-8 output, so that non-ASCII names survive the pipe."""
    lines = [
        "$ErrorActionPreference = 'Stop'",
        "[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false",
        "$out = [ordered]@{}",
    ]
    for query in queries:
        props = ",".join(f"'{name}'" for name in query.properties)
        lines.append(
            f"try {{ $p = @({props}); $out['{query.cls}'] = @(Get-CimInstance -Namespace '{query.namespace}' "
            f"-ClassName '{query.cls}' -Property $p -OperationTimeoutSec {CLASS_TIMEOUT_S} | "
            f"Select-Object -Property $p) }} catch {{ $out['{query.cls}'] = @{{ error = $_.Exception.Message }} }}"
        )
    lines.append("ConvertTo-Json -InputObject $out -Depth 4 -Compress")
    return "\n".join(lines)


def decode(text: str, queries: tuple[CimQuery, ...]) -> CimResult:
    """The script's output as a CimResult; a class missing from it gets a reason."""
    result = CimResult()
    text = text.lstrip("\ufeff").strip()
    if not text:
        result.errors = {query.cls: "PowerShell gave no output" for query in queries}
        return result
    try:
        document = json.loads(text)
    except ValueError as exc:
        result.errors = {query.cls: f"PowerShell's output is not JSON ({exc})" for query in queries}
        return result
    if not isinstance(document, dict):
        document = {}
    for query in queries:
        value = document.get(query.cls)
        if isinstance(value, dict) and "error" in value:
            result.errors[query.cls] = str(value["error"]).strip()[:200] or "error"
        elif isinstance(value, list):
            result.instances[query.cls] = [item for item in value if isinstance(item, dict)]
        elif isinstance(value, dict):  # one instance, not wrapped by an older ConvertTo-Json
            result.instances[query.cls] = [value]
        else:
            result.errors[query.cls] = "missing from PowerShell's output"
    return result


def read_cim(queries: tuple[CimQuery, ...], timeout_s: float = TIMEOUT_S) -> CimResult:
    """Run the queries through `powershell.exe` (live Windows only); never raises."""
    encoded = base64.b64encode(powershell_script(queries).encode("utf-16-le")).decode("ascii")
    command = ["powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass",
               "-EncodedCommand", encoded]
    try:
        completed = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, timeout=timeout_s,
                                   check=False, creationflags=_CREATE_NO_WINDOW if sys.platform == "win32" else 0)
    except subprocess.TimeoutExpired:
        reason = f"PowerShell did not answer within {timeout_s:.0f} s"
        return CimResult(errors={query.cls: reason for query in queries})
    except OSError as exc:
        return CimResult(errors={query.cls: f"cannot run powershell.exe: {exc}" for query in queries})
    result = decode(completed.stdout.decode("utf-8", errors="replace"), queries)
    if completed.returncode != 0 and not result.instances:
        stderr = completed.stderr.decode("utf-8", errors="replace").strip().splitlines()
        reason = f"powershell.exe exited with {completed.returncode}" + (f": {stderr[-1][:160]}" if stderr else "")
        result.errors = {query.cls: reason for query in queries}
    return result
