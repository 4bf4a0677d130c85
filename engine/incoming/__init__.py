"""Incoming documents (văn bản đến): received, their signatures verified, registered (số đến)."""

from engine.incoming.preview import (
    IncomingPreview,
    IncomingReceipt,
    discard_staged,
    preview_incoming,
    receive_staged,
)
from engine.incoming.receiving import (
    URGENCIES,
    Duplicate,
    IncomingRequest,
    duplicates_of,
    find_duplicates,
    receive_incoming,
    require_clerk,
)

__all__ = [
    "URGENCIES",
    "Duplicate",
    "IncomingPreview",
    "IncomingReceipt",
    "IncomingRequest",
    "discard_staged",
    "duplicates_of",
    "find_duplicates",
    "preview_incoming",
    "receive_incoming",
    "receive_staged",
    "require_clerk",
]
