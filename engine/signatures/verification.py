"""Verifying any PDF, ours or another agency's: which roots judge it, the report as a file.

Three trust lists can judge a file, and the report names the one that vouched for each
signature: the agency's own roots (``trust_roots``, default the PKI's root), the government's
list shipped with Vanthu (with ``government_trust = true``), and roots given for one check
(``--trust``), which count beside the others. Outside an agency folder only the given ones
count, and there must be some.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography import x509

from engine.core.errors import InvalidInput
from engine.core.programs import html_to_pdf
from engine.core.workspace import Workspace
from engine.signatures import keys
from engine.signatures.report import render_html
from signing import DocumentReport, SigningError, TrustList, verify_document
from vanthu.errors import VanthuError

REPORT_SUFFIXES = (".html", ".htm", ".pdf")
_PDF_HEADER_WITHIN = 1024
"""A PDF's '%PDF-' header may follow a little junk (readers accept it within the first 1 KiB)."""


def verify_file(
    ws: Workspace | None, pdf: bytes, extra: Sequence[Path], *, fetch: bool = True
) -> DocumentReport:
    """Every signature of ``pdf``, judged by the agency's trust lists and the roots in the
    ``extra`` files (``--trust``). Raises :class:`signing.SigningError` for a file that is not
    a readable PDF, or one that needs a password to open."""
    configured, given = trust_lists(ws, extra)
    return verify_document(pdf, configured, fetch=fetch, trust_lists=given)


def verify_upload(ws: Workspace, pdf: bytes) -> DocumentReport:
    """The signatures of a PDF someone uploaded to check (the public verify page): judged by
    the agency's trust lists, with revocation asked online. Nothing is stored or audited (the
    file is anyone's, the answer reveals nothing of the agency). An empty, oversized, non-PDF
    or unreadable file is :class:`InvalidInput` with a one-line message."""
    limit = ws.settings.max_upload_bytes
    if not pdf:
        raise InvalidInput(
            "tệp rỗng: hãy chọn một tệp PDF",
            "the file is empty: choose a PDF file",
            code="verify.empty",
        )
    if len(pdf) > limit:
        raise InvalidInput(
            f"tệp lớn hơn giới hạn {limit // (1024 * 1024)} MB",
            f"the file is larger than the {limit // (1024 * 1024)} MB limit",
            code="verify.too_large",
            size=len(pdf),
            max_bytes=limit,
        )
    if b"%PDF-" not in pdf[:_PDF_HEADER_WITHIN]:
        raise InvalidInput(
            "tệp không phải PDF",
            "the file is not a PDF",
            code="verify.not_pdf",
        )
    try:
        return verify_file(ws, pdf, [])
    except SigningError as exc:
        if not exc.code.startswith("signing.pdf."):
            raise  # the agency's trust lists, not the file
        raise InvalidInput(  # the reader's own words: not a PDF, broken, a password
            exc.message,
            exc.message_en,
            code="verify.unreadable",
            cause=exc.code,
        ) from exc


def trust_lists(ws: Workspace | None, extra: Sequence[Path]) -> tuple[list[bytes], list[TrustList]]:
    """The configured roots (the agency's own, and the government's list when switched on),
    and the roots of the ``extra`` files as the list given for this check (read now)."""
    given = [_read_trust_file(path) for path in extra]
    listed = [TrustList("given", tuple(given))] if given else []
    if ws is None:
        if not given:
            raise InvalidInput(
                "không ở trong thư mục cơ quan nào (không có vanthu.toml): cho biết chứng thư "
                "gốc tin cậy bằng --trust ROOT.pem",
                "not in an agency folder (no vanthu.toml): name the trusted root with "
                "--trust ROOT.pem",
                code="verify.no_trust_roots",
            )
        return [], listed
    try:
        configured = keys.trust_roots(ws)
    except VanthuError as exc:
        # an agency folder without its keys still checks against --trust files; a government
        # list that fails its fingerprint check is never passed over
        if not given or exc.code.startswith("signing.trust_list."):
            raise
        configured = []
    return configured, listed


def _read_trust_file(path: Path) -> bytes:
    """A --trust file: one or more certificates, PEM or DER."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            f"không đọc được tệp --trust ({exc.strerror})",
            f"the --trust file cannot be read ({exc.strerror})",
            code="verify.trust_unreadable",
            file=str(path),
        ) from exc
    try:
        if b"-----BEGIN" in data:
            x509.load_pem_x509_certificates(data)
        else:
            x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise InvalidInput(
            "tệp --trust không phải chứng thư số (PEM hoặc DER)",
            "the --trust file is not a certificate (PEM or DER)",
            code="verify.trust_not_certificate",
            file=str(path),
        ) from exc
    return data


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
