"""Person or organisation: which kind of certificate a key holds.

Decree 30 wants the leader to sign with a personal certificate and the clerk to seal with the
agency's. The demo CA marks each certificate with one of two policy identifiers (UUID-based
OIDs under 2.25, which need no registration); certificates from other CAs are 'unknown' until a
certificate policy for the real CA says how to tell.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    InvalidCertificateError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
)
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

from signing._aio import run_sync
from signing._cache import CachingFetcherBackend
from signing._certs import to_asn1
from signing._errors import SigningError
from vanthu import clock
from vanthu.errors import Kind

POLICY_PERSON = "2.25.31542874911526846011922177427578022797"
POLICY_ORGANISATION = "2.25.191665362681007844120921738243261692431"

CertificateKind = Literal["person", "organisation", "unknown"]


def certificate_kind(cert: x509.Certificate) -> CertificateKind:
    """The kind the certificate's policies declare."""
    try:
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return "unknown"
    oids = {info.policy_identifier.dotted_string for info in policies}
    if POLICY_PERSON in oids:
        return "person"
    if POLICY_ORGANISATION in oids:
        return "organisation"
    return "unknown"


def common_name(name: x509.Name) -> str:
    """The CN of a name, or the whole name when it has none."""
    values = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(values[0].value) if values else name.rfc4514_string()


def organisation(name: x509.Name) -> str | None:
    values = name.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    return str(values[0].value) if values else None


# --- the policy checked before every signature ---------------------------------------------

Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]
LEVELS: tuple[Level, ...] = ("B-B", "B-T", "B-LT", "B-LTA")

_KIND_NAMES = {"person": "cá nhân", "organisation": "cơ quan, tổ chức", "unknown": "không rõ loại"}
_KIND_NAMES_EN = {
    "person": "a personal",
    "organisation": "an agency's",
    "unknown": "an unknown kind of",
}
FETCH_TIMEOUT = 5
"""Seconds to wait for an OCSP, CRL or certificate fetch before refusing."""
_SIGNING_USAGES = frozenset({"digital_signature", "non_repudiation"})


@dataclass(frozen=True)
class SigningPolicy:
    """What every signature made inside :func:`signing_policy` must satisfy, and at what level.

    ``trust_roots`` are the configured roots (PEM or DER certificates). ``tsa_url`` is the RFC
    3161 service for levels B-T and above. ``check_revocation`` asks the certificate's own OCSP
    and CRL services (hard-fail: no answer, no signature).
    """

    trust_roots: tuple[bytes, ...]
    level: Level = "B-B"
    tsa_url: str | None = None
    check_revocation: bool = True

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise SigningError(
                f"mức chữ ký '{self.level}' không có; chọn một trong {LEVELS}",
                f"there is no signature level '{self.level}'; choose one of {LEVELS}",
                code="signing.policy.level_unknown",
                kind=Kind.INVALID,
                level=self.level,
            )
        if self.level != "B-B" and not self.tsa_url:
            raise SigningError(
                f"mức chữ ký {self.level} cần địa chỉ dịch vụ cấp dấu thời gian",
                f"signature level {self.level} needs the address of a timestamping service",
                code="signing.policy.tsa_missing",
                kind=Kind.CONFIG,
                level=self.level,
            )


_ACTIVE: ContextVar[SigningPolicy | None] = ContextVar("vanthu_signing_policy", default=None)
_PASSED: ContextVar[set[tuple[bytes, str | None]] | None] = ContextVar(
    "vanthu_policy_passed", default=None
)


@contextmanager
def signing_policy(policy: SigningPolicy) -> Iterator[SigningPolicy]:
    """Every signature made inside this block follows ``policy`` (roots, revocation, level).

    One block is one batch: a certificate is checked before its first signature in the block,
    not again for the next ones (a batch of seals asks the OCSP responder once). The next block
    checks again, so a revocation is seen by the next document.
    """
    token = _ACTIVE.set(policy)
    passed = _PASSED.set(set())
    try:
        yield policy
    finally:
        _PASSED.reset(passed)
        _ACTIVE.reset(token)


def passed_in_this_block(certificate: x509.Certificate, kind: str | None) -> bool:
    """Whether ``certificate`` already passed the policy for ``kind`` in the current
    :func:`signing_policy` block (see :func:`remember_passed`)."""
    passed = _PASSED.get()
    if passed is None:
        return False
    entry = (certificate.fingerprint(hashes.SHA256()), kind)
    return entry in passed


def remember_passed(certificate: x509.Certificate, kind: str | None) -> None:
    passed = _PASSED.get()
    if passed is not None:
        passed.add((certificate.fingerprint(hashes.SHA256()), kind))


def active_policy() -> SigningPolicy | None:
    """The policy set by the innermost :func:`signing_policy` block, if any."""
    return _ACTIVE.get()


def check_signing_policy(
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    *,
    kind: CertificateKind | None = None,
    trust_roots: Sequence[bytes] | None = None,
    check_revocation: bool | None = None,
    at: datetime | None = None,
) -> None:
    """Refuse, with one Vietnamese sentence naming the certificate, a key that may not sign now.

    Checks: a chain to ``trust_roots`` (default: the active :class:`SigningPolicy`'s roots, else
    the self-signed roots in ``chain``), validity at ``at`` (default now), not revoked (OCSP or
    CRL fetched from the services the certificates name; unreachable services refuse), key usage
    digitalSignature and nonRepudiation, and — when ``kind`` is given — a person's or an
    agency's certificate as asked. Raises :class:`SigningError`; returns None when all hold.
    """
    active = active_policy()
    named = common_name(certificate.subject)
    serial = certificate.serial_number
    moment = at or clock.now()
    starts, ends = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if moment < starts:
        raise SigningError(
            f"chứng thư số ({named}) chưa có hiệu lực: có hiệu lực từ {starts:%d/%m/%Y %H:%M} UTC",
            f"the certificate ({named}) is not valid yet: it is valid from "
            f"{starts:%Y-%m-%d %H:%M} UTC",
            code="signing.policy.not_yet_valid",
            certificate_serial=serial,
            valid_from=starts.isoformat(),
        )
    if moment > ends:
        raise SigningError(
            f"chứng thư số ({named}) đã hết hạn ngày {ends:%d/%m/%Y}",
            f"the certificate ({named}) expired on {ends:%Y-%m-%d}",
            code="signing.policy.expired",
            certificate_serial=serial,
            valid_until=ends.isoformat(),
        )
    found = certificate_kind(certificate)
    if kind is not None and found != kind:
        raise SigningError(
            f"chứng thư số ({named}) là chứng thư {_KIND_NAMES[found]}, không dùng được cho "
            f"chữ ký {'cá nhân' if kind == 'person' else 'của cơ quan (con dấu)'}",
            f"the certificate ({named}) is {_KIND_NAMES_EN[found]} certificate, not usable for "
            f"{'a personal signature' if kind == 'person' else 'the agency signature (seal)'}",
            code="signing.policy.wrong_kind",
            certificate_serial=serial,
            expected=kind,
            found=found,
        )
    if trust_roots is None:
        trust_roots = active.trust_roots if active else self_signed_roots(chain)
    if check_revocation is None:
        check_revocation = active.check_revocation if active else True
    roots = [to_asn1(data) for data in _certificates(trust_roots, named, serial)]
    if not roots:
        raise SigningError(
            f"chứng thư số ({named}): chưa cấu hình chứng thư gốc tin cậy nào",
            f"certificate ({named}): no trusted root certificate is configured",
            code="signing.policy.no_trust_roots",
            kind=Kind.CONFIG,
            certificate_serial=serial,
        )
    run_sync(_validate(certificate, chain, roots, named, moment, check_revocation))


async def _validate(
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    roots: list[asn1_x509.Certificate],
    named: str,
    moment: datetime,
    check_revocation: bool,
) -> None:
    context = validation_context(
        roots, [to_asn1(c) for c in chain], moment=moment, fetch=check_revocation
    )
    validator = CertificateValidator(to_asn1(certificate), validation_context=context)
    serial = certificate.serial_number
    try:
        await validator.async_validate_usage(set(_SIGNING_USAGES))
    except RevokedError as exc:
        reason, when = _revocation_of(exc)
        raise SigningError(
            f"chứng thư số ({named}) đã bị thu hồi ({_revocation_text(reason, when)})",
            f"the certificate ({named}) has been revoked ({_revocation_text_en(reason, when)})",
            code="signing.policy.revoked",
            certificate_serial=serial,
            reason=reason,
            revoked_at=when.isoformat() if when is not None else None,
        ) from exc
    except ExpiredError as exc:
        raise SigningError(
            f"chứng thư số ({named}) có chứng thư trong chuỗi đã hết hạn",
            f"the certificate ({named}) has an expired certificate in its chain",
            code="signing.policy.chain_expired",
            certificate_serial=serial,
        ) from exc
    except NotYetValidError as exc:
        raise SigningError(
            f"chứng thư số ({named}) có chứng thư trong chuỗi chưa có hiệu lực",
            f"the certificate ({named}) has a certificate in its chain that is not valid yet",
            code="signing.policy.chain_not_yet_valid",
            certificate_serial=serial,
        ) from exc
    except PathBuildingError as exc:
        raise SigningError(
            f"chứng thư số ({named}) không dẫn về chứng thư gốc tin cậy nào đã cấu hình",
            f"the certificate ({named}) does not lead to any configured trusted root",
            code="signing.policy.untrusted",
            certificate_serial=serial,
        ) from exc
    except InsufficientRevinfoError as exc:
        raise SigningError(
            f"chứng thư số ({named}): không kiểm tra được tình trạng thu hồi "
            f"(dịch vụ OCSP/CRL không trả lời)",
            f"certificate ({named}): its revocation status cannot be checked (the OCSP/CRL "
            "service did not answer)",
            code="signing.policy.revocation_unknown",
            retryable=True,
            certificate_serial=serial,
        ) from exc
    except InvalidCertificateError as exc:
        raise SigningError(
            f"chứng thư số ({named}) không được phép ký số "
            f"(cần mục đích sử dụng khóa digitalSignature và nonRepudiation)",
            f"the certificate ({named}) is not allowed to sign "
            "(key usage digitalSignature and nonRepudiation needed)",
            code="signing.policy.key_usage",
            certificate_serial=serial,
        ) from exc
    except PathValidationError as exc:
        if "could not be verified" in str(exc):  # a look-alike chain, not signed by our root
            raise SigningError(
                f"chứng thư số ({named}) không dẫn về chứng thư gốc tin cậy nào đã cấu hình "
                f"(chữ ký trong chuỗi chứng thư không khớp)",
                f"the certificate ({named}) does not lead to any configured trusted root "
                "(a signature in the certificate chain does not match)",
                code="signing.policy.untrusted",
                certificate_serial=serial,
            ) from exc
        raise SigningError(
            f"chứng thư số ({named}) không qua được kiểm tra chuỗi chứng thư: {exc}",
            f"the certificate ({named}) fails the certificate chain check: {exc}",
            code="signing.policy.chain_invalid",
            certificate_serial=serial,
        ) from exc


def validation_context(
    roots: Sequence[asn1_x509.Certificate],
    other_certs: Sequence[asn1_x509.Certificate] = (),
    *,
    moment: datetime | None = None,
    fetch: bool = True,
) -> ValidationContext:
    """A context that fetches OCSP and CRLs from the services certificates name (hard-fail),
    judging at ``moment`` (default: now on Vanthu's clock, which the DEMO services also read)."""
    when = moment or clock.now()
    return ValidationContext(
        trust_roots=list(roots),
        other_certs=list(other_certs),
        moment=when,
        allow_fetching=fetch,
        revocation_mode="hard-fail" if fetch else "soft-fail",
        # answers kept until their nextUpdate, as validation does (signing._cache)
        fetcher_backend=CachingFetcherBackend(_BACKEND, when),
    )


_BACKEND = RequestsFetcherBackend(per_request_timeout=FETCH_TIMEOUT)
"""Keeps nothing between contexts (each gets fresh fetchers), so one serves the process."""


_REASONS = {
    "key_compromise": "lộ khóa bí mật",
    "ca_compromise": "lộ khóa của CA",
    "affiliation_changed": "thay đổi đơn vị công tác",
    "superseded": "đã được thay thế",
    "cessation_of_operation": "ngừng sử dụng",
    "certificate_hold": "tạm dừng",
    "privilege_withdrawn": "rút quyền",
    "unspecified": "không nêu lý do",
}


def reason_text(reason: str) -> str:
    """The Vietnamese name of an X.509 revocation reason (asn1crypto/cryptography spelling)."""
    return _REASONS.get(reason.replace("-", "_").lower(), reason)


def _revocation_of(exc: RevokedError) -> tuple[str, datetime | None]:
    """The revocation's reason (asn1crypto spelling) and time, as the validator reports them."""
    reason = getattr(getattr(exc, "reason", None), "native", None) or "unspecified"
    when = getattr(exc, "revocation_dt", None)
    return str(reason), when.astimezone(UTC) if isinstance(when, datetime) else None


def _revocation_text(reason: str, when: datetime | None) -> str:
    text = f"lý do: {reason_text(reason)}"
    if when is not None:
        text += f", từ {when:%d/%m/%Y %H:%M} UTC"
    return text


def _revocation_text_en(reason: str, when: datetime | None) -> str:
    text = f"reason: {reason.replace('_', ' ')}"
    if when is not None:
        text += f", since {when:%Y-%m-%d %H:%M} UTC"
    return text


def self_signed_roots(chain: Sequence[x509.Certificate]) -> tuple[bytes, ...]:
    """The self-signed certificates (roots) in ``chain``, DER-encoded."""
    return tuple(c.public_bytes(serialization.Encoding.DER) for c in chain if c.issuer == c.subject)


def _certificates(data: Sequence[bytes], named: str, serial: int) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for index, item in enumerate(data):
        try:
            if b"-----BEGIN" in item:
                certs.extend(x509.load_pem_x509_certificates(item))
            else:
                certs.append(x509.load_der_x509_certificate(item))
        except ValueError as exc:
            raise SigningError(
                f"chứng thư gốc tin cậy thứ {index + 1} không đọc được (kiểm tra {named})",
                f"trusted root certificate no. {index + 1} cannot be read (checking {named})",
                code="signing.trust_root.unreadable",
                kind=Kind.CONFIG,
                certificate_serial=serial,
                position=index + 1,
            ) from exc
    return certs
