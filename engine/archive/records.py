"""Archived records: who may read them, their database row from the stored metadata, retrieval.

The record itself lives in the store (objects and a JSON manifest, storage/); the database row
(ArchiveRecord) is an index built from that manifest by ``record_fields`` alone, at archiving,
on every change (case file, retention) and by ``vanthu archive reindex``, so the two always
agree. Every retrieval, and every refused one, is an event in the audit chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from engine.archive.extraction import ExtractedText, ExtractionError, extract_text
from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import Conflict, NotAllowed, NotFound
from engine.core.models import ArchiveFile, ArchiveRecord, AuditEvent, DocumentFile, User
from engine.core.text import fold
from engine.core.users import user_named
from engine.core.workspace import Workspace
from storage import NewObject, ObjectStore, RecordManifest, StorageError, get_content, read_record

READERS = frozenset({"archivist", "clerk", "leader", "admin"})
"""Roles that may retrieve archived records (copies of the objects)."""
RESTRICTED_READERS = frozenset({"archivist", "leader", "admin"})
"""Roles that may find and read records whose access is 'restricted', or that belong to a
restricted case file. The one place this rule lives: search asks ``may_see_restricted``."""
KEEPERS = frozenset({"archivist", "admin"})
"""Roles that run the archive's upkeep: rebuilding the index, fixity checks, LTV renewal."""
RETRIEVED, REFUSED = "archive_retrieved", "archive_refused"
"""Audit events of a retrieval and of a refused one."""
PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
JSON_TYPE = "application/json"
SEARCHED = (
    "identifier",
    "symbol",
    "sender_symbol",
    "doc_type",
    "subject",
    "agency",
    "agency_code",
    "sender",
    "register",
    "signer",
    "signer_title",
    "recipients",
    "file",
    "file_title",
)
"""Metadata words ``search`` looks in (the full text is indexed by engine/search.py)."""
_TYPES = {"pdf": PDF_TYPE, "docx": DOCX_TYPE, "json": JSON_TYPE, "xml": "application/xml"}


def may_see_restricted(role: str) -> bool:
    """Whether a user with ``role`` may find and read restricted records."""
    return role in RESTRICTED_READERS


SYSTEM_ACTORS = frozenset({"system", "schedule"})
"""Who acts when nobody does: automated steps and the scheduled upkeep."""


def require_keeper(ws: Workspace, username: str, task: str, task_en: str) -> str:
    """``username`` if they may run the archive's upkeep ``task`` (Vietnamese and English
    ``task_en``, for the refusal); the system and the scheduler always may."""
    if username in SYSTEM_ACTORS:
        return username
    with Session(ws.db) as session:
        user = user_named(session, username)
    if user.role not in KEEPERS:
        raise NotAllowed(
            f"{user.full_name} ({username}) không được {task}: việc của lưu trữ viên",
            f"{user.full_name} ({username}) may not {task_en}: that is an archivist's work",
            code="archive.keeper_only",
            username=username,
            role=user.role,
        )
    return username


def is_restricted(record: ArchiveRecord, archive_file: ArchiveFile | None = None) -> bool:
    """A record is restricted when it is, or when the case file holding it is."""
    return record.access == "restricted" or (
        archive_file is not None and archive_file.access == "restricted"
    )


def can_read(user: User, record: ArchiveRecord, archive_file: ArchiveFile | None = None) -> bool:
    """Whether ``user`` may retrieve ``record`` (held in ``archive_file``, if any)."""
    if not user.active or user.role not in READERS:
        return False
    return not is_restricted(record, archive_file) or may_see_restricted(user.role)


def disposed(record_id: str, message: str) -> Conflict:
    """The refusal (``message``, Vietnamese) for a record already disposed of: its objects are
    gone."""
    return Conflict(
        message,
        f"record '{record_id}' has been disposed of through the disposal procedure",
        code="record.disposed",
        record_id=record_id,
    )


def find_record(session: Session, record_id: str) -> ArchiveRecord:
    record = session.exec(select(ArchiveRecord).where(ArchiveRecord.record_id == record_id)).first()
    if record is None:
        raise NotFound(
            f"không có bản lưu '{record_id}'",
            f"there is no archive record '{record_id}'",
            code="record.not_found",
            record_id=record_id,
        )
    return record


# --- the record's objects and full text ---------------------------------------------------------


def content_type(filename: str) -> str:
    return _TYPES.get(filename.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def full_text(pdf: bytes) -> ExtractedText:
    """The PDF's text, scanned pages through OCR; if OCR cannot run, the text layer alone (the
    record is archived all the same, its scanned pages not searchable)."""
    try:
        return extract_text(pdf)
    except ExtractionError:
        return extract_text(pdf, ocr=False)


def stored_text(store: ObjectStore, manifest: RecordManifest) -> str:
    """A record's full text from its stored objects: the OCR copy when there is one, else the
    PDF's own text layer (OCR is not run again, so reindexing gives what archiving gave)."""
    by_role = {ref.role: ref for ref in manifest.objects}
    ref = by_role.get("ocr") or by_role["pdf"]
    return extract_text(get_content(store, ref.sha256, version_id=ref.version_id), ocr=False).text


def attachment_objects(
    session: Session, store: ObjectStore, document_id: int, direction: str
) -> list[NewObject]:
    """The document's attachments: for an outgoing one the sealed copies ('attachment_issued')
    when there are any, else those as uploaded ('attachment'); each once, in upload order."""
    kinds = ("attachment_issued", "attachment") if direction == "outgoing" else ("attachment",)
    for kind in kinds:
        rows = session.exec(
            select(DocumentFile)
            .where(DocumentFile.document_id == document_id, DocumentFile.kind == kind)
            .order_by(col(DocumentFile.id))
        ).all()
        if rows:
            break
    else:
        return []
    latest: dict[str, DocumentFile] = {}
    for row in rows:  # a newer version of the same attachment (same name) replaces the older
        latest[row.filename] = row
    unique = {row.sha256: row for row in latest.values()}
    return [
        NewObject(
            f"attachment-{n}",
            row.filename,
            get_content(store, row.sha256),
            content_type(row.filename),
        )
        for n, row in enumerate(sorted(unique.values(), key=lambda r: r.id or 0), start=1)
    ]


# --- the database row from the stored metadata ---------------------------------------------


def _time(value: Any) -> datetime | None:
    return None if value in (None, "") else datetime.fromisoformat(str(value))


def _words(values: Iterable[Any]) -> Iterable[str]:
    for value in values:
        if isinstance(value, list | tuple):
            yield from _words(value)
        elif value not in (None, "", False):
            yield str(value)


def record_fields(manifest: RecordManifest) -> dict[str, Any]:
    """The ArchiveRecord columns held in a record's manifest (all but id, document_id and
    file_id, which name rows of this database). StorageError when it is not a document record."""
    meta = manifest.metadata
    pdf = next((ref for ref in manifest.objects if ref.role == "pdf"), None)
    if pdf is None or not meta.get("doc_type") or not meta.get("subject"):
        raise StorageError(
            f"bản lưu {manifest.record_id} không phải bản lưu văn bản (thiếu PDF)",
            f"record {manifest.record_id} is not a document record (no PDF)",
            code="record.not_document",
            record_id=manifest.record_id,
        )
    try:
        return {
            "record_id": manifest.record_id,
            "direction": meta.get("direction") or "outgoing",
            "agency_code": meta.get("agency_code") or "",
            "agency_name": meta.get("agency") or "",
            "register_name": meta.get("register"),
            "number": meta.get("number"),
            "symbol": meta.get("symbol"),
            "doc_type": meta["doc_type"],
            "subject": meta["subject"],
            "signer": meta.get("signer"),
            "issued_at": _time(meta.get("issued_at")),
            "pages": meta.get("pages"),
            "language": meta.get("language") or "vi",
            "retention_years": meta.get("retention_years"),
            "retain_until": _time(meta.get("retain_until")),
            "access": meta.get("access") or "public",
            "signature_verdict": meta.get("signature_verdict") or "unsigned",
            "pdf_sha256": pdf.sha256,
            "search_text": fold(" ".join(_words(meta.get(key) for key in SEARCHED))),
            "archived_at": manifest.created_at,
        }
    except ValueError as exc:
        raise StorageError(
            f"bản lưu {manifest.record_id}: siêu dữ liệu hỏng: {exc}",
            f"record {manifest.record_id}: damaged metadata: {exc}",
            code="record.metadata_invalid",
            record_id=manifest.record_id,
        ) from exc


def stored_until(metadata: Mapping[str, Any]) -> datetime | None:
    """The end of the retention period the metadata names; None for Vĩnh viễn."""
    return _time(metadata.get("retain_until"))


def apply_manifest(record: ArchiveRecord, manifest: RecordManifest) -> ArchiveRecord:
    """Set every column the manifest holds on ``record`` (a new or an existing row)."""
    for name, value in record_fields(manifest).items():
        setattr(record, name, value)
    return record


# --- finding (metadata words) and retrieving ------------------------------------------------


@dataclass(frozen=True)
class Retrieved:
    """A record written out to a folder, every object's hash checked on the way."""

    manifest: RecordManifest
    files: tuple[Path, ...]


def retrieve(ws: Workspace, record_id: str, username: str, out_dir: Path) -> Retrieved:
    """Copy the record's objects and metadata to ``out_dir``; logged, refused ones too."""
    with transaction(ws.db) as session:
        user = user_named(session, username)
        record = find_record(session, record_id)
        if record.disposed_at is not None:
            raise disposed(
                record_id, f"bản lưu '{record_id}' đã được hủy theo quy trình hủy tài liệu"
            )
        archive_file = session.get(ArchiveFile, record.file_id) if record.file_id else None
        allowed = can_read(user, record, archive_file)
        detail: dict[str, Any] = {"record": record_id, "role": user.role}
        if not allowed:
            detail["reason"] = "restricted" if user.role in READERS else "role"
        audit.append(
            session, actor=username, event=RETRIEVED if allowed else REFUSED, detail=detail
        )
    if not allowed:
        if user.role in READERS:
            raise NotAllowed(
                f"{username} ({user.role}) không được xem bản lưu {record_id}: tài liệu hạn chế"
                " sử dụng",
                f"{username} ({user.role}) may not read record {record_id}: its access is"
                " restricted",
                code="record.restricted",
                record_id=record_id,
                username=username,
                role=user.role,
            )
        raise NotAllowed(
            f"{username} ({user.role}) không được lấy hồ sơ lưu trữ",
            f"{username} ({user.role}) may not retrieve archive records",
            code="archive.reader_only",
            record_id=record_id,
            username=username,
            role=user.role,
        )
    manifest = read_record(ws.store, record_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for ref in manifest.objects:
        target = out_dir / Path(ref.name).name
        # the version archived: a delete marker or a newer version put past Vanthu is not read
        target.write_bytes(get_content(ws.store, ref.sha256, version_id=ref.version_id))
        files.append(target)
    metadata_path = out_dir / f"{record_id}.json"
    metadata_path.write_bytes(manifest.to_json())
    return Retrieved(manifest, (*files, metadata_path))


@dataclass(frozen=True)
class Retrieval:
    """One retrieval of a record, or a refused attempt, from the audit chain."""

    seq: int
    """The audit event's sequence number."""
    at: datetime
    """When (UTC)."""
    actor: str
    """Who asked."""
    role: str
    """Their role then."""
    record_id: str
    """Which record."""
    allowed: bool
    """False for a refused attempt."""


def retrieval_log(
    ws: Workspace, record_id: str | None = None, *, actor: str = "system"
) -> list[Retrieval]:
    """Every retrieval (and refused attempt), oldest first; only ``record_id``'s if given.
    For archivists and administrators."""
    require_keeper(ws, actor, "xem nhật ký khai thác lưu trữ", "read the archive's retrieval log")
    with Session(ws.db) as session:
        events = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.event).in_((RETRIEVED, REFUSED)))
            .order_by(col(AuditEvent.seq))
        ).all()
    entries = []
    for event in events:
        detail = json.loads(event.detail)
        if record_id is not None and detail.get("record") != record_id:
            continue
        entries.append(
            Retrieval(
                seq=event.seq,
                at=event.at,
                actor=event.actor,
                role=str(detail.get("role", "")),
                record_id=str(detail.get("record", "")),
                allowed=event.event == RETRIEVED,
            )
        )
    return entries
