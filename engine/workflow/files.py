"""A document's files: every version of its draft, PDF, signed and issued forms, attachments.

Bytes live in the store, content-addressed; the database records each file of a document
(kind, version, SHA-256, name, who added it). Automated steps record theirs from a finisher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from engine.core.errors import EngineError, NotFound
from engine.core.models import Document, DocumentFile, User
from engine.core.workspace import Finisher, Workspace

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_TYPE = "application/pdf"


@dataclass(frozen=True)
class Upload:
    """A file a user hands in."""

    filename: str
    data: bytes


def add_file(
    session: Session,
    document_id: int,
    kind: str,
    version: int,
    sha: str,
    size: int,
    filename: str,
    author: User | None = None,
    comment: str | None = None,
) -> None:
    """Record bytes already in the store as a file of the document (the bytes go in before
    the transaction: the store is outside work)."""
    session.add(
        DocumentFile(
            document_id=document_id,
            kind=kind,
            version=version,
            sha256=sha,
            size=size,
            filename=filename,
            created_by=author.id if author else None,
            comment=comment,
        )
    )


def files_of_kind(session: Session, document_id: int, kind: str) -> list[DocumentFile]:
    """Every file of ``kind``, oldest first."""
    return list(
        session.exec(
            select(DocumentFile)
            .where(DocumentFile.document_id == document_id, DocumentFile.kind == kind)
            .order_by(col(DocumentFile.version), col(DocumentFile.id))
        ).all()
    )


def newest_file(session: Session, document_id: int, kind: str) -> DocumentFile | None:
    return session.exec(
        select(DocumentFile)
        .where(DocumentFile.document_id == document_id, DocumentFile.kind == kind)
        .order_by(col(DocumentFile.id).desc())
    ).first()


def latest_file(session: Session, document_id: int, kind: str) -> DocumentFile:
    """The newest file of ``kind``; not found when the document has none yet."""
    found = newest_file(session, document_id, kind)
    if found is None:
        raise NotFound(
            f"văn bản chưa có tệp loại '{kind}'",
            f"the document has no '{kind}' file yet",
            code="document.file_not_found",
            document_id=document_id,
            kind=kind,
        )
    return found


def find_document(session: Session, document_id: int) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise NotFound(
            "không có văn bản này",
            "no such document",
            code="document.not_found",
            document_id=document_id,
        )
    return document


# --- for automated steps: read outside the transaction, record inside it ----------------------


def load_document(ws: Workspace, document_id: int) -> Document:
    with Session(ws.db) as session:
        return find_document(session, document_id)


def step_file(ws: Workspace, document_id: int, kind: str) -> DocumentFile | None:
    with Session(ws.db) as session:
        return newest_file(session, document_id, kind)


def require_step_file(ws: Workspace, document_id: int, kind: str, step: str) -> DocumentFile:
    found = step_file(ws, document_id, kind)
    if found is None:
        raise EngineError(
            f"thiếu tệp '{kind}'",
            f"the '{kind}' file is missing",
            code="document.file_missing",
            document_id=document_id,
            step=step,
        )
    return found


def record_file(
    document_id: int, kind: str, version: int, sha: str, size: int, name: str
) -> Finisher:
    """A finisher recording a file a step stored (once, however often the step runs)."""

    def finish(session: Session) -> dict[str, Any]:
        exists = session.exec(
            select(DocumentFile).where(
                DocumentFile.document_id == document_id,
                DocumentFile.kind == kind,
                DocumentFile.sha256 == sha,
            )
        ).first()
        if exists is None:
            add_file(session, document_id, kind, version, sha, size, name)
        return {"sha256": sha, "bytes": size}

    return finish
