"""Outgoing documents (văn bản đi): drafting, conversion, the leader's signature (on the server
or on the leader's own token), attachments, issuing (number, date, seal) and electronic copies."""

from engine.outgoing.attachments import add_attachment, signed_attachments
from engine.outgoing.copies import Copy, make_copy
from engine.outgoing.drafting import (
    URGENCIES,
    DraftRequest,
    Signer,
    create_outgoing,
    draft_signers,
    render_request,
    upload_version,
)
from engine.outgoing.signature import sign

__all__ = [
    "URGENCIES",
    "Copy",
    "DraftRequest",
    "Signer",
    "add_attachment",
    "create_outgoing",
    "draft_signers",
    "make_copy",
    "render_request",
    "sign",
    "signed_attachments",
    "upload_version",
]
