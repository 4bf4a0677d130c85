"""A person's inbox: the open tasks they may take, with their deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from engine.core.models import Document, SignRequest, Task, WorkflowInstance
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.workflow.runtime import may_take

WAITING_LABEL = "chờ ký số trên thiết bị"
"""Shown beside a task whose signature is out on the leader's token."""


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
        on_tokens = waiting_on_token(session)
        for task, instance, document in rows:
            if not may_take(task, user):
                continue
            step = ws.definition_for(instance, session).step(task.step_id)
            waiting = f" ({WAITING_LABEL})" if task.id in on_tokens else ""
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


def waiting_on_token(session: Session) -> set[int]:
    """Tasks whose signature is out on a token."""
    return set(
        session.exec(select(SignRequest.task_id).where(SignRequest.state == "waiting")).all()
    )
