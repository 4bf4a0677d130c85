"""Revocations of the DEMO PKI, kept in its folder so every process sees the same list.

One JSON file (``revocations.json``) maps each revoked serial (hex) to its reason and time. It is
rewritten atomically under a lock, so a revocation made by `vanthu pki revoke` is what the next
OCSP answer and the next CRL of any process report.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from signing._cache import forget_serial
from signing._errors import SigningError
from signing._pki import DemoPKI, IssuedCertificate, issued_certificates
from signing._policy import reason_text
from vanthu import clock
from vanthu.errors import Kind

REVOCATIONS = "revocations.json"
REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key-compromise": x509.ReasonFlags.key_compromise,
    "ca-compromise": x509.ReasonFlags.ca_compromise,
    "affiliation-changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation-of-operation": x509.ReasonFlags.cessation_of_operation,
    "certificate-hold": x509.ReasonFlags.certificate_hold,
    "privilege-withdrawn": x509.ReasonFlags.privilege_withdrawn,
}
"""The reasons `vanthu pki revoke --reason` accepts (RFC 5280 CRLReason, kebab-case)."""


@dataclass(frozen=True)
class Revocation:
    """One revoked certificate."""

    serial: int
    reason: str
    """One of :data:`REASONS`' keys."""
    revoked_at: datetime

    @property
    def flag(self) -> x509.ReasonFlags:
        return REASONS[self.reason]

    @property
    def reason_vi(self) -> str:
        return reason_text(self.reason)


def revoke(
    pki: DemoPKI, serial: int, reason: str = "unspecified", at: datetime | None = None
) -> Revocation:
    """Revoke a certificate the PKI issued (not the root); a second revocation is refused."""
    if reason not in REASONS:
        raise SigningError(
            f"lý do thu hồi '{reason}' không có; chọn một trong: {', '.join(REASONS)}",
            f"there is no revocation reason '{reason}'; choose one of: {', '.join(REASONS)}",
            code="signing.demo.reason_unknown",
            kind=Kind.INVALID,
            reason=reason,
        )
    issued = {c.serial: c for c in issued_certificates(pki)}
    found = issued.get(serial)
    if found is None:
        raise SigningError(
            "bộ khóa DEMO không cấp chứng thư số này",
            "the DEMO PKI did not issue this certificate",
            code="signing.demo.serial_unknown",
            kind=Kind.NOT_FOUND,
            certificate_serial=serial,
        )
    if not found.issuer:
        raise SigningError(
            "không thu hồi được chứng thư gốc (root) bằng danh sách thu hồi",
            "the root certificate cannot be revoked through a revocation list",
            code="signing.demo.root_not_revocable",
            kind=Kind.INVALID,
            certificate_serial=serial,
        )
    # OCSP and CRLs carry whole seconds: round down, so the very next signature sees it
    moment = (at or clock.now()).astimezone(UTC).replace(microsecond=0)
    with _locked(pki):
        current = _read(pki)
        if serial in current:
            since = current[serial].revoked_at
            raise SigningError(
                f"chứng thư ({found.name}) đã bị thu hồi từ {since:%d/%m/%Y %H:%M} UTC",
                f"the certificate ({found.name}) has been revoked since {since:%Y-%m-%d %H:%M} UTC",
                code="signing.demo.already_revoked",
                kind=Kind.CONFLICT,
                certificate_serial=serial,
                revoked_at=since.isoformat(),
            )
        current[serial] = Revocation(serial, reason, moment)
        _write(pki, current)
    forget_serial(serial)  # this process's next validation asks the responder again
    return current[serial]


def revocations(pki: DemoPKI) -> dict[int, Revocation]:
    """Every revocation, by serial."""
    return _read(pki)


def revoked_by(pki: DemoPKI, ca_id: str) -> list[tuple[IssuedCertificate, Revocation]]:
    """The revoked certificates one CA issued, oldest revocation first."""
    current = _read(pki)
    found = [(c, current[c.serial]) for c in issued_certificates(pki) if c.serial in current]
    return sorted(
        ((c, r) for c, r in found if c.issuer == ca_id), key=lambda pair: pair[1].revoked_at
    )


def _path(pki: DemoPKI) -> Path:
    return pki.directory / REVOCATIONS


@contextmanager
def _locked(pki: DemoPKI) -> Iterator[None]:
    with open(pki.directory / f".{REVOCATIONS}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(pki: DemoPKI) -> dict[int, Revocation]:
    path = _path(pki)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise _corrupt(path, exc) from exc
    try:
        return {
            int(serial, 16): Revocation(
                int(serial, 16), item["reason"], datetime.fromisoformat(item["revoked_at"])
            )
            for serial, item in data.items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _corrupt(path, exc) from exc


def _corrupt(path: Path, exc: Exception) -> SigningError:
    return SigningError(
        f"danh sách thu hồi hỏng: {exc}",
        f"the revocation list is broken: {exc}",
        code="signing.demo.revocations_corrupt",
        kind=Kind.CONFIG,
        file=str(path),
    )


def _write(pki: DemoPKI, current: dict[int, Revocation]) -> None:
    data = {
        f"{serial:x}": {"reason": item.reason, "revoked_at": item.revoked_at.isoformat()}
        for serial, item in sorted(current.items())
    }
    temporary = pki.directory / f".{REVOCATIONS}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, _path(pki))
