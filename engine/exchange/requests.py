"""Recall, update and replacement. The sender asks (status 13 with a reason, or an update or
replacement envelope naming the DocumentId it is about); the recipient's clerk agrees (15) or
refuses (16). Agreeing withdraws the registered incoming document, gives it the update's file (a
new version) and metadata, or registers the replacement and marks the old one replaced: its open
tasks are cancelled. The history is kept in every case."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.doctypes import type_abbreviation
from engine.core.errors import Conflict, InvalidInput, NotFound
from engine.core.models import (
    Document,
    ExchangeInbound,
    ExchangeMessage,
    ExchangePeer,
    Task,
    WorkflowInstance,
)
from engine.core.workspace import Workspace
from engine.exchange import edxml
from engine.exchange.arrivals import incoming_request, pdf_of, register_arrival
from engine.exchange.delivery import deliver_pending, envelope_for
from engine.exchange.messages import DOCUMENT, OUT, queue
from engine.exchange.reporting import queue_status
from engine.incoming import IncomingRequest
from engine.incoming.receiving import (
    check_readable_and_inert,
    check_upload,
    checked_request,
    clerk_named,
)
from engine.signatures import keys
from engine.workflow.files import PDF_TYPE, Upload, add_file, newest_file
from engine.workflow.recall import freeze, refuse_if_recalled
from storage import get_content, put_content
from vanthu import clock

RECALL, UPDATE, REPLACEMENT = "recall", "update", "replacement"
AGREED, REFUSED = "15", "16"


@dataclass(frozen=True)
class Request:
    """A take-back, update or replacement request waiting for the clerk."""

    id: int
    kind: str
    """recall | update | replacement"""
    document_id: int
    """Our incoming document it is about."""
    sender: str
    """The sending agency's organ id."""
    edxml_document_id: str
    reason: str
    sender_name: str = ""
    subject: str = ""
    """Our incoming document's subject."""


def _sent_to(session: Session, document_id: int) -> list[ExchangeMessage]:
    """The first envelope the document went in to each peer (an update goes to the same)."""
    found: dict[str, ExchangeMessage] = {}
    for message in session.exec(
        select(ExchangeMessage)
        .where(
            ExchangeMessage.document_id == document_id,
            ExchangeMessage.direction == OUT,
            ExchangeMessage.kind == DOCUMENT,
            col(ExchangeMessage.state).in_(["pending", "sent"]),
        )
        .order_by(col(ExchangeMessage.id))
    ).all():
        found.setdefault(message.peer, message)
    return list(found.values())


def _not_sent(document_id: int) -> Conflict:
    return Conflict(
        "văn bản chưa gửi liên thông cho cơ quan nào",
        "the document was not sent to any exchange peer",
        code="exchange.not_sent",
        document_id=document_id,
    )


def recall(ws: Workspace, document_id: int, username: str, reason: str) -> list[str]:
    """Ask every recipient of the document to give it back (13, with the reason), and freeze
    our own copy in the same transaction (engine.workflow.recall: it stays recalled whatever
    the recipients answer)."""
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput(
            "đề nghị lấy lại văn bản cần lý do (--reason)",
            "a take-back request needs a reason (--reason)",
            code="exchange.reason_required",
        )
    with transaction(ws.db) as session:
        clerk_named(session, username)
        sent = _sent_to(session, document_id)
        if not sent:
            raise _not_sent(document_id)
        document = session.get(Document, document_id, with_for_update=True)
        assert document is not None
        freeze(session, document, username, reason)
        queued = [
            queue_status(
                session,
                ws,
                peer_organ_id=m.peer,
                edxml_document_id=m.edxml_document_id,
                document_id=document_id,
                code="13",
                reason=reason,
                staff=username,
            )
            for m in sent
        ]
        audit.append(
            session,
            actor=username,
            event="exchange_recall_asked",
            document_id=document_id,
            detail={"peers": [m.peer for m in sent], "reason": reason},
        )
    for message in queued:
        deliver_pending(ws, only=message.id)
    return [m.peer for m in sent]


def replace(ws: Workspace, old_id: int, new_id: int, username: str, reason: str = "") -> list[str]:
    """Send the issued document ``new_id`` to every recipient of ``old_id``, replacing it."""
    with Session(ws.db) as session:
        clerk_named(session, username)
        refuse_if_recalled(session, new_id)
        new = session.get(Document, new_id)
        if new is None or new.direction != "outgoing" or new.issued_at is None:
            raise Conflict(
                "văn bản thay thế phải là văn bản đi đã phát hành",
                "the replacement must be an issued outgoing document",
                code="exchange.replacement_not_issued",
                document_id=new_id,
            )
    return _send_about(ws, username, old_id, carrying=new_id, business=REPLACEMENT, reason=reason)


def update(ws: Workspace, document_id: int, username: str, reason: str = "") -> list[str]:
    """Send the document's current issued file and metadata again to every recipient, as an
    update of the DocumentId they have (business 2)."""
    return _send_about(
        ws, username, document_id, carrying=document_id, business=UPDATE, reason=reason
    )


def _send_about(
    ws: Workspace, username: str, about: int, *, carrying: int, business: str, reason: str
) -> list[str]:
    """One envelope of document ``carrying`` to each recipient ``about`` reached, naming the
    DocumentId they hold (business 2 update: the same document again; 3: its replacement)."""
    with Session(ws.db) as session:
        clerk_named(session, username)
        refuse_if_recalled(session, about)  # recalled: nothing more goes out about it
        # a recipient the document has not reached yet gets the current version anyway
        sent = [m for m in _sent_to(session, about) if business != UPDATE or m.state == "sent"]
        if not sent:
            raise _not_sent(about)
        document = session.get(Document, carrying)
        assert document is not None
        organ_ids = [m.peer for m in sent]
        peers = list(
            session.exec(
                select(ExchangePeer).where(col(ExchangePeer.organ_id).in_(organ_ids))
            ).all()
        )
        envelopes = []
        for m in sent:
            envelope = envelope_for(
                session,
                ws,
                document,
                peers,
                business=business,
                business_document_id=m.edxml_document_id,
                business_reason=reason,
                staff=username,
            )
            if business == UPDATE:  # the same document: the id the recipient registered
                envelope = dataclasses.replace(envelope, document_id=m.edxml_document_id)
            envelopes.append(envelope)
    key = keys.agency_key(ws)
    with transaction(ws.db) as session:
        refuse_if_recalled(session, about)  # recalled while the envelopes were being built
        queued = [
            queue(
                session,
                ws,
                peer=m.peer,
                kind=DOCUMENT,
                data=edxml.build_document(envelope, key),
                message_id=envelope.message_id,
                edxml_document_id=envelope.document_id,
                document_id=carrying,
                business=business,
                reason=reason or None,
            )
            for m, envelope in zip(sent, envelopes, strict=True)
        ]
        replacing = business == REPLACEMENT
        audit.append(
            session,
            actor=username,
            event="exchange_replacement_sent" if replacing else "exchange_update_sent",
            document_id=about,
            detail={
                **({"replacement": carrying} if replacing else {}),
                "peers": organ_ids,
                "reason": reason or None,
            },
        )
    for message in queued:
        deliver_pending(ws, only=message.id)
    return organ_ids


def pending_requests(ws: Workspace) -> list[Request]:
    with Session(ws.db) as session:
        found = session.exec(
            select(ExchangeInbound, Document)
            .join(Document, col(Document.id) == ExchangeInbound.document_id)
            .where(col(ExchangeInbound.request).is_not(None))
            .order_by(col(ExchangeInbound.id))
        ).all()
        names = {p.organ_id: p.name for p in session.exec(select(ExchangePeer)).all()}
        return [
            Request(
                id=r.id or 0,
                kind=r.request or "",
                document_id=r.document_id,
                sender=r.sender,
                edxml_document_id=r.edxml_document_id,
                reason=r.request_reason or "",
                sender_name=names.get(r.sender, ""),
                subject=document.subject,
            )
            for r, document in found
        ]


def answer(
    ws: Workspace, request_id: int, username: str, agree: bool, reason: str = ""
) -> int | None:
    """The clerk's answer; agreeing withdraws the document, updates it, or registers its
    replacement (returned: the replacement's document id). A refusal says why."""
    reason = " ".join(reason.split())
    if not agree and not reason:
        raise InvalidInput(
            "từ chối đề nghị cần lý do (--reason)",
            "refusing a request needs a reason (--reason)",
            code="exchange.reason_required",
        )
    with Session(ws.db) as session:
        clerk_named(session, username)
        inbound = _request(session, request_id)
        kind, replacement = inbound.request, inbound.replacement_message
        peer = session.exec(
            select(ExchangePeer).where(ExchangePeer.organ_id == inbound.sender)
        ).first()
    new_id, changes = None, None
    if agree and kind in (UPDATE, REPLACEMENT) and replacement is not None:
        with Session(ws.db) as session:
            message = session.get(ExchangeMessage, replacement)
            assert message is not None
        envelope = edxml.parse(get_content(ws.store, message.sha256)).message
        assert isinstance(envelope, edxml.DocumentEnvelope)
        if kind == UPDATE:
            changes = _checked_update(ws, envelope)
        elif peer is not None:
            new_id = register_arrival(ws, peer, envelope, replacement)
    with transaction(ws.db) as session:
        inbound = _request(session, request_id)
        if agree and kind == UPDATE:
            if changes is not None:
                _apply_update(session, inbound.document_id, changes, username)
        elif agree:
            inbound.state = "withdrawn" if kind == RECALL else "replaced"
            _withdraw(session, inbound.document_id, inbound.state, username)
        reply = queue_status(
            session,
            ws,
            peer_organ_id=inbound.sender,
            edxml_document_id=inbound.edxml_document_id,
            document_id=inbound.document_id,
            code=AGREED if agree else REFUSED,
            reason=reason,
            staff=username,
        )
        audit.append(
            session,
            actor=username,
            event="exchange_request_answered",
            document_id=inbound.document_id,
            detail={
                "request": kind,
                "agreed": agree,
                "reason": reason or None,
                "replacement": new_id,
            },
        )
        inbound.request, inbound.request_reason = None, None
        session.add(inbound)
    deliver_pending(ws, only=reply.id)
    return new_id


@dataclass(frozen=True)
class _Update:
    """An update checked before the clerk's answer is recorded."""

    upload: Upload
    sha256: str
    request: IncomingRequest
    edxml_document_id: str


def _checked_update(ws: Workspace, envelope: edxml.DocumentEnvelope) -> _Update:
    """The update's PDF (checked as any received PDF, put in the store) and metadata."""
    pdf = pdf_of(envelope)
    upload = Upload(pdf.name, pdf.data)
    check_upload(ws, upload)
    request = checked_request(incoming_request(envelope))
    check_readable_and_inert(upload)
    sha = put_content(ws.store, upload.data, PDF_TYPE)
    return _Update(upload, sha, request, envelope.document_id)


def _apply_update(session: Session, document_id: int, update: _Update, username: str) -> None:
    """The update's file becomes a new version of the received PDF; its metadata replaces ours;
    the audit event names what changed (old and new values)."""
    document = session.get(Document, document_id, with_for_update=True)
    assert document is not None
    clerk = clerk_named(session, username)
    request = update.request
    new = {
        "subject": request.subject,
        "doc_type": request.doc_type,
        "type_abbr": type_abbreviation(request.doc_type),
        "sender_symbol": request.symbol,
        "urgency": request.urgency,
    }
    changed = {
        name: [getattr(document, name), value]
        for name, value in new.items()
        if getattr(document, name) != value
    }
    for name, value in new.items():
        setattr(document, name, value)
    session.add(document)
    previous = newest_file(session, document_id, "received")
    if previous is None or previous.sha256 != update.sha256:
        version = (previous.version if previous else 0) + 1
        size, name = len(update.upload.data), update.upload.filename
        add_file(session, document_id, "received", version, update.sha256, size, name, clerk)
        changed["file"] = [previous.sha256 if previous else None, update.sha256]
    audit.append(
        session,
        actor=username,
        event="exchange_updated",
        document_id=document_id,
        detail={"changed": changed, "edxml_document_id": update.edxml_document_id},
    )


def _request(session: Session, request_id: int) -> ExchangeInbound:
    inbound = session.get(ExchangeInbound, request_id, with_for_update=True)
    if inbound is None or inbound.request is None:
        raise NotFound(
            f"không có đề nghị #{request_id} đang chờ trả lời",
            f"no request #{request_id} waiting for an answer",
            code="exchange.request_not_found",
            request=request_id,
        )
    return inbound


def _withdraw(session: Session, document_id: int, state: str, username: str) -> None:
    """Cancel the document's open tasks and end its workflow; its history stays."""
    instance = session.exec(
        select(WorkflowInstance).where(WorkflowInstance.document_id == document_id)
    ).first()
    cancelled: list[str] = []
    if instance is not None and instance.id is not None:
        for task in session.exec(
            select(Task).where(Task.instance_id == instance.id, Task.state == "open")
        ).all():
            task.state = "cancelled"
            session.add(task)
            cancelled.append(task.step_id)
        instance.status, instance.finished_at = state, clock.now()
        session.add(instance)
    audit.append(
        session,
        actor=username,
        event=f"exchange_{state}",
        document_id=document_id,
        detail={"cancelled": cancelled},
    )
