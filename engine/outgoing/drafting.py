"""Drafting an outgoing document: from the Decree 30 template or the specialist's own DOCX.

A draft is converted at once when it is uploaded, so a missing Decree 30 element (no 'Số:' line,
no signer block) is reported to the person uploading, not found later at approval.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.authorities import authority_line
from engine.core.db import transaction
from engine.core.definitions import ActionName, WorkflowDefinition
from engine.core.doctypes import type_abbreviation
from engine.core.errors import ConversionError, InvalidInput, NotAllowed
from engine.core.fields import SUBJECT_MAX, checked_line, checked_lines
from engine.core.models import Agency, Document, Unit, User
from engine.core.registers import checked_secrecy, symbol_hint
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.outgoing.conversion import prepare_pdf
from engine.outgoing.drafts import CONG_VAN, DraftContent, check_docx, render_draft
from engine.workflow.files import (
    DOCX_TYPE,
    PDF_TYPE,
    Upload,
    add_file,
    find_document,
    latest_file,
)
from engine.workflow.recall import refuse_if_recalled
from engine.workflow.runtime import instance_of, may_take, open_tasks, start_instance
from storage import put_content


@dataclass(frozen=True)
class DraftRequest:
    """What a specialist fills in to start an outgoing document."""

    doc_type: str
    """Decree 30 type name, e.g. 'Quyết định'."""
    subject: str
    """Trích yếu."""
    signer: str
    """Username of the leader who will sign."""
    body: tuple[str, ...] = ()
    """Paragraphs; ignored when the specialist uploads a DOCX of their own."""
    recipients: tuple[str, ...] = ()
    """Nơi nhận, one per line."""
    urgency: str | None = None
    """None (thường) or one of :data:`URGENCIES`."""
    addressees: tuple[str, ...] = ()
    """'Kính gửi:' of a Công văn, one addressee per line (other types have none)."""
    secrecy: str | None = None
    """None (not classified) or one of :data:`engine.core.registers.SECRECY_LEVELS`."""


URGENCIES = ("Khẩn", "Thượng khẩn", "Hỏa tốc")
"""Decree 30's urgency marks (độ khẩn); a document without one is 'thường' (None)."""
ORDINARY = "Thường"


@dataclass(frozen=True)
class Signer:
    """A leader a draft can name as its signer, and the authority line the template prints."""

    username: str
    full_name: str
    title: str
    authority: str | None
    """'KT. GIÁM ĐỐC' when they sign for the head; None for the head."""


def draft_signers(ws: Workspace, username: str) -> list[Signer]:
    """The leaders of ``username``'s agency who can sign a draft, the head first; only for
    someone who may draft."""
    definition = ws.definition("outgoing")
    with Session(ws.db) as session:
        author = _author(session, definition, username)
        unit = session.get(Unit, author.unit_id)
        assert unit is not None
        agency = session.get(Agency, unit.agency_id)
        assert agency is not None
        leaders = session.exec(
            select(User)
            .join(Unit, col(Unit.id) == col(User.unit_id))
            .where(Unit.agency_id == agency.id, User.role == "leader", col(User.active))
            .order_by(col(User.id))
        ).all()
        found = [
            Signer(
                leader.username, leader.full_name, leader.title, _authority(session, agency, leader)
            )
            for leader in leaders
        ]
    return sorted(found, key=lambda signer: signer.authority is not None)


def _authority(session: Session, agency: Agency, signer: User) -> str | None:
    """The line above the signer's title: as the administrator set it (``TL. GIÁM ĐỐC``), or
    ``KT.`` the head's title when the signer is not the head."""
    return authority_line(session, signer, agency.leader_title)


def create_outgoing(
    ws: Workspace, username: str, request: DraftRequest, upload: Upload | None = None
) -> int:
    """Create the document, its first draft version and its workflow instance, at once."""
    request = _checked(request)
    abbr = type_abbreviation(request.doc_type)
    definition = ws.definition("outgoing")
    with Session(ws.db) as session:  # refuse before the slow work: conversion, the store
        _author(session, definition, username)
        _signer(session, request.signer)
    if upload is None:
        upload = render_request(ws, username, request)
        stored = _put_draft(ws, upload, pdf=None)  # our own template: converted at approval
    else:
        stored = _put_draft(ws, upload, pdf=_checked_pdf(ws, upload))
    with transaction(ws.db) as session:
        author = _author(session, definition, username)
        signer = _signer(session, request.signer)
        unit = session.get(Unit, author.unit_id)
        assert unit is not None and unit.id is not None
        document = Document(
            agency_id=unit.agency_id,
            direction="outgoing",
            doc_type=request.doc_type,
            type_abbr=abbr,
            subject=request.subject.strip(),
            unit_id=unit.id,
            author_id=author.id or 0,
            signer_id=signer.id,
            recipients="\n".join(request.recipients),
            urgency=request.urgency,
            secrecy=request.secrecy,
        )
        session.add(document)
        session.flush()
        _add_draft(session, document, author, stored, version=1, comment=None)
        start_instance(session, ws, definition, document, author)
        assert document.id is not None
        document_id = document.id
    return document_id


def _checked(request: DraftRequest) -> DraftRequest:
    """The request with its text fields checked (length, no control characters) and in NFC."""
    # the draft's DOCX title holds "<type> <subject>", 255 characters at most
    longest = SUBJECT_MAX - len(request.doc_type) - 1
    subject = checked_line(request.subject, "--subject", max_length=longest)
    if not subject:
        raise InvalidInput(
            "trích yếu (--subject) không được để trống",
            "the subject (--subject) may not be empty",
            code="draft.subject_missing",
        )
    urgency = (request.urgency or "").strip() or None
    if urgency is not None and urgency.casefold() == ORDINARY.casefold():
        urgency = None
    if urgency is not None and urgency not in URGENCIES:
        raise InvalidInput(
            f"độ khẩn '{urgency}' không có (có: {ORDINARY}, {', '.join(URGENCIES)})",
            f"no urgency '{urgency}' (there are: {ORDINARY}, {', '.join(URGENCIES)})",
            code="draft.urgency_unknown",
            urgency=urgency,
        )
    addressees = tuple(
        line.strip() for line in checked_lines(request.addressees, "--kinh-gui") if line.strip()
    )
    if addressees and request.doc_type != CONG_VAN:
        raise InvalidInput(
            f"'Kính gửi' (--kinh-gui) chỉ dùng cho Công văn, không dùng cho {request.doc_type}",
            f"'Kính gửi' (--kinh-gui) is for a Công văn only, not a {request.doc_type}",
            code="draft.addressees_not_letter",
            doc_type=request.doc_type,
        )
    return dataclasses.replace(
        request,
        subject=subject,
        body=checked_lines(request.body, "--body-file"),
        recipients=checked_lines(request.recipients, "--recipient"),
        urgency=urgency,
        addressees=addressees,
        secrecy=checked_secrecy(request.secrecy, "--secrecy"),
    )


def render_request(ws: Workspace, username: str, request: DraftRequest) -> Upload:
    """The Decree 30 template filled for ``username``'s agency and unit, as a DOCX upload."""
    request = _checked(request)
    with Session(ws.db) as session:
        author = user_named(session, username)
        unit = session.get(Unit, author.unit_id)
        assert unit is not None
        agency = session.get(Agency, unit.agency_id)
        assert agency is not None
        signer = _signer(session, request.signer)
        line = _authority(session, agency, signer)
        return _render(request, agency, unit, signer, type_abbreviation(request.doc_type), line)


def _render(
    request: DraftRequest,
    agency: Agency,
    unit: Unit,
    signer: User,
    abbr: str | None,
    authority: str | None,
) -> Upload:
    if not request.body:
        raise InvalidInput(
            "dự thảo cần nội dung (--body-file) hoặc tệp DOCX (--docx)",
            "a draft needs a body (--body-file) or a DOCX file (--docx)",
            code="draft.body_missing",
        )
    content = _draft_content(request, agency, unit, signer, abbr, authority)
    return Upload(f"du-thao-{abbr or 'CV'}.docx", render_draft(content))


def _checked_pdf(ws: Workspace, upload: Upload) -> bytes:
    """Convert an uploaded DOCX at once, so a missing Decree 30 element (no 'Số:' line, no
    signer block) is reported to the person uploading, not found later at approval."""
    check_docx(upload.data, upload.filename, max_bytes=ws.settings.max_upload_bytes)
    try:
        return prepare_pdf(ws, upload.data)
    except ConversionError as exc:
        if exc.retryable:  # LibreOffice timed out: the same file may convert later
            raise
        laid_out = exc.code.startswith("layout.")
        raise InvalidInput(
            exc.message,
            exc.message_en,
            code="draft.layout_missing" if laid_out else "draft.not_convertible",
            file=upload.filename,
            cause=exc.code,
        ) from exc


def _author(session: Session, definition: WorkflowDefinition, username: str) -> User:
    """``username``, if their role may start the outgoing workflow."""
    author = user_named(session, username)
    start_actor = definition.step(definition.start).actor
    if start_actor is None or author.role != start_actor.role.value:
        raise NotAllowed(
            f"{username} ({author.role}) không được soạn văn bản đi",
            f"{username} ({author.role}) may not draft outgoing documents",
            code="draft.not_allowed",
            user=username,
            role=author.role,
        )
    return author


def _signer(session: Session, username: str) -> User:
    signer = user_named(session, username)
    if signer.role != "leader":
        raise InvalidInput(
            f"người ký '{username}' không phải lãnh đạo ({signer.role})",
            f"the signer '{username}' is not a leader ({signer.role})",
            code="signer.not_leader",
            user=username,
            role=signer.role,
        )
    return signer


def _draft_content(
    request: DraftRequest,
    agency: Agency,
    unit: Unit,
    signer: User,
    abbr: str | None,
    authority: str | None,
) -> DraftContent:
    return DraftContent(
        doc_type=request.doc_type,
        parent_agency=agency.parent_name,
        agency_name=agency.name,
        place=agency.place,
        subject=request.subject.strip(),
        body=request.body,
        authority=authority,
        signer_title=signer.title.upper(),
        signer_name=signer.full_name,
        recipients=request.recipients,
        archive_line=f"Lưu: VT, {unit.code}.",
        symbol_hint=symbol_hint(type_abbr=abbr, agency_code=agency.code, unit_code=unit.code),
        urgency=request.urgency,
        addressees=request.addressees,
        secrecy=request.secrecy,
    )


@dataclass(frozen=True)
class _StoredDraft:
    """A draft's DOCX (and the PDF made of it at upload) already in the store."""

    filename: str
    docx: tuple[str, int]
    """SHA-256 and size."""
    pdf: tuple[str, int] | None


def _put_draft(ws: Workspace, upload: Upload, *, pdf: bytes | None) -> _StoredDraft:
    """Check the DOCX and put it (and its PDF) in the store, before any transaction."""
    check_docx(upload.data, upload.filename, max_bytes=ws.settings.max_upload_bytes)
    docx = (put_content(ws.store, upload.data, DOCX_TYPE), len(upload.data))
    made = (put_content(ws.store, pdf, PDF_TYPE), len(pdf)) if pdf is not None else None
    return _StoredDraft(upload.filename, docx, made)


def _add_draft(
    session: Session,
    document: Document,
    author: User,
    stored: _StoredDraft,
    *,
    version: int,
    comment: str | None,
) -> None:
    assert document.id is not None
    sha, size = stored.docx
    add_file(session, document.id, "draft", version, sha, size, stored.filename, author, comment)
    if stored.pdf is not None:  # already converted and checked: the convert step reuses it
        pdf_name = stored.filename.rsplit(".", 1)[0] + ".pdf"
        add_file(session, document.id, "pdf", version, *stored.pdf, pdf_name, author)
    audit.append(
        session,
        actor=author.username,
        event="draft_uploaded",
        document_id=document.id,
        detail={"version": version, "sha256": sha, "filename": stored.filename},
    )


def upload_version(
    ws: Workspace, document_id: int, username: str, upload: Upload, comment: str | None = None
) -> int:
    """A new draft version from whoever holds the drafting task; older versions stay."""
    with Session(ws.db) as session:
        drafter(session, ws, document_id, username)  # refuse before the slow conversion
    stored = _put_draft(ws, upload, pdf=_checked_pdf(ws, upload))
    with transaction(ws.db) as session:
        user = drafter(session, ws, document_id, username)
        version = latest_file(session, document_id, "draft").version + 1
        document = find_document(session, document_id)
        _add_draft(session, document, user, stored, version=version, comment=comment)
    return version


def drafter(session: Session, ws: Workspace, document_id: int, username: str) -> User:
    """The user, if they hold an open task whose step can submit a draft."""
    refuse_if_recalled(session, document_id)
    user = user_named(session, username)
    instance = instance_of(session, document_id)
    assert instance.id is not None
    definition = ws.definition_for(instance, session)
    for task in open_tasks(session, instance.id):
        step = definition.step(task.step_id)
        if may_take(task, user) and any(a.name is ActionName.SUBMIT for a in step.actions):
            return user
    raise NotAllowed(
        f"{username} không giữ bước soạn thảo của văn bản này nên không tải lên được",
        f"{username} does not hold this document's drafting step, so cannot upload to it",
        code="draft.not_drafter",
        document_id=document_id,
        user=username,
    )
