"""Attachments in files of their own (văn bản kèm theo không cùng tệp), signed at issuance.

The drafter adds attachment PDFs while drafting; the seal step signs each of them.

Decree 30 Appendix I: such an attachment carries the agency's digital signature, shown in the
top right corner of its first page as the main document's number and symbol and the signing
time. The seal step signs every attachment the drafter added, in the same step as the main
document, and records the signed files with it (kind ``attachment_issued``, same ordinal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import Conflict, InvalidInput
from engine.core.models import Document, DocumentFile
from engine.core.workspace import Finisher, Workspace
from engine.outgoing.drafting import drafter
from engine.signatures import keys
from engine.workflow.files import PDF_TYPE, Upload, add_file, files_of_kind
from signing import SigningError, inspect_pdf, pdf_page_count, sign_attachment
from storage import get_content, put_content

ATTACHMENT = "attachment"
ATTACHMENT_ISSUED = "attachment_issued"


@dataclass(frozen=True)
class _Signed:
    ordinal: int
    sha256: str
    size: int
    filename: str


def _unsigned(ws: Workspace, document_id: int) -> list[DocumentFile]:
    """The newest upload of each attachment not signed yet, in order."""
    with Session(ws.db) as session:
        pending = files_of_kind(session, document_id, ATTACHMENT)
        done = {f.version for f in files_of_kind(session, document_id, ATTACHMENT_ISSUED)}
    newest = {f.version: f for f in pending}  # ordered by id: the last upload wins
    return [f for ordinal, f in sorted(newest.items()) if ordinal not in done]


def check_attachments_signable(ws: Workspace, document_id: int) -> None:
    """Each attachment still to be signed can be read from the store and signed (a readable,
    unencrypted PDF whose first page holds the stamp), checked before the number is taken."""
    for attachment in _unsigned(ws, document_id):
        try:
            pdf_page_count(get_content(ws.store, attachment.sha256))
        except SigningError as exc:
            raise InvalidInput(
                f"văn bản kèm theo '{attachment.filename}' không ký được: {exc}",
                f"the attachment '{attachment.filename}' cannot be signed: {exc.english}",
                code="attachment.not_signable",
                document_id=document_id,
                attachment=attachment.filename,
                cause=exc.code,
            ) from exc


def seal_attachments(ws: Workspace, document: Document, then: Finisher) -> Finisher:
    """Sign each attachment not yet signed; the finisher runs ``then`` and records them."""
    assert document.id is not None
    document_id = document.id
    pending = _unsigned(ws, document_id)
    if pending and not document.symbol:
        raise Conflict(
            "văn bản chưa có số: chưa ký được văn bản kèm theo",
            "the document has no number yet: its attachments cannot be signed",
            code="document.not_numbered",
            document_id=document_id,
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
            if one.ordinal not in recorded:
                name = one.filename
                add_file(
                    session, document_id, ATTACHMENT_ISSUED, one.ordinal, one.sha256, one.size, name
                )
        return {**result, "attachments": len(signed)}

    return finish


def add_attachment(ws: Workspace, document_id: int, username: str, upload: Upload) -> int:
    """Store a PDF attachment of the draft; returns its ordinal (1, 2, …).

    Uploading a file of the same name again replaces that attachment (its ordinal is kept);
    the seal step signs the newest upload of each.
    """
    _check_pdf(upload, ws.settings.max_upload_bytes)
    with Session(ws.db) as session:
        drafter(session, ws, document_id, username)  # refuse before the store is written
    sha = put_content(ws.store, upload.data, PDF_TYPE)
    with transaction(ws.db) as session:
        user = drafter(session, ws, document_id, username)
        earlier = files_of_kind(session, document_id, ATTACHMENT)
        # the same file name again is a new version of that attachment, not another one
        same = [f.version for f in earlier if f.filename == upload.filename]
        ordinal = same[0] if same else max((f.version for f in earlier), default=0) + 1
        size, name = len(upload.data), upload.filename
        add_file(session, document_id, ATTACHMENT, ordinal, sha, size, name, user)
        audit.append(
            session,
            actor=user.username,
            event="attachment_added",
            document_id=document_id,
            detail={"ordinal": ordinal, "sha256": sha, "filename": upload.filename},
        )
    return ordinal


def _check_pdf(upload: Upload, max_bytes: int) -> None:
    name = upload.filename
    if not name.lower().endswith(".pdf"):
        raise InvalidInput(
            "văn bản kèm theo phải là tệp .pdf",
            "an attachment must be a .pdf file",
            code="attachment.not_pdf",
            file=name,
        )
    if len(upload.data) > max_bytes:
        limit = max_bytes // (1024 * 1024)
        raise InvalidInput(
            f"tệp lớn hơn giới hạn {limit} MB",
            f"the file is larger than the {limit} MB limit",
            code="attachment.too_large",
            file=name,
        )
    if not upload.data.startswith(b"%PDF-") or b"%%EOF" not in upload.data[-1024:]:
        raise InvalidInput(
            "không phải tệp PDF hoàn chỉnh",
            "not a complete PDF file",
            code="attachment.pdf_incomplete",
            file=name,
        )
    try:  # refused now, not at issuance where it would stop the seal step
        pdf_page_count(upload.data)
        found = inspect_pdf(upload.data)
    except SigningError as exc:
        raise InvalidInput(
            str(exc), exc.english, code="attachment.pdf_unreadable", file=name, cause=exc.code
        ) from exc
    if found.active:  # it leaves the agency under our seal: it must run nothing
        what, what_en = found.describe()
        raise InvalidInput(
            f"văn bản kèm theo có nội dung tự chạy, không nhận: {what}",
            f"the attachment carries active content and is refused: {what_en}",
            code="attachment.active_content",
            file=name,
            found=found.kinds,
        )


def signed_attachments(ws: Workspace, document_id: int) -> list[DocumentFile]:
    """The attachments as issued (signed), in order."""
    with Session(ws.db) as session:
        return files_of_kind(session, document_id, ATTACHMENT_ISSUED)
