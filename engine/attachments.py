"""Attachments in files of their own (văn bản kèm theo không cùng tệp), signed at issuance.

Decree 30 Appendix I: such an attachment carries the agency's digital signature, shown in the
top right corner of its first page as the main document's number and symbol and the signing
time. The seal step signs every attachment the drafter added, in the same step as the main
document, and records the signed files with it (kind ``attachment_issued``, same ordinal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from engine import keys
from engine.errors import EngineError
from engine.models import Document, DocumentFile
from engine.outbox import Finisher
from engine.workspace import Workspace
from signing import sign_attachment
from storage import get_content, put_content

ATTACHMENT = "attachment"
ATTACHMENT_ISSUED = "attachment_issued"
PDF_TYPE = "application/pdf"


@dataclass(frozen=True)
class _Signed:
    ordinal: int
    sha256: str
    size: int
    filename: str


def files_of_kind(session: Session, document_id: int, kind: str) -> list[DocumentFile]:
    return list(
        session.exec(
            select(DocumentFile)
            .where(DocumentFile.document_id == document_id, DocumentFile.kind == kind)
            .order_by(col(DocumentFile.version), col(DocumentFile.id))
        ).all()
    )


def seal_attachments(ws: Workspace, document: Document, then: Finisher) -> Finisher:
    """Sign each attachment not yet signed; the finisher runs ``then`` and records them."""
    assert document.id is not None
    document_id = document.id
    with Session(ws.db) as session:
        pending = files_of_kind(session, document_id, ATTACHMENT)
        done = {f.version for f in files_of_kind(session, document_id, ATTACHMENT_ISSUED)}
    newest = {f.version: f for f in pending}  # ordered by id: the last upload wins
    pending = [f for ordinal, f in sorted(newest.items()) if ordinal not in done]
    if pending and not document.symbol:
        raise EngineError(
            "văn bản chưa có số: chưa ký được văn bản kèm theo", document_id=document_id
        )
    signed: list[_Signed] = []
    for attachment in pending:
        pdf = sign_attachment(
            get_content(ws.store, attachment.sha256),
            main_symbol=document.symbol or "",
            key=keys.agency_key(ws),
        )
        sha = put_content(ws.store, pdf, PDF_TYPE)
        signed.append(_Signed(attachment.version, sha, len(pdf), attachment.filename))

    def finish(session: Session) -> dict[str, Any]:
        result = then(session)
        recorded = {f.version for f in files_of_kind(session, document_id, ATTACHMENT_ISSUED)}
        for one in signed:
            if one.ordinal in recorded:
                continue
            session.add(
                DocumentFile(
                    document_id=document_id,
                    kind=ATTACHMENT_ISSUED,
                    version=one.ordinal,
                    sha256=one.sha256,
                    size=one.size,
                    filename=one.filename,
                )
            )
        return {**result, "attachments": len(signed)}

    return finish
