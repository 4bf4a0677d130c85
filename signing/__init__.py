"""Signing: Decree 30 form fields, PAdES signatures with visible appearances, validation.

Nothing outside this package imports pyHanko.
"""

from signing._errors import SigningError
from signing._external import (
    PreparedSignature,
    check_signature_value,
    finish_signature,
    prepare_certification,
)
from signing._fields import add_form_fields, pdf_page_count
from signing._images import draw_seal_image, draw_signature_image
from signing._layout import (
    FIELD_ATTACHMENT,
    FIELD_COPY,
    FIELD_DATE,
    FIELD_NUMBER,
    FIELD_SEAL,
    FIELD_SIGNER,
    Box,
    FormLayout,
    seal_over_signer,
)
from signing._levels import archival_timestamp_expiry, make_archival, renew_archival_timestamp
from signing._outgoing import certify, issue
from signing._pkcs11 import TokenKey, open_pkcs11_key
from signing._pki import (
    DemoPKI,
    Identity,
    IssuedCertificate,
    create_demo_pki,
    issue_demo_certificate,
    issued_certificates,
    load_demo_pki,
)
from signing._policy import (
    LEVELS,
    Level,
    SigningPolicy,
    check_signing_policy,
    reason_text,
    signing_policy,
)
from signing._report import DocumentReport, SignatureReport
from signing._revocation import REASONS as REVOCATION_REASONS
from signing._revocation import Revocation, revocations, revoke
from signing._services import ensure_pki_services, serve_pki, stop_pki_services
from signing._signer import SigningKey, load_pkcs12, verify_digest_signature
from signing._stamps import electronic_copy, sign_attachment
from signing._verify import verify_document

__all__ = [
    "FIELD_ATTACHMENT",
    "FIELD_COPY",
    "FIELD_DATE",
    "FIELD_NUMBER",
    "FIELD_SEAL",
    "FIELD_SIGNER",
    "LEVELS",
    "REVOCATION_REASONS",
    "Box",
    "DemoPKI",
    "DocumentReport",
    "FormLayout",
    "Identity",
    "IssuedCertificate",
    "Level",
    "PreparedSignature",
    "Revocation",
    "SignatureReport",
    "SigningError",
    "SigningKey",
    "SigningPolicy",
    "TokenKey",
    "add_form_fields",
    "archival_timestamp_expiry",
    "certify",
    "check_signature_value",
    "check_signing_policy",
    "create_demo_pki",
    "draw_seal_image",
    "draw_signature_image",
    "electronic_copy",
    "ensure_pki_services",
    "finish_signature",
    "issue",
    "issue_demo_certificate",
    "issued_certificates",
    "load_demo_pki",
    "load_pkcs12",
    "make_archival",
    "open_pkcs11_key",
    "pdf_page_count",
    "prepare_certification",
    "reason_text",
    "renew_archival_timestamp",
    "revocations",
    "revoke",
    "seal_over_signer",
    "serve_pki",
    "sign_attachment",
    "signing_policy",
    "stop_pki_services",
    "verify_digest_signature",
    "verify_document",
]
