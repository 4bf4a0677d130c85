"""Person or organisation: which kind of certificate a key holds.

Decree 30 wants the leader to sign with a personal certificate and the clerk to seal with the
agency's. The demo CA marks each certificate with one of two policy identifiers (UUID-based
OIDs under 2.25, which need no registration); certificates from other CAs are 'unknown' until a
certificate policy for the real CA says how to tell.
"""

from __future__ import annotations

from typing import Literal

from cryptography import x509

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
