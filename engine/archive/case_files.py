"""Case files (hồ sơ): the records of one matter, compiled by an archivist, then closed for good.

An archivist opens a file (code, title, retention class, unit, access, keywords), adds archived
records to it and closes it; a closed file never changes. Each action is one transaction with
its audit event, and is written to the store too, so the store alone rebuilds the index:

- the record gets a new revision of its manifest naming the file (``storage.revise_record``),
  with its retention raised to the file's when the file's is longer (object lock extended);
- the file itself is a series of snapshots 'files/<code>/<NNNNNN>.json', one per change,
  written create-only; the newest is the file as it stands.

Closing fixes the year the matter ended (the latest record's year): every record's retention is
counted from the end of that year (Thông tư 10/2022/TT-BNV).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, col, func, select

from engine.archive import retention, revisions
from engine.archive.records import (
    READERS,
    apply_manifest,
    disposed,
    find_record,
    is_restricted,
    may_see_restricted,
)
from engine.archive.search import index_record, indexed_text
from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.core.models import ArchiveFile, ArchiveRecord, Unit
from engine.core.text import vietnam_time
from engine.core.users import user_named
from engine.core.workspace import Workspace
from storage import ObjectExists, ObjectStore, extend_record_retention, revise_record
from vanthu import clock

ARCHIVIST = "archivist"
ACCESS_LEVELS = ("public", "restricted")
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,59}")
"""File codes such as '2026.VP.01' (năm.đơn vị.số): also a key part in the store."""
SNAPSHOTS = "files/"
_DIGITS = 6
_ATTEMPTS = 5


# --- the store side ---------------------------------------------------------------------------


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    aware = _aware(moment)
    return None if aware is None else aware.isoformat()


def _snapshot(session: Session, archive_file: ArchiveFile) -> dict[str, Any]:
    """The file as JSON: its 05/2025 case-file fields and its records in catalogue order."""
    unit = session.get(Unit, archive_file.unit_id) if archive_file.unit_id else None
    records = _records(session, archive_file)
    dates = [_record_day(r) for r in records]
    return {
        "code": archive_file.code,
        "title": archive_file.title,
        "unit_code": unit.code if unit else None,
        "unit_name": unit.name if unit else None,
        "retention_years": archive_file.retention_years,
        "retention": retention.label(archive_file.retention_years),
        "access": archive_file.access,
        "language": archive_file.language,
        "keywords": archive_file.keywords,
        "state": archive_file.state,
        "opened_by": archive_file.opened_by,
        "opened_at": _iso(archive_file.opened_at),
        "closed_by": archive_file.closed_by,
        "closed_at": _iso(archive_file.closed_at),
        "start_date": min(dates).isoformat() if dates else None,
        "end_date": max(dates).isoformat() if dates else None,
        "documents": len(records),
        "pages": sum(r.pages or 0 for r in records),
        "records": [r.record_id for r in records],
    }


def _snapshot_key(code: str, number: int) -> str:
    return f"{SNAPSHOTS}{code}/{number:0{_DIGITS}d}.json"


def _numbers(store: ObjectStore, code: str) -> list[int]:
    prefix = f"{SNAPSHOTS}{code}/"
    stems = (key[len(prefix) :].removesuffix(".json") for key in store.list_keys(prefix))
    return sorted(int(stem) for stem in stems if stem.isdigit() and len(stem) == _DIGITS)


def write_snapshot(store: ObjectStore, snapshot: dict[str, Any], until: datetime | None) -> int:
    """Store the file's newest snapshot under the next free number and return that number."""
    body = json.dumps(snapshot, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")
    for _ in range(_ATTEMPTS):
        numbers = _numbers(store, snapshot["code"])
        number = (numbers[-1] if numbers else 0) + 1
        try:
            store.create(
                _snapshot_key(snapshot["code"], number),
                body,
                "application/json",
                retain_until=retention.store_retain_until(store, until),
            )
        except ObjectExists:
            continue
        return number
    raise Conflict(
        f"hồ sơ {snapshot['code']}: nhiều nơi cùng ghi, thử lại",
        f"case file {snapshot['code']}: written from several places at once, try again",
        code="case_file.write_contended",
        retryable=True,
        file_code=snapshot["code"],
    )


def stored_files(store: ObjectStore) -> Iterator[dict[str, Any]]:
    """The newest snapshot of every case file in the store, by code."""
    codes = sorted({key[len(SNAPSHOTS) :].split("/", 1)[0] for key in store.list_keys(SNAPSHOTS)})
    for code in codes:
        numbers = _numbers(store, code)
        if numbers:
            yield json.loads(store.get(_snapshot_key(code, numbers[-1])).decode("utf-8"))


# --- the database side --------------------------------------------------------------------------


def _archivist(session: Session, username: str) -> None:
    user = user_named(session, username)
    if user.role != ARCHIVIST:
        raise NotAllowed(
            f"{username} ({user.role}) không được quản lý hồ sơ lưu trữ",
            f"{username} ({user.role}) may not manage archive case files",
            code="case_file.archivist_only",
            username=username,
            role=user.role,
        )


def not_found(code: str) -> NotFound:
    """The refusal for a case file code nobody opened."""
    return NotFound(
        f"không có hồ sơ '{code}'",
        f"there is no case file '{code}'",
        code="case_file.not_found",
        file_code=code,
    )


def _locked(session: Session, code: str) -> ArchiveFile:
    archive_file = session.exec(
        select(ArchiveFile).where(ArchiveFile.code == code).with_for_update()
    ).first()
    if archive_file is None:
        raise not_found(code)
    return archive_file


def _refuse_if_closed(archive_file: ArchiveFile, action: str, action_en: str) -> None:
    if archive_file.state == "closed":
        closed = _aware(archive_file.closed_at)
        day = f" ngày {vietnam_time(closed):%d/%m/%Y}" if closed else ""
        day_en = f" on {vietnam_time(closed):%d/%m/%Y}" if closed else ""
        raise Conflict(
            f"hồ sơ {archive_file.code} đã đóng{day}, không được {action}",
            f"case file {archive_file.code} was closed{day_en}; {action_en} is not allowed",
            code="case_file.closed",
            file_code=archive_file.code,
            closed_at=closed.isoformat() if closed else None,
        )


def _records(session: Session, archive_file: ArchiveFile) -> list[ArchiveRecord]:
    records = session.exec(
        select(ArchiveRecord).where(ArchiveRecord.file_id == archive_file.id)
    ).all()
    return sorted(records, key=lambda r: (_record_day(r), r.record_id))


def _record_day(record: ArchiveRecord) -> date:
    moment = _aware(record.issued_at) or _aware(record.archived_at)
    assert moment is not None
    return vietnam_time(moment).date()


def _until(archive_file: ArchiveFile, end_year: int) -> datetime | None:
    return retention.retain_until(archive_file.retention_years, end_year)


def _save(ws: Workspace, session: Session, archive_file: ArchiveFile) -> None:
    session.add(archive_file)
    session.flush()
    end_year = vietnam_time(_aware(archive_file.opened_at) or clock.now()).year
    snapshot = _snapshot(session, archive_file)
    if snapshot["end_date"]:
        end_year = max(end_year, int(snapshot["end_date"][:4]))
    write_snapshot(ws.store, snapshot, _until(archive_file, end_year))


def open_file(
    ws: Workspace,
    username: str,
    *,
    code: str,
    title: str,
    retention_class: str,
    unit: str | None = None,
    access: str = "public",
    keywords: str = "",
    language: str = "vi",
) -> ArchiveFile:
    """Open a case file for a matter; the code is unique and never reused."""
    code, title = code.strip(), " ".join(title.split())
    if not CODE_PATTERN.fullmatch(code):
        raise InvalidInput(
            f"mã hồ sơ '{code}' không hợp lệ: dùng chữ, số, '.', '_' , '-' (tối đa 60 ký tự),"
            " ví dụ 2026.VP.01",
            f"case file code '{code}' is not valid: use letters, digits, '.', '_', '-' (at most"
            " 60 characters), e.g. 2026.VP.01",
            code="case_file.code_invalid",
            file_code=code,
        )
    if not title:
        raise InvalidInput(
            "hồ sơ cần tiêu đề (--title)",
            "a case file needs a title (--title)",
            code="case_file.title_missing",
        )
    if access not in ACCESS_LEVELS:
        raise InvalidInput(
            f"mức tiếp cận '{access}' phải là public hoặc restricted",
            f"access level '{access}' must be public or restricted",
            code="case_file.access_invalid",
            access=access,
        )
    years = retention.parse_class(retention_class, "--retention")
    with transaction(ws.db) as session:
        _archivist(session, username)
        if session.exec(select(ArchiveFile).where(ArchiveFile.code == code)).first():
            raise Conflict(
                f"đã có hồ sơ '{code}'",
                f"case file '{code}' already exists",
                code="case_file.exists",
                file_code=code,
            )
        unit_id = None
        if unit:
            found = session.exec(select(Unit).where(Unit.code == unit)).first()
            if found is None:
                raise NotFound(
                    f"không có đơn vị '{unit}'",
                    f"there is no unit '{unit}'",
                    code="unit.not_found",
                    unit=unit,
                )
            unit_id = found.id
        archive_file = ArchiveFile(
            code=code,
            title=title,
            unit_id=unit_id,
            retention_years=years,
            access=access,
            language=language,
            keywords=", ".join(k.strip() for k in keywords.split(",") if k.strip()),
            opened_by=username,
        )
        _save(ws, session, archive_file)
        audit.append(
            session,
            actor=username,
            event="archive_file_opened",
            detail={"file": code, "title": title, "retention": retention.label(years)},
        )
    return archive_file


def _revise(
    ws: Workspace,
    session: Session,
    record: ArchiveRecord,
    metadata: dict[str, Any],
    reason: str,
    username: str,
) -> None:
    """A new revision of the record's manifest (audited), its retention extended in the store if
    longer, the row and the search index refreshed from it."""
    revision = revise_record(ws.store, record.record_id, metadata=metadata, reason=reason)
    revisions.audit_written(session, actor=username, manifest=revision, via="case_file")
    apply_manifest(record, revision)
    target = retention.store_retain_until(ws.store, _aware(record.retain_until))
    if revision.retain_until is None or revision.retain_until < target:
        extend_record_retention(ws.store, record.record_id, target)
    session.add(record)
    session.flush()
    index_record(session, record, indexed_text(session, record.record_id) or "")


def _retention_metadata(years: int | None, until: datetime | None) -> dict[str, Any]:
    return {
        "retention_years": years,
        "retention": retention.label(years),
        "retain_until": None if until is None else vietnam_time(until).isoformat(),
    }


def _raised(record: ArchiveRecord, archive_file: ArchiveFile, end_year: int) -> dict[str, Any]:
    """The record's retention raised to the file's, counted from ``end_year``; never shorter."""
    years = retention.longer(record.retention_years, archive_file.retention_years)
    until = retention.retain_until(years, end_year)
    current = _aware(record.retain_until)
    if until is not None and current is not None and current > until:
        until = current
    return _retention_metadata(years, until)


def add_record(ws: Workspace, username: str, code: str, record_id: str) -> ArchiveRecord:
    """Put an archived record into an open case file."""
    with transaction(ws.db) as session:
        _archivist(session, username)
        archive_file = _locked(session, code)
        _refuse_if_closed(archive_file, "thêm văn bản", "adding documents")
        record = find_record(session, record_id)
        if record.disposed_at is not None:
            raise disposed(record_id, f"bản lưu {record_id} đã bị hủy")
        if record.file_id == archive_file.id:
            raise Conflict(
                f"bản lưu {record_id} đã thuộc hồ sơ {code}",
                f"record {record_id} is already in case file {code}",
                code="case_file.record_already_in",
                record_id=record_id,
                file_code=code,
            )
        if record.file_id is not None:
            other = session.get(ArchiveFile, record.file_id)
            holder = other.code if other else record.file_id
            raise Conflict(
                f"bản lưu {record_id} đã thuộc hồ sơ {holder}; rút khỏi hồ sơ đó trước",
                f"record {record_id} is already in case file {holder}; take it out of that"
                " file first",
                code="case_file.record_in_other_file",
                record_id=record_id,
                file_code=code,
                other_file_code=str(holder),
            )
        metadata = {"file": code, "file_title": archive_file.title}
        metadata.update(_raised(record, archive_file, _record_day(record).year))
        record.file_id = archive_file.id
        _revise(ws, session, record, metadata, f"Đưa vào hồ sơ {code}", username)
        _save(ws, session, archive_file)
        audit.append(
            session,
            actor=username,
            event="archive_file_record_added",
            detail={"file": code, "record": record_id},
        )
    return record


def remove_record(ws: Workspace, username: str, code: str, record_id: str) -> ArchiveRecord:
    """Take a record out of an open case file (its retention stays as it is: never shortened)."""
    with transaction(ws.db) as session:
        _archivist(session, username)
        archive_file = _locked(session, code)
        _refuse_if_closed(archive_file, "rút văn bản", "taking documents out")
        record = find_record(session, record_id)
        if record.file_id != archive_file.id:
            raise NotFound(
                f"bản lưu {record_id} không thuộc hồ sơ {code}",
                f"record {record_id} is not in case file {code}",
                code="case_file.record_not_in_file",
                record_id=record_id,
                file_code=code,
            )
        record.file_id = None
        taken_out = {"file": None, "file_title": None}
        _revise(ws, session, record, taken_out, f"Rút khỏi hồ sơ {code}", username)
        _save(ws, session, archive_file)
        audit.append(
            session,
            actor=username,
            event="archive_file_record_removed",
            detail={"file": code, "record": record_id},
        )
    return record


def close_file(ws: Workspace, username: str, code: str) -> ArchiveFile:
    """Close the file for good; retention of its records counts from the matter's last year."""
    with transaction(ws.db) as session:
        _archivist(session, username)
        archive_file = _locked(session, code)
        _refuse_if_closed(archive_file, "đóng lại lần nữa", "closing it again")
        records = _records(session, archive_file)
        if not records:
            raise Conflict(
                f"hồ sơ {code} chưa có văn bản nào, không đóng được",
                f"case file {code} holds no documents yet and cannot be closed",
                code="case_file.empty",
                file_code=code,
            )
        end_year = max(_record_day(r).year for r in records)
        for record in records:
            wanted = _raised(record, archive_file, end_year)
            current = _retention_metadata(record.retention_years, _aware(record.retain_until))
            if wanted != current:
                reason = f"Đóng hồ sơ {code}: thời hạn bảo quản tính từ hết năm {end_year}"
                _revise(ws, session, record, wanted, reason, username)
        archive_file.state = "closed"
        archive_file.closed_by = username
        archive_file.closed_at = clock.now()
        _save(ws, session, archive_file)
        audit.append(
            session,
            actor=username,
            event="archive_file_closed",
            detail={"file": code, "records": len(records), "end_year": end_year},
        )
    return archive_file


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileSummary:
    """One line of `vanthu archive file list`."""

    code: str
    title: str
    state: str
    retention: str
    access: str
    unit_code: str | None
    documents: int


def list_files(ws: Workspace) -> list[FileSummary]:
    with Session(ws.db) as session:
        counts = dict(
            session.exec(
                select(ArchiveRecord.file_id, func.count())
                .where(col(ArchiveRecord.file_id).is_not(None))
                .group_by(col(ArchiveRecord.file_id))
            ).all()
        )
        units = {u.id: u.code for u in session.exec(select(Unit)).all()}
        return [
            FileSummary(
                code=f.code,
                title=f.title,
                state=f.state,
                retention=retention.label(f.retention_years),
                access=f.access,
                unit_code=units.get(f.unit_id) if f.unit_id else None,
                documents=int(counts.get(f.id, 0)),
            )
            for f in session.exec(select(ArchiveFile).order_by(col(ArchiveFile.code))).all()
        ]


@dataclass(frozen=True)
class Catalogue:
    """A case file with its records in order (mục lục văn bản): `vanthu archive file show`."""

    snapshot: dict[str, Any]
    """The file's fields as stored (code, title, retention, dates, counts, state…)."""
    records: tuple[ArchiveRecord, ...]
    """Its records, oldest first."""


CATALOGUE_VIEWED, CATALOGUE_REFUSED = "case_file_viewed", "case_file_refused"
"""Audit events: a case file's catalogue read, and a refused attempt."""


def catalogue(ws: Workspace, code: str, username: str) -> Catalogue:
    """The catalogue of case file ``code`` as ``username`` may read it; the read is audited, a
    refused one too.

    Who reads it: the roles that retrieve records (archivist, clerk, leader, administrator) and
    the people of the file's unit. A restricted file is for the roles that read restricted
    records only (archivist, leader, administrator); anyone else is refused and learns nothing
    of its records. In a public file, restricted records are left out for those who may not
    read them."""
    with transaction(ws.db) as session:
        user = user_named(session, username)
        archive_file = session.exec(select(ArchiveFile).where(ArchiveFile.code == code)).first()
        if archive_file is None:
            raise not_found(code)
        restricted = archive_file.access == "restricted"
        sees_restricted = user.active and may_see_restricted(user.role)
        if restricted:
            allowed = sees_restricted
        else:
            allowed = user.active and (user.role in READERS or user.unit_id == archive_file.unit_id)
        audit.append(
            session,
            actor=username,
            event=CATALOGUE_VIEWED if allowed else CATALOGUE_REFUSED,
            detail={"file": code, "role": user.role, "restricted": restricted},
        )
        if allowed:
            records = [
                r
                for r in _records(session, archive_file)
                if sees_restricted or not is_restricted(r, archive_file)
            ]
            found = Catalogue(_snapshot(session, archive_file), tuple(records))
    if allowed:
        return found
    if restricted:
        raise NotAllowed(
            f"{username} ({user.role}) không được xem hồ sơ {code}: hồ sơ hạn chế sử dụng",
            f"{username} ({user.role}) may not read case file {code}: its access is restricted",
            code="case_file.restricted",
            file_code=code,
            username=username,
            role=user.role,
        )
    raise NotAllowed(
        f"{username} ({user.role}) không được xem hồ sơ {code}: không thuộc đơn vị của hồ sơ",
        f"{username} ({user.role}) may not read case file {code}: not of its unit",
        code="case_file.read_not_allowed",
        file_code=code,
        username=username,
        role=user.role,
    )
