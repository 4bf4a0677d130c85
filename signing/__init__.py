"""Signing: Decree 30 form fields, PAdES signatures with visible appearances, validation.

Nothing outside this package imports pyHanko. The DEMO PKI (tests, the demo agency) is
``signing.demo``, apart from this production surface.
"""

from signing._approval import sign_approval
from signing._detached import DetachedVerdict, sign_bytes, verify_bytes
from signing._errors import SigningError
from signing._external import (
    PreparedSignature,
    check_signature_value,
    finish_signature,
    prepare_certification,
)
from signing._fields import add_form_fields, pdf_page_count
from signing._inspect import ActiveContent, PdfInspection, inspect_pdf
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
from signing._pin import change_pin, open_personal_key, pkcs12_password
from signing._pkcs11 import TokenKey, open_pkcs11_key
from signing._policy import (
    LEVELS,
    Level,
    SigningPolicy,
    check_signing_policy,
    reason_text,
    signing_policy,
)
from signing._report import DocumentReport, SignatureReport
from signing._signer import SigningKey, load_pkcs12, verify_digest_signature
from signing._stamps import electronic_copy, sign_attachment
from signing._trust import TRUST_LIST_NAMES, TrustList, TrustListName, government_trust_roots
from signing._verify import verify_document

__all__ = [
    "FIELD_ATTACHMENT",
    "FIELD_COPY",
    "FIELD_DATE",
    "FIELD_NUMBER",
    "FIELD_SEAL",
    "FIELD_SIGNER",
    "LEVELS",
    "TRUST_LIST_NAMES",
    "ActiveContent",
    "Box",
    "DetachedVerdict",
    "DocumentReport",
    "FormLayout",
    "Level",
    "PdfInspection",
    "PreparedSignature",
    "SignatureReport",
    "SigningError",
    "SigningKey",
    "SigningPolicy",
    "TokenKey",
    "TrustList",
    "TrustListName",
    "add_form_fields",
    "archival_timestamp_expiry",
    "certify",
    "change_pin",
    "check_signature_value",
    "check_signing_policy",
    "electronic_copy",
    "finish_signature",
    "government_trust_roots",
    "inspect_pdf",
    "issue",
    "load_pkcs12",
    "make_archival",
    "open_personal_key",
    "open_pkcs11_key",
    "pdf_page_count",
    "pkcs12_password",
    "prepare_certification",
    "reason_text",
    "renew_archival_timestamp",
    "seal_over_signer",
    "sign_approval",
    "sign_attachment",
    "sign_bytes",
    "signing_policy",
    "verify_bytes",
    "verify_digest_signature",
    "verify_document",
]
