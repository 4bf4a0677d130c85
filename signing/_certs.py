"""Certificates between the two libraries: cryptography's objects, asn1crypto's for pyHanko."""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.keys import load_certs_from_pemder_data

from signing._errors import SigningError
from vanthu.errors import Kind


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def asn1_roots(data: Sequence[bytes]) -> list[asn1_x509.Certificate]:
    """Trust roots given as PEM or DER bytes; an unreadable one is named by its place."""
    roots: list[asn1_x509.Certificate] = []
    for index, item in enumerate(data):
        try:
            roots.extend(load_certs_from_pemder_data(item))
        except (ValueError, TypeError) as exc:
            raise SigningError(
                f"chứng thư gốc tin cậy thứ {index + 1} không đọc được",
                f"trusted root certificate no. {index + 1} cannot be read",
                code="signing.trust_root.unreadable",
                kind=Kind.CONFIG,
                position=index + 1,
            ) from exc
    return roots
