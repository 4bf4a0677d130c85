"""Status messages: what the recipient's workflow reports to the sender (``report:`` on an
action of workflows/incoming.yaml), and what the sender sees of each recipient."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, or_, select

from engine.core.agency import own_agency
from engine.core.errors import NotFound
from engine.core.models import Document, ExchangeInbound, ExchangeMessage, ExchangePeer
from engine.core.workspace import Workspace
from engine.exchange import edxml
from engine.exchange.messages import DOCUMENT, IN, OUT, STATUS, queue
from engine.exchange.peers import organ_id_of
from engine.signatures import keys
from vanthu import clock

FINAL_STATES = {"02": "rejected"}
"""What a reported status makes of an arrival."""


def report_status(
    session: Session,
    ws: Workspace,
    document_id: int,
    code: str,
    comment: str | None,
    username: str,
) -> ExchangeMessage | None:
    """The workflow hook: queue status ``code`` for the sender of ``document_id``, when it
    arrived by the exchange (a document received by hand reports nothing)."""
    inbound = session.exec(
        select(ExchangeInbound).where(ExchangeInbound.document_id == document_id)
    ).first()
    if inbound is None:
        return None
    if code in FINAL_STATES:
        inbound.state = FINAL_STATES[code]
        session.add(inbound)
    return queue_status(
        session,
        ws,
        peer_organ_id=inbound.sender,
        edxml_document_id=inbound.edxml_document_id,
        document_id=document_id,
        code=code,
        reason=comment or "",
        staff=username,
    )


def queue_status(
    session: Session,
    ws: Workspace,
    *,
    peer_organ_id: str,
    edxml_document_id: str,
    document_id: int | None,
    code: str,
    reason: str = "",
    staff: str = "",
) -> ExchangeMessage:
    """Sign status ``code`` about ``edxml_document_id`` and queue it for the peer."""
    peer = session.exec(select(ExchangePeer).where(ExchangePeer.organ_id == peer_organ_id)).first()
    status = edxml.status_message(
        edxml.Organ(organ_id=organ_id_of(session), name=own_agency(session).name),
        edxml.Organ(organ_id=peer_organ_id, name=peer.name if peer else ""),
        edxml_document_id,
        code,
        reason,
        staff=staff,
        timestamp=clock.now(),
        message_id=uuid.uuid4().hex,
    )
    data = edxml.build_status(status, keys.agency_key(ws))
    return queue(
        session,
        ws,
        peer=peer_organ_id,
        kind=STATUS,
        data=data,
        message_id=status.message_id,
        edxml_document_id=edxml_document_id,
        document_id=document_id,
        status_code=code,
        reason=reason or None,
    )


@dataclass(frozen=True)
class StatusEvent:
    code: str
    description: str
    at: datetime
    reason: str = ""


@dataclass(frozen=True)
class RecipientStatus:
    """What the sender knows of one recipient of a document."""

    organ_id: str
    name: str
    business: str
    """new, recall, update, replacement: what was sent."""
    state: str
    """pending | sent | failed | refused (the delivery)."""
    sent_at: datetime | None
    attempts: int
    error: str | None
    """Why it was refused, or why the last try failed."""
    statuses: tuple[StatusEvent, ...]


def exchange_status(ws: Workspace, document_id: int) -> list[RecipientStatus]:
    """Per recipient: delivery and every status reported back, oldest first."""
    with Session(ws.db) as session:
        if session.get(Document, document_id) is None:
            raise NotFound(
                "không có văn bản này",
                "no such document",
                code="document.not_found",
                document_id=document_id,
            )
        names = {p.organ_id: p.name for p in session.exec(select(ExchangePeer)).all()}
        sent = session.exec(
            select(ExchangeMessage)
            .where(
                ExchangeMessage.document_id == document_id,
                ExchangeMessage.kind == DOCUMENT,
                ExchangeMessage.direction == OUT,
            )
            .order_by(col(ExchangeMessage.id))
        ).all()
        reported = session.exec(
            select(ExchangeMessage)
            .where(
                ExchangeMessage.document_id == document_id,
                ExchangeMessage.kind == STATUS,
                or_(ExchangeMessage.direction == IN, ExchangeMessage.status_code == "13"),
            )
            .order_by(col(ExchangeMessage.id))
        ).all()
        result = []
        for message in sent:
            # an update goes under the same DocumentId: each status belongs to the last
            # envelope sent before it
            later = [
                m.id or 0
                for m in sent
                if (m.id or 0) > (message.id or 0)
                and m.peer == message.peer
                and m.edxml_document_id == message.edxml_document_id
            ]
            until = min(later, default=None)
            events = tuple(
                StatusEvent(
                    code=r.status_code or "",
                    description=edxml.STATUS_DESCRIPTIONS.get(r.status_code or "", ""),
                    at=r.received_at or r.created_at,
                    reason=r.reason or "",
                )
                for r in reported
                if r.peer == message.peer
                and r.edxml_document_id == message.edxml_document_id
                and (r.id or 0) > (message.id or 0)
                and (until is None or (r.id or 0) < until)
            )
            result.append(
                RecipientStatus(
                    organ_id=message.peer,
                    name=names.get(message.peer, ""),
                    business=message.business,
                    state=message.state,
                    sent_at=message.sent_at,
                    attempts=message.attempts,
                    error=message.last_error,
                    statuses=events,
                )
            )
        return result


@dataclass(frozen=True)
class Arrival:
    """Where an incoming document came from by the exchange."""

    sender: str
    """The sending agency's organ id."""
    sender_name: str
    edxml_document_id: str
    state: str
    """received | rejected | withdrawn | replaced"""


def arrival_of(ws: Workspace, document_id: int) -> Arrival | None:
    """The exchange arrival behind an incoming document (None: it did not come that way)."""
    with Session(ws.db) as session:
        inbound = session.exec(
            select(ExchangeInbound).where(ExchangeInbound.document_id == document_id)
        ).first()
        if inbound is None:
            return None
        peer = session.exec(
            select(ExchangePeer).where(ExchangePeer.organ_id == inbound.sender)
        ).first()
        return Arrival(
            sender=inbound.sender,
            sender_name=peer.name if peer else "",
            edxml_document_id=inbound.edxml_document_id,
            state=inbound.state,
        )
