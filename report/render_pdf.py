"""The report as PDF, from the same HTML page, laid out for A4 by WeasyPrint."""

from __future__ import annotations

import logging
from pathlib import Path

LAST_PAGE_MIN_FILL = 0.4  # a last page filled less than this is laid out again, compacter
END_ANCHOR = "report-end"  # the id of the page's last element


def last_page_fill(document) -> float:
    """How far down its last page the report ends (0 to 1), from the end anchor's position."""
    page = document.pages[-1]
    box = page.anchors.get(END_ANCHOR)  # (left, top, right, bottom) in CSS px
    return box[1] / page.height if box else 1.0


def render_pdf(html: str, out: Path) -> None:
    """Write the HTML page as a paginated PDF (page numbers in the footer); when its last page would hold a few
    lines only, laid out compacter (smaller text and charts) to pull them back."""
    from weasyprint import HTML

    # WeasyPrint logs every CSS property it ignores at WARNING; they are expected, not news.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    document = HTML(string=html).render()
    if len(document.pages) > 1 and last_page_fill(document) < LAST_PAGE_MIN_FILL:
        compact = HTML(string=html.replace("<body>", '<body class="compact">', 1)).render()
        if len(compact.pages) < len(document.pages) or last_page_fill(compact) >= LAST_PAGE_MIN_FILL:
            document = compact
    document.write_pdf(out)
