"""Receiving an incoming document: the clerk stores the PDF and its workflow starts.

The first automated steps verify its signatures and register it (số đến).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.doctypes import type_abbreviation
from engine.core.errors import InvalidInput, NotAllowed
from engine.core.fields import SUBJECT_MAX, checked_line
from engine.core.models import Document, Unit, User
from engine.core.registers import checked_secrecy
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.workflow import outbox
from engine.workflow.files import PDF_TYPE, Upload, add_file
from engine.workflow.runtime import start_instance
from signing import SigningError, inspect_pdf
from storage import put_content

SENDER_MAX = 200
"""The longest agency name the register keeps (Document.sender)."""
SYMBOL_MAX = 60
"""The longest number and symbol the register keeps (Document.sender_symbol)."""
URGENCIES = ("Khẩn", "Thượng khẩn", "Hỏa tốc")
"""The urgency marks of Decree 30 (độ khẩn), least urgent first."""


@dataclass(frozen=True)
class IncomingRequest:
    """What the clerk reads off a received document."""

    sender: str
    """Issuing agency."""
    symbol: str
    """Their number and symbol, e.g. '12/UBND-VP'."""
    doc_type: str
    subject: str
    urgency: str | None = None
    """One of :data:`URGENCIES`, or None for an ordinary document."""
    secrecy: str | None = None
    """One of :data:`engine.core.registers.SECRECY_LEVELS`, or None: not classified; a
    classified one is numbered in the secret incoming register."""


@dataclass(frozen=True)
class Duplicate:
    """An incoming document already received with the same number, symbol and sender."""

    document_id: int
    number: int | None
    """Its incoming number (số đến), None while not yet registered."""
    year: int | None
    received_at: datetime
    subject: str


def receive_incoming(ws: Workspace, username: str, upload: Upload, request: IncomingRequest) -> int:
    """Store a received PDF and start the incoming workflow (its first step verifies it).

    A document with the same number, symbol and sender received before is no reason to refuse
    (the sender may have sent it again on purpose); the ``received`` audit event names them
    (``duplicates``), and :func:`find_duplicates` finds them for the clerk beforehand."""
    check_upload(ws, upload)
    request = checked_request(request)
    abbr = type_abbreviation(request.doc_type)
    definition = ws.definition("incoming")
    with Session(ws.db) as session:
        clerk_named(session, username)  # refuse before the store is written
    check_readable_and_inert(upload)
    sha = put_content(ws.store, upload.data, PDF_TYPE)
    with transaction(ws.db) as session:
        clerk = clerk_named(session, username)
        unit = session.get(Unit, clerk.unit_id)
        assert unit is not None and unit.id is not None and clerk.id is not None
        duplicates = find_duplicates(session, unit.agency_id, request.sender, request.symbol)
        document = Document(
            agency_id=unit.agency_id,
            direction="incoming",
            doc_type=request.doc_type,
            type_abbr=abbr,
            subject=request.subject,
            unit_id=unit.id,
            author_id=clerk.id,
            sender=request.sender,
            sender_symbol=request.symbol,
            urgency=request.urgency,
            secrecy=request.secrecy,
        )
        session.add(document)
        session.flush()
        assert document.id is not None
        add_file(session, document.id, "received", 1, sha, len(upload.data), upload.filename, clerk)
        audit.append(
            session,
            actor=username,
            event="received",
            document_id=document.id,
            detail={
                "sha256": sha,
                "sender": request.sender,
                "symbol": request.symbol,
                "duplicates": [d.document_id for d in duplicates],
            },
        )
        start_instance(session, ws, definition, document, clerk)
        document_id = document.id
    if ws.settings.steps_runner == "inline":
        outbox.run_pending(ws)
    return document_id


def find_duplicates(
    session: Session, agency_id: int, sender: str, symbol: str
) -> tuple[Duplicate, ...]:
    """Incoming documents of the agency already received with this number and symbol from
    this sender (Decree 30 Appendix VI: warn on a duplicate number + symbol + issuing agency).
    The symbol is compared without spaces, the sender without case or repeated spaces."""
    wanted = _sender_key(sender)
    found = session.exec(
        select(Document)
        .where(
            Document.agency_id == agency_id,
            Document.direction == "incoming",
            Document.sender_symbol == normal_symbol(symbol),
        )
        .order_by(col(Document.id))
    ).all()
    return tuple(
        Duplicate(d.id, d.number, d.year, d.created_at, d.subject)
        for d in found
        if d.id is not None and _sender_key(d.sender or "") == wanted
    )


def duplicates_of(ws: Workspace, document_id: int) -> tuple[Duplicate, ...]:
    """The documents received before ``document_id`` with its number, symbol and sender."""
    with Session(ws.db) as session:
        document = session.get(Document, document_id)
        if document is None or document.direction != "incoming":
            return ()
        return tuple(
            d
            for d in find_duplicates(
                session, document.agency_id, document.sender or "", document.sender_symbol or ""
            )
            if d.document_id < document_id
        )


def normal_symbol(symbol: str) -> str:
    """A number and symbol as the register keeps it: no spaces ('15 / UBND-VP' → '15/UBND-VP')."""
    return re.sub(r"\s+", "", symbol)


def _sender_key(sender: str) -> str:
    return " ".join(sender.split()).casefold()


def checked_request(request: IncomingRequest) -> IncomingRequest:
    """The clerk's fields checked (length, no control characters, NFC) and the symbol without
    spaces; a type that is not a Decree 30 type, a missing subject or sender are refused."""
    checked = IncomingRequest(
        sender=checked_line(request.sender, "--from", max_length=SENDER_MAX),
        symbol=normal_symbol(checked_line(request.symbol, "--symbol", max_length=SYMBOL_MAX)),
        doc_type=request.doc_type.strip(),
        subject=checked_line(request.subject, "--subject", max_length=SUBJECT_MAX),
        urgency=(request.urgency or "").strip() or None,
        secrecy=checked_secrecy(request.secrecy, "--secrecy"),
    )
    if not checked.subject or not checked.sender:
        raise InvalidInput(
            "văn bản đến cần trích yếu (--subject) và cơ quan gửi (--from)",
            "an incoming document needs its subject (--subject) and sender (--from)",
            code="incoming.fields_missing",
        )
    if checked.urgency is not None and checked.urgency not in URGENCIES:
        raise InvalidInput(
            f"độ khẩn '{checked.urgency}' không có; chọn một trong: {', '.join(URGENCIES)}",
            f"there is no urgency '{checked.urgency}'; choose one of: {', '.join(URGENCIES)}",
            code="incoming.urgency_unknown",
            urgency=checked.urgency,
            known=list(URGENCIES),
        )
    type_abbreviation(checked.doc_type)  # a Decree 30 type, or one clear error naming them
    return checked


def check_upload(ws: Workspace, upload: Upload) -> None:
    """A PDF within the size limit, by its first bytes (read whole by
    :func:`check_readable_and_inert`)."""
    if not upload.data.startswith(b"%PDF-"):
        raise InvalidInput(
            "không phải tệp PDF", "not a PDF file", code="incoming.not_pdf", file=upload.filename
        )
    if len(upload.data) > ws.settings.max_upload_bytes:
        raise InvalidInput(
            "tệp lớn hơn giới hạn cho phép",
            "the file is larger than the limit allowed",
            code="incoming.too_large",
            file=upload.filename,
            max_bytes=ws.settings.max_upload_bytes,
        )


def check_readable_and_inert(upload: Upload) -> None:
    """A PDF people can open whole and that runs nothing when they do; refused otherwise,
    before anything is stored."""
    try:
        found = inspect_pdf(upload.data)
    except SigningError as exc:
        if exc.code == "signing.pdf.password_required":
            raise InvalidInput(
                str(exc),
                exc.english,
                code="incoming.pdf_encrypted",
                file=upload.filename,
                cause=exc.code,
            ) from exc
        raise InvalidInput(
            str(exc),
            exc.english,
            code="incoming.pdf_unreadable",
            file=upload.filename,
            cause=exc.code,
        ) from exc
    if found.active:
        what, what_en = found.describe()
        raise InvalidInput(
            f"PDF có nội dung tự chạy, không tiếp nhận: {what}",
            f"the PDF carries active content and is refused: {what_en}",
            code="incoming.active_content",
            file=upload.filename,
            found=found.kinds,
        )


def require_clerk(ws: Workspace, username: str) -> None:
    """Refuse anyone but a clerk (who receives incoming documents), before a form is shown."""
    with Session(ws.db) as session:
        clerk_named(session, username)


def clerk_named(session: Session, username: str) -> User:
    clerk = user_named(session, username)
    if clerk.role != "clerk":
        raise NotAllowed(
            f"{username} ({clerk.role}) không được tiếp nhận văn bản đến",
            f"{username} ({clerk.role}) may not receive incoming documents",
            code="incoming.clerk_only",
            user=username,
            role=clerk.role,
        )
    return clerk
