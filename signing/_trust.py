"""Trust lists: which roots judge a file, and the government's list shipped with Vanthu.

A validation names the list whose root a signature's chain ends at, so a report can say who
vouched for it: the agency's own roots (its configuration), the government's list (the public
certificates of Vietnam's specialised-signature CA and the national root CA, shipped in
``signing/trust/``), or roots given for one check (``vanthu verify --trust``).

The shipped files are checked against the SHA-256 fingerprints below every time they are
loaded: a file that does not match (replaced on disk, corrupted by a copy) is refused by name,
never trusted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from signing._errors import SigningError
from vanthu.errors import Kind

TrustListName = Literal["agency", "government", "given"]
AGENCY: TrustListName = "agency"
GOVERNMENT: TrustListName = "government"
GIVEN: TrustListName = "given"
TRUST_LIST_NAMES: tuple[TrustListName, ...] = (AGENCY, GOVERNMENT, GIVEN)

GOVERNMENT_DIR = Path(__file__).with_name("trust")
GOVERNMENT_FINGERPRINTS = {
    "vgca-rootca-g2.pem": "F04BA4B459A7C9A1B971AD9B1CB833E695A80C79AEA63B174B66A70EDFE2FDB8",
    "vgca-ca-co-quan-nha-nuoc-g2.pem": (
        "D8CAB7A4AEF92E6BB2509D7C61CEE7B44F3731B2D21074963530277B366FAE4B"
    ),
    "vgca-rootca-g1.pem": "F7BC89054CEC7F12730D7B8CD3EB7955B163835087E5EB873EDFB584763B3F90",
    "vgca-ca-chinh-phu-g1.pem": "75E969C07BA35C29C72BBC1BFB880F20F3891A619B00B77EB02CA6160736A1FE",
    "vietnam-national-root-ca.pem": (
        "BAC8BF609AB420A8EE1780D74F4DE5C7F7184959D2A7375B0A75E4C29F0908E7"
    ),
}
"""SHA-256 of each certificate (DER), as the CAs publish them: the specialised-signature roots
of the Government Cipher Committee (G2 2018-2048 and G1 2010-2030, SHA-1), the CA serving
state agencies (G2) and the Government CA (G1) under them, and Vietnam National Root CA."""


@dataclass(frozen=True)
class TrustList:
    """Roots (PEM or DER certificates) trusted under one name."""

    name: TrustListName
    roots: tuple[bytes, ...]


def government_trust_roots(directory: Path | None = None) -> list[bytes]:
    """The government's trust list as shipped (PEM), each file checked by its fingerprint.

    Raises :class:`SigningError` ``signing.trust_list.fingerprint_mismatch`` naming a file whose
    certificate is not the one published, ``signing.trust_list.file_missing`` for a file that
    is not there.
    """
    directory = directory or GOVERNMENT_DIR
    roots = []
    for name, expected in GOVERNMENT_FINGERPRINTS.items():
        path = directory / name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SigningError(
                f"thiếu tệp chứng thư của danh sách tin cậy Chính phủ {name} ({exc.strerror})",
                f"the government trust list's certificate file {name} is missing ({exc.strerror})",
                code="signing.trust_list.file_missing",
                kind=Kind.CONFIG,
                file=str(path),
            ) from exc
        found = _fingerprint(data)
        if found != expected:
            raise SigningError(
                f"tệp chứng thư {name} của danh sách tin cậy Chính phủ không đúng dấu vân tay "
                f"SHA-256 đã công bố: không tin cậy tệp này",
                f"the government trust list's certificate file {name} does not match its "
                f"published SHA-256 fingerprint: it is not trusted",
                code="signing.trust_list.fingerprint_mismatch",
                kind=Kind.CONFIG,
                file=str(path),
                expected=expected,
                found=found or "?",
            )
        roots.append(data)
    return roots


def _fingerprint(data: bytes) -> str | None:
    """SHA-256 of the one certificate in ``data`` (PEM or DER), upper-case hex; None when the
    file is not exactly one readable certificate."""
    found = _fingerprints(data)
    return next(iter(found)) if len(found) == 1 and _count(data) == 1 else None


def _count(data: bytes) -> int:
    return data.count(b"-----BEGIN CERTIFICATE-----") if b"-----BEGIN" in data else 1


def government_fingerprints() -> frozenset[str]:
    """The published SHA-256 fingerprints (upper-case hex) of the government's list."""
    return frozenset(GOVERNMENT_FINGERPRINTS.values())


def named_lists(
    trust_roots: Sequence[bytes], trust_lists: Iterable[TrustList]
) -> tuple[TrustList, ...]:
    """Every root under the name of the list it came from.

    Roots given bare (``trust_roots``) are the configured ones: a shipped government root among
    them belongs to the government's list, any other to the agency's.
    """
    government = government_fingerprints()
    bare_agency, bare_government = [], []
    for root in trust_roots:
        fingerprints = _fingerprints(root)
        if fingerprints and fingerprints <= government:
            bare_government.append(root)
        else:
            bare_agency.append(root)
    merged: dict[TrustListName, list[bytes]] = {name: [] for name in TRUST_LIST_NAMES}
    merged[AGENCY].extend(bare_agency)
    merged[GOVERNMENT].extend(bare_government)
    for given in trust_lists:
        merged[given.name].extend(given.roots)
    return tuple(TrustList(name, tuple(roots)) for name, roots in merged.items() if roots)


def _fingerprints(data: bytes) -> frozenset[str]:
    """SHA-256 (upper-case hex) of every certificate in ``data``; empty when unreadable."""
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError:
        return frozenset()
    return frozenset(_sha256(cert) for cert in certs)


def _sha256(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest().upper()
