"""What people do with attachments and electronic copies (bản sao điện tử).

- The drafter adds attachment PDFs to a document while drafting; the seal step signs them.
- The clerk makes an electronic copy of an issued document: the agency's signature in the
  copy field, showing the agency's name and the signing time (Decree 30 Appendix I).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from engine import audit, keys
from engine.attachments import ATTACHMENT, ATTACHMENT_ISSUED, files_of_kind
from engine.db import transaction
from engine.documents import Upload, drafter, latest_file, store_file
from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.models import Agency, Document, DocumentFile
from engine.runtime import user_named
from engine.workspace import Workspace
from signing import SigningError, electronic_copy, pdf_page_count
from storage import get_content

COPY = "copy"
CLERK = "clerk"


def add_attachment(ws: Workspace, document_id: int, username: str, upload: Upload) -> int:
    """Store a PDF attachment of the draft; returns its ordinal (1, 2, …).

    Uploading a file of the same name again replaces that attachment (its ordinal is kept);
    the seal step signs the newest upload of each.
    """
    _check_pdf(upload, ws.settings.max_upload_bytes)
    with transaction(ws.db) as session:
        user = drafter(session, ws, document_id, username)
        earlier = _attachments(session, document_id)
        # the same file name again is a new version of that attachment, not another one
        same = [f.version for f in earlier if f.filename == upload.filename]
        ordinal = same[0] if same else max((f.version for f in earlier), default=0) + 1
        sha = store_file(
            session, ws, document_id, ATTACHMENT, ordinal, upload.data, upload.filename, user
        )
        audit.append(
            session,
            actor=user.username,
            event="attachment_added",
            document_id=document_id,
            detail={"ordinal": ordinal, "sha256": sha, "filename": upload.filename},
        )
    return ordinal


def _check_pdf(upload: Upload, max_bytes: int) -> None:
    if not upload.filename.lower().endswith(".pdf"):
        raise InvalidInput(f"{upload.filename}: văn bản kèm theo phải là tệp .pdf")
    if len(upload.data) > max_bytes:
        raise InvalidInput(
            f"{upload.filename}: tệp lớn hơn giới hạn {max_bytes // (1024 * 1024)} MB"
        )
    if not upload.data.startswith(b"%PDF-") or b"%%EOF" not in upload.data[-1024:]:
        raise InvalidInput(f"{upload.filename}: không phải tệp PDF hoàn chỉnh")
    try:  # refused now, not at issuance where it would stop the seal step
        pdf_page_count(upload.data)
    except SigningError as exc:
        raise InvalidInput(f"{upload.filename}: {exc}") from exc


def _attachments(session: Session, document_id: int) -> list[DocumentFile]:
    return files_of_kind(session, document_id, ATTACHMENT)


@dataclass(frozen=True)
class Copy:
    pdf: bytes
    symbol: str


def make_copy(ws: Workspace, document_id: int, username: str) -> Copy:
    """An electronic copy of an issued document, signed by the agency; clerks only, audited."""
    with Session(ws.db) as session:
        user = user_named(session, username)
        if user.role != CLERK:
            raise NotAllowed(
                f"{username} ({user.role}) không được sao văn bản: chỉ văn thư ký bản sao điện tử",
                document_id=document_id,
            )
        document = session.get(Document, document_id)
        if document is None:
            raise NotFound(f"không có văn bản #{document_id}")
        if document.direction != "outgoing" or not document.symbol:
            raise InvalidInput(f"văn bản #{document_id} chưa ban hành nên chưa sao được")
        issued = latest_file(session, document_id, "issued")
        agency = session.get(Agency, document.agency_id)
        assert agency is not None
        agency_name, symbol = agency.name, document.symbol
    pdf = electronic_copy(
        get_content(ws.store, issued.sha256), agency_name=agency_name, key=keys.agency_key(ws)
    )
    with transaction(ws.db) as session:
        clerk = user_named(session, username)
        name = f"{symbol.replace('/', '-')}-ban-sao.pdf"
        sha = store_file(session, ws, document_id, COPY, issued.version, pdf, name, clerk)
        audit.append(
            session,
            actor=username,
            event="copied",
            document_id=document_id,
            detail={"sha256": sha, "from_sha256": issued.sha256, "agency": agency_name},
        )
    return Copy(pdf, symbol)


def signed_attachments(ws: Workspace, document_id: int) -> list[DocumentFile]:
    """The attachments as issued (signed), in order."""
    with Session(ws.db) as session:
        return files_of_kind(session, document_id, ATTACHMENT_ISSUED)
