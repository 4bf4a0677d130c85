"""PAdES levels: B-B, B-T (RFC 3161 signature timestamp), B-LT (revocation data in the DSS),
B-LTA (document timestamp), and keeping archived PDFs verifiable by renewing that timestamp.

The level of a new signature comes from the active :class:`signing.SigningPolicy`; what goes to
the archive passes through :func:`make_archival`, and :func:`renew_archival_timestamp` adds a new
document timestamp before the last one's certificate expires.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import timestamps
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.validation.dss import (
    DocumentSecurityStore,
    async_add_validation_info,
    collect_validation_info,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

from signing._aio import run_sync
from signing._certs import asn1_roots, to_asn1
from signing._errors import SigningError
from signing._fields import read_pdf
from signing._layout import FIELD_ATTACHMENT, FIELD_COPY, FIELD_SEAL, FIELD_SIGNER
from signing._policy import (
    FETCH_TIMEOUT,
    Level,
    SigningPolicy,
    active_policy,
    check_signing_policy,
    passed_in_this_block,
    remember_passed,
    self_signed_roots,
    validation_context,
)
from signing._signer import SigningKey
from vanthu.errors import Kind

DIGEST = "sha256"
BYTES_RESERVED_TIMESTAMPED = 32768
"""Room for the CMS when it carries a timestamp token (the TSA's chain comes with it)."""
_PERSONAL_FIELDS = {FIELD_SIGNER}
_AGENCY_FIELDS = {FIELD_SEAL, FIELD_ATTACHMENT, FIELD_COPY}


def policy_for(key: SigningKey) -> SigningPolicy:
    """The active policy, or — outside any — B-B trusting the roots that came with the key."""
    active = active_policy()
    if active is not None:
        return active
    return SigningPolicy(trust_roots=self_signed_roots(key.chain))


def enforce_policy(key: SigningKey, field_name: str | None) -> SigningPolicy:
    """Check :func:`signing.check_signing_policy` for a signature into ``field_name``."""
    policy = policy_for(key)
    kind: Any = None
    if field_name in _PERSONAL_FIELDS:
        kind = "person"
    elif field_name in _AGENCY_FIELDS:
        kind = "organisation"
    if passed_in_this_block(key.certificate, kind):
        return policy
    check_signing_policy(
        key.certificate,
        key.chain,
        kind=kind,
        trust_roots=policy.trust_roots,
        check_revocation=policy.check_revocation,
    )
    remember_passed(key.certificate, kind)
    return policy


def level_options(level: Level, policy: SigningPolicy, key: SigningKey) -> dict[str, Any]:
    """Extra :class:`PdfSignatureMetadata` arguments for a level."""
    if level in ("B-B", "B-T"):
        return {}
    context = validation_context(
        asn1_roots(policy.trust_roots), [to_asn1(c) for c in key.chain], fetch=True
    )
    return {
        "embed_validation_info": True,
        "validation_context": context,
        "use_pades_lta": level == "B-LTA",
    }


class _TimeStamper(timestamps.HTTPTimeStamper):
    """The TSA over HTTP; no answer is a SigningError naming the service (worth retrying)."""

    def __init__(self, url: str) -> None:
        super().__init__(url, timeout=FETCH_TIMEOUT)
        self._where = url

    async def async_request_tsa_response(self, req: Any) -> Any:
        try:
            return await super().async_request_tsa_response(req)
        except OSError as exc:  # TimestampRequestError is an OSError
            raise tsa_unavailable(self._where, exc) from exc


def tsa_unavailable(url: str, exc: Exception) -> SigningError:
    """The timestamping service did not answer: worth trying again later."""
    return SigningError(
        f"dịch vụ cấp dấu thời gian {url} không trả lời được: {exc}",
        f"the timestamping service {url} did not answer: {exc}",
        code="signing.tsa.unavailable",
        retryable=True,
        url=url,
    )


async def embed_earlier_validation(
    writer: IncrementalPdfFileWriter, context: ValidationContext
) -> None:
    """The validation data (certificates, OCSP answers, CRLs) of every signature already in
    the PDF, into the DSS of the update being written.

    pyHanko's B-LT embeds what the new signature needs; a document sent out at B-LT must also
    let its recipient validate the earlier ones (the leader's certification under the seal)
    without asking our OCSP responder or CRL service, which may be gone by then. Document
    timestamps are left to :func:`make_archival`.
    """
    for signature in writer.prev.embedded_regular_signatures:
        try:
            paths = await collect_validation_info(signature, context)
        except (PathBuildingError, PathValidationError, PyHankoSigningError, ValueError) as exc:
            raise SigningError(
                f"không thu thập được dữ liệu kiểm tra cho chữ ký {signature.field_name}: {exc}",
                f"the validation data for the signature {signature.field_name} could not be "
                f"collected: {exc}",
                code="signing.archival.validation_data",
                field=signature.field_name,
            ) from exc
        # no /VRI entry: one written now would be rewritten by make_archival later, and a
        # VRI entry that existed when the new signature was made must never change after it
        DocumentSecurityStore.supply_dss_in_writer(
            writer, None, validation_context=context, paths=paths
        )


def timestamper_for(policy: SigningPolicy) -> timestamps.HTTPTimeStamper | None:
    if policy.level == "B-B" or not policy.tsa_url:
        return None
    return _TimeStamper(policy.tsa_url)


def make_archival(pdf: bytes, *, trust_roots: Sequence[bytes], tsa_url: str) -> bytes:
    """B-LTA for the archive: validation data of every signature in the DSS, then a document
    timestamp (itself with its validation data)."""
    return run_sync(_make_archival(pdf, list(trust_roots), tsa_url))


def renew_archival_timestamp(pdf: bytes, *, trust_roots: Sequence[bytes], tsa_url: str) -> bytes:
    """Add the last document timestamp's validation data and a new document timestamp."""
    return run_sync(_renew(pdf, list(trust_roots), tsa_url))


def archival_timestamp_expiry(pdf: bytes) -> datetime | None:
    """When the last document timestamp stops proving anything (its certificates expire)."""
    reader = read_pdf(pdf)
    try:
        stamps = reader.embedded_timestamp_signatures
    except (PdfError, ValueError, KeyError) as exc:
        raise SigningError(
            f"không đọc được dấu thời gian tài liệu của PDF: {exc}",
            f"the PDF's document timestamps cannot be read: {exc}",
            code="signing.archival.timestamp_unreadable",
            kind=Kind.INVALID,
        ) from exc
    if not stamps:
        return None
    last = stamps[-1]
    ends = [last.signer_cert["tbs_certificate"]["validity"]["not_after"].native]
    for cert in last.signed_data["certificates"]:
        if cert.name == "certificate":
            ends.append(cert.chosen["tbs_certificate"]["validity"]["not_after"].native)
    return min(ends).astimezone(UTC)


async def _make_archival(pdf: bytes, roots: list[bytes], tsa_url: str) -> bytes:
    context = _context(roots)
    current = _reader(pdf)
    count = len(current.embedded_regular_signatures)
    if count == 0:
        raise SigningError(
            "PDF chưa có chữ ký số nào: không lập bản lưu trữ dài hạn",
            "the PDF has no digital signature yet: no long-term archival copy is made",
            code="signing.archival.unsigned",
        )
    output = io.BytesIO(pdf)
    for index in range(count):
        signature = _reader(output.getvalue()).embedded_regular_signatures[index]
        try:
            output = await async_add_validation_info(
                signature, context, output=io.BytesIO(), force_write=False
            )
        except (PathBuildingError, PathValidationError, PyHankoSigningError, ValueError) as exc:
            raise SigningError(
                f"không thu thập được dữ liệu kiểm tra cho chữ ký {signature.field_name}: {exc}",
                f"the validation data for the signature {signature.field_name} could not be "
                f"collected: {exc}",
                code="signing.archival.validation_data",
                field=signature.field_name,
            ) from exc
    writer = IncrementalPdfFileWriter(io.BytesIO(output.getvalue()), strict=False)
    stamper = PdfTimeStamper(_TimeStamper(tsa_url))
    try:
        result = await stamper.async_timestamp_pdf(
            writer, DIGEST, validation_context=context, bytes_reserved=BYTES_RESERVED_TIMESTAMPED
        )
    except OSError as exc:
        raise _no_document_timestamp(tsa_url, exc) from exc
    except (PdfError, PyHankoSigningError, ValueError) as exc:
        raise SigningError(
            f"không lấy được dấu thời gian tài liệu từ {tsa_url}: {exc}",
            f"no document timestamp could be obtained from {tsa_url}: {exc}",
            code="signing.archival.timestamp_failed",
            url=tsa_url,
        ) from exc
    return bytes(result.getvalue())


async def _renew(pdf: bytes, roots: list[bytes], tsa_url: str) -> bytes:
    reader = _reader(pdf)
    if not reader.embedded_timestamp_signatures:
        raise SigningError(
            "PDF chưa có dấu thời gian tài liệu (mức B-LTA): dùng make_archival",
            "the PDF has no document timestamp yet (level B-LTA): use make_archival",
            code="signing.archival.no_timestamp",
        )
    stamper = PdfTimeStamper(_TimeStamper(tsa_url))
    try:
        result = await stamper.async_update_archival_timestamp_chain(
            reader, _context(roots), in_place=False, output=io.BytesIO()
        )
    except (PathBuildingError, PathValidationError, PyHankoSigningError, ValueError) as exc:
        raise SigningError(
            f"không gia hạn được dấu thời gian tài liệu: {exc}",
            f"the document timestamp could not be renewed: {exc}",
            code="signing.archival.renewal_failed",
        ) from exc
    except OSError as exc:
        raise _no_document_timestamp(tsa_url, exc) from exc
    return bytes(result.getvalue())


def _no_document_timestamp(tsa_url: str, exc: OSError) -> SigningError:
    """The TSA did not answer the document timestamp request: worth trying again later."""
    return SigningError(
        f"không lấy được dấu thời gian tài liệu từ {tsa_url}: {exc}",
        f"no document timestamp could be obtained from {tsa_url}: {exc}",
        code="signing.tsa.unavailable",
        retryable=True,
        url=tsa_url,
    )


def _context(roots: list[bytes]) -> ValidationContext:
    return validation_context(asn1_roots(roots), fetch=True)


def _reader(pdf: bytes) -> PdfFileReader:
    return read_pdf(pdf)
