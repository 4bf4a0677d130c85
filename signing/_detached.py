"""Detached CMS (PKCS#7) signatures over plain bytes: a backup's manifest, an audit anchor.

``sign_bytes`` signs with a :class:`SigningKey` after the certificate passed the active
:class:`signing.SigningPolicy` (chain, validity, revocation, an agency's certificate); at level
B-T or above the signature carries the TSA's timestamp token (RFC 3161, an unsigned attribute),
which proves the bytes existed at that time. The result is DER, which ``openssl cms -verify
-binary -inform DER -content DATA`` checks as well as :func:`verify_bytes`.

``verify_bytes`` never raises for a signature that does not hold: the verdict says what is wrong.
Only bytes that are not a CMS signature at all are an error. Revocation is not asked online (a
backup is restored where no OCSP service may answer); a signer certificate that has expired since
is judged at the time its valid timestamp proves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko.sign.validation.status import StandardCMSSignatureStatus

from signing._aio import run_sync
from signing._certs import asn1_roots
from signing._errors import SigningError
from signing._levels import DIGEST, policy_for, timestamper_for
from signing._policy import (
    CertificateKind,
    check_signing_policy,
    passed_in_this_block,
    remember_passed,
    validation_context,
)
from signing._signer import SigningKey
from vanthu.errors import Kind


@dataclass(frozen=True)
class DetachedVerdict:
    """What :func:`verify_bytes` found about one detached signature."""

    intact: bool
    """The bytes are the ones signed and the signature matches the certificate's key."""
    trusted: bool
    """The signer's certificate chains to one of the trust roots (at the timestamp's time when
    it has expired since)."""
    signer: str
    """The signer certificate's common name."""
    serial: int
    """The signer certificate's serial number."""
    fingerprint: str
    """SHA-256 (hex) of the signer certificate, DER."""
    timestamp: datetime | None
    """The TSA's time, when the signature carries a valid, trusted timestamp token."""
    problems: tuple[str, ...]
    """What is wrong, in Vietnamese; empty when the signature holds."""
    problems_en: tuple[str, ...]
    """The same in English."""

    @property
    def valid(self) -> bool:
        return not self.problems


def sign_bytes(
    key: SigningKey, data: bytes, *, kind: CertificateKind | None = "organisation"
) -> bytes:
    """A detached CMS signature (DER) of ``data`` under the active signing policy.

    The certificate is checked first (``kind``: an agency's certificate by default); at level
    B-T or above the policy's TSA timestamps the signature (no answer: a retryable
    SigningError)."""
    policy = policy_for(key)
    if not passed_in_this_block(key.certificate, kind):
        check_signing_policy(
            key.certificate,
            key.chain,
            kind=kind,
            trust_roots=policy.trust_roots,
            check_revocation=policy.check_revocation,
        )
        remember_passed(key.certificate, kind)
    signer = key.pyhanko_signer
    try:
        signed = run_sync(
            signer.async_sign_general_data(
                data, DIGEST, detached=True, timestamper=timestamper_for(policy)
            )
        )
    except PyHankoSigningError as exc:
        raise SigningError(
            f"không ký được dữ liệu: {exc}",
            f"the data cannot be signed: {exc}",
            code="signing.detached.failed",
            certificate_serial=key.serial,
        ) from exc
    der: bytes = signed.dump()
    return der


def verify_bytes(data: bytes, signature: bytes, *, trust_roots: Sequence[bytes]) -> DetachedVerdict:
    """Check a detached CMS ``signature`` over ``data`` against ``trust_roots`` (PEM or DER).

    Raises SigningError (``signing.detached.unreadable``) only when ``signature`` is not a CMS
    signature at all."""
    signed_data = _signed_data(signature)
    roots = asn1_roots(trust_roots)
    status = _validate(data, signed_data, roots, None)
    stamp = status.timestamp_validity
    stamp_ok = stamp is not None and stamp.intact and stamp.valid and stamp.trusted
    stamp_time = stamp.timestamp if stamp is not None and stamp_ok else None
    if status.intact and status.valid and not status.trusted and stamp_time is not None:
        # Expired (or not yet valid) now: judge the certificate when the TSA saw the signature.
        status = _validate(data, signed_data, roots, stamp_time)
    problems: list[tuple[str, str]] = []
    if not (status.intact and status.valid):
        problems.append(
            (
                "dữ liệu đã bị thay đổi sau khi ký hoặc chữ ký không khớp chứng thư số",
                "the data changed after signing or the signature does not match the certificate",
            )
        )
    elif not status.trusted:
        problems.append(
            (
                "chứng thư số ký không dẫn tới gốc tin cậy",
                "the signing certificate does not chain to a trusted root",
            )
        )
    if stamp is not None and not stamp_ok:
        problems.append(("dấu thời gian không hợp lệ", "the timestamp is not valid"))
    cert = status.signing_cert
    return DetachedVerdict(
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        signer=str(cert.subject.native.get("common_name", "")),
        serial=int(cert.serial_number),
        fingerprint=hashlib.sha256(cert.dump()).hexdigest(),
        timestamp=stamp_time,
        problems=tuple(vi for vi, _ in problems),
        problems_en=tuple(en for _, en in problems),
    )


def _signed_data(signature: bytes) -> cms.SignedData:
    try:
        info = cms.ContentInfo.load(signature)
        if info["content_type"].native != "signed_data":
            raise ValueError(f"content type {info['content_type'].native}")
        signed_data: cms.SignedData = info["content"]
        signed_data["signer_infos"][0]["signature"].native  # noqa: B018 (parses the structure)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise SigningError(
            "tệp chữ ký không phải chữ ký CMS/PKCS#7 đọc được",
            "the signature file is not a readable CMS/PKCS#7 signature",
            code="signing.detached.unreadable",
            kind=Kind.INVALID,
        ) from exc
    return signed_data


def _validate(
    data: bytes,
    signed_data: cms.SignedData,
    roots: list[asn1_x509.Certificate],
    moment: datetime | None,
) -> StandardCMSSignatureStatus:
    try:
        return run_sync(
            async_validate_detached_cms(
                data,
                signed_data,
                signer_validation_context=validation_context(roots, moment=moment, fetch=False),
                ts_validation_context=validation_context(roots, fetch=False),
            )
        )
    except (PyHankoSigningError, ValueError, KeyError) as exc:
        raise SigningError(
            f"không kiểm tra được chữ ký CMS: {exc}",
            f"the CMS signature cannot be checked: {exc}",
            code="signing.detached.unreadable",
            kind=Kind.INVALID,
        ) from exc
