"""Sending: an issued document's peer recipients each get a signed edXML envelope, queued in
the step's transaction (``send_to_recipients``) and delivered by :func:`deliver_pending`, retried
with backoff while a peer does not answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.agency import own_agency
from engine.core.db import transaction
from engine.core.logs import log_unexpected
from engine.core.models import Document, ExchangeMessage, ExchangePeer, OutboxItem, User
from engine.core.text import vietnam_time
from engine.core.workspace import Finisher, Workspace
from engine.exchange import edxml
from engine.exchange.messages import DOCUMENT, OUT, queue
from engine.exchange.peers import match_recipient, organ_id_of
from engine.exchange.transport import DeliveryReceipt, HttpTransport, Transport
from engine.signatures import keys
from engine.workflow.files import files_of_kind, newest_file
from storage import get_content
from vanthu import clock

FIRST_RETRY = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=30)
LEASE = timedelta(minutes=5)
"""A message being sent is not taken by another sender until this has passed."""
MAX_ATTEMPTS = 200
"""About four days of tries at the longest backoff; then the message waits for a person."""
PRIORITIES = {"Khẩn": 1, "Thượng khẩn": 2, "Hỏa tốc": 3}
ATTACHMENT_KINDS = ("attachment_issued",)


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver one message."""

    message_id: int
    peer: str
    kind: str
    delivered: bool
    state: str
    code: str


def send_to_recipients(ws: Workspace, item: OutboxItem) -> Finisher:
    """Queue one signed envelope per recipient that is a configured peer (none: nothing)."""
    with Session(ws.db) as session:
        document = session.get(Document, item.document_id)
        assert document is not None
        peers = list(session.exec(select(ExchangePeer).where(col(ExchangePeer.active))).all())
        chosen = _peer_recipients(peers, document.recipients)
        already = session.exec(
            select(ExchangeMessage.peer).where(
                ExchangeMessage.document_id == document.id,
                ExchangeMessage.direction == OUT,
                ExchangeMessage.kind == DOCUMENT,
                ExchangeMessage.business == "new",
            )
        ).all()
        chosen = [p for p in chosen if p.organ_id not in set(already)]
        if not chosen:
            return lambda _session: {"recipients": 0}
        if document.secrecy is not None:
            return _withheld(item.document_id, document.secrecy, chosen)
        envelopes = [
            (peer, envelope_for(session, ws, document, chosen, business="new")) for peer in chosen
        ]
    key = keys.agency_key(ws)
    signed = [(peer, env, edxml.build_document(env, key)) for peer, env in envelopes]

    def finish(session: Session) -> dict[str, Any]:
        for peer, envelope, data in signed:
            queue(
                session,
                ws,
                peer=peer.organ_id,
                kind=DOCUMENT,
                data=data,
                message_id=envelope.message_id,
                edxml_document_id=envelope.document_id,
                document_id=item.document_id,
            )
        audit.append(
            session,
            actor="system",
            event="exchange_queued",
            document_id=item.document_id,
            detail={"peers": [p.organ_id for p, _, _ in signed]},
        )
        return {"recipients": len(signed), "peers": [p.organ_id for p, _, _ in signed]}

    return finish


def _withheld(document_id: int, secrecy: str, peers: list[ExchangePeer]) -> Finisher:
    """A classified document never leaves over the exchange (the law on state secrets: it
    travels on paper or over a network approved for secrets); the clerk sees why in the history."""

    def finish(session: Session) -> dict[str, Any]:
        withheld = [p.organ_id for p in peers]
        audit.append(
            session,
            actor="system",
            event="exchange_withheld",
            document_id=document_id,
            detail={"secrecy": secrecy, "peers": withheld},
        )
        return {"recipients": 0, "withheld": withheld, "secrecy": secrecy}

    return finish


def _peer_recipients(peers: list[ExchangePeer], recipients: str) -> list[ExchangePeer]:
    found: dict[str, ExchangePeer] = {}
    for line in recipients.splitlines():
        peer = match_recipient(peers, line)
        if peer is not None:
            found.setdefault(peer.organ_id, peer)
    return list(found.values())


def envelope_for(
    session: Session,
    ws: Workspace,
    document: Document,
    recipients: list[ExchangePeer],
    *,
    business: str,
    business_document_id: str = "",
    business_reason: str = "",
    staff: str = "",
) -> edxml.DocumentEnvelope:
    """The edXML envelope of an issued document: its metadata, the issued PDF and the signed
    attachments."""
    agency = own_agency(session)
    organ_id = organ_id_of(session)
    assert document.id is not None and document.symbol and document.issued_at is not None
    issued = vietnam_time(document.issued_at).date()
    number, _, notation = document.symbol.partition("/")
    signer = session.get(User, document.signer_id) if document.signer_id else None
    pdf = newest_file(session, document.id, "issued")
    assert pdf is not None, "an issued document has its issued PDF"
    files = [pdf, *files_of_kind(session, document.id, ATTACHMENT_KINDS[0])]
    attachments = tuple(
        edxml.Attachment(
            name=f.filename,
            content_type="application/pdf",
            data=get_content(ws.store, f.sha256),
            content_id=f"cid:{index}",
        )
        for index, f in enumerate(files, start=1)
    )
    return edxml.DocumentEnvelope(
        sender=edxml.Organ(organ_id=organ_id, name=agency.name, address=agency.place),
        recipients=tuple(edxml.Organ(organ_id=p.organ_id, name=p.name) for p in recipients),
        document_id=edxml.make_document_id(organ_id, issued, document.symbol),
        code_number=number,
        code_notation=notation,
        place=agency.place,
        promulgation_date=issued,
        type_code=type_code(document.type_abbr),
        type_name=document.doc_type,
        subject=document.subject,
        attachments=attachments,
        signer_position=signer.title if signer else "",
        signer_name=signer.full_name if signer else "",
        priority=PRIORITIES.get(document.urgency or "", 0),
        to_places=tuple(line.strip() for line in document.recipients.splitlines() if line.strip()),
        business=business,
        business_document_id=business_document_id,
        business_reason=business_reason,
        staff=staff,
        timestamp=clock.now(),
        message_id=uuid.uuid4().hex,
    )


_CODE_OF_ABBREVIATION = {abbr: code for code, abbr in edxml.TYPE_CODES.items()}


def type_code(abbreviation: str | None) -> str:
    """The edXML DocumentType code of a Decree 30 type abbreviation (công văn when unknown)."""
    return _CODE_OF_ABBREVIATION.get(abbreviation or "CV", _CODE_OF_ABBREVIATION["CV"])


def deliver_pending(
    ws: Workspace,
    *,
    transport: Transport | None = None,
    now: datetime | None = None,
    only: int | None = None,
) -> list[Delivery]:
    """Send every outgoing message that is due (or only the message ``only``), each at most
    once per call; a peer that does not answer is tried again later, ever more slowly."""
    transport = transport or HttpTransport()
    deliveries: list[Delivery] = []
    for message_id in _due(ws, now, only):
        claimed = _claim(ws, message_id, now)
        if claimed is None:
            continue
        message, peer = claimed
        if peer is None:
            receipt = DeliveryReceipt(False, False, 0, "exchange.peer_not_found")
        else:
            try:
                receipt = transport.send(peer, get_content(ws.store, message.sha256))
            except Exception as exc:  # a transport's own bug must not stop the others
                entry = log_unexpected(ws.settings.home, exc, peer=message.peer)
                receipt = DeliveryReceipt(False, True, 0, "exchange.send_failed", str(entry))
        deliveries.append(_record(ws, message, receipt, now))
    return deliveries


def _due(ws: Workspace, now: datetime | None, only: int | None) -> list[int]:
    with Session(ws.db) as session:
        query = select(ExchangeMessage.id).where(
            ExchangeMessage.direction == OUT,
            ExchangeMessage.state == "pending",
            ExchangeMessage.available_at <= (now or clock.now()),
        )
        if only is not None:
            query = query.where(ExchangeMessage.id == only)
        return [i for i in session.exec(query.order_by(col(ExchangeMessage.id))).all() if i]


def _claim(
    ws: Workspace, message_id: int, now: datetime | None
) -> tuple[ExchangeMessage, ExchangePeer | None] | None:
    moment = now or clock.now()
    with transaction(ws.db) as session:
        message = session.get(ExchangeMessage, message_id, with_for_update=True)
        if message is None or message.state != "pending" or message.available_at > moment:
            return None  # another sender took it
        message.available_at = moment + LEASE
        message.attempts += 1
        session.add(message)
        peer = session.exec(
            select(ExchangePeer).where(ExchangePeer.organ_id == message.peer)
        ).first()
        return message, peer


def backoff(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def _record(
    ws: Workspace, message: ExchangeMessage, receipt: DeliveryReceipt, now: datetime | None
) -> Delivery:
    moment = now or clock.now()
    assert message.id is not None
    with transaction(ws.db) as session:
        row = session.get(ExchangeMessage, message.id, with_for_update=True)
        assert row is not None
        if receipt.delivered:
            row.state, row.sent_at, row.last_error = "sent", moment, None
        elif receipt.retry and row.attempts < MAX_ATTEMPTS:
            row.available_at = moment + backoff(row.attempts)
            row.last_error = f"{receipt.code}: {receipt.detail}".strip(": ")
        else:
            row.state = "refused" if receipt.status else "failed"
            row.last_error = f"{receipt.code}: {receipt.detail}".strip(": ")
        session.add(row)
        if row.state != "pending":
            audit.append(
                session,
                actor="system",
                event="exchange_sent" if receipt.delivered else "exchange_refused",
                document_id=row.document_id,
                detail={
                    "peer": row.peer,
                    "kind": row.kind,
                    "status_code": row.status_code,
                    "message_id": row.message_id,
                    "answer": receipt.code,
                    "detail": receipt.detail,
                },
            )
        return Delivery(row.id or 0, row.peer, row.kind, receipt.delivered, row.state, receipt.code)
