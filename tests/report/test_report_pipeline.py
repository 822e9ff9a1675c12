"""`fleetprint report` end to end: a simulated fleet through the real broker and collector into the real
InfluxDB, the report's figures checked against independent InfluxQL sums over the raw points, the HTML
page rendered in headless Chromium (screenshot, no console error) and the PDF turned into pages."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image
from tqdm import tqdm

from fleetprint.impacts import IMPACT_FIELDS
from fleetprint.report.render_html import num

from processes import Program, collector_config, wait_until
from services import quote_ident

HOSTS = 12


def day(offset: int) -> datetime:
    """UTC midnight `offset` days from today."""
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=offset)


@pytest.fixture(scope="module")
def stored(mosquitto, influxdb, tmp_path_factory):
    """A 12-host fleet's last 3 days at 1 h stored and rolled up; yields (query, database, collector config, the
    report period's first and last day)."""
    tmp = tmp_path_factory.mktemp("report")
    database = f"test_{uuid.uuid4().hex[:12]}"
    influxdb.create_database(database)
    prefix = f"report-test-{uuid.uuid4().hex[:8]}/v1"
    budgets = tmp / "budgets.toml"
    first, last = day(-2), day(-1)
    budgets.write_text("""
[[budget]]
service = "workplace"
period = "day"
limit_kwh = 0.5
[[budget]]
service = "workplace"
period = "year"
limit_kgco2e = 40
trajectory = { baseline_year = 2024, reduction_pct_per_year = 10 }
""", encoding="utf-8")
    config = collector_config(tmp / "collector.toml", mosquitto, influxdb, database,
                              f"report-{uuid.uuid4().hex[:6]}",
                              collector_extra=f'[rollups]\ninterval_s = 1\nlag_s = 0\n[budgets]\nfile = "{budgets}"\n')
    collector = Program(["collector", "run", "-c", str(config)], tmp / "collector.log",
                        env={"FLEETPRINT_COLLECTOR_MQTT__TOPIC_PREFIX": prefix})

    def query(statement: str) -> list[dict]:
        return influxdb.query(statement, database)

    def rolled_up() -> bool:
        """The hourly service and daily host rollups cover the period and agree with the raw points they sum."""
        between = f"time >= '{first:%Y-%m-%d}' AND time < '{last + timedelta(days=1):%Y-%m-%d}'"
        raw = query(f"SELECT sum(energy_wh) FROM fp_service WHERE {between}")
        hourly = query(f"SELECT sum(energy_wh), count(energy_wh) FROM fp_service_1h WHERE {between}")
        raw_hosts = query(f"SELECT sum(energy_wh) FROM fp_host WHERE {between}")
        daily = query(f"SELECT sum(energy_wh), sum(samples) FROM fp_host_1d WHERE {between}")
        return bool(raw and hourly and hourly[0]["count"] >= 48 and hourly[0]["sum"] == pytest.approx(raw[0]["sum"])
                    and raw_hosts and daily and daily[0]["sum_1"] == HOSTS * 48
                    and daily[0]["sum"] == pytest.approx(raw_hosts[0]["sum"]))

    try:
        wait_until(lambda: "subscribed to reports" in collector.log_text(), what="the collector", watch=[collector])
        done = subprocess.run([sys.executable, "-m", "fleetprint", "simulate", "--mqtt-port", str(mosquitto.port),
                               "--mqtt-topic-prefix", prefix, "--hosts", str(HOSTS), "--seed", "5", "--backfill", "3d",
                               "--interval", "3600"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        expected = HOSTS * 72
        wait_until(lambda: (rows := query("SELECT count(cpu_util_pct) FROM fp_host")) and rows[0]["count"] >= expected,
                   what="the backfill in InfluxDB", watch=[collector])
        wait_until(rolled_up, what="rollups over the period", watch=[collector])
    finally:
        assert collector.stop() == 0, collector.log_text()
    yield query, config, first, last
    influxdb.query(f"DROP DATABASE {quote_ident(database)}")


def run_report(config: Path, out: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "fleetprint", "report", "-c", str(config), "-o", str(out), *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def report(stored, tmp_path_factory):
    """The whole fleet's report over the two full days before today: (html, pdf, csv tables)."""
    _, config, first, last = stored
    out = tmp_path_factory.mktemp("report-out")
    stdout = run_report(config, out, "--from", f"{first:%Y-%m-%d}", "--to", f"{last:%Y-%m-%d}", "--name", "r")
    assert "12 hosts" in stdout
    with zipfile.ZipFile(out / "r-csv.zip") as archive:
        tables = {name: list(csv.DictReader(io.StringIO(archive.read(name).decode()))) for name in archive.namelist()}
    return out / "r.html", out / "r.pdf", tables


# The CSVs' impact columns are the stored fields, in the stored units, plus the GWP of both phases.
COLUMNS = [*IMPACT_FIELDS, "total_gwp_gco2e"]


def sums(query, first: datetime, last: datetime, measurement: str, group: str = "", where: str = "") -> list[dict]:
    selected = ", ".join(f"sum({name}) AS {name}" for name in IMPACT_FIELDS)
    return query(f"SELECT {selected} FROM {measurement} WHERE time >= '{first:%Y-%m-%d}' AND "
                 f"time < '{last + timedelta(days=1):%Y-%m-%d}' {where} {group}")


def declared_gwp(query, first: datetime, last: datetime) -> dict[str, float]:
    """Per host, the manufacture GWP its makers declared: the machine's (less its monitors') where its
    points say `declared`, its monitors' where theirs do."""
    declared: dict[str, float] = {}
    for row in query(f"SELECT sum(embodied_gwp_gco2e) AS gwp, sum(monitor_embodied_gwp_gco2e) AS monitors "
                     f"FROM fp_host WHERE time >= '{first:%Y-%m-%d}' AND time < '{last + timedelta(days=1):%Y-%m-%d}' "
                     f"GROUP BY host, embodied_source, monitor_embodied_source"):
        monitors = row["monitors"] or 0.0
        declared[row["host"]] = declared.get(row["host"], 0.0) + (
            (row["gwp"] - monitors if row["embodied_source"] == "declared" else 0.0)
            + (monitors if row.get("monitor_embodied_source") == "declared" else 0.0))
    return declared


def assert_row_matches(row: dict, expected: dict) -> None:
    columns = list(row)
    first = columns.index(COLUMNS[0])
    assert columns[first:first + len(COLUMNS)] == COLUMNS, columns
    for name in IMPACT_FIELDS:
        assert float(row[name]) == pytest.approx(expected[name], rel=1e-9), (name, row)
    assert float(row["total_gwp_gco2e"]) == pytest.approx(
        expected["usage_gwp_gco2e"] + expected["embodied_gwp_gco2e"], rel=1e-9)


def test_totals_services_sites_days_and_hosts_match_the_raw_points(stored, report) -> None:
    query, _, first, last = stored
    _, _, tables = report
    total = sums(query, first, last, "fp_host")[0]
    assert total["energy_wh"] > 0 and total["embodied_gwp_gco2e"] > 0
    by_name = {row["criterion"]: row for row in tables["totals.csv"]}
    gwp = by_name["Climate change (GWP)"]
    assert float(gwp["usage"]) == pytest.approx(total["usage_gwp_gco2e"] / 1000, rel=1e-9)
    assert float(gwp["embodied"]) == pytest.approx(total["embodied_gwp_gco2e"] / 1000, rel=1e-9)
    assert float(by_name["Primary energy (PE)"]["total"]) == pytest.approx(
        total["usage_pe_mj"] + total["embodied_pe_mj"], rel=1e-9)
    assert float(by_name["Energy"]["total"]) == pytest.approx(total["energy_wh"] / 1000, rel=1e-9)

    services = {row["service"]: row for row in sums(query, first, last, "fp_service", "GROUP BY service")}
    assert {row["service"] for row in tables["services.csv"]} == set(services) and len(services) >= 3
    for row in tables["services.csv"]:
        assert_row_matches(row, services[row["service"]])
    # Sites come from the service rollups; the raw host points must give the same.
    sites = {row["site"]: row for row in sums(query, first, last, "fp_host", "GROUP BY site")}
    assert {row["site"] for row in tables["sites.csv"]} == set(sites)
    for row in tables["sites.csv"]:
        assert_row_matches(row, sites[row["site"]])
    daily = sums(query, first, last, "fp_host", "GROUP BY time(1d)")
    assert [row["day_utc"] for row in tables["trend.csv"]] == [f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"]
    for row, expected in zip(tables["trend.csv"], daily):
        assert_row_matches(row, expected)

    hosts = {row["host"]: row for row in sums(query, first, last, "fp_host", "GROUP BY host")}
    assert len(tables["hosts.csv"]) == len(hosts) == HOSTS
    for row in tables["hosts.csv"]:
        assert_row_matches(row, hosts[row["host"]])
        assert int(row["samples"]) == 48
    top = max(hosts, key=lambda h: hosts[h]["usage_gwp_gco2e"] + hosts[h]["embodied_gwp_gco2e"])
    assert tables["hosts.csv"][0]["host"] == top

    declared = declared_gwp(query, first, last)
    assert sum(declared.values()) > 0, "the simulated fleet has hosts its makers declared"
    assert {row["value"] for row in query("SHOW TAG VALUES FROM fp_host WITH KEY = embodied_source")} == {
        "declared", "fitted", "boavizta"}
    for row in tables["hosts.csv"]:
        assert float(row["declared_embodied_gwp_gco2e"]) == pytest.approx(declared[row["host"]], rel=1e-9, abs=1e-9)


def test_a_report_running_to_now_adds_raw_points_after_the_host_rollups(stored, tmp_path) -> None:
    """Yesterday from fp_host_1d, today (not over, not rolled up) from raw fp_host: every host still matches."""
    query, config, _, last = stored
    run_report(config, tmp_path, "--from", f"{last:%Y-%m-%d}", "--to", f"{last + timedelta(days=1):%Y-%m-%d}",
               "--format", "csv", "--name", "n")
    with zipfile.ZipFile(tmp_path / "n-csv.zip") as archive:
        hosts = list(csv.DictReader(io.StringIO(archive.read("hosts.csv").decode())))
    today = last + timedelta(days=1)
    if not query(f"SELECT count(energy_wh) FROM fp_host WHERE time >= '{today:%Y-%m-%d}'"):
        pytest.skip("no sample yet today (the first hour of the UTC day)")
    expected = {row["host"]: row for row in sums(query, last, today, "fp_host", "GROUP BY host")}
    counts = {row["host"]: row["count"] for row in query(
        f"SELECT count(energy_wh) FROM fp_host WHERE time >= '{last:%Y-%m-%d}' GROUP BY host")}
    assert {row["host"] for row in hosts} == set(expected) and len(hosts) == HOSTS
    for row in hosts:
        assert_row_matches(row, expected[row["host"]])
        assert int(row["samples"]) == counts[row["host"]] > 24


def test_budget_outcomes_match_the_raw_points(stored, report) -> None:
    query, _, first, last = stored
    _, _, tables = report
    budgets = {row["budget"]: row for row in tables["budgets.csv"]}
    workplace = "AND service = 'workplace'"
    days = [sums(query, at, at, "fp_service", where=workplace)[0] for at in (first, last)]
    spent_kwh = [d["energy_wh"] / 1000 for d in days]
    daily = budgets["workplace/day"]
    assert (daily["unit"], int(daily["periods_judged"]), daily["pro_rata"]) == ("kWh", 2, "False")
    assert float(daily["spent"]) == pytest.approx(sum(spent_kwh), rel=1e-9)
    assert float(daily["limit"]) == pytest.approx(1.0)
    assert int(daily["periods_exceeded"]) == sum(kwh >= 0.5 for kwh in spent_kwh)
    yearly = budgets["workplace/year"]
    factor = 0.9 ** (first.year - 2024)
    days_in_year = (datetime(first.year + 1, 1, 1) - datetime(first.year, 1, 1)).days
    assert yearly["pro_rata"] == "True" and yearly["unit"] == "kgCO2e"
    assert float(yearly["limit"]) == pytest.approx(40 * factor * 2 / days_in_year, rel=1e-9)
    spent = sum(d["usage_gwp_gco2e"] + d["embodied_gwp_gco2e"] for d in days) / 1000
    assert float(yearly["spent"]) == pytest.approx(spent, rel=1e-9)
    assert yearly["outcome"] == ("exceeded" if spent >= float(yearly["limit"]) else "within")


def test_the_services_what_ifs_add_up_to_the_fleets(stored, report) -> None:
    """Hosts shared by several services are apportioned: the services' savings add up to the fleet's (whatif.csv)."""
    from fleetprint.collector.config import load_collector_config
    from fleetprint.collector.store.connect import make_influxql
    from fleetprint.report.collect import collect
    from fleetprint.report.model import Scope
    from fleetprint.report.period import day_range

    _, config, first, last = stored
    _, _, tables = report
    settings = load_collector_config(str(config)).influxdb
    period = day_range(first.date(), last.date())
    fleet = {row["kind"]: row for row in tables["whatif.csv"]}["all"]
    services = [row["service"] for row in tables["services.csv"]]
    assert len(services) >= 3
    savings = [collect(lambda: make_influxql(settings), period, Scope(service=name), None, datetime.now(timezone.utc),
                       1.0, tqdm(disable=True)).whatif.total.saving_per_year_kg for name in services]
    assert all(saving > 0 for saving in savings)
    assert sum(savings) == pytest.approx(float(fleet["saving_kgco2e_per_year"]), rel=1e-6)


def test_a_service_report_has_the_services_figures_only(stored, tmp_path) -> None:
    query, config, first, last = stored
    run_report(config, tmp_path, "--from", f"{first:%Y-%m-%d}", "--to", f"{last:%Y-%m-%d}",
               "--service", "workplace", "--format", "csv", "--name", "s")
    assert [path.name for path in tmp_path.iterdir()] == ["s-csv.zip"]
    with zipfile.ZipFile(tmp_path / "s-csv.zip") as archive:
        totals = {row["criterion"]: row for row in csv.DictReader(io.StringIO(archive.read("totals.csv").decode()))}
        hosts = list(csv.DictReader(io.StringIO(archive.read("hosts.csv").decode())))
    expected = sums(query, first, last, "fp_service", where="AND service = 'workplace'")[0]
    assert float(totals["Energy"]["total"]) == pytest.approx(expected["energy_wh"] / 1000, rel=1e-9)
    workplace_hosts = query(f"SELECT count(energy_wh) FROM fp_service WHERE service = 'workplace' AND time >= "
                            f"'{first:%Y-%m-%d}' AND time < '{last + timedelta(days=1):%Y-%m-%d}' GROUP BY host")
    assert {row["host"] for row in hosts} == {row["host"] for row in workplace_hosts}
    assert all(row["kind"] in ("desktop", "laptop") for row in hosts)


@pytest.mark.parametrize("args, says", [
    (("--service", "nosuch"), "no data for service nosuch in "),
    (("--month", "2001-01"), "no data for the whole fleet in January 2001"),
])
def test_a_scope_or_period_without_data_is_refused_in_one_line(stored, tmp_path, args, says) -> None:
    _, config, first, last = stored
    period = ("--from", f"{first:%Y-%m-%d}", "--to", f"{last:%Y-%m-%d}") if "--month" not in args else ()
    done = subprocess.run([sys.executable, "-m", "fleetprint", "report", "-c", str(config), "-o", str(tmp_path),
                           *period, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and list(tmp_path.iterdir()) == [], done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and f"Error: nothing to report: {says}" in done.stderr, \
        done.stderr


def test_a_department_report_and_the_per_department_figures(stored, report, tmp_path) -> None:
    """The whole report's departments.csv holds the raw points' sums per department; a --department report
    the department's hosts and nothing else."""
    query, config, first, last = stored
    _, _, tables = report
    expected = {row["department"]: row for row in sums(query, first, last, "fp_host", "GROUP BY department")}
    assert {row["department"] for row in tables["departments.csv"]} == set(expected) and len(expected) >= 3
    for row in tables["departments.csv"]:
        assert_row_matches(row, expected[row["department"]])
    run_report(config, tmp_path, "--from", f"{first:%Y-%m-%d}", "--to", f"{last:%Y-%m-%d}",
               "--department", "it", "--format", "csv", "--name", "d")
    with zipfile.ZipFile(tmp_path / "d-csv.zip") as archive:
        totals = {row["criterion"]: row for row in csv.DictReader(io.StringIO(archive.read("totals.csv").decode()))}
        hosts = list(csv.DictReader(io.StringIO(archive.read("hosts.csv").decode())))
    assert float(totals["Energy"]["total"]) == pytest.approx(expected["it"]["energy_wh"] / 1000, rel=1e-9)
    assert hosts and all(row["kind"] in ("server", "vm") for row in hosts)  # the simulated IT owns servers and VMs


def chromium_driver(user_data_dir: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={user_data_dir}", "--window-size=1280,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)


def non_white_share(png: Path) -> float:
    image = Image.open(png).convert("L")
    histogram = image.histogram()
    return 1 - sum(histogram[245:]) / (image.width * image.height)


def test_the_html_page_renders_in_headless_chromium_without_console_errors(stored, report, tmp_path) -> None:
    query, _, first, last = stored
    html, _, _ = report
    text = html.read_text(encoding="utf-8")
    assert "http://" not in text.replace('href="http', "") and "<script" not in text  # self-contained
    with tempfile.TemporaryDirectory() as profile:
        driver = chromium_driver(profile)
        try:
            driver.get(html.as_uri())
            images = driver.execute_script(
                "return Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])")
            body = driver.execute_script("return document.body.innerText")
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1280, min(height + 200, 16000))
            screenshot = tmp_path / "report.png"
            assert driver.save_screenshot(str(screenshot))
            console = driver.get_log("browser")
        finally:
            driver.quit()
    assert [entry for entry in console if entry["level"] in ("SEVERE", "WARNING")] == []
    assert len(images) >= 5 and all(loaded for _, loaded in images), images
    total = sums(query, first, last, "fp_host")[0]
    assert body.index("In short") < body.index("Impacts per criterion") < body.index("Sources and methods")
    assert "km driven alone in a petrol or diesel car" in body and "impactco2.fr" in body
    assert "per host from the daily host rollup (fp_host_1d)" in body  # as docs/report.md says
    for heading in ("Impacts per criterion", "Per service", "Per site", "Trend over the period",
                    "Trajectory and budgets", "Top 10 hosts", "Hardware past its lifetime",
                    "What if hardware were kept 1 year longer", "Data quality", "Sources and methods"):
        assert heading in body, heading
    assert num((total["usage_gwp_gco2e"] + total["embodied_gwp_gco2e"]) / 1000) in body
    share = f"{100 * sum(declared_gwp(query, first, last).values()) / total['embodied_gwp_gco2e']:.1f}"
    assert f"{share} % of the manufacture GWP is its makers' declared figure" in body
    past = query(f"SELECT count(energy_wh) FROM fp_host WHERE past_lifetime = true AND time >= '{first:%Y-%m-%d}' "
                 f"AND time < '{last + timedelta(days=1):%Y-%m-%d}' GROUP BY host")
    assert f"{len(past)} of {HOSTS} reporting hosts" in body
    image = Image.open(screenshot)
    assert image.height > 3000 and non_white_share(screenshot) > 0.03


def test_the_pdf_has_pages_with_the_reports_content(stored, report, tmp_path) -> None:
    query, _, first, last = stored
    _, pdf, _ = report
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3 and text.count("\f") == len(pages)
    assert all(non_white_share(page) > 0.01 for page in pages)
    assert "In short" in text.split("\f")[0] and "Impacts per criterion" not in text.split("\f")[0]
    last_lines = [line for line in text.split("\f")[-2].splitlines() if line.strip()]
    assert len(last_lines) > 15, last_lines  # not a page for a table's last rows
    total = sums(query, first, last, "fp_host")[0]
    assert num((total["usage_gwp_gco2e"] + total["embodied_gwp_gco2e"]) / 1000) in text
    assert num(total["energy_wh"] / 1000) in text
    for words in ("IT footprint report", "Impacts per criterion", "Boavizta", "Data quality", "workplace/day"):
        assert words in text, words
    assert re.search(rf"\b1\s*/\s*{len(pages)}\n", text), "page numbers in the footer"


def test_the_report_shows_the_modelled_energy_by_power_model(stored, report) -> None:
    """Each host's modelled energy counted under its latest inventory's power model, as the raw points say."""
    query, _, first, last = stored
    html, _, _ = report
    between = f"time >= '{first:%Y-%m-%d}' AND time < '{last + timedelta(days=1):%Y-%m-%d}'"
    models = {row["host"]: row["last"] for row in query(
        f"SELECT last(power_model) FROM fp_inventory WHERE time < '{last + timedelta(days=1):%Y-%m-%d}' GROUP BY host")}
    expected: dict[str, float] = {}
    for row in query(f"SELECT sum(energy_wh) FROM fp_host WHERE {between} AND power_source = 'modelled' GROUP BY host"):
        expected[models[row["host"]]] = expected.get(models[row["host"]], 0.0) + row["sum"]
    text = html.read_text(encoding="utf-8")
    assert expected and "Modelled energy by power model" in text
    for model, wh in expected.items():
        assert f"<tr><td>{model}</td><td>{num(wh / 1000)}</td>" in text, model
