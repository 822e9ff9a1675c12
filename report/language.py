"""The report's words in the reader's language: its sentences (English, or their French next to them in
`french`), numbers (12,345.6 or 12 345,6) and dates (November 2026 or novembre 2026).

Sentences are looked up by their English text, `%(name)s` placeholders filled in afterwards (a literal
percent sign is written `%%`), as Jinja2's newstyle gettext does in the template.
"""

from __future__ import annotations

import math
from datetime import datetime

from fleetprint.report import french
from fleetprint.report.model import Scope
from fleetprint.report.period import DAY, Period

LANGUAGES = ("en", "fr")
NARROW_NBSP = "\u202f"  # French thousands separator (and before % and units)


def plain_number(value: float) -> str:
    """Plain digits (never 4.21e-05), three significant figures, whole numbers from 100 on, with thousands
    separators: 12,345 · 12.3 · 0.00532 · 0.0000421."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else "–"
    if abs(value) >= 99.95:
        return f"{value:,.0f}"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{decimals}f}"
    if decimals and abs(float(text.replace(",", ""))) >= 10 ** (3 - decimals):  # 9.996 rounds up to 10.00
        text = f"{value:,.{decimals - 1}f}"
    return text


class Words:
    """Sentences, numbers and dates in one language; remembers the sentences it had no translation for."""

    def __init__(self, lang: str = "en") -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"language {lang!r}: one of {', '.join(LANGUAGES)}")
        self.lang = lang
        self.missing: set[str] = set()

    def lookup(self, msgid: str) -> str:
        """The sentence in this language, placeholders not filled in."""
        if self.lang == "en":
            return msgid
        text = french.SENTENCES.get(msgid)
        if text is None:
            self.missing.add(msgid)
            return msgid
        return text

    def __call__(self, msgid: str, **values: object) -> str:
        return self.lookup(msgid) % values

    def localise(self, text: str) -> str:
        """English digits (12,345.6) as this language writes them."""
        if self.lang == "fr":
            return text.replace(",", NARROW_NBSP).replace(".", ",")
        return text

    def num(self, value: float) -> str:
        return self.localise(plain_number(value))

    def fixed(self, value: float, decimals: int) -> str:
        return self.localise(f"{value:,.{decimals}f}")

    def pct(self, part: float, whole: float) -> str:
        return self.fixed(100 * part / whole, 1) if whole else "–"

    def month(self, at: datetime) -> str:
        """November / novembre."""
        return french.MONTHS[at.month - 1] if self.lang == "fr" else f"{at:%B}"

    def month_year(self, at: datetime) -> str:
        return f"{self.month(at)} {at.year}"

    def day(self, at: datetime) -> str:
        """Fri 13 Nov / ven. 13 nov."""
        if self.lang == "fr":
            return f"{french.WEEKDAYS[at.weekday()]} {at.day} {french.MONTHS_SHORT[at.month - 1]}"
        return f"{at:%a %d %b}"

    def period(self, period: Period) -> str:
        """November 2026, 2026, or 2026-10-03 to 2026-10-09 (du 2026-10-03 au 2026-10-09)."""
        if period.kind == "month":
            return self.month_year(period.start)
        if period.kind == "year":
            return str(period.start.year)
        return self("%(first)s to %(last)s", first=f"{period.start:%Y-%m-%d}", last=f"{period.end - DAY:%Y-%m-%d}")

    def scope(self, scope: Scope) -> str:
        if scope.service:
            return self("service %(name)s", name=scope.service)
        if scope.site:
            return self("site %(name)s", name=scope.site)
        if scope.department:
            return self("department %(name)s", name=scope.department)
        return self("whole fleet")
