"""Carbon intensity: profile files, the live provider over real HTTP, the order of sources, PUE."""

from __future__ import annotations

import http.server
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from fleetprint.collector.impact.footprint import sample_footprint
from fleetprint.collector.impact.grid import GridFactors, zone_factors
from fleetprint.collector.impact.grid_live import LiveIntensity
from fleetprint.collector.impact.grid_profile import ProfileError, load_profile
from fleetprint.collector.impact.host_model import build_host_model
from fleetprint.collector.impact.ladder import PowerEstimate
from fleetprint.impacts import LadderStep
from fleetprint.schema import Cpu, Inventory, Sample

DATA = Path(__file__).resolve().parent.parent / "data" / "grid"


def utc_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() * 1000)


def test_electricity_maps_export_uses_the_lifecycle_column() -> None:
    profile = load_profile(DATA / "electricitymaps_FR_hourly.csv")
    assert profile[utc_ms("2026-01-15T00:00:00")] == pytest.approx(38.12)
    assert profile[utc_ms("2026-01-15T03:00:00")] == pytest.approx(35.31)
    assert len(profile) == 4


def test_eco2mix_is_paris_time_averaged_per_hour() -> None:
    profile = load_profile(DATA / "eco2mix_France_2026-01-15.csv")
    # 00:00 and 00:30 in Paris (CET, UTC+1) are 23:00 UTC the day before; empty slots are skipped.
    assert profile[utc_ms("2026-01-14T23:00:00")] == pytest.approx((28 + 26) / 2)
    assert profile[utc_ms("2026-01-15T00:00:00")] == pytest.approx((24 + 22) / 2)


def test_plain_profile_honours_offsets() -> None:
    profile = load_profile(DATA / "plain.csv")
    assert profile == {utc_ms("2026-01-15T00:00:00"): pytest.approx((400 + 420 + 380) / 3)}


def test_bad_profiles_say_why(tmp_path: Path) -> None:
    (tmp_path / "naive.csv").write_text("datetime,gco2e_per_kwh\n2026-01-15T00:00:00,400\n")
    (tmp_path / "unknown.csv").write_text("when,what\n1,2\n")
    with pytest.raises(ProfileError, match="UTC offset"):
        load_profile(tmp_path / "naive.csv")
    with pytest.raises(ProfileError, match="no known header"):
        load_profile(tmp_path / "unknown.csv")
    with pytest.raises(ProfileError, match="No such file"):
        load_profile(tmp_path / "missing.csv")


class RecordedProvider(http.server.BaseHTTPRequestHandler):
    """Serves the recorded Electricity Maps answer for zone FR with the right token; fails otherwise."""

    answer = (DATA / "electricitymaps_latest_FR.json").read_bytes()
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        RecordedProvider.requests.append(self.path)
        if self.headers.get("auth-token") != "secret" or "zone=FR" not in self.path:
            self.send_response(401 if self.headers.get("auth-token") != "secret" else 404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def provider():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordedProvider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_live_provider_values_serve_recent_samples_and_fall_back_when_old(provider: str) -> None:
    live = LiveIntensity(provider + "/v3/carbon-intensity/latest?zone={zone}", {"FRA": "FR"}, {"auth-token": "secret"})
    live.refresh({"FRA"})
    at = utc_ms("2026-11-28T14:00:00")
    assert live.lookup("FRA", at + 30 * 60_000) == 43
    assert live.lookup("FRA", at + 5 * 3_600_000) is None, "too old for that sample"
    grid = GridFactors({}, {}, live)
    fra = zone_factors("FRA")
    assert grid.gwp_gco2e_per_wh(fra, "dc1", at) == (pytest.approx(0.043), "live")
    assert grid.gwp_gco2e_per_wh(fra, "dc1", at + 5 * 3_600_000) == (fra.gwp_gco2e_per_wh, "boavizta")


def test_live_provider_failures_keep_the_static_factor(provider: str) -> None:
    wrong_token = LiveIntensity(provider + "/latest?zone={zone}", {"FRA": "FR"}, {"auth-token": "nope"})
    wrong_token.refresh({"FRA"})
    unreachable = LiveIntensity("http://127.0.0.1:9/latest?zone={zone}", {}, {}, timeout_s=1)
    unreachable.refresh({"FRA"})
    at = utc_ms("2026-11-28T14:00:00")
    assert wrong_token.lookup("FRA", at) is None and unreachable.lookup("FRA", at) is None
    assert GridFactors({}, {}, wrong_token).gwp_gco2e_per_wh(zone_factors("FRA"), "dc1", at)[1] == "boavizta"


def test_sources_in_order_site_profile_static() -> None:
    profile = load_profile(DATA / "electricitymaps_FR_hourly.csv")
    grid = GridFactors({"green-dc": 12.0}, {"FRA": profile}, None)
    fra = zone_factors("FRA")
    at = utc_ms("2026-01-15T01:20:00")
    assert grid.gwp_gco2e_per_wh(fra, "green-dc", at) == (pytest.approx(0.012), "site")
    assert grid.gwp_gco2e_per_wh(fra, "paris", at) == (pytest.approx(0.0374), "profile")
    assert grid.gwp_gco2e_per_wh(fra, "paris", utc_ms("2026-06-01T00:00:00")) == (fra.gwp_gco2e_per_wh, "boavizta")


def test_pue_and_the_end_of_amortisation() -> None:
    bought = Inventory(host_id="old", taken_at=datetime(2026, 1, 1, tzinfo=timezone.utc), kind="server", ram_gb=64,
                       cpu=Cpu(model="Intel Xeon Gold 6130", sockets=1, cores=16, threads=32),
                       purchase_date=datetime(2020, 3, 1).date(), lifetime_years=5)
    model = build_host_model(bought, zone_factors("FRA"), "dc1")
    power = PowerEstimate(200.0, LadderStep.WALL)
    before = Sample(ts=datetime(2025, 2, 1, tzinfo=timezone.utc), interval_s=3600, cpu_util_pct=20)
    after = Sample(ts=datetime(2025, 3, 2, tzinfo=timezone.utc), interval_s=3600, cpu_util_pct=20)
    young = sample_footprint(model, before, power, 0.1, "site", pue=1.5)
    old = sample_footprint(model, after, power, 0.1, "site", pue=1.5)
    assert young.impacts.energy_wh == 200.0 and young.impacts.usage_gwp_gco2e == pytest.approx(200.0 * 1.5 * 0.1)
    assert not young.past_lifetime and young.impacts.embodied_gwp_gco2e == pytest.approx(model.embodied.gwp_gco2e_per_h)
    assert old.past_lifetime and old.impacts.embodied_gwp_gco2e == 0.0
    assert old.impacts.usage_gwp_gco2e == young.impacts.usage_gwp_gco2e
