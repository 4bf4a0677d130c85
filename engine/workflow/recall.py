"""An outgoing document recalled (thu hồi) by its sender is frozen.

Decree 30 Appendix VI (11): the sender recalls an issued document and the system freezes its
own copy. The freeze is the sender's act: it holds whatever the recipients answer (a recipient
that refuses to give its copy back keeps that copy; the sender's document stays recalled, its
refusal visible in the exchange status). Frozen means: no workflow action (whoever holds a
task), no new draft version or attachment, no update or replacement envelope and no second
recall. Its history, files and archive record stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from engine.core import audit
from engine.core.errors import Conflict
from engine.core.models import Document
from engine.core.text import vietnam_time
from engine.core.workspace import Workspace
from vanthu import clock

RECALLED = "document_recalled"
"""The audit event of the freeze."""
LABEL = "Thu hồi"
"""How pages, commands and registers name a recalled document."""


def recalled_error(document: Document) -> Conflict:
    """The refusal of anything asked of a recalled document, naming when and why."""
    at = vietnam_time(document.recalled_at) if document.recalled_at else None
    when = f"{at:%H:%M %d/%m/%Y}" if at else ""
    reason = document.recall_reason or ""
    return Conflict(
        f"văn bản #{document.id} đã bị thu hồi lúc {when} (lý do: {reason}): "
        "không thao tác gì thêm trên văn bản này được",
        f"document #{document.id} was recalled at {when} (reason: {reason}): "
        "nothing more can be done on it",
        code="document.recalled",
        document_id=document.id,
        recalled_at=document.recalled_at.isoformat() if document.recalled_at else None,
        reason=reason,
    )


def refuse_if_recalled(session: Session, document_id: int) -> None:
    """Raise :func:`recalled_error` when the document is recalled."""
    document = session.get(Document, document_id)
    if document is not None and document.recalled_at is not None:
        raise recalled_error(document)


def freeze(session: Session, document: Document, username: str, reason: str) -> None:
    """Mark the document recalled (with the reason and the time), audited, in the caller's
    transaction; a document recalled before is refused."""
    if document.recalled_at is not None:
        raise recalled_error(document)
    document.recalled_at, document.recall_reason = clock.now(), reason
    session.add(document)
    audit.append(
        session,
        actor=username,
        event=RECALLED,
        document_id=document.id,
        detail={"reason": reason},
    )


@dataclass(frozen=True)
class Recall:
    """When and why the sender recalled a document."""

    at: datetime
    reason: str


def recall_of(ws: Workspace, document_id: int) -> Recall | None:
    """The document's recall, None if it is not recalled (or does not exist)."""
    with Session(ws.db) as session:
        document = session.get(Document, document_id)
    if document is None or document.recalled_at is None:
        return None
    return Recall(document.recalled_at, document.recall_reason or "")
