"""The report's first page as plain text: the body of the mail a scheduled report is sent with, and
the `text` of its webhook (chat tools show it)."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path

from fleetprint.report.collect import ReportData
from fleetprint.report.language import Words
from fleetprint.report.render_html import notes, summary, title


def subject(data: ReportData, words: Words) -> str:
    """"IT footprint report – October 2026: 1,234 kgCO2e"."""
    return words("%(title)s: %(amount)s kgCO2e", title=title(data, words), amount=words.num(data.totals.kgco2e))


def render_text(data: ReportData, files: list[Path], tz: tzinfo, words: Words) -> str:
    """The first page in plain words, the files' names, then the equivalences' sources."""
    page = summary(data, tz, words)
    lines = [title(data, words), "", f"{page['opening']} {page['comparison']}", "", words("That is about as much as:")]
    lines += [f"- {text} [{number}]" for number, (text, _, _) in enumerate(page["equivalents"], 1)]
    lines += ["", str(page["contributors_heading"])]
    lines += [f"{number}. " + words("%(name)s: %(kg)s kgCO2e, %(share)s %%", name=name, kg=kg, share=share)
              for number, (name, kg, share) in enumerate(page["contributors"], 1)]
    if page["budgets"]:
        lines += ["", words("Budgets:")] + [f"- {line}" for line in page["budgets"]]
    lines += [""] + notes(data, tz, words)
    if files:
        lines += ["", words("The full report, with its tables and methods: %(files)s.",
                            files=", ".join(path.name for path in files))]
    lines += [""] + [f"[{number}] " + words("%(source)s: %(url)s", source=source, url=url)
                     for number, (_, source, url) in enumerate(page["equivalents"], 1)]
    return "\n".join(lines).replace("\n\n\n", "\n\n").strip() + "\n"
