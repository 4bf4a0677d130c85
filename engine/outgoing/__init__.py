"""Outgoing documents (văn bản đi): drafting, conversion, the leader's signature (on the server
or on the leader's own token), attachments, issuing (number, date, seal) and electronic copies."""

from engine.outgoing.attachments import add_attachment, signed_attachments
from engine.outgoing.copies import Copy, make_copy
from engine.outgoing.drafting import DraftRequest, create_outgoing, render_request, upload_version
from engine.outgoing.signature import sign

__all__ = [
    "Copy",
    "DraftRequest",
    "add_attachment",
    "create_outgoing",
    "make_copy",
    "render_request",
    "sign",
    "signed_attachments",
    "upload_version",
]
