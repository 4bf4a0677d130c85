"""What pyHanko's validation status of one signature means for a reader of the report."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import read_certification_data
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    ModificationInfo,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    SignatureStatus,
)

from signing._clock import in_vietnam
from signing._policy import common_name, organisation
from signing._report import SignatureReport

_MODIFICATION = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "none",
    ModificationLevel.FORM_FILLING: "form_filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other",
}
_DOCMDP = {
    MDPPerm.NO_CHANGES: "no_changes",
    MDPPerm.FILL_FORMS: "form_filling",
    MDPPerm.ANNOTATE: "annotations",
}
_IN_VIETNAMESE = {
    "none": "không có",
    "form_filling": "điền biểu mẫu",
    "annotations": "thêm chú thích",
    "other": "sửa nội dung",
    "no_changes": "không được thay đổi",
}


@dataclass(frozen=True)
class Finding:
    """One signature's report with what the verdict needs beyond it."""

    report: SignatureReport
    position: int
    """Byte offset of the signature in the file, to list signatures in signing order."""
    fatal: bool
    """Broken, altered, or changed afterwards beyond what is allowed; untrusted is not fatal."""


def broken(name: str, embedded: EmbeddedPdfSignature | None, problem: str) -> SignatureReport:
    """A signature that could not be validated at all."""
    cert = _certificate(embedded)
    return SignatureReport(
        field=name,
        signer=common_name(cert.subject) if cert else "?",
        organisation=organisation(cert.subject) if cert else None,
        serial=cert.serial_number if cert else 0,
        issuer=common_name(cert.issuer) if cert else "?",
        signing_time=None,
        intact=False,
        trusted=False,
        covers_whole_file=False,
        modification="other",
        certification=False,
        docmdp=None,
        valid=False,
        problems=(problem,),
    )


def signature_finding(
    reader: PdfFileReader,
    name: str,
    embedded: EmbeddedPdfSignature,
    status: PdfSignatureStatus,
    position: int,
) -> Finding:
    modification = _modification(status)
    docmdp = _DOCMDP.get(embedded.docmdp_level) if embedded.docmdp_level else None
    timestamp = status.timestamp_validity
    when = timestamp.timestamp if timestamp and timestamp.trusted else status.signer_reported_dt
    problems = _common_problems(status)
    if status.docmdp_ok is False:
        allowed = _IN_VIETNAMESE[docmdp] if docmdp else "điền biểu mẫu"
        problems.append(
            f"PDF bị thay đổi sau khi ký quá mức cho phép (thay đổi: "
            f"{_IN_VIETNAMESE[modification]}; cho phép: {allowed})"
        )
    if status.seed_value_constraint_error is not None:
        error = status.seed_value_constraint_error
        problems.append(f"không đáp ứng ràng buộc của trường chữ ký: {error}")
    report = _report(name, status, when, modification, problems)
    report = replace(report, certification=_is_certification(reader, embedded), docmdp=docmdp)
    fatal = (
        not (status.intact and status.valid)
        or status.docmdp_ok is False
        or not _coverage_ok(status)
        or status.seed_value_constraint_error is not None
    )
    return Finding(replace(report, valid=status.bottom_line), position, fatal)


def timestamp_finding(name: str, status: DocumentTimestampStatus, position: int) -> Finding:
    """A document timestamp (PAdES B-LTA): it vouches for the time and locks nothing."""
    problems = _common_problems(status)
    report = _report(name, status, status.timestamp, _modification(status), problems)
    intact = status.intact and status.valid
    fatal = not intact or not _coverage_ok(status)
    return Finding(replace(report, valid=intact and status.trusted), position, fatal)


def _report(
    name: str,
    status: SignatureStatus,
    when: datetime | None,
    modification: str,
    problems: list[str],
) -> SignatureReport:
    cert = x509.load_der_x509_certificate(status.signing_cert.dump())
    coverage = status.coverage if isinstance(status, ModificationInfo) else None
    return SignatureReport(
        field=name,
        signer=common_name(cert.subject),
        organisation=organisation(cert.subject),
        serial=cert.serial_number,
        issuer=common_name(cert.issuer),
        signing_time=in_vietnam(when),
        intact=status.intact and status.valid,
        trusted=status.trusted,
        covers_whole_file=coverage == SignatureCoverageLevel.ENTIRE_FILE,
        modification=modification,
        certification=False,
        docmdp=None,
        valid=False,
        problems=tuple(problems),
    )


def _modification(status: ModificationInfo) -> str:
    level = status.modification_level
    return _MODIFICATION.get(level, "other") if level is not None else "other"


def _coverage_ok(status: ModificationInfo) -> bool:
    return status.coverage is not None and status.coverage >= SignatureCoverageLevel.ENTIRE_REVISION


def _common_problems(status: SignatureStatus) -> list[str]:
    problems = []
    if not status.intact:
        problems.append("nội dung đã bị thay đổi sau khi ký (mã băm không khớp)")
    elif not status.valid:
        problems.append("giá trị chữ ký không khớp với chứng thư số")
    if not status.trusted:
        indication = status.trust_problem_indic
        detail = f" ({indication.standard_name})" if indication is not None else ""
        problems.append(f"chứng thư số không dẫn tới chứng thư gốc tin cậy nào{detail}")
    if isinstance(status, ModificationInfo) and not _coverage_ok(status):
        problems.append("chữ ký không phủ toàn bộ phiên bản tài liệu đã ký")
    return problems


def _is_certification(reader: PdfFileReader, embedded: EmbeddedPdfSignature) -> bool:
    try:
        data = read_certification_data(reader)
        return data is not None and data.author_sig.get_object() is embedded.sig_object
    except Exception:  # a broken /Perms entry certifies nothing
        return False


def _certificate(embedded: EmbeddedPdfSignature | None) -> x509.Certificate | None:
    if embedded is None:
        return None
    try:
        return x509.load_der_x509_certificate(embedded.signer_cert.dump())
    except Exception:  # the CMS names no usable certificate
        return None
