"""What users do to documents: draft, upload a new version, act on a task, read the inbox."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from engine import audit, keys, outbox, signrequests
from engine.db import transaction
from engine.definitions import ActionName
from engine.doctypes import type_abbreviation
from engine.drafts import DraftContent, check_docx, render_draft
from engine.errors import ConversionError, InvalidInput, NotAllowed, NotFound
from engine.models import Agency, Document, DocumentFile, Task, Unit, User, WorkflowInstance
from engine.numbering import symbol_hint
from engine.runtime import (
    Move,
    claim_task,
    complete_task,
    instance_of,
    may_take,
    open_tasks,
    start_instance,
    user_named,
    waiting_at,
)
from engine.steps import prepare_pdf
from engine.workspace import Workspace
from signing import certify
from storage import get_content, put_content

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_TYPE = "application/pdf"


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


@dataclass(frozen=True)
class Upload:
    """A file a user hands in."""

    filename: str
    data: bytes


def create_outgoing(
    ws: Workspace, username: str, request: DraftRequest, upload: Upload | None = None
) -> int:
    """Create the document, its first draft version and its workflow instance, at once."""
    if not request.subject.strip():
        raise InvalidInput("trích yếu (--subject) không được để trống")
    abbr = type_abbreviation(request.doc_type)
    definition = ws.definition("outgoing")
    checked = _checked_pdf(ws, upload) if upload is not None else None
    with transaction(ws.db) as session:
        author = user_named(session, username)
        start_actor = definition.step(definition.start).actor
        if start_actor is None or author.role != start_actor.role.value:
            raise NotAllowed(f"{username} ({author.role}) không được soạn văn bản đi")
        signer = _signer(session, request.signer)
        unit = session.get(Unit, author.unit_id)
        assert unit is not None
        agency = session.get(Agency, unit.agency_id)
        assert agency is not None and agency.id is not None and unit.id is not None
        if upload is None:
            upload = _render(request, agency, unit, signer, abbr)
        document = Document(
            agency_id=agency.id,
            direction="outgoing",
            doc_type=request.doc_type,
            type_abbr=abbr,
            subject=request.subject.strip(),
            unit_id=unit.id,
            author_id=author.id or 0,
            signer_id=signer.id,
            recipients="\n".join(request.recipients),
            urgency=request.urgency,
        )
        session.add(document)
        session.flush()
        _add_draft(session, ws, document, author, upload, version=1, comment=None, pdf=checked)
        start_instance(session, ws, definition, document, author)
        assert document.id is not None
        document_id = document.id
    return document_id


def render_request(ws: Workspace, username: str, request: DraftRequest) -> Upload:
    """The Decree 30 template filled for ``username``'s agency and unit, as a DOCX upload."""
    with Session(ws.db) as session:
        author = user_named(session, username)
        unit = session.get(Unit, author.unit_id)
        assert unit is not None
        agency = session.get(Agency, unit.agency_id)
        assert agency is not None
        signer = _signer(session, request.signer)
        return _render(request, agency, unit, signer, type_abbreviation(request.doc_type))


def _render(
    request: DraftRequest, agency: Agency, unit: Unit, signer: User, abbr: str | None
) -> Upload:
    if not request.body:
        raise InvalidInput("dự thảo cần nội dung (--body-file) hoặc tệp DOCX (--docx)")
    content = _draft_content(request, agency, unit, signer, abbr)
    return Upload(f"du-thao-{abbr or 'CV'}.docx", render_draft(content))


def _checked_pdf(ws: Workspace, upload: Upload) -> bytes:
    """Convert an uploaded DOCX at once, so a missing Decree 30 element (no 'Số:' line, no
    signer block) is reported to the person uploading, not found later at approval."""
    check_docx(upload.data, upload.filename, max_bytes=ws.settings.max_upload_bytes)
    try:
        return prepare_pdf(ws, upload.data)
    except ConversionError as exc:
        raise InvalidInput(f"{upload.filename}: {exc.message}") from exc


def _signer(session: Session, username: str) -> User:
    signer = user_named(session, username)
    if signer.role != "leader":
        raise InvalidInput(f"người ký '{username}' không phải lãnh đạo ({signer.role})")
    return signer


def _draft_content(
    request: DraftRequest, agency: Agency, unit: Unit, signer: User, abbr: str | None
) -> DraftContent:
    head_title = agency.leader_title.upper()
    signer_title = signer.title.upper()
    return DraftContent(
        doc_type=request.doc_type,
        parent_agency=agency.parent_name,
        agency_name=agency.name,
        place=agency.place,
        subject=request.subject.strip(),
        body=request.body,
        authority=None if signer_title == head_title else f"KT. {head_title}",
        signer_title=signer_title,
        signer_name=signer.full_name,
        recipients=request.recipients,
        archive_line=f"Lưu: VT, {unit.code}.",
        symbol_hint=symbol_hint(type_abbr=abbr, agency_code=agency.code, unit_code=unit.code),
        urgency=request.urgency,
    )


def _add_draft(
    session: Session,
    ws: Workspace,
    document: Document,
    author: User,
    upload: Upload,
    *,
    version: int,
    comment: str | None,
    pdf: bytes | None,
) -> None:
    check_docx(upload.data, upload.filename, max_bytes=ws.settings.max_upload_bytes)
    assert document.id is not None
    sha = store_file(
        session, ws, document.id, "draft", version, upload.data, upload.filename, author, comment
    )
    if pdf is not None:  # already converted and checked: the convert step will reuse it
        pdf_name = upload.filename.rsplit(".", 1)[0] + ".pdf"
        store_file(session, ws, document.id, "pdf", version, pdf, pdf_name, author)
    audit.append(
        session,
        actor=author.username,
        event="draft_uploaded",
        document_id=document.id,
        detail={"version": version, "sha256": sha, "filename": upload.filename},
    )


def store_file(
    session: Session,
    ws: Workspace,
    document_id: int,
    kind: str,
    version: int,
    data: bytes,
    filename: str,
    author: User,
    comment: str | None = None,
) -> str:
    """Put the bytes in the store (content-addressed) and record them as a file of the document."""
    content_type = DOCX_TYPE if kind == "draft" else PDF_TYPE
    sha = put_content(ws.store, data, content_type)
    session.add(
        DocumentFile(
            document_id=document_id,
            kind=kind,
            version=version,
            sha256=sha,
            size=len(data),
            filename=filename,
            created_by=author.id,
            comment=comment,
        )
    )
    return sha


def upload_version(
    ws: Workspace, document_id: int, username: str, upload: Upload, comment: str | None = None
) -> int:
    """A new draft version from whoever holds the drafting task; older versions stay."""
    with Session(ws.db) as session:
        drafter(session, ws, document_id, username)  # refuse before the slow conversion
    checked = _checked_pdf(ws, upload)
    with transaction(ws.db) as session:
        user = drafter(session, ws, document_id, username)
        version = latest_file(session, document_id, "draft").version + 1
        document = _document(session, document_id)
        _add_draft(
            session, ws, document, user, upload, version=version, comment=comment, pdf=checked
        )
    return version


def drafter(session: Session, ws: Workspace, document_id: int, username: str) -> User:
    """The user, if they hold an open task whose step can submit a draft."""
    user = user_named(session, username)
    instance = instance_of(session, document_id)
    assert instance.id is not None
    definition = ws.definition(instance.definition)
    for task in open_tasks(session, instance.id):
        step = definition.step(task.step_id)
        if may_take(task, user) and any(a.name is ActionName.SUBMIT for a in step.actions):
            return user
    raise NotAllowed(
        f"{username} không giữ bước soạn thảo của văn bản này nên không tải lên được",
        document_id=document_id,
    )


def _document(session: Session, document_id: int) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise NotFound(f"không có văn bản #{document_id}")
    return document


def latest_file(session: Session, document_id: int, kind: str) -> DocumentFile:
    found = session.exec(
        select(DocumentFile)
        .where(DocumentFile.document_id == document_id, DocumentFile.kind == kind)
        .order_by(col(DocumentFile.id).desc())
    ).first()
    if found is None:
        raise NotFound(f"văn bản #{document_id} chưa có tệp loại '{kind}'", document_id=document_id)
    return found


def act(
    ws: Workspace,
    document_id: int,
    username: str,
    action: str,
    *,
    comment: str | None = None,
    choose: str | None = None,
) -> Move:
    """Take ``action`` as ``username``: checked, recorded and moved in one transaction."""
    with transaction(ws.db) as session:
        user = user_named(session, username)
        claim = claim_task(session, ws, document_id, user, action)
        signrequests.cancel_waiting(session, claim.task, user, f"có thao tác '{action}' mới")
        if claim.action.name is ActionName.SIGN and ws.settings.leader_signing == "agent":
            document = _document(session, document_id)  # the agent signs; the task waits
            pdf = _pdf_to_sign(session, ws, document, user)
            return signrequests.request_signature(
                session, ws, claim, document, user, pdf, comment=comment
            )
        if claim.action.name is ActionName.SIGN:
            _sign_personally(session, ws, _document(session, document_id), user)
        chosen = user_named(session, choose) if choose else None
        move = complete_task(session, ws, claim, user, comment=comment, chosen=chosen)
    if ws.settings.steps_runner != "inline":
        return move
    outbox.run_pending(ws)
    with Session(ws.db) as session:  # where the automated steps run just now have left it
        instance = instance_of(session, document_id)
        assert instance.id is not None
        return dataclasses.replace(move, now_at=waiting_at(session, instance.id))


def _sign_personally(session: Session, ws: Workspace, document: Document, user: User) -> None:
    """The leader's certification signature on the converted PDF (DocMDP: form filling only)."""
    pdf = _pdf_to_sign(session, ws, document, user)
    key = keys.personal_key(ws, user.username)
    with keys.signing_policy(ws, keys.PERSONAL_LEVEL):
        signed = certify(
            pdf,
            key,
            keys.signature_image(ws, user.username),
            location=_agency(session, document).place,
        )
    store_signed(session, ws, document, user, signed, key.serial)


def _pdf_to_sign(session: Session, ws: Workspace, document: Document, user: User) -> bytes:
    """The converted PDF, if ``user`` is the signer the document names."""
    assert document.id is not None
    if document.signer_id is not None and document.signer_id != user.id:
        intended = session.get(User, document.signer_id)
        name = intended.full_name if intended else document.signer_id
        raise NotAllowed(
            f"văn bản ghi người ký là {name}; {user.full_name} không ký thay được",
            document_id=document.id,
        )
    return get_content(ws.store, latest_file(session, document.id, "pdf").sha256)


def store_signed(
    session: Session,
    ws: Workspace,
    document: Document,
    user: User,
    signed: bytes,
    certificate_serial: int,
    *,
    via: str | None = None,
) -> str:
    """Record the leader's signed PDF as the document's 'signed' file, with its audit event.

    ``via`` names where the key was when it is not on the server ('agent': the leader's token).
    """
    assert document.id is not None
    version = latest_file(session, document.id, "pdf").version
    name = f"van-ban-{document.id}-da-ky.pdf"
    sha = store_file(session, ws, document.id, "signed", version, signed, name, user)
    detail: dict[str, object] = {"sha256": sha, "certificate_serial": certificate_serial}
    if via is not None:
        detail["via"] = via
    audit.append(
        session, actor=user.username, event="signed", document_id=document.id, detail=detail
    )
    return sha


def _agency(session: Session, document: Document) -> Agency:
    agency = session.get(Agency, document.agency_id)
    assert agency is not None
    return agency


@dataclass(frozen=True)
class InboxEntry:
    """One line of a user's inbox."""

    document_id: int
    doc_type: str
    subject: str
    step: str
    """The step's Vietnamese title."""
    actions: tuple[str, ...]
    due_at: datetime | None


def inbox(ws: Workspace, username: str) -> list[InboxEntry]:
    entries: list[InboxEntry] = []
    with Session(ws.db) as session:
        user = user_named(session, username)
        rows = session.exec(
            select(Task, WorkflowInstance, Document)
            .where(Task.state == "open")
            .where(Task.instance_id == WorkflowInstance.id)
            .where(WorkflowInstance.document_id == Document.id)
            .order_by(col(Task.id))
        ).all()
        on_tokens = signrequests.waiting_task_ids(session)
        for task, instance, document in rows:
            if not may_take(task, user):
                continue
            step = ws.definition(instance.definition).step(task.step_id)
            waiting = f" ({signrequests.WAITING_LABEL})" if task.id in on_tokens else ""
            entries.append(
                InboxEntry(
                    document_id=instance.document_id,
                    doc_type=document.doc_type,
                    subject=document.subject,
                    step=step.title + waiting,
                    actions=tuple(a.name.value for a in step.actions),
                    due_at=task.due_at,
                )
            )
    return entries


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
        raise InvalidInput(f"{upload.filename}: không phải tệp PDF")
    if len(upload.data) > ws.settings.max_upload_bytes:
        raise InvalidInput(f"{upload.filename}: tệp lớn hơn giới hạn cho phép")
    if not request.subject.strip() or not request.sender.strip():
        raise InvalidInput("văn bản đến cần trích yếu (--subject) và cơ quan gửi (--from)")
    abbr = type_abbreviation(request.doc_type)
    definition = ws.definition("incoming")
    with transaction(ws.db) as session:
        clerk = user_named(session, username)
        if clerk.role != "clerk":
            raise NotAllowed(f"{username} ({clerk.role}) không được tiếp nhận văn bản đến")
        unit = session.get(Unit, clerk.unit_id)
        assert unit is not None and unit.id is not None and clerk.id is not None
        document = Document(
            agency_id=unit.agency_id,
            direction="incoming",
            doc_type=request.doc_type,
            type_abbr=abbr,
            subject=request.subject.strip(),
            unit_id=unit.id,
            author_id=clerk.id,
            sender=request.sender.strip(),
            sender_symbol=request.symbol.strip(),
        )
        session.add(document)
        session.flush()
        assert document.id is not None
        sha = store_file(
            session, ws, document.id, "received", 1, upload.data, upload.filename, clerk
        )
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
