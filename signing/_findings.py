"""What pyHanko's validation of one signature means for a reader of the report.

Every problem is written twice, in Vietnamese (what the clerk reads) and in English (for other
agencies' tools and foreign partners), through :class:`Problems`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESStatus, AdESSubIndic
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    ModificationInfo,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    SignatureStatus,
)

from signing._chain import Defect
from signing._clock import in_vietnam
from signing._policy import certificate_kind, common_name, organisation, reason_text
from signing._report import SignatureReport, Verdict
from signing._trust import TrustListName

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
_IN_ENGLISH = {
    "none": "none",
    "form_filling": "form filling",
    "annotations": "annotations",
    "other": "content changes",
    "no_changes": "no changes",
}
_INDICATION = {
    AdESStatus.PASSED: "TOTAL_PASSED",
    AdESStatus.INDETERMINATE: "INDETERMINATE",
    AdESStatus.FAILED: "TOTAL_FAILED",
}
_REVOKED = frozenset(
    {AdESFailure.REVOKED, AdESIndeterminate.REVOKED_NO_POE, AdESIndeterminate.REVOKED_CA_NO_POE}
)
_NO_REVINFO = frozenset(
    {
        AdESIndeterminate.TRY_LATER,
        AdESIndeterminate.REVOCATION_OUT_OF_BOUNDS_NO_POE,
    }
)
_EXPIRED = frozenset(
    {
        AdESIndeterminate.EXPIRED,
        AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
        AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
    }
)
"""The certificate's validity ended before any proven signing time."""
_NOT_YET_VALID = frozenset({AdESFailure.NOT_YET_VALID, AdESIndeterminate.NOT_YET_VALID})


@dataclass
class Problems:
    """What is wrong with one signature, in both languages."""

    vi: list[str] = field(default_factory=list)
    en: list[str] = field(default_factory=list)

    def add(self, vi: str, en: str) -> None:
        self.vi.append(vi)
        self.en.append(en)

    def extend(self, other: Problems) -> None:
        self.vi.extend(other.vi)
        self.en.extend(other.en)


@dataclass(frozen=True)
class RevocationFacts:
    """What the revocation data seen during validation says about the signer's certificate."""

    status: str = "unknown"
    """'good' or 'revoked' as some OCSP answer or CRL says; 'unknown' when none speaks of it."""
    revoked_at: datetime | None = None
    reason: str | None = None
    embedded: bool = False
    """The answer came from inside the PDF (DSS or the signed revocation attribute)."""


@dataclass(frozen=True)
class TrustFacts:
    """Our own look at the signer's certificate (:mod:`signing._chain`)."""

    verified: bool
    """A path to a configured root exists and every signature on it verifies."""
    lookalike: bool = False
    """A path reached a configured root's name but not its key."""
    defects: tuple[Defect, ...] = ()
    """What makes the certificate unfit to have made the signature."""
    trust_list: TrustListName | None = None
    """The list whose root the verified path ends at."""


@dataclass(frozen=True)
class Finding:
    """One signature's report with what the verdict needs beyond it."""

    report: SignatureReport
    position: int
    """Byte offset of the signature in the file, to list signatures in signing order."""
    fatal: bool
    """Broken, altered, or changed afterwards beyond what is allowed: the file is invalid."""


@dataclass(frozen=True)
class Context:
    """What :mod:`signing._verify` knows about one signature beyond pyHanko's status."""

    name: str
    embedded: EmbeddedPdfSignature
    position: int
    level: str | None
    signed_revision: int | None
    certification: bool
    structure: Problems
    """Problems found by our own checks of /ByteRange and /Contents."""
    format: str = "?"
    """'PAdES', 'PKCS#7', 'RFC 3161' (see :attr:`SignatureReport.format`)."""


def broken(
    name: str,
    embedded: EmbeddedPdfSignature | None,
    problems: Problems,
    position: int,
    format: str = "?",
) -> Finding:
    """A signature that could not be validated at all: invalid."""
    cert = _certificate(embedded)
    report = SignatureReport(
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
        problems=tuple(problems.vi),
        problems_en=tuple(problems.en),
        kind=certificate_kind(cert) if cert else "unknown",
        indication="TOTAL_FAILED",
        subindication="FORMAT_FAILURE",
        verdict="invalid",
        format=format,
    )
    return Finding(report, position, fatal=True)


def signature_finding(
    context: Context,
    status: PdfSignatureStatus,
    subindication: AdESSubIndic,
    failure: str | None,
    revocation: RevocationFacts,
    best_time: datetime | None,
    trust: TrustFacts,
) -> Finding:
    """A /Sig signature judged by an ETSI process (basic, or with time and LTA), with our own
    chain check and certificate findings (``trust``) beside it."""
    embedded = context.embedded
    problems = Problems()
    problems.extend(context.structure)
    modification = _modification(status)
    docmdp = _DOCMDP.get(embedded.docmdp_level) if embedded.docmdp_level else None
    timestamp = status.timestamp_validity
    stamped = timestamp is not None and timestamp.intact and timestamp.valid and timestamp.trusted
    claimed = status.signer_reported_dt or embedded.self_reported_timestamp
    stamp_time = timestamp.timestamp if stamped and timestamp is not None else None
    _integrity_problems(status, problems)
    if status.docmdp_ok is False:
        allowed = docmdp or "form_filling"
        problems.add(
            f"PDF bị thay đổi sau khi ký quá mức cho phép (thay đổi: "
            f"{_IN_VIETNAMESE[modification]}; cho phép: {_IN_VIETNAMESE[allowed]})",
            f"the PDF was changed after signing beyond what the signature allows (change: "
            f"{_IN_ENGLISH[modification]}; allowed: {_IN_ENGLISH[allowed]})",
        )
    if status.seed_value_constraint_error is not None:
        error = status.seed_value_constraint_error
        problems.add(
            f"không đáp ứng ràng buộc của trường chữ ký: {error}",
            f"the signature field's seed value constraints are not met: {error}",
        )
    if timestamp is not None and not stamped:
        problems.add(
            "dấu thời gian của chữ ký không hợp lệ hoặc không tin cậy được",
            "the signature's timestamp is invalid or not trusted",
        )
    fatal = (
        bool(context.structure.vi)
        or not (status.intact and status.valid)
        or status.docmdp_ok is False
        or not _coverage_ok(status)
        or status.seed_value_constraint_error is not None
        or subindication.status is AdESStatus.FAILED
    )
    _trust_problems(status, subindication, failure, revocation, trust, problems)
    verdict: Verdict = "invalid" if fatal else "valid"
    if not fatal and (subindication.status is not AdESStatus.PASSED or problems.vi):
        verdict = "indeterminate"
    at_signing = _revocation_at_signing(revocation, subindication, best_time)
    cert = _certificate_of(status)
    report = SignatureReport(
        field=context.name,
        signer=common_name(cert.subject),
        organisation=organisation(cert.subject),
        serial=cert.serial_number,
        issuer=common_name(cert.issuer),
        signing_time=in_vietnam(stamp_time or claimed),
        intact=status.intact and status.valid,
        trusted=_trusted(subindication, trust),
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        modification=modification,
        certification=context.certification,
        docmdp=docmdp,
        valid=verdict == "valid",
        problems=tuple(problems.vi),
        problems_en=tuple(problems.en),
        type="signature",
        kind=certificate_kind(cert),
        claimed_signing_time=in_vietnam(claimed),
        timestamp_time=in_vietnam(stamp_time),
        revocation=at_signing,  # type: ignore[arg-type]
        revocation_time=in_vietnam(revocation.revoked_at),
        revocation_reason=revocation.reason,
        revocation_source=_source(revocation),
        covers=_covers(status),
        signed_revision=context.signed_revision,
        level=context.level,
        indication=_INDICATION[subindication.status],
        subindication=None
        if subindication.status is AdESStatus.PASSED
        else subindication.standard_name,
        verdict=verdict,
        format=context.format,
        trust_list=trust.trust_list if _trusted(subindication, trust) else None,
    )
    if fatal and report.indication == "TOTAL_PASSED":
        report = _failed(report)
    return Finding(report, context.position, fatal)


def timestamp_finding(
    context: Context, status: DocumentTimestampStatus, trust: TrustFacts
) -> Finding:
    """A document timestamp (PAdES B-LTA): it vouches for the time and locks nothing."""
    problems = Problems()
    problems.extend(context.structure)
    _integrity_problems(status, problems)
    trusted = bool(status.trusted) and trust.verified
    if not trusted and trust.lookalike:
        problems.add(
            "chuỗi chứng thư của dịch vụ cấp dấu thời gian không xác minh được tới chứng thư "
            "gốc tin cậy",
            "the timestamping authority's certificate chain does not verify to a trusted root",
        )
    elif not trusted:
        problems.add(
            "chứng thư của dịch vụ cấp dấu thời gian không dẫn tới chứng thư gốc tin cậy nào",
            "the timestamping authority's certificate does not chain to a trusted root",
        )
    intact = status.intact and status.valid
    fatal = bool(context.structure.vi) or not intact or not _coverage_ok(status)
    verdict: Verdict = "invalid" if fatal else ("valid" if not problems.vi else "indeterminate")
    cert = _certificate_of(status)
    report = SignatureReport(
        field=context.name,
        signer=common_name(cert.subject),
        organisation=organisation(cert.subject),
        serial=cert.serial_number,
        issuer=common_name(cert.issuer),
        signing_time=in_vietnam(status.timestamp),
        intact=intact,
        trusted=trusted,
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        modification=_modification(status),
        certification=False,
        docmdp=None,
        valid=verdict == "valid",
        problems=tuple(problems.vi),
        problems_en=tuple(problems.en),
        type="document_timestamp",
        kind=certificate_kind(cert),
        claimed_signing_time=None,
        timestamp_time=in_vietnam(status.timestamp) if trusted else None,
        revocation="good" if trusted else "unknown",
        covers=_covers(status),
        signed_revision=context.signed_revision,
        level=None,
        indication={"valid": "TOTAL_PASSED", "invalid": "TOTAL_FAILED"}.get(
            verdict, "INDETERMINATE"
        ),
        subindication=None
        if verdict == "valid"
        else ("HASH_FAILURE" if fatal else _untrusted_subindication(trust)),
        verdict=verdict,
        format=context.format,
        trust_list=trust.trust_list if trusted else None,
    )
    return Finding(report, context.position, fatal)


def revocation_facts(
    serial: int,
    issuer: asn1_x509.Name,
    ocsp_responses: Iterable[object],
    crls: Iterable[object],
    embedded_ids: set[bytes],
) -> RevocationFacts:
    """Find what the OCSP answers (``OCSPContainer``) and CRLs (``CRLContainer``) say."""
    best: RevocationFacts | None = None
    for container in ocsp_responses:
        data = getattr(container, "ocsp_response_data", None)
        if data is None:
            continue
        try:
            single = data.basic_ocsp_response["tbs_response_data"]["responses"]
        except Exception:  # an answer we cannot read speaks of nothing
            continue
        for response in single:
            cert_id = response["cert_id"]
            if cert_id["serial_number"].native != serial or not _same_issuer(cert_id, issuer):
                continue
            embedded = data.dump() in embedded_ids
            status = response["cert_status"]
            if status.name == "revoked":
                info = status.chosen
                reason = info["revocation_reason"].native if info["revocation_reason"] else None
                return RevocationFacts(
                    "revoked", info["revocation_time"].native, reason or "unspecified", embedded
                )
            if status.name == "good" and best is None:
                best = RevocationFacts("good", embedded=embedded)
    for container in crls:
        crl = getattr(container, "crl_data", None)
        if crl is None or crl["tbs_cert_list"]["issuer"] != issuer:
            continue
        embedded = crl.dump() in embedded_ids
        for revoked in crl["tbs_cert_list"]["revoked_certificates"] or ():
            if revoked["user_certificate"].native == serial:
                reason = None
                for extension in revoked["crl_entry_extensions"] or ():
                    if extension["extn_id"].native == "crl_reason":
                        reason = extension["extn_value"].native
                return RevocationFacts(
                    "revoked", revoked["revocation_date"].native, reason or "unspecified", embedded
                )
        if best is None:
            best = RevocationFacts("good", embedded=embedded)
    return best or RevocationFacts()


def _same_issuer(cert_id: asn1_ocsp.CertId, issuer: asn1_x509.Name) -> bool:
    """Whether an OCSP answer's certificate ID names ``issuer``: the answers fetched for one
    document's signatures are read together, and two CAs may use the same serial number."""
    try:
        algorithm = cert_id["hash_algorithm"]["algorithm"].native
        digest = hashlib.new(algorithm, issuer.dump()).digest()
    except (ValueError, TypeError):  # a hash we do not know: the serial alone decides
        return True
    return bool(cert_id["issuer_name_hash"].native == digest)


def _revocation_at_signing(
    facts: RevocationFacts, subindication: AdESSubIndic, best_time: datetime | None
) -> str:
    if subindication in _REVOKED:
        return "revoked"
    if facts.status == "revoked":
        if facts.revoked_at is not None and best_time is not None and facts.revoked_at > best_time:
            return "good"  # revoked later: the signature was made while the certificate was good
        return "revoked"
    return facts.status


def _source(facts: RevocationFacts) -> Literal["embedded", "online"] | None:
    if facts.status == "unknown":
        return None
    return "embedded" if facts.embedded else "online"


def _untrusted_subindication(trust: TrustFacts) -> str:
    if trust.lookalike:
        return AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE.standard_name
    return AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND.standard_name


def _trust_problems(
    status: SignatureStatus,
    subindication: AdESSubIndic,
    failure: str | None,
    revocation: RevocationFacts,
    trust: TrustFacts,
    problems: Problems,
) -> None:
    """Why the signature is not trusted, as its ETSI sub-indication says: our own findings
    (a chain that does not verify, the certificate's defects) first, then pyHanko's."""
    if subindication in _REVOKED:
        when = revocation.revoked_at
        vi_when = f" từ {in_vietnam(when):%d/%m/%Y %H:%M} (giờ Việt Nam)" if when else ""
        en_when = f" on {when:%Y-%m-%d %H:%M} UTC" if when else ""
        reason = revocation.reason or "unspecified"
        problems.add(
            f"chứng thư số đã bị thu hồi{vi_when}, lý do: {reason_text(reason)}; không có bằng "
            f"chứng (dấu thời gian) rằng chữ ký có trước thời điểm thu hồi",
            f"the certificate was revoked{en_when} (reason: {reason}) and no proof of existence "
            f"(timestamp) shows the signature was made before",
        )
        return
    explained = bool(trust.defects) or not trust.verified
    if trust.lookalike and not trust.verified:
        problems.add(
            "chuỗi chứng thư số không xác minh được tới chứng thư gốc tin cậy: chuỗi dẫn tới "
            "tên của một chứng thư gốc tin cậy nhưng không được ký bằng khóa của chứng thư gốc "
            "đó (chuỗi giả mạo, hoặc một chứng thư gốc khác cùng tên chưa được tin cậy)",
            "the certificate chain does not verify to a trusted root: it leads to a trusted "
            "root's name but is not signed with that root's key (a forged chain, or another "
            "root of the same name that is not trusted here)",
        )
    elif not trust.verified or subindication is AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND:
        problems.add(
            "chứng thư số không dẫn tới chứng thư gốc tin cậy nào",
            "the certificate does not chain to a trusted root",
        )
    for defect in trust.defects:
        problems.add(defect.vi, defect.en)
    if explained or subindication is AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND:
        return  # what we found is the cause: revocation or time are beside the point
    if _revocation_missing(status, subindication, failure, revocation):
        problems.add(
            "không kiểm tra được tình trạng thu hồi của chứng thư số (dịch vụ OCSP/CRL không "
            "trả lời, và PDF không chứa thông tin thu hồi)",
            "the certificate's revocation status could not be checked (the OCSP/CRL service "
            "did not answer and the PDF holds no revocation data)",
        )
        return
    if subindication in _EXPIRED:
        problems.add(
            "chứng thư số đã hết hạn, và không có bằng chứng (dấu thời gian) rằng chữ ký được "
            "tạo khi chứng thư còn hiệu lực",
            "the certificate has expired, and no proof of existence (timestamp) shows the "
            "signature was made while it was valid",
        )
        return
    if subindication in _NOT_YET_VALID:
        problems.add(
            "chứng thư số chưa có hiệu lực vào thời điểm ký",
            "the certificate was not yet valid at the signing time",
        )
        return
    if subindication.status is not AdESStatus.PASSED and not problems.vi:
        detail = f": {failure}" if failure else ""
        name = subindication.standard_name
        problems.add(
            f"chữ ký không đạt kiểm tra theo ETSI EN 319 102-1 ({name}){detail}",
            f"the signature fails ETSI EN 319 102-1 validation ({name}){detail}",
        )


def _revocation_missing(
    status: SignatureStatus,
    subindication: AdESSubIndic,
    failure: str | None,
    revocation: RevocationFacts,
) -> bool:
    """No OCSP answer or CRL where one was needed: the chain itself was built."""
    if subindication in _NO_REVINFO:
        return True
    if subindication is not AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE:
        return False
    return "revocation" in (failure or "").lower() or (
        status.validation_path is not None and revocation.status == "unknown"
    )


def _integrity_problems(status: SignatureStatus, problems: Problems) -> None:
    if not status.intact:
        problems.add(
            "nội dung đã bị thay đổi sau khi ký (mã băm không khớp)",
            "the content was changed after signing (digest mismatch)",
        )
    elif not status.valid:
        problems.add(
            "giá trị chữ ký không khớp với chứng thư số",
            "the signature value does not match the certificate",
        )
    if isinstance(status, ModificationInfo) and not _coverage_ok(status):
        problems.add(
            "chữ ký không phủ toàn bộ phiên bản tài liệu đã ký (/ByteRange sai)",
            "the signature does not cover the whole signed revision (bad /ByteRange)",
        )


def _trusted(subindication: AdESSubIndic, trust: TrustFacts) -> bool:
    """True only when the path to a configured root was verified, signature by signature (a
    revocation or a weak algorithm found later does not undo that: other fields say so)."""
    if subindication is AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND:
        return False
    return trust.verified


def _failed(report: SignatureReport) -> SignatureReport:
    return replace(report, indication="TOTAL_FAILED", subindication="FORMAT_FAILURE")


def _modification(status: ModificationInfo) -> str:
    level = status.modification_level
    return _MODIFICATION.get(level, "other") if level is not None else "other"


def _covers(status: ModificationInfo) -> Literal["whole_file", "earlier_revision", "partial"]:
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return "whole_file"
    if status.coverage == SignatureCoverageLevel.ENTIRE_REVISION:
        return "earlier_revision"
    return "partial"


def _coverage_ok(status: ModificationInfo) -> bool:
    return status.coverage is not None and status.coverage >= SignatureCoverageLevel.ENTIRE_REVISION


def _certificate_of(status: SignatureStatus) -> x509.Certificate:
    return x509.load_der_x509_certificate(status.signing_cert.dump())


def _certificate(embedded: EmbeddedPdfSignature | None) -> x509.Certificate | None:
    if embedded is None:
        return None
    try:
        return x509.load_der_x509_certificate(embedded.signer_cert.dump())
    except Exception:  # the CMS names no usable certificate
        return None
