"""What the web office's archive pages read: one record with its fixity and signature state and
its history, one of its files for download, the records whose retention has ended.

Every read is for one person and checked here: a record they may not read is ``NotFound`` (a
restricted record is not even confirmed to exist), and the refusal is audited like a refused
retrieval. A record page read and every file downloaded are events in the audit chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from engine.archive import disposal
from engine.archive.records import (
    KEEPERS,
    READERS,
    REFUSED,
    RETRIEVED,
    can_read,
    disposed,
)
from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import NotAllowed, NotFound
from engine.core.models import (
    ArchiveFile,
    ArchiveRecord,
    AuditEvent,
    Disposal,
    DisposalItem,
    User,
)
from engine.core.users import user_named
from engine.core.workspace import Workspace
from storage import ObjectRef, get_content, read_record
from vanthu import clock

VIEWED = "archive_record_viewed"
"""The audit event of a record page read."""
CHECKED = "archive_checked"
"""The audit event every fixity check leaves (engine.archive.fixity)."""
HISTORY_LIMIT = 100
"""Events shown in a record's history, newest first."""


@dataclass(frozen=True)
class FixityState:
    """The last fixity check that covered a record."""

    at: datetime
    actor: str
    ok: bool
    """False when the check found a problem with this record."""
    problems: tuple[str, ...]
    """The problems it named for this record (Vietnamese)."""
    whole_archive: bool
    """Whether it was a check of the whole archive (else of this record alone)."""


@dataclass(frozen=True)
class HistoryEntry:
    """One audit event about a record or its document."""

    seq: int
    at: datetime
    actor: str
    event: str
    channel: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class RecordView:
    """A record as its page shows it."""

    record: ArchiveRecord
    case_file: ArchiveFile | None
    objects: tuple[ObjectRef, ...]
    metadata: dict[str, Any]
    """The manifest's metadata (signature report at archiving, retention label, signer title…)."""
    fixity: FixityState | None
    """None when no check has covered the record yet."""
    history: tuple[HistoryEntry, ...]
    """Only for archivists and administrators (the retrieval log is theirs); else empty."""


@dataclass(frozen=True)
class Download:
    """One file of a record, read from the store."""

    name: str
    content_type: str
    content: bytes


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _readable(ws: Workspace, username: str, record_id: str, purpose: str) -> ArchiveRecord:
    """The record if ``username`` may read it; else NotFound, the refusal audited first (one
    transaction of its own, so the refusal stays when the caller's request ends in an error)."""
    with transaction(ws.db) as session:
        user = user_named(session, username)
        record = session.exec(
            select(ArchiveRecord).where(ArchiveRecord.record_id == record_id)
        ).first()
        archive_file = (
            session.get(ArchiveFile, record.file_id) if record and record.file_id else None
        )
        allowed = record is not None and can_read(user, record, archive_file)
        if record is not None and not allowed:
            audit.append(
                session,
                actor=username,
                event=REFUSED,
                detail={
                    "record": record_id,
                    "role": user.role,
                    "reason": "restricted" if user.role in READERS else "role",
                    "via": purpose,
                },
            )
        if record is not None:
            session.expunge(record)
    if record is None or not allowed:
        raise NotFound(
            f"không có bản lưu '{record_id}', hoặc bạn không được xem nó",
            f"there is no archive record '{record_id}', or you may not read it",
            code="record.not_found",
            record_id=record_id,
        )
    return record


def _fixity(session: Session, record_id: str) -> FixityState | None:
    """The newest fixity check of this record or of the whole archive."""
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.event == CHECKED)
        .order_by(col(AuditEvent.seq).desc())
        .limit(200)
    ).all()
    for event in events:
        detail = json.loads(event.detail)
        covered = detail.get("record")
        if covered not in (None, record_id):
            continue
        messages = [str(m) for m in detail.get("problems", [])]
        # a whole-archive check: only the problems that name this record
        mine = tuple(m for m in messages if covered is not None or record_id in m)
        ok = not mine and (covered is None or int(detail.get("problem_count", 0)) == 0)
        return FixityState(_aware(event.at), event.actor, ok, mine, covered is None)
    return None


def _history(session: Session, record: ArchiveRecord) -> tuple[HistoryEntry, ...]:
    """Events naming the record in their detail, and its document's own events."""
    mention = f'%"{record.record_id}"%'
    about = or_(col(AuditEvent.detail).like(mention))
    if record.document_id is not None:
        about = or_(about, AuditEvent.document_id == record.document_id)
    rows = session.exec(
        select(AuditEvent).where(about).order_by(col(AuditEvent.seq).desc()).limit(HISTORY_LIMIT)
    ).all()
    return tuple(
        HistoryEntry(e.seq, _aware(e.at), e.actor, e.event, e.channel, json.loads(e.detail))
        for e in rows
    )


def record_view(ws: Workspace, record_id: str, username: str) -> RecordView:
    """Record ``record_id`` as ``username`` may see it; the read is audited, a refused one too
    (and then ``NotFound``, restricted or not)."""
    record = _readable(ws, username, record_id, "page")
    with transaction(ws.db) as session:
        user = user_named(session, username)
        archive_file = session.get(ArchiveFile, record.file_id) if record.file_id else None
        fixity = _fixity(session, record_id)
        history = _history(session, record) if user.role in KEEPERS else ()
        audit.append(
            session,
            actor=username,
            event=VIEWED,
            document_id=record.document_id,
            detail={"record": record_id, "role": user.role},
        )
        if archive_file is not None:
            session.expunge(archive_file)
    if record.disposed_at is not None:
        return RecordView(record, archive_file, (), {}, fixity, history)
    manifest = read_record(ws.store, record_id)
    return RecordView(
        record, archive_file, tuple(manifest.objects), dict(manifest.metadata), fixity, history
    )


def download(ws: Workspace, record_id: str, role: str, username: str) -> Download:
    """The record's object with manifest role ``role`` ('pdf', 'source', 'attachment-1'…),
    as archived; every download is an audited retrieval (a refused one too)."""
    record = _readable(ws, username, record_id, "download")
    if record.disposed_at is not None:
        raise disposed(record_id, f"bản lưu '{record_id}' đã được hủy theo quy trình hủy tài liệu")
    manifest = read_record(ws.store, record_id)
    ref = next((r for r in manifest.objects if r.role == role), None)
    if ref is None:
        raise NotFound(
            f"bản lưu '{record_id}' không có tệp '{role}'",
            f"record '{record_id}' has no object '{role}'",
            code="record.object_not_found",
            record_id=record_id,
            object=role,
        )
    content = get_content(ws.store, ref.sha256, version_id=ref.version_id)
    with transaction(ws.db) as session:
        audit.append(
            session,
            actor=username,
            event=RETRIEVED,
            document_id=record.document_id,
            detail={
                "record": record_id,
                "role": user_named(session, username).role,
                "object": ref.role,
                "name": ref.name,
                "sha256": ref.sha256,
            },
        )
    return Download(ref.name, ref.content_type, content)


def expired_records(ws: Workspace, username: str, *, limit: int = 500) -> list[ArchiveRecord]:
    """Records whose retention has ended and that are not disposed of or proposed yet, ending
    first: what an archivist may put in a disposal proposal (a record of a file still open is
    listed too; proposing it names why it cannot go yet)."""
    now = clock.now()
    with Session(ws.db) as session:
        user = user_named(session, username)
        if user.role not in disposal.PROPOSERS:
            raise NotAllowed(
                f"{username} ({user.role}) không được lập tờ trình hủy tài liệu",
                f"{username} ({user.role}) may not propose disposing of records",
                code="disposal.proposer_only",
                username=username,
                role=user.role,
            )
        pending = set(
            session.exec(
                select(DisposalItem.record_id).where(
                    col(DisposalItem.disposal_id).in_(
                        select(Disposal.id).where(Disposal.state == "proposed")
                    )
                )
            ).all()
        )
        rows = session.exec(
            select(ArchiveRecord)
            .where(
                col(ArchiveRecord.disposed_at).is_(None),
                col(ArchiveRecord.retain_until).is_not(None),
                col(ArchiveRecord.retain_until) <= now,
            )
            .order_by(col(ArchiveRecord.retain_until), col(ArchiveRecord.id))
            .limit(limit)
        ).all()
        return [r for r in rows if r.record_id not in pending]


def people(ws: Workspace) -> dict[str, str]:
    """Full names by username, for showing who acted."""
    with Session(ws.db) as session:
        return {u.username: u.full_name for u in session.exec(select(User)).all()}
