"""Who signed an envelope: the pinned certificate of the peer its From names, valid now, and
chaining to a root we trust (ours, or the CAs pinned with the peer's certificate)."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from engine.core.errors import NotAllowed
from engine.core.models import ExchangePeer
from engine.core.workspace import Workspace
from engine.signatures import keys

MAX_DEPTH = 6
"""Intermediate certificates followed at most, between the signer and a root."""


def check_signer(
    ws: Workspace,
    peer: ExchangePeer,
    certificate: x509.Certificate | None,
    chain: tuple[x509.Certificate, ...],
    now: datetime,
) -> None:
    """Refuse (exchange.signer_not_pinned, exchange.certificate_expired,
    exchange.chain_untrusted) unless ``certificate`` is the one pinned for ``peer``, valid at
    ``now`` and chains to a trusted root."""
    pinned = x509.load_pem_x509_certificates(peer.certificate.encode("ascii"))
    if certificate is None or certificate != pinned[0]:
        raise NotAllowed(
            f"gói tin không do chứng thư số đã đăng ký của {peer.organ_id} ký",
            f"the envelope is not signed by the certificate pinned for {peer.organ_id}",
            code="exchange.signer_not_pinned",
            organ_id=peer.organ_id,
        )
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise NotAllowed(
            f"chứng thư số của {peer.organ_id} không còn hiệu lực",
            f"the certificate of {peer.organ_id} is not valid now",
            code="exchange.certificate_expired",
            organ_id=peer.organ_id,
        )
    roots = [*_roots(keys.trust_roots(ws)), *pinned[1:]]
    if not _chains(certificate, [*chain, *pinned[1:]], roots, now):
        raise NotAllowed(
            f"chứng thư số của {peer.organ_id} không dẫn tới chứng thư gốc tin cậy",
            f"the certificate of {peer.organ_id} does not chain to a trusted root",
            code="exchange.chain_untrusted",
            organ_id=peer.organ_id,
        )


def _roots(found: list[bytes]) -> list[x509.Certificate]:
    roots: list[x509.Certificate] = []
    for data in found:
        if b"-----BEGIN" in data:
            roots += x509.load_pem_x509_certificates(data)
        else:
            roots.append(x509.load_der_x509_certificate(data))
    return roots


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _chains(
    certificate: x509.Certificate,
    intermediates: list[x509.Certificate],
    roots: list[x509.Certificate],
    now: datetime,
) -> bool:
    current = certificate
    for _ in range(MAX_DEPTH):
        if current in roots or any(_issued_by(current, root) for root in roots):
            return True
        parent = next(
            (
                c
                for c in intermediates
                if c != current
                and _issued_by(current, c)
                and c.not_valid_before_utc <= now <= c.not_valid_after_utc
            ),
            None,
        )
        if parent is None:
            return False
        current = parent
    return False
