"""A document as people read it: its facts, files, tasks and history (who, what, when), and its
files handed out. What the CLI's ``doc show`` and the web office's document page show."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from engine.core.definitions import WorkflowDefinition
from engine.core.models import (
    AuditEvent,
    Document,
    DocumentFile,
    Task,
    Unit,
    User,
    WorkflowInstance,
)
from engine.core.workspace import Workspace
from engine.workflow.files import find_document, latest_file, newest_file
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
}
"""The history's events in the words people use (steps entered are shown by the next event)."""
STATES = {"active": "đang xử lý", "done": "đã kết thúc"}
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


def document_view(ws: Workspace, document_id: int) -> DocumentView:
    with Session(ws.db) as session:
        document = find_document(session, document_id)
        instance = session.exec(
            select(WorkflowInstance).where(WorkflowInstance.document_id == document_id)
        ).one()
        definition = ws.definition(instance.definition)
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
            if event.event.startswith("step_") and event.step:
                what += f": {_title(definition, event.step)}"
        else:
            continue
        who = "hệ thống" if event.actor == "system" else names.get(event.actor, event.actor)
        comment = detail.get("comment") or detail.get("error") or None
        entries.append(HistoryEntry(event.at, who, what, comment))
    return entries


def _title(definition: WorkflowDefinition, step: str) -> str:
    found = definition.steps.get(step)
    return found.title if found else step  # a step renamed since: its id still names it


def file_content(ws: Workspace, document_id: int, kind: str) -> tuple[DocumentFile, bytes]:
    """The newest file of ``kind`` and its bytes (checked against its SHA-256)."""
    with Session(ws.db) as session:
        found = latest_file(session, document_id, kind)
    return found, get_content(ws.store, found.sha256)


def file_location(ws: Workspace, document_id: int, kind: str) -> str | None:
    """Where the newest file of ``kind`` lies in the store (a path or an S3 address)."""
    with Session(ws.db) as session:
        found = newest_file(session, document_id, kind)
    return f"{ws.store.url}/{content_key(found.sha256)}" if found else None
