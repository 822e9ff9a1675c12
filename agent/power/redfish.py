"""Wall power from the BMC through Redfish (HTTPS, basic auth), with the standard library only.

GET <url>/redfish/v1/Chassis/<id>/Power gives PowerControl[0].PowerConsumedWatts; a BMC that has
dropped that (deprecated) resource for PowerSubsystem answers 404, and then
<url>/redfish/v1/Chassis/<id>/EnvironmentMetrics gives PowerWatts.Reading.

Read only when `[power.redfish] url` is set. The HTTP stack (urllib.request, http.client, ssl:
~2 MB resident) is imported at the first read, so an agent with no BMC to read never loads it.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from fleetprint.agent.power.base import NotConfigured, PowerSource, PowerSourceType, Unavailable

if TYPE_CHECKING:
    import ssl
    import urllib.request

_MAX_BODY_BYTES = 4 * 1024 * 1024
# (resource under the chassis, path to the watts in its document, that path as Redfish writes it)
_RESOURCES: list[tuple[str, tuple[str | int, ...], str]] = [
    ("Power", ("PowerControl", 0, "PowerConsumedWatts"), "PowerControl[0].PowerConsumedWatts"),
    ("EnvironmentMetrics", ("PowerWatts", "Reading"), "PowerWatts.Reading"),
]


class RedfishSettings(msgspec.Struct, forbid_unknown_fields=True):
    """The `[power.redfish]` section."""

    url: Annotated[str, msgspec.Meta(pattern=r"^https?://[^/\s]+/?\Z")] | None = None
    username: str | None = None
    password_file: str | None = None
    chassis: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._:-]{1,64}\Z")] = "1"
    verify_tls: bool = True
    ca_file: str | None = None

    def check(self) -> None:
        """Credentials come in pairs, and only with a URL."""
        if self.username and not self.password_file:
            raise ValueError("password_file: needed with username")
        if self.password_file and not self.username:
            raise ValueError("username: needed with password_file")
        if not self.url and (self.username or self.ca_file):
            raise ValueError("url: needed by the other keys of [power.redfish]")


class RedfishSource(PowerSource):
    """The chassis' power consumption as the BMC reports it (its own short average), per read."""

    def __init__(self, url: str, chassis: str = "1", username: str | None = None, password_file: str | None = None,
                 verify_tls: bool = True, ca_file: str | None = None, timeout_s: float = 5.0) -> None:
        super().__init__()
        self.name = "redfish"
        self.url = url.rstrip("/")
        self.chassis = chassis
        self.username = username
        self.password_file = password_file
        self.verify_tls = verify_tls
        self.ca_file = ca_file
        self.timeout_s = timeout_s
        self._resources = _RESOURCES  # those that answered 404 before one answered are dropped
        self._opener: urllib.request.OpenerDirector | None = None

    def _read(self) -> dict[str, float]:
        headers = {"Accept": "application/json", **self._authorization()}
        chassis = f"/redfish/v1/Chassis/{urllib.parse.quote(self.chassis, safe=':')}"
        for index, (resource, path, label) in enumerate(self._resources):
            document = self._get(f"{chassis}/{resource}", headers)
            if document is not None:
                self._resources = self._resources[index:]
                return {"wall": _watts(document, path, f"{resource} {label}")}
        raise Unavailable(self._missing_chassis(headers))

    def _authorization(self) -> dict[str, str]:
        if not self.username:
            return {}
        try:
            with open(self.password_file or "", encoding="utf-8") as handle:
                password = handle.read().strip()
        except OSError as exc:
            raise Unavailable(f"error: cannot read [power.redfish] password_file {self.password_file}: "
                              f"{exc.strerror}") from None
        token = base64.b64encode(f"{self.username}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def _get(self, path: str, headers: dict[str, str]) -> Any:
        """The JSON document at `path`; None when the BMC answers 404."""
        import http.client
        import ssl
        import urllib.error
        import urllib.request

        request = urllib.request.Request(self.url + path, headers=headers)
        try:
            with self._open(request) as response:
                body = response.read(_MAX_BODY_BYTES)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 404:
                return None
            if exc.code in (401, 403):
                raise Unavailable(f"denied: HTTP {exc.code} from the BMC: check [power.redfish] username and the "
                                  "password in its password_file") from None
            raise Unavailable(f"error: HTTP {exc.code} {exc.reason} for {path}") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                raise Unavailable(f"untrusted: the BMC's certificate: {exc.reason.verify_message}; set "
                                  "[power.redfish] ca_file to its CA (or verify_tls = false)") from None
            raise Unavailable(f"unreachable: {self.url}: {exc.reason}") from None
        except (OSError, http.client.HTTPException) as exc:  # timeouts and resets while reading
            raise Unavailable(f"unreachable: {self.url}: {str(exc) or type(exc).__name__}") from None
        try:
            return json.loads(body)
        except ValueError:
            raise Unavailable(f"error: the BMC's answer for {path} is not JSON") from None

    def _open(self, request: urllib.request.Request) -> Any:
        if self._opener is None:
            self._opener = _opener(self._tls_context())
        return self._opener.open(request, timeout=self.timeout_s)

    def _tls_context(self) -> ssl.SSLContext:
        import ssl

        try:
            context = ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise Unavailable(f"error: cannot load [power.redfish] ca_file {self.ca_file}: {exc}") from None
        if not self.verify_tls:  # the operator's choice: [power.redfish] verify_tls = false
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _missing_chassis(self, headers: dict[str, str]) -> str:
        """Why neither resource exists: an unknown chassis id (naming the BMC's), or no power data."""
        collection = self._get("/redfish/v1/Chassis", headers)
        members = collection.get("Members", []) if isinstance(collection, dict) else []
        ids = [str(member.get("@odata.id", "")).rstrip("/").rsplit("/", 1)[-1] for member in members
               if isinstance(member, dict)]
        if ids and self.chassis not in ids:
            return (f"absent: no chassis {self.chassis!r} on the BMC; set [power.redfish] chassis to one of: "
                    f"{', '.join(ids)}")
        return f"absent: chassis {self.chassis!r} has neither Power nor EnvironmentMetrics"


def _opener(context: ssl.SSLContext) -> urllib.request.OpenerDirector:
    """An opener that goes to the BMC directly (it is on the management network, never behind a web
    proxy) and takes redirects as errors (urllib would send the Authorization header to wherever
    they point)."""
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context),
                                       NoRedirect())


def _watts(document: Any, path: tuple[str | int, ...], label: str) -> float:
    value = document
    for key in path:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            value = None
            break
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Unavailable(f"no reading: {label} is {value!r}")
    return float(value)


def _build(settings: RedfishSettings, _platform: object) -> PowerSource:
    if not settings.url:
        return NotConfigured("redfish")
    return RedfishSource(settings.url, settings.chassis, settings.username, settings.password_file,
                         settings.verify_tls, settings.ca_file)


SOURCE = PowerSourceType("redfish", _build, RedfishSettings, opt_in=True, renamed={
    f"redfish_{key}": key for key in ("url", "username", "password_file", "chassis", "verify_tls", "ca_file")})
