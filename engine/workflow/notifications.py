"""What a person's pages poll for: their open and overdue counts, and the tasks that came in
since they last asked (the inbox's own query, by the partial indexes of open tasks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select as sql_select
from sqlmodel import Session, col

from engine.core.models import Document, Task, WorkflowInstance
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.workflow.inbox import inbox_counts, mine
from vanthu import clock

NEWEST = 5
"""New tasks named in one answer (the count says how many are open in all)."""


@dataclass(frozen=True)
class NewTask:
    """A task that opened for the person since they last asked."""

    document_id: int
    doc_type: str
    subject: str
    opened_at: datetime


@dataclass(frozen=True)
class Notifications:
    open: int
    """Open tasks the person may take."""
    overdue: int
    """Of those, past their deadline."""
    new: tuple[NewTask, ...]
    """Newest first, at most :data:`NEWEST`."""
    now: datetime
    """When this was read: the ``since`` of the next question."""


def notifications(ws: Workspace, username: str, since: datetime | None) -> Notifications:
    """``username``'s counts and the tasks opened for them after ``since`` (none without it)."""
    now = clock.now()
    total, overdue = inbox_counts(ws, username)
    new: list[NewTask] = []
    if since is not None:
        with Session(ws.db) as session:
            tasks = mine(user_named(session, username))
            columns: list[Any] = [Document.id, Document.doc_type, Document.subject, Task.created_at]
            rows = session.execute(
                sql_select(*columns)
                .select_from(tasks)
                .join(Task, col(Task.id) == tasks.c.task_id)
                .join(WorkflowInstance, col(WorkflowInstance.id) == Task.instance_id)
                .join(Document, col(Document.id) == WorkflowInstance.document_id)
                .where(col(Task.created_at) > since)
                .order_by(col(Task.created_at).desc(), col(Task.id).desc())
                .limit(NEWEST)
            ).all()
        new = [NewTask(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]
    return Notifications(total, overdue, tuple(new), now)
