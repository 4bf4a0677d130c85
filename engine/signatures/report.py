"""A validation report a clerk can read and file: HTML (Jinja2), or PDF through LibreOffice."""

from __future__ import annotations

import hashlib
from datetime import datetime

import jinja2

from engine.signatures.labels import (
    CHANGES,
    COLOURS,
    COVERS,
    KINDS,
    REVOCATIONS,
    SOURCES,
    TRUST_LISTS,
    TRUST_LISTS_EN,
    VERDICTS,
    VERDICTS_EN,
)
from signing import DocumentReport, reason_text

TEMPLATE = "verify_report.html"

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("engine.signatures", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%H:%M:%S ngày %d/%m/%Y (%z)") if moment else "—"


_environment.filters["when"] = _when


def render_html(report: DocumentReport, file_name: str, pdf: bytes) -> str:
    """The report as one self-contained HTML page, in Vietnamese with English reasons."""
    return _environment.get_template(TEMPLATE).render(
        report=report,
        file_name=file_name,
        sha256=hashlib.sha256(pdf).hexdigest(),
        verdicts=VERDICTS,
        verdicts_en=VERDICTS_EN,
        colours=COLOURS,
        kinds=KINDS,
        revocations=REVOCATIONS,
        sources=SOURCES,
        covers=COVERS,
        changes=CHANGES,
        trust_lists=TRUST_LISTS,
        trust_lists_en=TRUST_LISTS_EN,
        reason_text=reason_text,
        yes_no=lambda value: "có" if value else "KHÔNG",
    )
