"""Verifying any PDF, ours or another agency's: which roots judge it, the report as a file.

Roots given for one check (``--trust``) count beside the agency's configured ones; outside an
agency folder only the given ones count, and there must be some.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.core.errors import InvalidInput
from engine.core.programs import html_to_pdf
from engine.core.workspace import Workspace
from engine.signatures import keys
from engine.signatures.report import render_html
from signing import DocumentReport
from vanthu.errors import VanthuError

REPORT_SUFFIXES = (".html", ".htm", ".pdf")


def trust_roots(ws: Workspace | None, extra: Sequence[Path]) -> list[bytes]:
    """The roots that judge a file: ``extra`` (read now) and the agency's, if any."""
    roots = []
    for path in extra:
        try:
            roots.append(path.read_bytes())
        except OSError as exc:
            raise InvalidInput(
                f"không đọc được tệp --trust ({exc.strerror})",
                f"the --trust file cannot be read ({exc.strerror})",
                code="verify.trust_unreadable",
                file=str(path),
            ) from exc
    if ws is None:
        if not roots:
            raise InvalidInput(
                "không ở trong thư mục cơ quan nào (không có vanthu.toml): cho biết chứng thư "
                "gốc tin cậy bằng --trust ROOT.pem",
                "not in an agency folder (no vanthu.toml): name the trusted root with "
                "--trust ROOT.pem",
                code="verify.no_trust_roots",
            )
        return roots
    try:
        roots += keys.trust_roots(ws)
    except VanthuError:
        if not roots:
            raise
    return roots


def check_report_path(path: Path) -> None:
    """Refuse a report file we cannot write, before the (slow) check runs."""
    if path.suffix.lower() not in REPORT_SUFFIXES:
        raise InvalidInput(
            f"--report {path}: chỉ ghi được tệp .html hoặc .pdf",
            f"--report {path}: only .html or .pdf files can be written",
            code="verify.report_type",
        )
    if not path.parent.resolve().is_dir():
        raise InvalidInput(
            f"--report {path}: không có thư mục {path.parent}",
            f"--report {path}: no folder {path.parent}",
            code="output.folder_missing",
        )


def report_file(
    report: DocumentReport, file_name: str, pdf: bytes, *, as_pdf: bool, soffice: str
) -> bytes:
    """The report a clerk files: HTML, or PDF through LibreOffice."""
    html = render_html(report, file_name, pdf)
    if as_pdf:
        return html_to_pdf(html, soffice=soffice)
    return html.encode("utf-8")
