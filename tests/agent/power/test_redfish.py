"""The BMC through Redfish (agent/power/redfish.py), against a real HTTP(S) server serving recorded documents."""

from __future__ import annotations

import base64
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from power_trees import POWER

from fleetprint.agent.power.redfish import RedfishSource

REDFISH = POWER / "redfish"
BMC_USER, BMC_PASSWORD = "fleetprint", "s3cret-bmc"


class Bmc:
    """A Redfish service on 127.0.0.1: serves recorded documents by path, behind basic auth."""

    def __init__(self, documents: dict[str, Path], tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[str] = []
        expected = "Basic " + base64.b64encode(f"{BMC_USER}:{BMC_PASSWORD}".encode()).decode()
        bmc = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                bmc.requests.append(self.path)
                if self.headers.get("Authorization") != expected:
                    self.answer(401, {"error": {"code": "Base.1.8.GeneralError", "message": "Unauthorized"}},
                                {"WWW-Authenticate": 'Basic realm="Redfish"'})
                elif self.path in documents:
                    self.answer(200, json.loads(documents[self.path].read_text()))
                else:
                    self.answer(404, {"error": {"code": "Base.1.8.ResourceMissingAtURI", "message": self.path}})

            def answer(self, code: int, body: object, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def bmc() -> Iterator[Callable[..., Bmc]]:
    started: list[Bmc] = []

    def start(documents: dict[str, Path], tls: ssl.SSLContext | None = None) -> Bmc:
        started.append(Bmc(documents, tls))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "bmc.secret"
    path.write_text(f"{BMC_PASSWORD}\n")
    return path


def test_redfish_power_consumed_watts(bmc: Callable[..., Bmc], password_file: Path) -> None:
    server = bmc({"/redfish/v1/Chassis/1/Power": REDFISH / "ilo5-chassis-1-power.json"})
    source = RedfishSource(server.url, username=BMC_USER, password_file=str(password_file))
    assert source.read() == {"wall": 187.0}
    assert source.read() == {"wall": 187.0}
    assert source.status() == "ok"
    assert server.requests == ["/redfish/v1/Chassis/1/Power"] * 2  # one request per read


def test_redfish_environment_metrics_when_power_is_gone(bmc: Callable[..., Bmc], password_file: Path) -> None:
    server = bmc({"/redfish/v1/Chassis/1/EnvironmentMetrics": REDFISH / "chassis-1-environment-metrics.json"})
    source = RedfishSource(server.url + "/", username=BMC_USER, password_file=str(password_file))
    assert source.read() == {"wall": 412.5}
    assert source.read() == {"wall": 412.5}
    assert server.requests == ["/redfish/v1/Chassis/1/Power"] + ["/redfish/v1/Chassis/1/EnvironmentMetrics"] * 2


def test_redfish_wrong_password_is_denied(bmc: Callable[..., Bmc], tmp_path: Path) -> None:
    server = bmc({"/redfish/v1/Chassis/1/Power": REDFISH / "ilo5-chassis-1-power.json"})
    wrong = tmp_path / "wrong.secret"
    wrong.write_text("not-the-password\n")
    source = RedfishSource(server.url, username=BMC_USER, password_file=str(wrong))
    assert source.read() == {}
    assert source.status() == ("denied: HTTP 401 from the BMC: check [power.redfish] username and the password in "
                               "its password_file")


def test_redfish_bmc_down_is_unreachable(bmc: Callable[..., Bmc], password_file: Path) -> None:
    server = bmc({})
    server.stop()  # nothing listens on its port any more
    source = RedfishSource(server.url, username=BMC_USER, password_file=str(password_file))
    assert source.read() == {}
    assert source.status().startswith(f"unreachable: {server.url}: ")
    assert "Connection refused" in source.status()


def test_redfish_unknown_chassis_names_the_bmcs(bmc: Callable[..., Bmc], password_file: Path) -> None:
    server = bmc({"/redfish/v1/Chassis": REDFISH / "idrac-chassis-collection.json"})
    source = RedfishSource(server.url, username=BMC_USER, password_file=str(password_file))
    assert source.status() == ("absent: no chassis '1' on the BMC; set [power.redfish] chassis to one of: "
                               "System.Embedded.1, Enclosure.Internal.0-1:RAID.Integrated.1-1")


def test_redfish_missing_password_file(tmp_path: Path) -> None:
    source = RedfishSource("https://127.0.0.1:9", username=BMC_USER, password_file=str(tmp_path / "none"))
    assert source.status() == (f"error: cannot read [power.redfish] password_file {tmp_path / 'none'}: "
                               "No such file or directory")


def test_redfish_over_https_trusts_the_given_ca_only(bmc: Callable[..., Bmc], password_file: Path,
                                                     tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(tls)
    ca_file = tmp_path / "bmc-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = bmc({"/redfish/v1/Chassis/1/Power": REDFISH / "ilo5-chassis-1-power.json"}, tls)
    credentials = {"username": BMC_USER, "password_file": str(password_file)}
    assert RedfishSource(server.url, ca_file=str(ca_file), **credentials).read() == {"wall": 187.0}
    assert RedfishSource(server.url, verify_tls=False, **credentials).read() == {"wall": 187.0}
    untrusted = RedfishSource(server.url, **credentials)
    assert untrusted.read() == {}
    assert untrusted.status().startswith("untrusted: the BMC's certificate: ")
