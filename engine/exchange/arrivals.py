"""Receiving: an envelope or status message POSTed by a peer is checked (signature, pinned
sender, replay, duplicate DocumentId), kept, and acted on: a document is registered as an
incoming document (its workflow starts) and 01 goes back at once; a status updates what we
sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.doctypes import type_abbreviation
from engine.core.errors import ConfigError, Conflict, InvalidInput, NotAllowed
from engine.core.models import (
    ExchangeInbound,
    ExchangeMessage,
    ExchangePeer,
    User,
)
from engine.core.workspace import Workspace
from engine.exchange import edxml
from engine.exchange.delivery import deliver_pending
from engine.exchange.messages import DOCUMENT, IN, OUT, STATUS, store_envelope
from engine.exchange.peers import organ_id_of
from engine.exchange.reporting import queue_status
from engine.exchange.trust import check_signer
from engine.incoming import URGENCIES, IncomingRequest, receive_incoming
from engine.workflow.files import Upload
from vanthu import clock
from vanthu.errors import Kind, VanthuError

DEFAULT_TYPE = "Công văn"
"""The Decree 30 type an arrival is registered as when its type is not one of ours."""
REQUESTS = {"13": "recall"}
"""Statuses from a document's sender that ask its recipient something."""


@dataclass(frozen=True)
class Answer:
    """What the endpoint answers the peer."""

    ok: bool
    code: str
    extra: dict[str, Any] = field(default_factory=dict)


def max_envelope_bytes(ws: Workspace) -> int:
    """An envelope carries its PDFs in base64 (4/3) beside the metadata: three uploads' worth."""
    return ws.settings.max_upload_bytes * 3


def accept(ws: Workspace, data: bytes) -> Answer:
    """Take one message from a peer; refused with a VanthuError saying why (unchanged state)."""
    parsed = edxml.parse(data, max_bytes=max_envelope_bytes(ws))
    message = parsed.message
    with Session(ws.db) as session:
        ours = organ_id_of(session)
        peer = _peer(session, message.sender.organ_id)
    if not parsed.signature.present or not parsed.signature.valid:
        raise NotAllowed(
            f"chữ ký số của gói tin không hợp lệ ({parsed.signature.problem or 'không có'})",
            f"the envelope's signature is not valid ({parsed.signature.problem or 'none'})",
            code="exchange.signature_invalid",
            kind=Kind.FAILED,
            organ_id=peer.organ_id,
        )
    check_signer(ws, peer, parsed.signature.certificate, parsed.signature.chain, clock.now())
    addressed = (
        [o.organ_id for o in message.recipients]
        if isinstance(message, edxml.DocumentEnvelope)
        else [message.recipient.organ_id]
    )
    if ours not in addressed:
        raise InvalidInput(
            f"gói tin không gửi cho cơ quan này ({ours})",
            f"the envelope is not addressed to this agency ({ours})",
            code="exchange.not_addressed",
            organ_id=ours,
        )
    with Session(ws.db) as session:
        _refuse_replay(session, message.message_id, peer.organ_id)
    if isinstance(message, edxml.DocumentEnvelope):
        return _document(ws, peer, message, data)
    return _status(ws, peer, message, data)


def _peer(session: Session, organ_id: str) -> ExchangePeer:
    peer = session.exec(select(ExchangePeer).where(ExchangePeer.organ_id == organ_id)).first()
    if peer is None or not peer.active:
        raise NotAllowed(
            f"cơ quan gửi {organ_id} không phải cơ quan liên thông đã đăng ký",
            f"the sender {organ_id} is not a configured exchange peer",
            code="exchange.sender_unknown",
            organ_id=organ_id,
        )
    return peer


def _refuse_replay(session: Session, message_id: str, organ_id: str) -> None:
    if session.exec(
        select(ExchangeMessage.id).where(
            ExchangeMessage.direction == IN, ExchangeMessage.message_id == message_id
        )
    ).first():
        raise Conflict(
            "gói tin này đã nhận trước đây (gửi lại): không làm gì thêm",
            "this message was received before (a replay): nothing more is done",
            code="exchange.replayed",
            organ_id=organ_id,
            message_id=message_id,
        )


def _refuse_duplicate(session: Session, document_id: str) -> None:
    if session.exec(
        select(ExchangeInbound.id).where(ExchangeInbound.edxml_document_id == document_id)
    ).first():
        raise Conflict(
            f"văn bản {document_id} đã nhận trước đây",
            f"the document {document_id} was received before",
            code="exchange.duplicate_document",
            edxml_document_id=document_id,
        )


def _received(
    peer: ExchangePeer,
    kind: str,
    message_id: str,
    edxml_id: str,
    sha: str,
    **values: Any,
) -> ExchangeMessage:
    now = clock.now()
    return ExchangeMessage(
        direction=IN,
        peer=peer.organ_id,
        kind=kind,
        edxml_document_id=edxml_id,
        message_id=message_id,
        sha256=sha,
        state="received",
        received_at=now,
        available_at=now,
        **values,
    )


def _document(
    ws: Workspace, peer: ExchangePeer, envelope: edxml.DocumentEnvelope, data: bytes
) -> Answer:
    if envelope.business not in ("new", "update", "replacement"):
        raise InvalidInput(
            f"nghiệp vụ '{envelope.business}' không nhận qua gói văn bản",
            f"the business '{envelope.business}' is not taken as a document envelope",
            code="exchange.business_unsupported",
            business=envelope.business,
        )
    if envelope.business != "update":  # an update names the DocumentId we already have
        with Session(ws.db) as session:
            _refuse_duplicate(session, envelope.document_id)
    pdf_of(envelope)
    sha = store_envelope(ws, data)
    with transaction(ws.db) as session:  # the replay guard: (direction, message_id) is unique
        _refuse_replay(session, envelope.message_id, peer.organ_id)
        if envelope.business != "update":
            _refuse_duplicate(session, envelope.document_id)
        replaced = _replaced(session, peer, envelope)
        row = _received(
            peer,
            DOCUMENT,
            envelope.message_id,
            envelope.document_id,
            sha,
            business=envelope.business,
            reason=envelope.business_reason or None,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        if replaced is not None:  # the clerk decides (vanthu exchange answer); 01 meanwhile
            replaced.request = envelope.business
            replaced.request_reason = envelope.business_reason or None
            replaced.replacement_message = row.id
            session.add(replaced)
            arrived = _arrived(session, ws, peer, envelope, replaced.document_id)
            audit.append(
                session,
                actor="system",
                event=f"exchange_{envelope.business}_asked",
                document_id=replaced.document_id,
                detail={"from": peer.organ_id, "edxml_document_id": envelope.document_id},
            )
    if replaced is not None:
        deliver_pending(ws, only=arrived.id)
        return Answer(True, "exchange.accepted", {"request": envelope.business})
    document_id = register_arrival(ws, peer, envelope, row.id)
    return Answer(True, "exchange.accepted", {"document_id": document_id})


def pdf_of(envelope: edxml.DocumentEnvelope) -> edxml.Attachment:
    pdf = next((a for a in envelope.attachments if a.data.startswith(b"%PDF-")), None)
    if pdf is None:
        raise InvalidInput(
            "gói tin không kèm văn bản PDF",
            "the envelope carries no PDF document",
            code="exchange.no_pdf",
        )
    return pdf


def _replaced(
    session: Session, peer: ExchangePeer, envelope: edxml.DocumentEnvelope
) -> ExchangeInbound | None:
    if envelope.business not in ("update", "replacement"):
        return None
    old = session.exec(
        select(ExchangeInbound).where(
            ExchangeInbound.edxml_document_id == envelope.business_document_id,
            ExchangeInbound.sender == peer.organ_id,
        )
    ).first()
    if old is None or old.state != "received":
        raise InvalidInput(
            f"không có văn bản {envelope.business_document_id} đang xử lý để thay thế, cập nhật",
            f"there is no document {envelope.business_document_id} in progress to change"
            " (update or replace)",
            code="exchange.replaced_unknown",
            edxml_document_id=envelope.business_document_id,
        )
    return old


def _arrived(
    session: Session,
    ws: Workspace,
    peer: ExchangePeer,
    envelope: edxml.DocumentEnvelope,
    document_id: int | None,
) -> ExchangeMessage:
    return queue_status(
        session,
        ws,
        peer_organ_id=peer.organ_id,
        edxml_document_id=envelope.document_id,
        document_id=document_id,
        code="01",
    )


def register_arrival(
    ws: Workspace, peer: ExchangePeer, envelope: edxml.DocumentEnvelope, row_id: int | None
) -> int:
    """Register the envelope's document as an incoming document (its workflow starts) and
    link it to the received message ``row_id``; 01 goes back for a new document. When it cannot
    be registered, the message row is dropped, so the sender may send it again."""
    pdf = pdf_of(envelope)
    with Session(ws.db) as session:
        clerk = _clerk(session)
    try:
        document_id = receive_incoming(
            ws, clerk, Upload(pdf.name, pdf.data), incoming_request(envelope)
        )
    except BaseException:
        if envelope.business == "new":
            with transaction(ws.db) as session:  # not taken: the sender may send it again
                kept = session.get(ExchangeMessage, row_id)
                if kept is not None:
                    session.delete(kept)
        raise
    arrived = None
    with transaction(ws.db) as session:
        kept = session.get(ExchangeMessage, row_id)
        assert kept is not None
        kept.document_id = document_id
        session.add(kept)
        session.add(
            ExchangeInbound(
                edxml_document_id=envelope.document_id,
                document_id=document_id,
                sender=peer.organ_id,
            )
        )
        audit.append(
            session,
            actor="system",
            event="exchange_received",
            document_id=document_id,
            detail={
                "from": peer.organ_id,
                "edxml_document_id": envelope.document_id,
                "message_id": envelope.message_id,
                "business": envelope.business,
                "replaces": envelope.business_document_id or None,
                "envelope_sha256": kept.sha256,
            },
        )
        if envelope.business == "new":
            arrived = _arrived(session, ws, peer, envelope, document_id)
    if arrived is not None:
        deliver_pending(ws, only=arrived.id)
    return document_id


def _clerk(session: Session) -> str:
    clerk = session.exec(
        select(User).where(User.role == "clerk", col(User.active)).order_by(col(User.id))
    ).first()
    if clerk is None:
        raise ConfigError(
            "cơ quan chưa có văn thư để tiếp nhận văn bản đến",
            "the agency has no clerk to receive incoming documents",
            code="exchange.no_clerk",
        )
    return clerk.username


def incoming_request(envelope: edxml.DocumentEnvelope) -> IncomingRequest:
    """What the envelope says, as our incoming document's metadata."""
    doc_type = envelope.type_name.strip()
    try:
        type_abbreviation(doc_type)
    except VanthuError:
        doc_type = DEFAULT_TYPE
    symbol = envelope.code_number
    if envelope.code_notation:
        symbol = f"{envelope.code_number}/{envelope.code_notation}"
    urgency = URGENCIES[envelope.priority - 1] if 1 <= envelope.priority <= 3 else None
    return IncomingRequest(
        sender=envelope.sender.name or envelope.sender.organ_id,
        symbol=symbol,
        doc_type=doc_type,
        subject=envelope.subject,
        urgency=urgency,
    )


def _status(ws: Workspace, peer: ExchangePeer, status: edxml.StatusMessage, data: bytes) -> Answer:
    sha = store_envelope(ws, data)
    with transaction(ws.db) as session:
        _refuse_replay(session, status.message_id, peer.organ_id)
        about = session.exec(
            select(ExchangeMessage).where(
                ExchangeMessage.direction == OUT,
                ExchangeMessage.kind == DOCUMENT,
                ExchangeMessage.peer == peer.organ_id,
                ExchangeMessage.edxml_document_id == status.document_id,
            )
        ).first()
        inbound = session.exec(
            select(ExchangeInbound).where(
                ExchangeInbound.edxml_document_id == status.document_id,
                ExchangeInbound.sender == peer.organ_id,
            )
        ).first()
        if about is None and inbound is None:
            raise InvalidInput(
                f"không có văn bản {status.document_id} trao đổi với {peer.organ_id}",
                f"no document {status.document_id} was exchanged with {peer.organ_id}",
                code="exchange.status_unknown_document",
                edxml_document_id=status.document_id,
            )
        document_id = about.document_id if about is not None else None
        if inbound is not None and status.status_code in REQUESTS:
            inbound.request = REQUESTS[status.status_code]
            inbound.request_reason = status.reason or None
            session.add(inbound)
            document_id = inbound.document_id
        session.add(
            _received(
                peer,
                STATUS,
                status.message_id,
                status.document_id,
                sha,
                document_id=document_id,
                status_code=status.status_code,
                reason=status.reason or None,
            )
        )
        audit.append(
            session,
            actor="system",
            event="exchange_status",
            document_id=document_id,
            detail={
                "from": peer.organ_id,
                "status_code": status.status_code,
                "reason": status.reason or None,
                "edxml_document_id": status.document_id,
            },
        )
    return Answer(True, "exchange.accepted", {"status_code": status.status_code})
