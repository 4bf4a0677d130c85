"""Signing: Decree 30 form fields, PAdES signatures with visible appearances, validation.

Nothing outside this package imports pyHanko.
"""

from signing._layout import (
    FIELD_DATE,
    FIELD_NUMBER,
    FIELD_SEAL,
    FIELD_SIGNER,
    Box,
    FormLayout,
    seal_over_signer,
)

__all__ = [
    "FIELD_DATE",
    "FIELD_NUMBER",
    "FIELD_SEAL",
    "FIELD_SIGNER",
    "Box",
    "FormLayout",
    "seal_over_signer",
]
