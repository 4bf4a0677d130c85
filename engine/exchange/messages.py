"""The record of every envelope and status message sent or received (``exchange_message``):
queued for a peer in the caller's transaction, delivered later by
:func:`engine.exchange.delivery.deliver_pending`."""

from __future__ import annotations

from sqlmodel import Session

from engine.core.models import ExchangeMessage
from engine.core.workspace import Workspace
from storage import put_content
from vanthu import clock

XML_TYPE = "application/xml"
OUT, IN = "out", "in"
DOCUMENT, STATUS = "document", "status"


def store_envelope(ws: Workspace, data: bytes) -> str:
    """Keep the envelope as sent or received, by its SHA-256."""
    return put_content(ws.store, data, XML_TYPE)


def queue(
    session: Session,
    ws: Workspace,
    *,
    peer: str,
    kind: str,
    data: bytes,
    message_id: str,
    edxml_document_id: str,
    document_id: int | None,
    business: str = "new",
    status_code: str | None = None,
    reason: str | None = None,
) -> ExchangeMessage:
    """An outgoing message for ``peer`` (its organ id), pending delivery."""
    message = ExchangeMessage(
        direction=OUT,
        peer=peer,
        kind=kind,
        document_id=document_id,
        edxml_document_id=edxml_document_id,
        business=business,
        status_code=status_code,
        reason=reason,
        message_id=message_id,
        sha256=store_envelope(ws, data),
        available_at=clock.now(),
    )
    session.add(message)
    session.flush()
    return message
