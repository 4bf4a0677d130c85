"""Client-side signing: the server prepares, a signing agent beside the token signs, the server
finishes (pyHanko interrupted signing). The leader's private key never reaches the server.

Phase 1 (:func:`prepare_certification`) writes the leader's certification signature field with
its appearance, reserves room for the CMS, digests the byte range and builds the CMS signed
attributes; the agent signs the SHA-256 of those attributes (:attr:`PreparedSignature.
digest_to_sign`). Phase 3 (:func:`finish_signature`) checks the returned value against the
certificate, wraps it in a CMS with the very same attributes and writes it into the reserved
hole. Between the phases the state is plain data (:meth:`PreparedSignature.state` plus the
prepared PDF), so the two phases may run in different processes days apart.

Levels: under an active :class:`signing.SigningPolicy` of level B-T or above, phase 1 reserves
room for a timestamp and phase 3 asks the policy's TSA for the signature timestamp (B-T).
Validation data (B-LT) and the document timestamp (B-LTA) are added when the record goes to
the archive (:func:`signing.make_archival`), as for every other signature there.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import algos, cms
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.signers import PdfSigner
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import ExternalSigner, PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing._aio import run_sync
from signing._certs import to_asn1
from signing._clock import now_in_vietnam
from signing._errors import SigningError
from signing._fields import form_fields, has_signatures, read_pdf
from signing._layout import FIELD_SIGNER
from signing._levels import BYTES_RESERVED_TIMESTAMPED
from signing._outgoing import DEFAULT_REASON, _require_empty_fields, _writer
from signing._policy import FETCH_TIMEOUT, active_policy, certificate_kind, common_name
from signing._sign import BYTES_RESERVED, DIGEST, image_style, signature_metadata
from signing._signer import verify_digest_signature
from vanthu.errors import Kind

STATE_VERSION = 1
"""Bumped whenever :meth:`PreparedSignature.state` changes shape."""


@dataclass(frozen=True)
class PreparedSignature:
    """What phase 1 leaves for phase 3: the prepared PDF and the bytes the signer commits to."""

    pdf: bytes
    """The PDF with the signature dictionary written and a zeroed hole for the CMS."""
    document_digest: bytes
    """SHA-256 of the PDF's /ByteRange (everything but the hole)."""
    reserved_start: int
    """Offset of the hole (the /Contents hex string) in ``pdf``."""
    reserved_end: int
    """Offset just past the hole."""
    signed_attributes: bytes
    """DER of the CMS signed attributes (content type, message digest, signing certificate)."""
    certificate: bytes
    """DER of the signer's certificate, fixed in phase 1 (it is inside the signed attributes)."""
    chain: tuple[bytes, ...]
    """DER of the CA certificates embedded in the CMS."""
    signing_time: datetime
    """The signing time shown in /M and carried by the signed attributes."""
    timestamp_url: str | None = None
    """The TSA asked for the signature timestamp in phase 3 (level B-T and above), if any."""

    @property
    def digest_to_sign(self) -> bytes:
        """SHA-256 of the DER signed attributes: what the token signs (PKCS#1 v1.5, prehashed)."""
        return hashlib.sha256(self.signed_attributes).digest()

    @property
    def pdf_sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()

    @property
    def signer_certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.certificate)

    def state(self) -> dict[str, Any]:
        """JSON-ready state without the PDF itself (kept in the object store by its SHA-256)."""
        return {
            "version": STATE_VERSION,
            "pdf_sha256": self.pdf_sha256,
            "document_digest": self.document_digest.hex(),
            "reserved_start": self.reserved_start,
            "reserved_end": self.reserved_end,
            "signed_attributes": base64.b64encode(self.signed_attributes).decode("ascii"),
            "certificate": base64.b64encode(self.certificate).decode("ascii"),
            "chain": [base64.b64encode(c).decode("ascii") for c in self.chain],
            "signing_time": self.signing_time.isoformat(),
            "timestamp_url": self.timestamp_url,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], pdf: bytes) -> PreparedSignature:
        """Rebuild from :meth:`state` and the prepared PDF; refuses a PDF that is not that one."""
        try:
            if state["version"] != STATE_VERSION:
                raise SigningError(
                    f"dữ liệu chuẩn bị ký ở phiên bản {state['version']}, không dùng được",
                    f"the prepared signing data is version {state['version']}, which cannot be "
                    "used",
                    code="signing.external.state_version",
                    kind=Kind.CONFLICT,
                    version=str(state["version"]),
                )
            prepared = cls(
                pdf=pdf,
                document_digest=bytes.fromhex(state["document_digest"]),
                reserved_start=int(state["reserved_start"]),
                reserved_end=int(state["reserved_end"]),
                signed_attributes=base64.b64decode(state["signed_attributes"], validate=True),
                certificate=base64.b64decode(state["certificate"], validate=True),
                chain=tuple(base64.b64decode(c, validate=True) for c in state["chain"]),
                signing_time=datetime.fromisoformat(state["signing_time"]),
                timestamp_url=state.get("timestamp_url"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SigningError(
                f"dữ liệu chuẩn bị ký bị hỏng: {exc}",
                f"the prepared signing data is corrupt: {exc}",
                code="signing.external.state_corrupt",
                kind=Kind.INVALID,
            ) from exc
        if prepared.pdf_sha256 != state["pdf_sha256"]:
            raise SigningError(
                "tệp PDF chuẩn bị ký không khớp với dữ liệu đã lưu (bị thay đổi?)",
                "the PDF prepared for signing does not match the stored data (changed?)",
                code="signing.external.pdf_mismatch",
            )
        return prepared


def prepare_certification(
    pdf: bytes,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    signature_image: bytes,
    *,
    reason: str = DEFAULT_REASON,
    location: str | None = None,
) -> PreparedSignature:
    """Phase 1 of the leader's certification signature (DocMDP: form filling only).

    Same checks and same signature as :func:`signing.certify`, without the private key. The
    caller checks the signing policy (:func:`signing.check_signing_policy`) first.
    """
    named = common_name(certificate.subject)
    if certificate_kind(certificate) == "organisation":
        raise SigningError(
            f"chứng thư số của cơ quan ({named}) không dùng để ký phê duyệt: người có thẩm quyền "
            "ký bằng chứng thư số cá nhân",
            f"the agency's certificate ({named}) is not for the approval signature: the "
            "authorised person signs with a personal certificate",
            code="signing.policy.wrong_kind",
            certificate_serial=certificate.serial_number,
            expected="person",
            found="organisation",
        )
    reader = read_pdf(pdf)
    if has_signatures(reader):
        raise SigningError(
            "PDF đã có chữ ký số: chữ ký phê duyệt (chứng nhận) phải là chữ ký đầu",
            "the PDF already has a digital signature: the approval (certification) signature "
            "must be the first",
            code="signing.certify.already_signed",
            kind=Kind.CONFLICT,
        )
    _require_empty_fields(form_fields(reader))
    style = image_style(signature_image, "chữ ký")
    metadata = signature_metadata(FIELD_SIGNER, certify=True, reason=reason, location=location)
    signer = _external_signer(certificate, chain, signature=None)
    policy = active_policy()
    tsa_url = policy.tsa_url if policy is not None and policy.level != "B-B" else None
    try:
        return run_sync(_prepare(pdf, metadata, signer, style, certificate, chain, tsa_url))
    except (PdfError, ValueError) as exc:  # pyHanko's SigningError is a ValueError
        raise SigningError(
            f"không chuẩn bị được chữ ký: {exc}",
            f"the signature could not be prepared: {exc}",
            code="signing.external.prepare_failed",
            certificate_serial=certificate.serial_number,
        ) from exc


async def _prepare(
    pdf: bytes,
    metadata: Any,
    signer: ExternalSigner,
    style: Any,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    tsa_url: str | None,
) -> PreparedSignature:
    writer = _writer(pdf)
    pdf_signer = PdfSigner(metadata, signer, stamp_style=style)
    session = pdf_signer.init_signing_session(writer, existing_fields_only=True)
    session.system_time = now_in_vietnam()
    reserved = BYTES_RESERVED if tsa_url is None else BYTES_RESERVED_TIMESTAMPED
    tbs = session.prepare_tbs_document(validation_info=None, bytes_reserved=reserved)
    prepared, output = tbs.digest_tbs_document(in_place=False, output=None)
    attributes = await signer.signed_attrs(
        prepared.document_digest,
        DIGEST,
        attr_settings=PdfCMSSignedAttributes(signing_time=session.system_time),
        use_pades=True,
    )
    output.seek(0)
    return PreparedSignature(
        pdf=output.read(),
        document_digest=prepared.document_digest,
        reserved_start=prepared.reserved_region_start,
        reserved_end=prepared.reserved_region_end,
        signed_attributes=attributes.dump(),
        certificate=certificate.public_bytes(serialization.Encoding.DER),
        chain=tuple(c.public_bytes(serialization.Encoding.DER) for c in chain),
        signing_time=session.system_time,
        timestamp_url=tsa_url,
    )


def check_signature_value(prepared: PreparedSignature, signature: bytes) -> None:
    """Refuse a value that is not the certificate's signature of the prepared attributes."""
    cert = prepared.signer_certificate
    if not verify_digest_signature(cert, prepared.digest_to_sign, signature):
        raise SigningError(
            f"chữ ký gửi về không khớp với chứng thư số {common_name(cert.subject)} và dữ liệu "
            "đã chuẩn bị: không hoàn tất",
            f"the returned signature does not match the certificate {common_name(cert.subject)} "
            "and the prepared data: not completed",
            code="signing.external.value_mismatch",
            certificate_serial=cert.serial_number,
        )


def finish_signature(prepared: PreparedSignature, signature: bytes) -> bytes:
    """Phase 3: check ``signature`` (raw, from the token), embed the CMS, return the signed PDF."""
    check_signature_value(prepared, signature)
    cert = prepared.signer_certificate
    chain = [x509.load_der_x509_certificate(c) for c in prepared.chain]
    signer = _external_signer(cert, chain, signature=signature)
    try:
        attributes = cms.CMSAttributes.load(prepared.signed_attributes)
        return run_sync(_finish(prepared, signer, attributes))
    except (PdfError, ValueError, OSError) as exc:  # OSError: the TSA did not answer
        if isinstance(exc, OSError):
            raise SigningError(
                f"không hoàn tất được chữ ký: {exc}",
                f"the signature could not be completed: {exc}",
                code="signing.tsa.unavailable",
                retryable=True,
                certificate_serial=cert.serial_number,
                url=prepared.timestamp_url,
            ) from exc
        raise SigningError(
            f"không hoàn tất được chữ ký: {exc}",
            f"the signature could not be completed: {exc}",
            code="signing.external.finish_failed",
            certificate_serial=cert.serial_number,
        ) from exc


async def _finish(
    prepared: PreparedSignature, signer: ExternalSigner, attributes: cms.CMSAttributes
) -> bytes:
    timestamper = None
    if prepared.timestamp_url is not None:
        timestamper = HTTPTimeStamper(prepared.timestamp_url, timeout=FETCH_TIMEOUT)
    content = await signer.async_sign_prescribed_attributes(
        DIGEST, signed_attrs=attributes, timestamper=timestamper
    )
    output = io.BytesIO(prepared.pdf)
    digest = PreparedByteRangeDigest(
        document_digest=prepared.document_digest,
        reserved_region_start=prepared.reserved_start,
        reserved_region_end=prepared.reserved_end,
    )
    await PdfTBSDocument.async_finish_signing(output, digest, content)
    return output.getvalue()


def _external_signer(
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    *,
    signature: bytes | None,
) -> ExternalSigner:
    registry = SimpleCertificateStore()
    registry.register_multiple([to_asn1(c) for c in chain])
    public = certificate.public_key()
    size = getattr(public, "key_size", 2048)
    if isinstance(public, rsa.RSAPublicKey):
        algorithm, placeholder = "sha256_rsa", (size + 7) // 8
    else:  # ECDSA: a DER SEQUENCE of two integers
        algorithm, placeholder = "sha256_ecdsa", 2 * ((size + 7) // 8) + 9
    return ExternalSigner(
        to_asn1(certificate),
        registry,
        signature_value=signature if signature is not None else placeholder,
        signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": algorithm}),
    )
