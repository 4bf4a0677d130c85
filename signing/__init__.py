"""Signing: Decree 30 form fields, PAdES signatures with visible appearances, validation.

Nothing outside this package imports pyHanko.
"""

from signing._errors import SigningError
from signing._fields import add_form_fields
from signing._images import draw_seal_image, draw_signature_image
from signing._layout import (
    FIELD_DATE,
    FIELD_NUMBER,
    FIELD_SEAL,
    FIELD_SIGNER,
    Box,
    FormLayout,
    seal_over_signer,
)
from signing._outgoing import certify, issue
from signing._pki import DemoPKI, Identity, create_demo_pki, load_demo_pki
from signing._report import DocumentReport, SignatureReport
from signing._signer import SigningKey, load_pkcs12
from signing._verify import verify_document

__all__ = [
    "FIELD_DATE",
    "FIELD_NUMBER",
    "FIELD_SEAL",
    "FIELD_SIGNER",
    "Box",
    "DemoPKI",
    "DocumentReport",
    "FormLayout",
    "Identity",
    "SignatureReport",
    "SigningError",
    "SigningKey",
    "add_form_fields",
    "certify",
    "create_demo_pki",
    "draw_seal_image",
    "draw_signature_image",
    "issue",
    "load_demo_pki",
    "load_pkcs12",
    "seal_over_signer",
    "verify_document",
]
