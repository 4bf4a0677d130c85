"""Transfer to the historical archive: a closed case file as an E-ARK CSIP package, and back.

The package itself (METS, PREMIS, checksums, zip) is storage's (storage.export_package); here
are the rules around it: only an archivist, only a closed file, the file's Thông tư 05/2025
metadata, every record it still holds; on import the whole package is checked first (checksums,
case file, records), then records and file enter the store and the database, indexed for search.
A refused package stores nothing; importing twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from engine.archive import case_files as files
from engine.archive import revisions
from engine.archive.records import record_fields, stored_text
from engine.archive.search import index_record
from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import Conflict, InvalidInput, NotAllowed
from engine.core.models import Agency, ArchiveFile, ArchiveRecord
from engine.core.users import user_named
from engine.core.workspace import Workspace
from storage import (
    PackageProblem,
    PackageRejected,
    StorageError,
    export_package,
    import_records,
    package_records,
    read_record,
    verify_package,
)
from vanthu import clock

TRANSFERRERS = frozenset({"archivist"})
FILE_METADATA = "metadata/descriptive/ho-so.json"
"""Where a package keeps the case file's metadata (storage/_eark.py writes it)."""


@dataclass(frozen=True)
class Exported:
    path: Path
    file_code: str
    records: tuple[str, ...]
    sha256: str
    """Of the zip, as audited: the receiving archive can compare."""


@dataclass(frozen=True)
class Imported:
    file_code: str
    records: tuple[str, ...]
    new_records: tuple[str, ...]
    """Records that were not in the database before (empty on a second import)."""


def _transferrer(session: Session, username: str) -> None:
    user = user_named(session, username)
    if user.role not in TRANSFERRERS:
        raise NotAllowed(
            f"{username} ({user.role}) không được chuyển giao hồ sơ lưu trữ",
            f"{username} ({user.role}) may not transfer archive case files",
            code="transfer.archivist_only",
            username=username,
            role=user.role,
        )


def package_id(file_code: str) -> str:
    return f"ho-so-{file_code}"


def export_file(ws: Workspace, file_code: str, out: Path, username: str) -> Exported:
    """Write the closed file ``file_code`` as a CSIP zip at ``out`` (a path or a folder)."""
    with Session(ws.db) as session:
        _transferrer(session, username)
        archive_file = session.exec(
            select(ArchiveFile).where(ArchiveFile.code == file_code)
        ).first()
        if archive_file is None:
            raise files.not_found(file_code)
        if archive_file.state != "closed":
            raise Conflict(
                f"hồ sơ {file_code} chưa đóng; chỉ chuyển giao hồ sơ đã đóng",
                f"case file {file_code} is not closed; only closed files are transferred",
                code="transfer.file_not_closed",
                file_code=file_code,
            )
        agency = session.exec(select(Agency).order_by(col(Agency.id))).first()
    catalogue = files.catalogue(ws, file_code, username)
    records = tuple(r.record_id for r in catalogue.records if r.disposed_at is None)
    metadata = dict(catalogue.snapshot)
    metadata["records"] = list(records)
    metadata["documents"] = len(records)
    metadata["exported_at"] = clock.now().isoformat()
    if not records:
        raise Conflict(
            f"hồ sơ {file_code} không còn bản lưu nào để chuyển giao",
            f"case file {file_code} holds no records left to transfer",
            code="transfer.file_empty",
            file_code=file_code,
        )
    if not out.is_dir() and not out.parent.is_dir():
        raise InvalidInput(
            f"{out.parent}: không có thư mục này",
            f"{out.parent}: no such folder",
            code="transfer.out_dir_missing",
            path=str(out.parent),
        )
    path = export_package(
        ws.store,
        package_id=package_id(file_code),
        file_metadata=metadata,
        record_ids=records,
        out=out,
        agency=agency.name if agency else None,
    )
    digest = _sha256(path)
    with transaction(ws.db) as session:
        audit.append(
            session,
            actor=username,
            event="archive_file_exported",
            detail={
                "file": file_code,
                "records": list(records),
                "package": path.name,
                "sha256": digest,
            },
        )
    return Exported(path, file_code, records, digest)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path) -> list[str]:
    """What is wrong with the package at ``path`` (Vietnamese, one line each); empty when sound."""
    if not path.is_file():
        return [
            PackageProblem(
                "transfer.package_missing", f"{path}: không có tệp này", f"{path}: no such file"
            )
        ]
    return verify_package(path)


def _unusable(path: Path, problem: str, problem_en: str) -> PackageRejected:
    """A package that verifies but that this archive cannot take in: its case file's metadata
    or a record is not what an archive package holds."""
    return PackageRejected(path, [PackageProblem("transfer.package_invalid", problem, problem_en)])


def _file_metadata(path: Path) -> dict[str, Any]:
    """The case file's metadata from a package that verified."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.split("/", 1)[-1] == FILE_METADATA]
        if len(names) != 1:
            raise _unusable(
                path,
                f"gói không có {FILE_METADATA} (siêu dữ liệu hồ sơ)",
                f"the package has no {FILE_METADATA} (the case file's metadata)",
            )
        try:
            data = json.loads(archive.read(names[0]).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise _unusable(
                path,
                f"{FILE_METADATA}: không đọc được ({exc})",
                f"{FILE_METADATA}: cannot be read ({exc})",
            ) from exc
    if not isinstance(data, dict) or not data.get("code") or not data.get("title"):
        raise _unusable(
            path,
            f"{FILE_METADATA}: thiếu mã hoặc tiêu đề hồ sơ",
            f"{FILE_METADATA}: the case file's code or title is missing",
        )
    return data


def import_file(ws: Workspace, path: Path, username: str) -> Imported:
    """Verify, then bring the package's records and case file into the store and database.

    Everything that could refuse the package is checked before anything is written: its
    checksums, its case file, every record (a document record, not held here by another case
    file, not different from the one in the store: an archived record is never replaced). A
    refused package leaves nothing behind for `vanthu archive reindex` to pick up. Every
    manifest written is audited (engine.archive.revisions)."""
    with Session(ws.db) as session:
        _transferrer(session, username)
    problems = verify(path)
    if problems:
        raise PackageRejected(path, problems)
    metadata = _file_metadata(path)
    code = str(metadata["code"])
    newest = package_records(path)
    for manifest in newest.values():
        try:
            record_fields(manifest)  # a document record, or the package is not for an archive
        except StorageError as exc:
            raise _unusable(path, exc.message, exc.message_en) from exc
    with Session(ws.db) as session:
        existing = session.exec(select(ArchiveFile).where(ArchiveFile.code == code)).first()
        if existing is not None and existing.state != "closed":
            raise Conflict(
                f"đã có hồ sơ '{code}' đang mở ở đây; không nhập đè",
                f"case file '{code}' is open here; it is not overwritten by an import",
                code="transfer.file_open_here",
                file_code=code,
            )
        here = existing.id if existing is not None else None
        rows = session.exec(
            select(ArchiveRecord).where(col(ArchiveRecord.record_id).in_(list(newest)))
        ).all()
        for row in rows:
            if here is None or row.file_id != here:
                raise Conflict(
                    f"bản lưu {row.record_id} đã có ở đây trong một hồ sơ khác; không nhập gì",
                    f"record {row.record_id} is already here, in another case file; nothing was"
                    " imported",
                    code="transfer.record_in_other_file",
                    record_id=row.record_id,
                    file_code=code,
                )
        known = {row.record_id for row in rows}
    imported = import_records(ws.store, path)  # verifies again, refuses a differing record
    manifests = {rid: read_record(ws.store, rid) for rid in imported.record_ids}
    with transaction(ws.db) as session:
        archive_file = _imported_file(session, metadata, username)
        assert archive_file.id is not None
        new: list[str] = []
        for rid, manifest in manifests.items():
            if rid in known:
                continue
            row = ArchiveRecord(**record_fields(manifest), file_id=archive_file.id)
            session.add(row)
            session.flush()
            index_record(session, row, stored_text(ws.store, manifest))
            new.append(rid)
        revisions.audit_all(session, actor=username, manifests=imported.written, via="import")
        audit.append(
            session,
            actor=username,
            event="archive_file_imported",
            detail={
                "file": code,
                "records": sorted(manifests),
                "new_records": new,
                "package": path.name,
                "sha256": _sha256(path),
            },
        )
    return Imported(code, tuple(sorted(manifests)), tuple(new))


def _imported_file(session: Session, metadata: dict[str, Any], username: str) -> ArchiveFile:
    code = str(metadata["code"])
    found = session.exec(select(ArchiveFile).where(ArchiveFile.code == code)).first()
    if found is not None:
        return found
    years = metadata.get("retention_years")
    archive_file = ArchiveFile(
        code=code,
        title=str(metadata["title"]),
        retention_years=int(years) if years is not None else None,
        access=str(metadata.get("access") or "public"),
        language=str(metadata.get("language") or "vi"),
        keywords=str(metadata.get("keywords") or ""),
        state="closed",
        opened_by=str(metadata.get("opened_by") or username),
        opened_at=_time(metadata.get("opened_at")) or clock.now(),
        closed_by=str(metadata.get("closed_by") or username),
        closed_at=_time(metadata.get("closed_at")) or clock.now(),
    )
    if archive_file.access not in ("public", "restricted"):
        archive_file.access = "restricted"  # an unknown level is read as the stricter one
    session.add(archive_file)
    session.flush()
    return archive_file


def _time(value: Any) -> datetime | None:
    return None if value in (None, "") else datetime.fromisoformat(str(value))
