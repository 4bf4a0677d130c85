"""The DEMO PKI, for tests, the demo agency and development; never a production trust anchor.

Everything it makes is generated at run time and named DEMO: a root, sub-CAs for persons and
agencies, a TSA and OCSP responders, certificates for an agency's people, revocation, the
services over local HTTP, and drawn signature and seal images (an agency supplies its own
scans in production).
"""

from signing._images import draw_seal_image, draw_signature_image
from signing._pki import (
    DemoPKI,
    Identity,
    IssuedCertificate,
    create_demo_pki,
    forget_demo_pin,
    issue_demo_certificate,
    issued_certificates,
    load_ca,
    load_demo_pki,
)
from signing._revocation import REASONS as REVOCATION_REASONS
from signing._revocation import Revocation, revocations, revoke
from signing._services import ensure_pki_services, serve_pki, stop_pki_services

__all__ = [
    "REVOCATION_REASONS",
    "DemoPKI",
    "Identity",
    "IssuedCertificate",
    "Revocation",
    "create_demo_pki",
    "draw_seal_image",
    "draw_signature_image",
    "ensure_pki_services",
    "forget_demo_pin",
    "issue_demo_certificate",
    "issued_certificates",
    "load_ca",
    "load_demo_pki",
    "revocations",
    "revoke",
    "serve_pki",
    "stop_pki_services",
]
