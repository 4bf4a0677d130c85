"""Validate every signature of any PDF: integrity, chain to the given roots, later changes.

A broken or malformed signature is a finding, reported as invalid, never an exception: the
clerk receiving a document from another agency must get a report whatever arrives. Revocation
is not checked yet (no OCSP/CRL service), so the context is 'soft-fail' without fetching.
"""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

from signing._aio import run_sync
from signing._errors import SigningError
from signing._fields import read_pdf
from signing._findings import Finding, broken, signature_finding, timestamp_finding
from signing._report import DocumentReport

_DOCUMENT_TIMESTAMP = "/DocTimeStamp"


def verify_document(pdf: bytes, trust_roots: Sequence[bytes]) -> DocumentReport:
    """Validate every signature against ``trust_roots`` (PEM or DER certificates)."""
    roots = _load_roots(trust_roots)
    reader = read_pdf(pdf)
    return run_sync(_verify(reader, roots))


def _load_roots(trust_roots: Sequence[bytes]) -> list[asn1_x509.Certificate]:
    roots: list[asn1_x509.Certificate] = []
    for index, data in enumerate(trust_roots):
        try:
            roots.extend(load_certs_from_pemder_data(data))
        except (ValueError, TypeError) as exc:
            raise SigningError(f"chứng thư gốc tin cậy thứ {index + 1} không đọc được") from exc
    return roots


async def _verify(reader: PdfFileReader, roots: list[asn1_x509.Certificate]) -> DocumentReport:
    context = ValidationContext(
        trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"
    )
    try:
        found = list(enumerate_sig_fields(reader, filled_status=True))
    except Exception as exc:  # a malformed form tree is a finding about the file
        return _verdict((), [f"không đọc được danh sách chữ ký của PDF: {exc}"])
    findings = [await _one(reader, name, field, context) for name, _value, field in found]
    findings.sort(key=lambda finding: finding.position)
    return _verdict(tuple(findings), [])


async def _one(
    reader: PdfFileReader, name: str, field: generic.DictionaryObject, context: ValidationContext
) -> Finding:
    position = _position(field)
    try:
        embedded = EmbeddedPdfSignature(reader, field, name)
    except Exception as exc:  # malformed signature dictionary: no /ByteRange, bad /Contents
        return Finding(broken(name, None, f"chữ ký không đọc được: {exc}"), position, fatal=True)
    try:
        if embedded.sig_object_type == _DOCUMENT_TIMESTAMP:
            stamp = await async_validate_pdf_timestamp(embedded, context)
            return timestamp_finding(name, stamp, position)
        status = await async_validate_pdf_signature(embedded, context)
        return signature_finding(reader, name, embedded, status, position)
    except Exception as exc:  # whatever fails inside pyHanko is a finding about this signature
        report = broken(name, embedded, f"không kiểm tra được chữ ký: {exc}")
        return Finding(report, position, fatal=True)


def _position(field: generic.DictionaryObject) -> int:
    """Where the signature's contents end in the file: later signatures end later."""
    try:
        return int(field["/V"]["/ByteRange"][2])
    except Exception:  # no readable /ByteRange: list it last
        return 1 << 62


def _verdict(findings: tuple[Finding, ...], unreadable: list[str]) -> DocumentReport:
    signatures = tuple(finding.report for finding in findings)
    reasons = [*unreadable]
    for report in signatures:
        reasons.extend(f"{report.field} ({report.signer}): {p}" for p in report.problems)
    if not signatures:
        verdict = "invalid" if unreadable else "unsigned"
        reasons = reasons or ["tệp không có chữ ký số"]
    elif unreadable or any(finding.fatal for finding in findings):
        verdict = "invalid"
    elif any(not report.valid for report in signatures):
        verdict = "indeterminate"
    else:
        verdict = "valid"
    return DocumentReport(signatures=signatures, verdict=verdict, reasons=tuple(reasons))
