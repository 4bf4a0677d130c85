"""A document's files one by one (any version, by its id) and its PDFs' pages as images.

Both are handed only to who may read the document (:func:`~engine.workflow.documents.may_read`,
the rule of ``file_content``); a file or a page handed out is audited (``document_file_read``),
a refusal too. A page is drawn once by poppler's pdftoppm and kept under
``<home>/cache/pages``, named by the file's SHA-256, the page and the width: a file never
changes under its SHA-256, so a cached page is never drawn again. The newest DOCX draft is
shown too, through a PDF LibreOffice makes of it once (kept there as ``<sha256>.pdf``), so a
reviewer reads the draft in its Decree 30 layout without downloading it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import InvalidInput, NotFound
from engine.core.models import DocumentFile
from engine.core.programs import docx_to_pdf, pdf_page_count, pdf_page_png
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.workflow.documents import FILE_READ, READ_REFUSED, may_read, read_refused
from engine.workflow.files import find_document
from storage import get_content

PAGE_WIDTHS = (480, 960, 1440)
"""The widths a page is drawn at (a small set, so the cache stays small)."""
DEFAULT_WIDTH = 960
PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class FilePages:
    """A file of a document and how many pages it shows (0: not a PDF, e.g. a DOCX draft)."""

    file: DocumentFile
    pages: int


def _cache(ws: Workspace) -> Path:
    return ws.settings.home / "cache" / "pages"


def _readable_file(
    ws: Workspace, document_id: int, file_id: int, username: str, detail: dict[str, Any] | None
) -> DocumentFile:
    """The document's file ``file_id`` if ``username`` may read the document; the hand-out
    (``detail`` given) or the refusal is audited. A file of another document is not found."""
    with transaction(ws.db) as session:
        user = user_named(session, username)
        document = find_document(session, document_id)
        decision = may_read(session, user, document)
        found = session.get(DocumentFile, file_id) if decision.allowed else None
        if decision.allowed and (found is None or found.document_id != document_id):
            raise NotFound(
                "văn bản không có tệp này",
                "the document has no such file",
                code="document.file_not_found",
                document_id=document_id,
                file_id=file_id,
            )
        if not decision.allowed or detail is not None:
            audit.append(
                session,
                actor=username,
                event=FILE_READ if decision.allowed else READ_REFUSED,
                document_id=document_id,
                detail={
                    **(detail or {"what": "file"}),
                    "file_id": file_id,
                    "reason": decision.reason,
                    "role": user.role,
                    **({"sha256": found.sha256, "kind": found.kind} if found else {}),
                },
            )
    if found is None:
        raise read_refused(username, user.role, document_id, restricted=decision.restricted)
    return found


def document_file(
    ws: Workspace, document_id: int, file_id: int, username: str
) -> tuple[DocumentFile, bytes]:
    """One file of the document, any version, and its bytes (checked against its SHA-256);
    the download is audited."""
    found = _readable_file(ws, document_id, file_id, username, {"what": "file"})
    return found, get_content(ws.store, found.sha256)


def _is_docx(found: DocumentFile) -> bool:
    return found.filename.lower().endswith(".docx")


def _printable(ws: Workspace, found: DocumentFile) -> bytes | None:
    """The PDF whose pages the file shows: the file itself, the preview of a DOCX draft
    (converted once, then cached), or None (neither)."""
    if _is_docx(found):
        preview = _cache(ws) / f"{found.sha256}.pdf"
        if preview.is_file():
            return preview.read_bytes()
        docx = get_content(ws.store, found.sha256)
        if not docx.startswith(ZIP_MAGIC):
            return None
        pdf = docx_to_pdf(docx, soffice=ws.settings.soffice)
        preview.parent.mkdir(parents=True, exist_ok=True)
        _write(preview, pdf)
        return pdf
    data = get_content(ws.store, found.sha256)
    return data if data.startswith(PDF_MAGIC) else None


def _count(ws: Workspace, found: DocumentFile) -> int:
    """Pages the file shows (0: neither a PDF nor a DOCX draft), counted once per SHA-256."""
    counted = _cache(ws) / f"{found.sha256}.pages"
    if counted.is_file():
        return int(counted.read_text(encoding="ascii"))
    printable = _printable(ws, found)
    pages = pdf_page_count(printable) if printable is not None else 0
    counted.parent.mkdir(parents=True, exist_ok=True)
    _write(counted, str(pages).encode("ascii"))
    return pages


def _write(path: Path, data: bytes) -> None:
    """Write whole or not at all (two requests may draw the same page at once)."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    partial.write_bytes(data)
    partial.replace(path)


def file_pages(ws: Workspace, files: tuple[DocumentFile, ...]) -> tuple[FilePages, ...]:
    """The page counts of files already handed to a reader (those of a
    :class:`~engine.workflow.documents.DocumentView`); of the DOCX drafts only the newest is
    previewed (older versions are downloaded)."""
    drafts = [f for f in files if _is_docx(f)]
    newest = max(drafts, key=lambda f: (f.version, f.id or 0)) if drafts else None
    return tuple(
        FilePages(f, _count(ws, f) if not _is_docx(f) or f is newest else 0) for f in files
    )


def page_count(ws: Workspace, document_id: int, file_id: int, username: str) -> int:
    """How many pages the file shows (0 for a file that is not a PDF)."""
    found = _readable_file(ws, document_id, file_id, username, None)
    return _count(ws, found)


def page_png(
    ws: Workspace,
    document_id: int,
    username: str,
    file_id: int,
    page: int,
    *,
    width: int = DEFAULT_WIDTH,
) -> bytes:
    """Page ``page`` (from 1) of the file as a PNG ``width`` pixels wide, for who may read the
    document; drawn once, then served from the cache."""
    if width not in PAGE_WIDTHS:
        raise InvalidInput(
            f"độ rộng ảnh trang phải là một trong {', '.join(map(str, PAGE_WIDTHS))}",
            f"the page image width must be one of {', '.join(map(str, PAGE_WIDTHS))}",
            code="preview.width_invalid",
            width=width,
        )
    found = _readable_file(ws, document_id, file_id, username, None)
    pages = _count(ws, found)
    if not 1 <= page <= pages:
        raise NotFound(
            f"tệp không có trang {page} (có {pages} trang)",
            f"the file has no page {page} (it has {pages})",
            code="preview.page_not_found",
            document_id=document_id,
            file_id=file_id,
            page=page,
        )
    with transaction(ws.db) as session:
        audit.append(
            session,
            actor=username,
            event=FILE_READ,
            document_id=document_id,
            detail={"what": "page", "page": page, "file_id": file_id, "sha256": found.sha256},
        )
    cached = _cache(ws) / f"{found.sha256}-{page}-{width}.png"
    if cached.is_file():
        return cached.read_bytes()
    printable = _printable(ws, found)
    if printable is None:  # _count said it has pages: only a file gone from the cache
        raise NotFound(
            "tệp không có trang để xem",
            "the file has no pages to show",
            code="preview.page_not_found",
            document_id=document_id,
            file_id=file_id,
            page=page,
        )
    png = pdf_page_png(printable, page, width)
    _write(cached, png)
    return png
