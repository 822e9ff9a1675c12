"""Measured power sources (agent/sources: rapl, nvml, battery, ipmi, redfish) and their wiring (agent/power,
the sampler, the inventory, the config), on recorded trees (tests/data/power) and real files, processes and
HTTP servers."""

from __future__ import annotations

import base64
import contextlib
import ctypes.util
import importlib.util
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fleetprint.agent.config import HostFacts, PowerSettings, load_agent_config
from fleetprint.agent.inventory import collect_inventory
from fleetprint.agent.power import PowerReader, power_reader_for
from fleetprint.agent.sampler import UsageSampler
from fleetprint.agent.sources import PowerSource, Unavailable, rapl
from fleetprint.agent.sources.battery import BatterySource
from fleetprint.agent.sources.ipmi import IpmiSource, parse_power_reading
from fleetprint.agent.sources.nvml import NOT_INSTALLED, NvmlSource
from fleetprint.agent.sources.rapl import DENIED, RaplSource
from fleetprint.agent.sources.redfish import RedfishSource
from fleetprint.config import ConfigError
from fleetprint.schema import POWER_CHANNELS, Report, decode_inventory, decode_report, encode

DATA = Path(__file__).resolve().parent.parent / "data"
POWER = DATA / "power"
HOSTS = DATA / "hosts"
SOURCES = ["rapl", "nvml", "battery", "ipmi", "redfish"]


def copy_tree(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(POWER / name, tmp_path / name, symlinks=True))


def set_energy(root: Path, zone: str, microjoules: int) -> None:
    (root / "sys/class/powercap" / zone / "energy_uj").write_text(f"{microjoules}\n")


def add_energy(root: Path, zone: str, microjoules: int) -> None:
    path = root / "sys/class/powercap" / zone / "energy_uj"
    set_energy(root, zone, int(path.read_text()) + microjoules)


def timed_reads(source: PowerSource, change: Callable[[], None]) -> tuple[dict[str, float], float, float]:
    """Prime `source`, let 0.1 s pass, `change` the counters and read again: the reading, and the
    shortest and longest time that can have passed between the source's two reads."""
    before_first = time.monotonic()
    assert source.read() == {}  # the first read only primes
    after_first = time.monotonic()
    time.sleep(0.1)
    change()
    before_second = time.monotonic()
    watts = source.read()
    after_second = time.monotonic()
    return watts, before_second - after_first, after_second - before_first


def assert_mean(watts: float, joules: float, shortest: float, longest: float) -> None:
    """`watts` is `joules` over the elapsed time, which lies between `shortest` and `longest` (the
    bracket is exact; where within it depends on the scheduler, so nothing more is asserted)."""
    assert joules / longest <= watts <= joules / shortest


# --- RAPL ---------------------------------------------------------------------------------


def test_two_socket_xeon_sums_the_sockets_per_channel(tmp_path: Path) -> None:
    root = copy_tree("xeon-2s-cascadelake", tmp_path)
    source = RaplSource(root)

    def change() -> None:
        add_energy(root, "intel-rapl:0", 9_000_000)
        add_energy(root, "intel-rapl:1", 7_000_000)
        add_energy(root, "intel-rapl:0:0", 1_500_000)  # dram zones say enabled = 0: still counted
        add_energy(root, "intel-rapl:1:0", 1_000_000)

    watts, shortest, longest = timed_reads(source, change)
    assert set(watts) == {"rapl_package", "rapl_dram"}  # Cascade Lake-SP has no core or uncore zone
    assert_mean(watts["rapl_package"], 16.0, shortest, longest)
    assert_mean(watts["rapl_dram"], 2.5, shortest, longest)
    assert source.status() == "ok"


def test_laptop_reads_core_uncore_and_dram_once_each(tmp_path: Path) -> None:
    """The MMIO interface repeats package-0 and psys covers the whole platform: neither is added."""
    root = copy_tree("thinkpad-kabylake", tmp_path)
    source = RaplSource(root)

    def change() -> None:
        for zone, microjoules in [("intel-rapl:0", 4_200_000), ("intel-rapl:0:0", 1_900_000),
                                  ("intel-rapl:0:1", 300_000), ("intel-rapl:0:2", 600_000),
                                  ("intel-rapl:1", 9_000_000), ("intel-rapl-mmio:0", 4_200_000)]:
            add_energy(root, zone, microjoules)

    watts, shortest, longest = timed_reads(source, change)
    assert set(watts) == {"rapl_package", "rapl_core", "rapl_uncore", "rapl_dram"}
    for channel, joules in [("rapl_package", 4.2), ("rapl_core", 1.9), ("rapl_uncore", 0.3), ("rapl_dram", 0.6)]:
        assert_mean(watts[channel], joules, shortest, longest)


def test_amd_epyc_gives_packages_only(tmp_path: Path) -> None:
    """AMD's "core" zone counts the cores of one CPU only (a per-core counter): left out."""
    root = copy_tree("epyc-2s-milan", tmp_path)
    source = RaplSource(root)

    def change() -> None:
        for zone, microjoules in [("intel-rapl:0", 12_000_000), ("intel-rapl:1", 11_000_000),
                                  ("intel-rapl:0:0", 300_000), ("intel-rapl:1:0", 280_000)]:
            add_energy(root, zone, microjoules)

    watts, shortest, longest = timed_reads(source, change)
    assert set(watts) == {"rapl_package"}
    assert_mean(watts["rapl_package"], 23.0, shortest, longest)


def test_counter_wrap_adds_the_counter_range(tmp_path: Path) -> None:
    root = copy_tree("xeon-2s-cascadelake", tmp_path)
    set_energy(root, "intel-rapl:0", 262_143_328_850 - 1_000_000)  # 1 J before the end of its range
    set_energy(root, "intel-rapl:0:0", 65_712_999_613 - 500_000)
    source = RaplSource(root)

    def change() -> None:
        set_energy(root, "intel-rapl:0", 2_000_000)  # wrapped: 3 J in all
        add_energy(root, "intel-rapl:1", 3_000_000)
        set_energy(root, "intel-rapl:0:0", 250_000)  # wrapped: 0.75 J
        add_energy(root, "intel-rapl:1:0", 250_000)

    watts, shortest, longest = timed_reads(source, change)
    assert_mean(watts["rapl_package"], 6.0, shortest, longest)
    assert_mean(watts["rapl_dram"], 1.0, shortest, longest)


def test_a_wrap_without_a_readable_range_drops_only_that_channel(tmp_path: Path) -> None:
    root = copy_tree("xeon-2s-cascadelake", tmp_path)
    (root / "sys/class/powercap/intel-rapl:0/max_energy_range_uj").unlink()
    source = RaplSource(root)

    def change() -> None:
        set_energy(root, "intel-rapl:0", 1_000)  # went backwards: a wrap of unknown size
        add_energy(root, "intel-rapl:1", 3_000_000)
        add_energy(root, "intel-rapl:0:0", 400_000)

    watts, shortest, longest = timed_reads(source, change)
    assert set(watts) == {"rapl_dram"}  # half of rapl_package would be a wrong total
    assert_mean(watts["rapl_dram"], 0.4, shortest, longest)


def test_mean_power_uses_the_monotonic_clock_and_skips_a_suspend(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Across a suspend the counters may restart, which looks like a wrap: that interval gives nothing."""
    root = copy_tree("xeon-2s-cascadelake", tmp_path)
    clocks = iter([(100.0, 100.0), (130.0, 3730.0), (160.0, 3760.0)])  # (monotonic, boot time) per read
    monkeypatch.setattr(rapl, "_clocks", lambda: next(clocks))
    source = RaplSource(root)
    assert source.read() == {}
    set_energy(root, "intel-rapl:0", 5_000)  # restarted during an hour of sleep
    assert source.read() == {}
    add_energy(root, "intel-rapl:0", 60_000_000)
    add_energy(root, "intel-rapl:1", 30_000_000)
    assert source.read() == {"rapl_package": 3.0, "rapl_dram": 0.0}  # 90 J in 30 s
    assert source.status() == "ok"


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Run the block as `nobody` when root (whom no file mode stops), else as is."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


def test_energy_readable_by_root_only_is_denied_with_the_fix() -> None:
    """Since the PLATYPUS fix (CVE-2020-8694) energy_uj is mode 0400, owned by root."""
    with tempfile.TemporaryDirectory() as top:
        os.chmod(top, 0o755)  # traversable by `nobody`
        root = Path(shutil.copytree(POWER / "xeon-2s-cascadelake", Path(top) / "xeon", symlinks=True))
        assert RaplSource(root).status() == "ok"
        for energy in root.glob("sys/devices/virtual/powercap/**/energy_uj"):
            energy.chmod(0o400 if os.geteuid() == 0 else 0o000)
        with unprivileged():
            source = RaplSource(root)
            reading = source.read()
            status = source.status()
    assert reading == {}
    assert status == DENIED
    assert len(DENIED) <= 256


def test_no_rapl_is_absent(tmp_path: Path) -> None:
    assert RaplSource(HOSTS / "kvm-vm").status() == "absent: no /sys/class/powercap"
    (tmp_path / "sys/class/powercap").mkdir(parents=True)  # powercap, but no RAPL zone (a VM)
    assert RaplSource(tmp_path).status().startswith("absent: no RAPL zone in /sys/class/powercap")


# --- Battery ------------------------------------------------------------------------------


def test_discharging_battery_reports_power_now() -> None:
    source = BatterySource(POWER / "thinkpad-kabylake")
    assert source.read() == {"battery": 8.751}
    assert source.status() == "ok"


def test_discharging_battery_without_power_now_gives_current_times_voltage() -> None:
    """The mouse's battery (scope Device) discharges too but is not the host's."""
    watts = BatterySource(POWER / "laptop-charge-battery").read()
    assert watts == {"battery": pytest.approx(1.030 * 11.812)}


@pytest.mark.parametrize("state", ["Charging", "Full", "Not charging", "Unknown"])
def test_battery_not_discharging_gives_no_reading(tmp_path: Path, state: str) -> None:
    root = copy_tree("thinkpad-kabylake", tmp_path)
    (root / "sys/class/power_supply/BAT0/status").write_text(f"{state}\n")
    source = BatterySource(root)
    assert source.read() == {}
    assert source.status() == "ok"


def test_recorded_charging_thinkpad_gives_no_reading() -> None:
    source = BatterySource(HOSTS / "thinkpad-laptop")
    assert (source.read(), source.status()) == ({}, "ok")


def test_no_battery_is_absent(tmp_path: Path) -> None:
    assert BatterySource(HOSTS / "xeon-rack-server").status() == "absent: no /sys/class/power_supply"
    root = copy_tree("laptop-charge-battery", tmp_path)  # then only the mains and a mouse's battery
    shutil.rmtree(root / "sys/class/power_supply/BAT1")
    assert BatterySource(root).status() == "absent: no battery in /sys/class/power_supply"


def test_battery_reporting_no_power_is_unsupported(tmp_path: Path) -> None:
    root = copy_tree("laptop-charge-battery", tmp_path)
    (root / "sys/class/power_supply/BAT1/current_now").unlink()
    assert BatterySource(root).status() == (
        "unsupported: BAT1 reports neither power_now nor current_now and voltage_now")


# --- NVML ---------------------------------------------------------------------------------


def test_host_without_nvidia_gpu_is_absent_without_importing_pynvml() -> None:
    code = ("import sys; from pathlib import Path; from fleetprint.agent.sources.nvml import NvmlSource; "
            f"print(NvmlSource(Path({str(HOSTS / 'kvm-vm')!r})).status()); print('pynvml' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.splitlines() == ["absent: no NVIDIA GPU on the PCI bus", "False"], result.stderr


def test_nvidia_gpu_without_nvidia_ml_py(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # what `import` does when the package is not installed
    source = NvmlSource(HOSTS / "xeon-rack-server")  # a Tesla T4 on its PCI bus
    assert (source.read(), source.status()) == ({}, NOT_INSTALLED)


def test_nvidia_gpu_without_a_driver_for_real() -> None:
    """Whatever this machine has installed: nvidia-ml-py or not, and no NVIDIA driver."""
    if importlib.util.find_spec("pynvml") is None:
        expected = NOT_INSTALLED
    elif ctypes.util.find_library("nvidia-ml"):
        pytest.skip("an NVIDIA driver is installed here: this test is about its absence")
    else:
        expected = "no driver: libnvidia-ml not found (the NVIDIA driver is not installed)"
    source = NvmlSource(HOSTS / "xeon-rack-server")
    assert (source.read(), source.status()) == ({}, expected)
    assert (source.read(), source.status()) == ({}, expected)  # decided once, said again


# --- IPMI ---------------------------------------------------------------------------------


def recorded(name: str) -> str:
    return (POWER / "ipmi" / name).read_text() if name else ""


@pytest.mark.parametrize("stdout,stderr,expected", [
    ("activated.stdout", "", 212.0),
    ("deactivated.stdout", "", "no reading: the BMC says its DCMI power measurement is deactivated (try redfish_url)"),
    ("zero.stdout", "", "no reading: the BMC reports 0 W (it does not measure power through DCMI)"),
    ("", "no-device.stderr",
     "absent: no /dev/ipmi0 (no BMC, or the ipmi_si and ipmi_devintf modules are not loaded)"),
    ("", "permission.stderr", ("denied: cannot open /dev/ipmi0: run the agent as root, or give its group "
                               "read-write access to /dev/ipmi0 with a udev rule")),
    ("", "invalid-command.stderr", "unsupported: the BMC refuses DCMI power readings: Invalid command (c1)"),
])
def test_ipmitool_output_is_parsed(stdout: str, stderr: str, expected: float | str) -> None:
    if isinstance(expected, float):
        assert parse_power_reading(recorded(stdout), recorded(stderr)) == expected
    else:
        with pytest.raises(Unavailable) as caught:
            parse_power_reading(recorded(stdout), recorded(stderr))
        assert str(caught.value) == expected


def test_ipmitool_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    source = IpmiSource()
    assert (source.read(), source.status()) == ({}, "absent: ipmitool not installed")


def fake_ipmitool(directory: Path, body: str) -> None:
    script = directory / "ipmitool"
    script.write_text(f'#!/bin/sh\n[ "$*" = "dcmi power reading" ] || exit 2\n{body}\n')
    script.chmod(0o755)


def test_ipmitool_is_run_and_its_answer_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    fake_ipmitool(tmp_path, f"cat {POWER / 'ipmi/activated.stdout'}")
    source = IpmiSource()
    assert source.read() == {"wall": 212.0}
    fake_ipmitool(tmp_path, f"cat {POWER / 'ipmi/no-device.stderr'} >&2; exit 1")
    assert source.read() == {}
    assert source.status().startswith("absent: no /dev/ipmi0")


def test_ipmitool_that_hangs_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    fake_ipmitool(tmp_path, "exec sleep 30")
    source = IpmiSource(timeout_s=0.2)
    started = time.monotonic()
    assert source.read() == {}
    assert time.monotonic() - started < 5
    assert source.status() == "unreachable: ipmitool got no answer from the BMC within 0.2 s"


# --- Redfish ------------------------------------------------------------------------------

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
    assert source.status() == ("denied: HTTP 401 from the BMC: check redfish_username and the password in "
                               "redfish_password_file")


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
    assert source.status() == ("absent: no chassis '1' on the BMC; set redfish_chassis to one of: "
                               "System.Embedded.1, Enclosure.Internal.0-1:RAID.Integrated.1-1")


def test_redfish_missing_password_file(tmp_path: Path) -> None:
    source = RedfishSource("https://127.0.0.1:9", username=BMC_USER, password_file=str(tmp_path / "none"))
    assert source.status() == f"error: cannot read redfish_password_file {tmp_path / 'none'}: No such file or directory"


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


# --- Wiring: the reader, the sampler, the inventory, the config, the CLI -------------------


class Fixed(PowerSource):
    """A stand-in source that gives fixed watts, or a fixed reason."""

    def __init__(self, name: str, watts: dict[str, float] | None = None, reason: str = "") -> None:
        super().__init__()
        self.name, self.watts, self.reason = name, watts or {}, reason

    def _read(self) -> dict[str, float]:
        if self.reason:
            raise Unavailable(self.reason)
        return self.watts


class Broken(PowerSource):
    """A source with a bug."""

    name = "broken"

    def _read(self) -> dict[str, float]:
        raise RuntimeError("boom")


def test_reader_merges_first_source_first_and_drops_implausible_watts() -> None:
    reader = PowerReader([
        Fixed("ipmi", {"wall": 250.0}),
        Fixed("redfish", {"wall": 260.0}),
        Fixed("rapl", {"rapl_package": float("nan"), "rapl_dram": 2e5, "rapl_core": -1.0, "rapl_uncore": 3.5}),
        Broken(),
        Fixed("nvml", reason="error: " + "x" * 400),
    ])
    assert reader.read() == {"wall": 250.0, "rapl_uncore": 3.5}
    statuses = reader.statuses()
    assert statuses["broken"] == "error: RuntimeError: boom"
    assert len(statuses["nvml"]) == 256
    assert statuses["ipmi"] == statuses["redfish"] == statuses["rapl"] == "ok"


def test_every_source_is_listed_and_says_why_it_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert power_reader_for(PowerSettings(), HOSTS / "kvm-vm").statuses() == {
        "rapl": "absent: no /sys/class/powercap",
        "nvml": "absent: no NVIDIA GPU on the PCI bus",
        "battery": "absent: no /sys/class/power_supply",
        "ipmi": "not configured",
        "redfish": "not configured",
    }
    monkeypatch.setenv("PATH", str(tmp_path))
    configured = PowerSettings(ipmi=True, redfish_url="http://127.0.0.1:9")  # port 9 (discard): nothing listens
    statuses = power_reader_for(configured, HOSTS / "kvm-vm").statuses()
    assert statuses["ipmi"] == "absent: ipmitool not installed"
    assert statuses["redfish"].startswith("unreachable: http://127.0.0.1:9: ")


def test_sampler_carries_the_mean_power_of_its_interval(tmp_path: Path) -> None:
    root = copy_tree("thinkpad-kabylake", tmp_path)
    before_first = time.monotonic()
    sampler = UsageSampler(power=power_reader_for(PowerSettings(), root))  # primes the counters
    after_first = time.monotonic()
    time.sleep(0.1)
    add_energy(root, "intel-rapl:0", 1_500_000)
    before_second = time.monotonic()
    sample = sampler.take()
    after_second = time.monotonic()
    assert set(sample.power_w) == {"rapl_package", "rapl_core", "rapl_uncore", "rapl_dram", "battery"}
    assert set(sample.power_w) <= set(POWER_CHANNELS)
    assert sample.power_w["battery"] == 8.751
    # The 1.5 J over the time between RAPL's two reads, which lies within these bounds (the
    # sampler's own interval is timed at other instants: under load the two differ by percents).
    assert_mean(sample.power_w["rapl_package"], 1.5, before_second - after_first, after_second - before_first)
    assert before_second - after_first <= sample.interval_s <= after_second - before_first
    report = Report(host_id="test-host", seq=0, samples=[sample])
    assert decode_report(encode(report)).samples[0].power_w == sample.power_w


def test_inventory_carries_the_statuses() -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
    statuses = power_reader_for(PowerSettings(), HOSTS / "kvm-vm").statuses()
    inventory = collect_inventory(HostFacts(), "test-host", root=HOSTS / "kvm-vm", now=now, power_sources=statuses)
    assert decode_inventory(encode(inventory)).power_sources == statuses
    assert collect_inventory(HostFacts(), "test-host", root=HOSTS / "kvm-vm", now=now).power_sources == {}


def test_power_config_is_read_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "agent.toml"
    path.write_text("[power]\nredfish_url = 'https://bmc-web-01.example'\nredfish_username = 'fleetprint'\n"
                    "redfish_password_file = '/etc/fleetprint/bmc.secret'\nredfish_chassis = 'System.Embedded.1'\n")
    monkeypatch.setenv("FLEETPRINT_AGENT_POWER__IPMI", "true")
    power = load_agent_config(str(path)).power
    assert (power.ipmi, power.redfish_url, power.redfish_chassis, power.redfish_verify_tls) == (
        True, "https://bmc-web-01.example", "System.Embedded.1", True)


@pytest.mark.parametrize("text,key", [
    ("[power]\nipmi = 'sometimes'\n", "power.ipmi"),
    ("[power]\nwatts = 3\n", "power"),
    ("[power]\nredfish_url = 'bmc.example'\n", "power.redfish_url"),
    ("[power]\nredfish_url = 'https://bmc.example/redfish/v1'\n", "power.redfish_url"),
    ("[power]\nredfish_url = 'https://bmc.example'\nredfish_username = 'x'\n", "power.redfish_password_file"),
    ("[power]\nredfish_url = 'https://bmc.example'\nredfish_password_file = '/f'\n", "power.redfish_username"),
    ("[power]\nredfish_username = 'x'\nredfish_password_file = '/f'\n", "power.redfish_url"),
    ("[power]\nredfish_chassis = '1/../2'\n", "power.redfish_chassis"),
])
def test_bad_power_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_agent_config(str(path))
    assert caught.value.key == key


def test_agent_once_says_why_each_source_is_or_is_not_read() -> None:
    result = subprocess.run([sys.executable, "-m", "fleetprint", "agent", "once", "--interval", "0.1"],
                            capture_output=True, text=True, timeout=60, check=False,
                            env={"PATH": "/usr/bin:/bin", "FLEETPRINT_AGENT_HOST__ID": "power-test"})
    assert result.returncode == 0, result.stderr
    inventory_line, report_line = result.stdout.strip().splitlines()
    power_sources = decode_inventory(inventory_line.encode()).power_sources
    assert list(power_sources) == SOURCES
    assert power_sources["ipmi"] == power_sources["redfish"] == "not configured"
    assert all(power_sources[name] == "ok" or ": " in power_sources[name] for name in ("rapl", "nvml", "battery"))
    assert set(decode_report(report_line.encode()).samples[0].power_w) <= set(POWER_CHANNELS)
