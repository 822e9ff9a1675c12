"""What a reader sees, from made-up figures (no database): an unfinished period's gaps, the budgets chart, the
first page in plain words, the what-if of a service's report, the [report] extra and refusals."""

from __future__ import annotations

import ast
import base64
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fleetprint.collector.budgets.config import Budget
from fleetprint.impacts import Impacts
from fleetprint.report import charts, french
from fleetprint.report import render_html as module
from fleetprint.report.collect import Quality, ReportData, _whatif
from fleetprint.report.csv_export import tables
from fleetprint.report.equivalences import CAR_KM, EQUIVALENCES, PERSON_DAYS_FRANCE
from fleetprint.report.language import Words
from fleetprint.report.model import HostFigures, InventoryFacts, Scope
from fleetprint.report.outcomes import BudgetOutcome
from fleetprint.report.period import month
from fleetprint.report.render_html import notes, num, render_html, summary
from fleetprint.report.render_text import render_text, subject
from fleetprint.report.trend import gaps, trend_points
from fleetprint.report.whatif import HOURS_PER_YEAR

NOVEMBER = month(2026, 11)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def day_row(day: int, usage_g: float, embodied_g: float = 100.0) -> dict:
    return {"time": int(utc(2026, 11, day).timestamp() * 1000), "energy_wh": usage_g * 2,
            "usage_gwp_gco2e": usage_g, "embodied_gwp_gco2e": embodied_g, "service": "web", "site": "paris",
            "department": "it"}


def test_an_unfinished_month_leaves_the_days_before_its_data_and_those_to_come_blank() -> None:
    """Data from the 12th (afternoon) to now, the 20th at 10:00: the 1st-11th and 21st-30th are gaps, the 12th
    and the 20th partial."""
    now = utc(2026, 11, 20, 10)
    rows = [day_row(day, 10.0 if day == 12 else 1000.0) for day in range(12, 21)]
    points = trend_points(NOVEMBER, rows, now, data_just_before=False)
    assert [p.impacts is None for p in points] == [True] * 11 + [False] * 9 + [True] * 10
    assert [p.start.day for p in points if p.partial] == [12, 20]
    assert [p.start.day for p in points if p.to_come] == list(range(21, 31))
    found = gaps(points)
    assert (found.leading, found.to_come, found.inside, found.first_data) == (11, 10, 0, utc(2026, 11, 12))
    # data on the day before the period: its first day is whole
    assert not trend_points(NOVEMBER, [day_row(1, 5.0)], now, data_just_before=True)[0].partial
    # days without data after data started are gaps too, and the day after one partial
    middle = trend_points(NOVEMBER, [day_row(1, 5.0), day_row(3, 5.0)], now, data_just_before=True)
    assert middle[1].impacts is None and middle[2].partial and gaps(middle).inside == 1 + 17  # the 2nd, 4th-20th


def report_data(**changes) -> ReportData:
    """A month of a three-host fleet, running to the 20th, with data from the 12th."""
    now = utc(2026, 11, 20, 10)
    rows = [day_row(day, 10.0 if day == 12 else 1000.0 + 50 * day) for day in range(12, 21)]
    hosts = {name: HostFigures(name, "paris", kind, Impacts().add({"energy_wh": wh, "usage_gwp_gco2e": wh / 2,
                                                                  "embodied_gwp_gco2e": wh / 4}), samples=100,
                               covered_s=360000.0, energy_by_step={"modelled": wh})
             for name, kind, wh in (("db-1", "server", 9000.0), ("pc-7", "desktop", 3000.0), ("pc-8", "laptop", 500.0))}
    services = {name: Impacts().add({"energy_wh": wh, "usage_gwp_gco2e": wh / 2, "embodied_gwp_gco2e": wh / 4})
                for name, wh in (("erp", 6000.0), ("mail", 4000.0), ("web", 2000.0), ("wiki", 500.0))}
    totals = sum((host.impacts for host in hosts.values()), Impacts())
    week = Budget(service="erp", period="week", limit_kgco2e=4.0)
    both = Budget(service="erp", period="month", limit_kgco2e=10.0, limit_kwh=3.0)
    outcomes = [BudgetOutcome(week, 2, 1, True, False, 5.04, 8.0, 6.0, None, 1.0),  # 63 %, one week over
                BudgetOutcome(both, 1, 1, True, False, 4.0, 10.0, 5.0, 3.0, 1.0)]  # 40 % and 166 %
    values = dict(
        period=NOVEMBER, scope=Scope(), generated_at=now, data_end=now, totals=totals, previous=None,
        previous_period=NOVEMBER.previous(), previous_days_with_data=0, services=services,
        sites={"paris": totals}, departments={"": totals},
        trend=trend_points(NOVEMBER, rows, now, data_just_before=False), hosts=hosts, inventory={},
        zones={}, pue={"paris": (1.0, 1.0)}, outcomes=outcomes, paths={}, whatif=_whatif(hosts, {}, 1.0),
        quality=Quality({"modelled": 12500.0}, 3, 3, [], [], 1.0, 0), boaviztapi_version="1.3")
    values.update(changes)
    return ReportData(**values)


def test_trend_csv_and_notes_say_gaps_not_zeros() -> None:
    data = report_data()
    trend = tables(data)["trend.csv"]
    assert trend[0][-1] == "partial"
    blank = [row for row in trend[1:] if row[1] == ""]
    assert [row[0] for row in blank] == [f"2026-11-{day:02d}" for day in (*range(1, 12), *range(21, 31))]
    assert all(cell == "" for row in blank for cell in row[1:-1])
    assert "0.0" not in [row[1] for row in trend[1:]]
    text = " ".join(notes(data))
    assert "No data before 2026-11-12" in text and "the first 11 days are left blank" in text
    assert "The 10 days still to come are left blank" in text
    html = render_html(data)
    assert "lowest: Fri 13 Nov" in html  # not the partial 12th, nor a blank day


def svg(uri: str) -> str:
    return base64.b64decode(uri.split(",", 1)[1]).decode()


def test_budget_bars_colour_each_limit_by_its_own_share_and_show_every_limit() -> None:
    data = report_data()
    bars = charts.budget_bars(data.outcomes)
    assert [(name, round(share), state) for name, share, state in bars] == [
        ("erp/week", 63, "some exceeded"), ("erp/month (kgCO2e)", 40, "in progress"),
        ("erp/month (kWh)", 167, "exceeded")]
    image = svg(charts.budgets(data.outcomes, {"within": "within", "in progress": "in progress",
                                               "some exceeded": "some periods exceeded", "exceeded": "exceeded",
                                               "axis": "% of the limit", "title": "Budgets"}))
    assert "<!-- erp/month (kWh) -->" in image and "<!-- some periods exceeded -->" in image
    fills = set(re.findall(r"fill: (#[0-9a-f]{6})", image))
    assert {charts.STATE_COLOURS[state].lower() for state in ("exceeded", "some exceeded")} <= fills


def test_the_first_page_speaks_plain_words_with_sourced_equivalents() -> None:
    data = report_data(previous=Impacts().add({"usage_gwp_gco2e": 5000.0, "embodied_gwp_gco2e": 1000.0}))
    page = summary(data, ZoneInfo("Europe/Paris"))
    kg = data.totals.kgco2e
    assert page["opening"].startswith(f"In November 2026, the whole IT fleet emitted {num(kg)} kg of CO2 equivalent")
    assert page["comparison"] == f"That is {100 * (kg - 6) / 6:.1f} % more than in October 2026 (6.00 kg of CO2 " \
                                 "equivalent)."
    assert [text for text, _, _ in page["equivalents"]] == [
        CAR_KM.text % {"count": num(kg / 0.218)}, PERSON_DAYS_FRANCE.text % {"count": num(kg / (9200 / 365.25))}]
    assert all(source and url.startswith("https://") for _, source, url in page["equivalents"])
    assert page["contributors_heading"] == "The three largest services:"
    assert [name for name, _, _ in page["contributors"]] == ["erp", "mail", "web"]
    assert page["budgets"][0].startswith("erp/week: exceeded (2 week(s) judged, 1 over the limit")
    html = render_html(data, tz=ZoneInfo("Europe/Paris"))
    assert html.index('id="summary"') < html.index('id="criteria"') < html.index('id="sources"')
    assert "generated 2026-11-20 11:00 CET" in html and "figures run to 2026-11-20 11:00 CET" in html


def test_a_service_reports_what_if_apportions_shared_hosts() -> None:
    """Two services share a host half and half: each one's saving is half the host's, together the host's."""
    inventory = {"db-1": InventoryFacts("db-1", "server", "paris", 4 * HOURS_PER_YEAR, 800_000.0, utc(2020, 1, 1))}
    whole = HostFigures("db-1", "paris", "server", Impacts().add({"embodied_gwp_gco2e": 1000.0, "energy_wh": 10.0}))
    fleet = _whatif({"db-1": whole}, inventory, 1.0)
    halves = [_whatif({"db-1": HostFigures("db-1", "paris", "server", Impacts().add(
        {"embodied_gwp_gco2e": 500.0, "energy_wh": 5.0}))}, inventory, 1.0, {"db-1": whole.impacts})
        for _ in range(2)]
    assert fleet.total.saving_per_year_kg == pytest.approx(800 / 4 - 800 / 5)
    assert sum(w.total.saving_per_year_kg for w in halves) == pytest.approx(fleet.total.saving_per_year_kg)


def test_without_the_report_extra_one_line_names_it() -> None:
    """jinja2 not found: one line naming the extra, no traceback."""
    code = ("import importlib.util, sys; real = importlib.util.find_spec; "
            "importlib.util.find_spec = lambda n, *a: None if n == 'jinja2' else real(n, *a); "
            "from fleetprint.cli import main; sys.argv = ['fleetprint', 'report', '--month', '2026-10']; main()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "Error: `fleetprint report` needs the [report] extra (missing: jinja2): pip install 'fleetprint[report]'"]


def test_a_future_month_is_refused_before_any_query(tmp_path) -> None:
    future = datetime.now(timezone.utc) + timedelta(days=62)
    config = tmp_path / "collector.toml"
    config.write_text('[influxdb]\nurl = "http://127.0.0.1:9"\n')  # nothing listens: a query would fail otherwise
    done = subprocess.run([sys.executable, "-m", "fleetprint", "report", "-c", str(config), "--month",
                           f"{future:%Y-%m}", "-o", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == "" and list(tmp_path.iterdir()) == [config]
    assert done.stderr.strip().splitlines() == [f"Error: nothing to report: {future:%B %Y} has not started yet"]


def test_the_french_report_has_every_sentence_translated_and_french_figures() -> None:
    words = Words("fr")
    data = report_data(previous=Impacts().add({"usage_gwp_gco2e": 5000.0, "embodied_gwp_gco2e": 1000.0}),
                       outcomes=report_data().outcomes + [BudgetOutcome(
                           Budget(service="web", period="year", limit_kgco2e=40.0), 1, 0, True, True, 1.5, 3.3,
                           1.0, None, 1.0)])
    html = unescape(render_html(data, tz=ZoneInfo("Europe/Paris"), words=words))
    assert words.missing == set()
    assert '<html lang="fr">' in html and "Empreinte du numérique – novembre 2026" in html
    assert "En novembre 2026, l'ensemble du parc informatique a émis 9,38 kg d'équivalent CO2" in html
    assert "C'est 56,2 % de plus qu'en octobre 2026 (6,00 kg" in html  # 9.375 against 6
    assert "Jour complet le plus haut : ven. 20 nov." not in html  # the 20th is partial
    assert "produit le 2026-11-20 11:00 CET" in html
    english = render_html(data, tz=ZoneInfo("Europe/Paris"))
    assert "In November 2026, the whole IT fleet emitted 9.38 kg of CO2 equivalent" in english


def test_numbers_and_dates_in_french() -> None:
    words = Words("fr")
    assert [words.num(v) for v in (26083.52, 85.96, 0.0000421, -1234.5)] == [
        "26\u202f084", "86,0", "0,0000421", "-1\u202f234"]
    assert (words.day(utc(2026, 11, 13)), words.month_year(utc(2026, 2, 1))) == ("ven. 13 nov.", "février 2026")
    assert words.period(NOVEMBER.previous()) == "octobre 2026"
    with pytest.raises(ValueError):
        Words("de")


def test_every_sentence_of_the_template_and_the_code_has_its_french() -> None:
    """Read from the sources, so that a sentence on a path the made-up report does not take is checked too."""
    folder = Path(module.__file__).parent
    template = (folder / "templates" / "report.html.j2").read_text(encoding="utf-8")
    msgids = {(m[0] or m[1]).replace('\\"', '"') for m in re.findall(
        r'''_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')''', template)}
    for name in ("render_html.py", "language.py", "equivalences.py"):
        for node in ast.walk(ast.parse((folder / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                    "words", "self", "lookup") and node.args and isinstance(node.args[0], ast.Constant):
                msgids.add(node.args[0].value)
    msgids |= set(module.BUDGET_PERIODS.values()) | set(module.BUDGET_STATES.values())
    msgids |= {e.text for e in EQUIVALENCES} | {e.source for e in EQUIVALENCES}
    assert len(msgids) > 100 and msgids - set(french.SENTENCES) == set()


def test_the_mail_body_is_the_first_page_in_plain_words_in_the_readers_language() -> None:
    data = report_data()
    files = [Path("footprint-2026-11-fleet.pdf")]
    english = render_text(data, files, ZoneInfo("Europe/Paris"), Words("en"))
    page = summary(data, ZoneInfo("Europe/Paris"))
    assert english.startswith("IT footprint report – November 2026\n\nIn November 2026, the whole IT fleet emitted")
    assert f"{page['opening']} {page['comparison']}" in english
    assert "1. erp: 4.50 kgCO2e, 48.0 %" in english and "- " + page["budgets"][0] in english
    assert "figures run to 2026-11-20 11:00 CET" in english  # the reader's zone
    assert "The full report, with its tables and methods: footprint-2026-11-fleet.pdf." in english
    for number, (_, source, url) in enumerate(page["equivalents"], 1):
        assert f"[{number}] {source}: {url}" in english
    words = Words("fr")
    french_text = render_text(data, files, ZoneInfo("Europe/Paris"), words)
    assert not words.missing and "1. erp : 4,50 kgCO2e, 48,0 %" in french_text
    assert subject(data, words) == "Empreinte du numérique – novembre 2026 : 9,38 kgCO2e"
