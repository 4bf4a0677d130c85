"""A document as people read it: its facts, files, tasks and history (who, what, when), and its
files handed out. What the CLI's ``doc show`` and the web office's document page show.

Every read names the reader, is checked (:func:`may_read`) and is audited, a refused one too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.definitions import WorkflowDefinition
from engine.core.errors import NotAllowed
from engine.core.models import (
    ArchiveFile,
    ArchiveRecord,
    AuditEvent,
    Document,
    DocumentFile,
    Task,
    Unit,
    User,
    WorkflowInstance,
)
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.workflow.files import find_document, latest_file, newest_file
from engine.workflow.runtime import may_take
from storage import content_key, get_content

ACTIONS = {
    "submit": "trình",
    "approve": "duyệt",
    "return": "trả lại",
    "forward": "chuyển",
    "consult": "xin ý kiến",
    "sign": "ký",
    "issue": "ban hành",
    "register": "vào sổ",
    "assign": "giao xử lý",
    "comment": "cho ý kiến",
    "complete": "hoàn thành",
    "reject": "từ chối tiếp nhận",
}
"""Each action in the words people use."""
EVENTS = {
    "instance_started": "bắt đầu quy trình",
    "draft_uploaded": "tải lên dự thảo",
    "attachment_added": "đính kèm văn bản kèm theo",
    "received": "tiếp nhận văn bản đến",
    "signed": "ký số",
    "sign_requested": "yêu cầu ký trên thiết bị ký",
    "sign_request_completed": "ký trên thiết bị ký xong",
    "sign_request_cancelled": "hủy yêu cầu ký",
    "sign_request_failed": "yêu cầu ký không thành",
    "step_done": "bước tự động xong",
    "step_failed": "bước tự động lỗi",
    "step_requeued": "đưa bước tự động vào lại hàng đợi",
    "joined": "đủ ý kiến các đơn vị",
    "copied": "tạo bản sao điện tử",
    "commented": "trao đổi ý kiến",
    "exchange_queued": "xếp hàng gửi liên thông",
    "exchange_withheld": "không gửi liên thông: văn bản mật (gửi bản giấy)",
    "exchange_sent": "đã gửi liên thông",
    "exchange_refused": "cơ quan nhận từ chối gói tin",
    "exchange_received": "nhận qua liên thông",
    "exchange_status": "cơ quan liên thông báo trạng thái",
    "exchange_recall_asked": "đề nghị lấy lại văn bản",
    "exchange_replacement_sent": "gửi văn bản thay thế",
    "exchange_update_sent": "gửi bản cập nhật văn bản",
    "exchange_replacement_asked": "cơ quan gửi đề nghị thay thế văn bản",
    "exchange_request_answered": "trả lời đề nghị lấy lại, thay thế",
    "exchange_withdrawn": "văn bản đã được lấy lại",
    "exchange_replaced": "văn bản đã được thay thế",
    "document_recalled": "thu hồi văn bản: từ nay không xử lý thêm",
}
"""The history's events in the words people use (steps entered are shown by the next event)."""
STATES = {
    "active": "đang xử lý",
    "done": "đã kết thúc",
    "withdrawn": "đã được lấy lại",
    "replaced": "đã được thay thế",
}
TASK_STATES = {"open": "đang chờ", "done": "đã xử lý", "cancelled": "đã hủy"}
DIRECTIONS = {"outgoing": "văn bản đi", "incoming": "văn bản đến"}
FILE_KINDS = {
    "draft": "dự thảo",
    "pdf": "bản PDF",
    "signed": "bản đã ký",
    "issued": "bản ban hành",
    "received": "bản nhận",
    "attachment": "văn bản kèm theo",
    "attachment_issued": "văn bản kèm theo đã ký",
    "copy": "bản sao điện tử",
}


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    who: str
    """The person's full name (or 'hệ thống' for automated work)."""
    what: str
    """In Vietnamese: the action or event, with its step."""
    comment: str | None


@dataclass(frozen=True)
class DocumentView:
    document: Document
    unit: str
    author: str
    signer: str | None
    definition: str
    state: str
    waiting_at: tuple[str, ...]
    """Titles of the steps the document waits at."""
    files: tuple[DocumentFile, ...]
    tasks: tuple[Task, ...]
    history: tuple[HistoryEntry, ...]
    verification: dict[str, Any] | None
    """The signature report made when an incoming document arrived."""

    def to_json(self) -> dict[str, Any]:
        return {
            "document": self.document.model_dump(exclude={"verification"}),
            "workflow": {
                "definition": self.definition,
                "status": self.state,
                "waiting_at": list(self.waiting_at),
            },
            "files": [
                f.model_dump(include={"kind", "version", "sha256", "filename", "comment"})
                for f in self.files
            ],
            "tasks": [
                t.model_dump(include={"step_id", "state", "role", "action", "comment", "due_at"})
                for t in self.tasks
            ],
            "history": [
                {"at": h.at.isoformat(), "who": h.who, "what": h.what, "comment": h.comment}
                for h in self.history
            ],
            "verification": self.verification,
        }


EVERY_DOCUMENT = frozenset({"leader", "clerk"})
"""Roles that read every document: leaders direct and sign, clerks register and issue."""
ARCHIVED_DOCUMENTS = frozenset({"archivist", "admin"})
"""Roles that read the documents that reached the archive (as they retrieve its records)."""
RESTRICTED_READERS = frozenset({"archivist", "leader", "admin"})
"""Roles that read restricted documents; the same roles as ``engine.archive.records`` names for
restricted records (tests/test_identity.py keeps the two equal)."""
VIEWED, FILE_READ, READ_REFUSED = "document_viewed", "document_file_read", "document_read_refused"
"""Audit events: a document's page shown, one of its files handed out, a read refused."""


@dataclass(frozen=True)
class ReadDecision:
    """Whether a user may read a document, and why (recorded in the audit event)."""

    allowed: bool
    reason: str
    """``participant``, ``unit``, ``role``, ``archived``; or, refused, ``restricted`` or
    ``not_involved``."""
    restricted: bool


def _participant(session: Session, user: User, document: Document) -> bool:
    """The user is named on the document: its author or signer, a person a task was for, who
    completed one or was chosen at one, or who acted on it (the audit chain says so)."""
    if user.id in (document.author_id, document.signer_id):
        return True
    instance = session.exec(
        select(WorkflowInstance).where(WorkflowInstance.document_id == document.id)
    ).first()
    if instance is not None:
        for task in session.exec(select(Task).where(Task.instance_id == instance.id)).all():
            if user.id in (task.user_id, task.completed_by, task.chosen_user_id):
                return True
    acted = session.exec(
        select(AuditEvent.seq)
        .where(AuditEvent.document_id == document.id, AuditEvent.actor == user.username)
        .where(col(AuditEvent.event).not_in([VIEWED, FILE_READ, READ_REFUSED]))
    ).first()
    return acted is not None


def _may_take_a_task(session: Session, user: User, document: Document) -> bool:
    instance = session.exec(
        select(WorkflowInstance).where(WorkflowInstance.document_id == document.id)
    ).first()
    if instance is None:
        return False
    tasks = session.exec(select(Task).where(Task.instance_id == instance.id)).all()
    return any(may_take(task, user) for task in tasks)


def may_read(session: Session, user: User, document: Document) -> ReadDecision:
    """Who may read a document (its page and its files):

    - the people on it: its author, its signer, whoever a task was for, completed one or was
      chosen at one, whoever acted on it;
    - the people of its unit (the drafting or handling unit), and those who may take one of its
      tasks (a unit consulted, a unit assigned an incoming document);
    - leaders and clerks, every document;
    - archivists and administrators, once the document is archived.

    A document is restricted when its archive record is, or the case file holding it is. Then
    only the people on it and the roles that read restricted records (archivist, leader,
    administrator) may read it; a clerk or a colleague of its unit may not.
    """
    record = session.exec(
        select(ArchiveRecord).where(ArchiveRecord.document_id == document.id)
    ).first()
    archive_file = session.get(ArchiveFile, record.file_id) if record and record.file_id else None
    restricted = record is not None and (
        record.access == "restricted"
        or (archive_file is not None and archive_file.access == "restricted")
    )
    if not user.active:
        return ReadDecision(False, "not_involved", restricted)
    if _participant(session, user, document):
        return ReadDecision(True, "participant", restricted)
    if restricted:
        allowed = user.role in RESTRICTED_READERS
        return ReadDecision(allowed, "role" if allowed else "restricted", restricted)
    if user.role in EVERY_DOCUMENT:
        return ReadDecision(True, "role", restricted)
    if record is not None and user.role in ARCHIVED_DOCUMENTS:
        return ReadDecision(True, "archived", restricted)
    if user.unit_id == document.unit_id or _may_take_a_task(session, user, document):
        return ReadDecision(True, "unit", restricted)
    return ReadDecision(False, "not_involved", restricted)


def _checked_read(
    ws: Workspace, document_id: int, username: str, kind: str | None = None
) -> DocumentFile | None:
    """Check that ``username`` may read the document (its newest file of ``kind``, if given)
    and audit the read, or the refusal (in its own transaction, so the refusal is kept), then
    refuse. Someone refused learns nothing of the document's files."""
    detail: dict[str, Any] = {"what": "file" if kind else "view"}
    found = None
    with transaction(ws.db) as session:
        user = user_named(session, username)
        document = find_document(session, document_id)
        decision = may_read(session, user, document)
        if decision.allowed and kind is not None:
            found = newest_file(session, document_id, kind)
            detail.update(kind=kind)
            if found is not None:
                detail.update(version=found.version, sha256=found.sha256)
        event = (FILE_READ if kind else VIEWED) if decision.allowed else READ_REFUSED
        audit.append(
            session,
            actor=username,
            event=event,
            document_id=document_id,
            detail={**detail, "reason": decision.reason, "role": user.role},
        )
    if decision.allowed:
        return found
    raise read_refused(username, user.role, document_id, restricted=decision.restricted)


def read_refused(username: str, role: str, document_id: int, *, restricted: bool) -> NotAllowed:
    """The error for a person :func:`may_read` refused (the refusal audited by the caller)."""
    if restricted:
        return NotAllowed(
            f"{username} ({role}) không được xem văn bản #{document_id}: tài liệu hạn chế sử dụng",
            f"{username} ({role}) may not read document #{document_id}: its access is restricted",
            code="document.restricted",
            document_id=document_id,
            username=username,
            role=role,
        )
    return NotAllowed(
        f"{username} ({role}) không được xem văn bản #{document_id}: không tham gia xử lý,"
        " không thuộc đơn vị của văn bản",
        f"{username} ({role}) may not read document #{document_id}: not involved in it and"
        " not of its unit",
        code="document.read_not_allowed",
        document_id=document_id,
        username=username,
        role=role,
    )


def document_view(ws: Workspace, document_id: int, username: str) -> DocumentView:
    """The document as ``username`` reads it (:func:`may_read`); the read is audited."""
    _checked_read(ws, document_id, username)
    with Session(ws.db) as session:
        document = find_document(session, document_id)
        instance = session.exec(
            select(WorkflowInstance).where(WorkflowInstance.document_id == document_id)
        ).one()
        definition = ws.definition_for(instance, session)
        files = session.exec(
            select(DocumentFile)
            .where(DocumentFile.document_id == document_id)
            .order_by(col(DocumentFile.id))
        ).all()
        tasks = session.exec(
            select(Task).where(Task.instance_id == instance.id).order_by(col(Task.id))
        ).all()
        events = session.exec(
            select(AuditEvent)
            .where(AuditEvent.document_id == document_id)
            .order_by(col(AuditEvent.seq))
        ).all()
        names = {u.username: u.full_name for u in session.exec(select(User)).all()}
        by_id = {u.id: u.full_name for u in session.exec(select(User)).all()}
        unit = session.get(Unit, document.unit_id)
        open_steps = [t.step_id for t in tasks if t.state == "open"]
        return DocumentView(
            document=document,
            unit=unit.name if unit else "",
            author=by_id.get(document.author_id, ""),
            signer=by_id.get(document.signer_id) if document.signer_id else None,
            definition=definition.title,
            state=STATES.get(instance.status, instance.status),
            waiting_at=tuple(definition.step(s).title for s in open_steps),
            files=tuple(files),
            tasks=tuple(tasks),
            history=tuple(_history(events, names, definition)),
            verification=json.loads(document.verification) if document.verification else None,
        )


def _history(
    events: Sequence[AuditEvent], names: dict[str, str], definition: WorkflowDefinition
) -> list[HistoryEntry]:
    entries = []
    for event in events:
        detail = json.loads(event.detail or "{}")
        if event.event == "action":
            action = str(detail.get("action"))
            what = ACTIONS.get(action, action)
            if event.step:
                what += f" ở bước '{_title(definition, event.step)}'"
        elif event.event in EVENTS:
            what = EVENTS[event.event]
            if event.event == "draft_uploaded" and detail.get("version"):
                what += f" phiên bản {detail['version']}"
            if event.event.startswith("step_") and event.step:
                what += f": {_title(definition, event.step)}"
        else:
            continue
        who = "hệ thống" if event.actor == "system" else names.get(event.actor, event.actor)
        comment = detail.get("comment") or detail.get("error") or None
        if event.event == "document_recalled":
            comment = detail.get("reason") or None
        entries.append(HistoryEntry(event.at, who, what, comment))
    return entries


def _title(definition: WorkflowDefinition, step: str) -> str:
    found = definition.steps.get(step)
    return found.title if found else step  # a step renamed since: its id still names it


def file_content(
    ws: Workspace, document_id: int, kind: str, username: str
) -> tuple[DocumentFile, bytes]:
    """The newest file of ``kind`` and its bytes (checked against its SHA-256), handed to
    ``username`` if they may read the document (:func:`may_read`); the read is audited."""
    found = _checked_read(ws, document_id, username, kind)
    if found is None:
        with Session(ws.db) as session:
            found = latest_file(session, document_id, kind)  # none yet: says so
    return found, get_content(ws.store, found.sha256)


def file_location(ws: Workspace, document_id: int, kind: str) -> str | None:
    """Where the newest file of ``kind`` lies in the store (a path or an S3 address)."""
    with Session(ws.db) as session:
        found = newest_file(session, document_id, kind)
    return f"{ws.store.url}/{content_key(found.sha256)}" if found else None
