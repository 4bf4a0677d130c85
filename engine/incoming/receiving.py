"""Receiving an incoming document: the clerk stores the PDF and its workflow starts.

The first automated steps verify its signatures and register it (số đến).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from engine.core import audit
from engine.core.db import transaction
from engine.core.doctypes import type_abbreviation
from engine.core.errors import InvalidInput, NotAllowed
from engine.core.fields import SUBJECT_MAX, checked_line
from engine.core.models import Document, Unit, User
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


@dataclass(frozen=True)
class IncomingRequest:
    """What the clerk reads off a received document."""

    sender: str
    """Issuing agency."""
    symbol: str
    """Their number and symbol, e.g. '12/UBND-VP'."""
    doc_type: str
    subject: str


def receive_incoming(ws: Workspace, username: str, upload: Upload, request: IncomingRequest) -> int:
    """Store a received PDF and start the incoming workflow (its first step verifies it)."""
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
    request = IncomingRequest(
        sender=checked_line(request.sender, "--from", max_length=SENDER_MAX),
        symbol=checked_line(request.symbol, "--symbol", max_length=SYMBOL_MAX),
        doc_type=request.doc_type,
        subject=checked_line(request.subject, "--subject", max_length=SUBJECT_MAX),
    )
    if not request.subject or not request.sender:
        raise InvalidInput(
            "văn bản đến cần trích yếu (--subject) và cơ quan gửi (--from)",
            "an incoming document needs its subject (--subject) and sender (--from)",
            code="incoming.fields_missing",
        )
    abbr = type_abbreviation(request.doc_type)
    definition = ws.definition("incoming")
    with Session(ws.db) as session:
        _clerk(session, username)  # refuse before the store is written
    _check_readable_and_inert(upload)
    sha = put_content(ws.store, upload.data, PDF_TYPE)
    with transaction(ws.db) as session:
        clerk = _clerk(session, username)
        unit = session.get(Unit, clerk.unit_id)
        assert unit is not None and unit.id is not None and clerk.id is not None
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
            detail={"sha256": sha, "sender": request.sender, "symbol": request.symbol},
        )
        start_instance(session, ws, definition, document, clerk)
        document_id = document.id
    if ws.settings.steps_runner == "inline":
        outbox.run_pending(ws)
    return document_id


def _check_readable_and_inert(upload: Upload) -> None:
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


def _clerk(session: Session, username: str) -> User:
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
