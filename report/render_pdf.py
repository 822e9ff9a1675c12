"""The report as PDF, from the same HTML page, laid out for A4 by WeasyPrint."""

from __future__ import annotations

import logging
from pathlib import Path


def render_pdf(html: str, out: Path) -> None:
    """Write the HTML page as a paginated PDF (page numbers in the footer)."""
    from weasyprint import HTML

    # WeasyPrint logs every CSS property it ignores at WARNING; they are expected, not news.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    HTML(string=html).write_pdf(out)
