"""`vanthu archive reindex`: rebuild the archive's database index from the store alone.

The store holds every record's manifest (objects and metadata, newest revision) and every case
file's snapshots; from them this rebuilds the ArchiveFile and ArchiveRecord rows and the
full-text index. Running it again changes nothing. Rows whose record is no longer in the store
are left as they are and reported (disposal removes records through its own workflow).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sqlmodel import Session, col, select

from engine.archive.case_files import stored_files
from engine.archive.records import apply_manifest, record_fields, require_keeper, stored_text
from engine.archive.search import index_record
from engine.core import audit
from engine.core.db import transaction
from engine.core.models import ArchiveFile, ArchiveRecord, Document, Unit
from engine.core.workspace import Workspace
from storage import RecordManifest, StorageError, list_records, read_record

BATCH = 100
"""Records written per transaction (their text is read from the store before it begins)."""


@dataclass(frozen=True)
class ReindexReport:
    """What `vanthu archive reindex` did."""

    files: int
    """Case files read from the store."""
    records: int
    """Document records read from the store and indexed."""
    created: int
    """Of those, rows that were not in the database."""
    updated: int
    """Rows that were there and differed from the store (now corrected)."""
    skipped: tuple[str, ...]
    """Records in the store that are not documents (a disposal record, …): not indexed."""
    missing: tuple[str, ...]
    """Rows in the database whose record is not in the store (and not disposed)."""


def _time(value: Any) -> datetime | None:
    return None if value in (None, "") else datetime.fromisoformat(str(value))


def _files(ws: Workspace) -> dict[str, int]:
    """Upsert every case file; returns code -> row id."""
    ids: dict[str, int] = {}
    with transaction(ws.db) as session:
        units = {u.code: u.id for u in session.exec(select(Unit)).all()}
        for snap in stored_files(ws.store):
            row = session.exec(select(ArchiveFile).where(ArchiveFile.code == snap["code"])).first()
            row = row or ArchiveFile(code=snap["code"], title="", opened_by="")
            row.title = snap["title"]
            row.unit_id = units.get(str(snap.get("unit_code")))
            row.retention_years = snap.get("retention_years")
            row.access = snap.get("access") or "public"
            row.language = snap.get("language") or "vi"
            row.keywords = snap.get("keywords") or ""
            row.state = snap.get("state") or "open"
            row.opened_by = snap.get("opened_by") or ""
            row.opened_at = _time(snap.get("opened_at")) or row.opened_at
            row.closed_by = snap.get("closed_by")
            row.closed_at = _time(snap.get("closed_at"))
            session.add(row)
            session.flush()
            assert row.id is not None
            ids[row.code] = row.id
    return ids


def _chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    while chunk := list(islice(items, size)):
        yield chunk


def _document_id(session: Session, record: ArchiveRecord, wanted: Any) -> int | None:
    """The document the record came from, when this database has it (same subject and
    direction) and no other record claims it."""
    if not isinstance(wanted, int):
        return None
    document = session.get(Document, wanted)
    if document is None or (document.subject, document.direction) != (
        record.subject,
        record.direction,
    ):
        return None
    other = session.exec(
        select(ArchiveRecord.record_id).where(ArchiveRecord.document_id == wanted)
    ).first()
    return wanted if other in (None, record.record_id) else None


def _comparable(record: ArchiveRecord) -> dict[str, Any]:
    """The row's values, times in UTC (SQLite hands them back without a zone)."""
    values = record.model_dump(exclude={"id"})
    for name, value in values.items():
        if isinstance(value, datetime):
            values[name] = value if value.tzinfo else value.replace(tzinfo=UTC)
    return values


def _write(
    ws: Workspace, loaded: Sequence[tuple[RecordManifest, str]], file_ids: dict[str, int]
) -> tuple[int, int]:
    created = updated = 0
    with transaction(ws.db) as session:
        for manifest, text in loaded:
            row = session.exec(
                select(ArchiveRecord).where(ArchiveRecord.record_id == manifest.record_id)
            ).first()
            before = None if row is None else _comparable(row)
            row = (
                ArchiveRecord(**record_fields(manifest))
                if row is None
                else apply_manifest(row, manifest)
            )
            code = manifest.metadata.get("file")
            row.file_id = file_ids.get(str(code)) if code else None
            row.document_id = _document_id(session, row, manifest.metadata.get("document_id"))
            session.add(row)
            session.flush()
            index_record(session, row, text)
            if before is None:
                created += 1
            elif before != _comparable(row):
                updated += 1
    return created, updated


def reindex(ws: Workspace, *, actor: str = "system") -> ReindexReport:
    """Rebuild case files, records and the full-text index from the store; idempotent.
    For archivists and administrators."""
    require_keeper(ws, actor, "dựng lại chỉ mục lưu trữ", "rebuild the archive's index")
    file_ids = _files(ws)
    seen: set[str] = set()
    skipped: list[str] = []
    created = updated = 0
    for chunk in _chunks(list_records(ws.store), BATCH):
        loaded = []
        for record_id in chunk:
            manifest = read_record(ws.store, record_id)
            try:
                record_fields(manifest)
            except StorageError:
                skipped.append(record_id)
                continue
            loaded.append((manifest, stored_text(ws.store, manifest)))
            seen.add(record_id)
        made, changed = _write(ws, loaded, file_ids)
        created, updated = created + made, updated + changed
    with transaction(ws.db) as session:
        indexed = session.exec(
            select(ArchiveRecord.record_id).where(col(ArchiveRecord.disposed_at).is_(None))
        ).all()
        missing = tuple(sorted(set(indexed) - seen))
        report = ReindexReport(
            files=len(file_ids),
            records=len(seen),
            created=created,
            updated=updated,
            skipped=tuple(skipped),
            missing=missing,
        )
        audit.append(
            session,
            actor=actor,
            event="archive_reindexed",
            detail={
                "files": report.files,
                "records": report.records,
                "created": created,
                "updated": updated,
                "skipped": len(skipped),
                "missing": list(missing),
            },
        )
    return report
