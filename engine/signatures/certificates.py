"""The certificates the agency's PKI issued: listed with their state, and revoked by who may.

Revocation is for the administrator and the clerk, who keeps the agency's seal and key devices
(Decree 30, Art. 33); a person may always revoke their own certificate. OCSP and the CRLs say
so from that second, so the very next signature with it is refused; each revocation is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import InvalidInput, NotAllowed, NotFound
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.signatures import keys
from signing.demo import REVOCATION_REASONS, IssuedCertificate, Revocation, revocations, revoke
from vanthu import clock

REVOKERS = frozenset({"admin", "clerk"})
KINDS = {
    "ca": "CA",
    "ocsp": "máy chủ OCSP",
    "tsa": "dịch vụ dấu thời gian",
    "person": "cá nhân",
    "organisation": "cơ quan",
}


@dataclass(frozen=True)
class CertificateState:
    issued: IssuedCertificate
    certificate: x509.Certificate
    revocation: Revocation | None

    @property
    def common_name(self) -> str:
        values = self.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(values[0].value) if values else self.certificate.subject.rfc4514_string()

    @property
    def expired(self) -> bool:
        return self.certificate.not_valid_after_utc < clock.now()

    def to_json(self) -> dict[str, object]:
        cert, revocation = self.certificate, self.revocation
        return {
            "serial": f"{self.issued.serial:x}",
            "kind": self.issued.kind,
            "name": self.issued.name,
            "subject": cert.subject.rfc4514_string(),
            "not_before": cert.not_valid_before_utc.isoformat(),
            "not_after": cert.not_valid_after_utc.isoformat(),
            "revoked": revocation is not None,
            "revoked_at": revocation.revoked_at.isoformat() if revocation else None,
            "reason": revocation.reason if revocation else None,
        }


def certificates(ws: Workspace) -> list[CertificateState]:
    """Every certificate the PKI issued, in order, with its revocation if any."""
    pki = keys.pki(ws)
    revoked = revocations(pki)
    return [
        CertificateState(issued, issued.load(), revoked.get(issued.serial))
        for issued in keys.issued(ws)
    ]


@dataclass(frozen=True)
class Revoked:
    serial: int
    name: str
    revocation: Revocation


def revoke_certificate(
    ws: Workspace,
    actor: str,
    *,
    user: str | None = None,
    serial: str | None = None,
    reason: str = "unspecified",
) -> Revoked:
    """Revoke a person's certificate (``user``) or any by ``serial`` (hex), if ``actor`` may."""
    if reason not in REVOCATION_REASONS:
        raise InvalidInput(
            f"lý do thu hồi '{reason}' không có; chọn một trong: {', '.join(REVOCATION_REASONS)}",
            f"no revocation reason '{reason}'; choose one of: {', '.join(REVOCATION_REASONS)}",
            code="certificate.reason_unknown",
        )
    target = _target(ws, user, serial)
    with transaction(ws.db) as session:
        acting = user_named(session, actor)
        own = target.kind == "person" and target.name == actor
        if acting.role not in REVOKERS and not own:
            raise NotAllowed(
                f"{actor} ({acting.role}) không được thu hồi chứng thư số",
                f"{actor} ({acting.role}) may not revoke certificates",
                code="certificate.revoke_denied",
            )
        revocation = revoke(keys.pki(ws), target.serial, reason)
        audit.append(
            session,
            actor=actor,
            event="certificate_revoked",
            detail={
                "serial": f"{target.serial:x}",
                "kind": target.kind,
                "name": target.name,
                "reason": revocation.reason,
                "revoked_at": revocation.revoked_at.isoformat(),
            },
        )
    return Revoked(target.serial, target.name, revocation)


def _target(ws: Workspace, user: str | None, serial: str | None) -> IssuedCertificate:
    if (user is None) == (serial is None):
        raise InvalidInput(
            "cần đúng một trong hai: --user TÊN hoặc --serial SÊ-RI",
            "give exactly one of --user NAME or --serial SERIAL",
            code="certificate.target_ambiguous",
        )
    issued = keys.issued(ws)
    if user is not None:
        found = [c for c in issued if c.kind == "person" and c.name == user]
        if not found:
            raise NotFound(
                f"người dùng '{user}' không có chứng thư số cá nhân trong bộ khóa",
                f"user '{user}' has no personal certificate in the PKI",
                code="certificate.not_found",
            )
        return found[-1]
    try:
        number = int(str(serial).lower().removeprefix("0x").replace(":", ""), 16)
    except ValueError as exc:
        raise InvalidInput(
            f"sê-ri '{serial}' không phải số hex",
            f"serial '{serial}' is not a hexadecimal number",
            code="certificate.serial_invalid",
        ) from exc
    for cert in issued:
        if cert.serial == number:
            return cert
    raise NotFound(
        f"bộ khóa không có chứng thư sê-ri {number:x}",
        f"the PKI has no certificate with serial {number:x}",
        code="certificate.not_found",
    )
