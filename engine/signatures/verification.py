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
from signing import DocumentReport, TrustList, verify_document
from vanthu.errors import VanthuError

REPORT_SUFFIXES = (".html", ".htm", ".pdf")


def verify_file(
    ws: Workspace | None, pdf: bytes, extra: Sequence[Path], *, fetch: bool = True
) -> DocumentReport:
    """Every signature of ``pdf``, judged by the agency's trust lists and the roots in the
    ``extra`` files (``--trust``). Raises :class:`signing.SigningError` for a file that is not
    a readable PDF, or one that needs a password to open."""
    configured, given = trust_lists(ws, extra)
    return verify_document(pdf, configured, fetch=fetch, trust_lists=given)


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
