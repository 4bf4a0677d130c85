"""Fixity: re-hash every archived object and re-verify every signature, report what changed.

Run by `vanthu archive check` and nightly by the Prefect schedule (engine.automation.schedules).
Each problem names the record and the object, so an archivist knows what to restore from backup.
Every check, clean or not, leaves one audit event with its counts and problems.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from engine.archive.records import disposed, require_keeper
from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import EngineError, NotFound
from engine.core.models import ArchiveRecord, Disposal
from engine.core.workspace import Workspace
from engine.signatures import keys
from signing import SigningError, verify_document
from storage import ObjectNotFound, ObjectRef, StorageError, content_key, list_revisions
from vanthu import clock
from vanthu.errors import Kind

SIGNED_ROLE = "pdf"
"""The role of a record's signed original in its manifest."""
MAX_AUDITED_PROBLEMS = 100
"""Problems written into the audit event; the count is always complete."""


class ProblemKind(StrEnum):
    MISSING_RECORD = "missing_record"
    """The record's manifest is not in the store (or cannot be read)."""
    MISSING_OBJECT = "missing_object"
    CHANGED_OBJECT = "changed_object"
    """The content no longer matches its SHA-256."""
    INDEX_MISMATCH = "index_mismatch"
    """The database names a PDF the manifest does not hold."""
    SIGNATURE = "signature"
    """The signatures no longer verify as they did at archiving."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one record."""

    record_id: str
    """The record (or disposal record) it concerns."""
    kind: ProblemKind
    object: str | None
    """The object: role, file name and store key; None for the record as a whole."""
    message: str
    """One Vietnamese sentence naming the record and the object."""


@dataclass(frozen=True)
class FixityReport:
    """What one check looked at and found."""

    started_at: datetime
    finished_at: datetime
    records: int
    """Records (and disposal records) checked."""
    objects: int
    """Objects re-hashed."""
    signatures: int
    """PDFs whose signatures were verified again."""
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "records": self.records,
            "objects": self.objects,
            "signatures": self.signatures,
            "problems": [asdict(p) for p in self.problems],
        }


class FixityFailed(EngineError):
    """A scheduled check found problems: the flow run fails, so the operator sees it."""

    code = "fixity.problems"
    kind = Kind.FAILED


@dataclass(frozen=True)
class _Target:
    record_id: str
    pdf_sha256: str | None
    """What the database says the record's PDF is; None for a disposal record."""
    verdict_at_archiving: str | None


def _targets(session: Session, record_id: str | None) -> list[_Target]:
    if record_id is not None:
        record = session.exec(
            select(ArchiveRecord).where(ArchiveRecord.record_id == record_id)
        ).first()
        if record is None:
            disposal = session.exec(select(Disposal).where(Disposal.record_id == record_id)).first()
            if disposal is None:
                raise NotFound(
                    f"không có bản lưu '{record_id}'",
                    f"there is no archive record '{record_id}'",
                    code="record.not_found",
                    record_id=record_id,
                )
            return [_Target(record_id, None, None)]
        if record.disposed_at is not None:
            raise disposed(
                record_id, f"bản lưu '{record_id}' đã bị hủy theo quy trình hủy tài liệu"
            )
        return [_Target(record.record_id, record.pdf_sha256, record.signature_verdict)]
    records = session.exec(
        select(ArchiveRecord)
        .where(col(ArchiveRecord.disposed_at).is_(None))
        .order_by(col(ArchiveRecord.id))
    ).all()
    disposals = session.exec(
        select(Disposal.record_id)
        .where(col(Disposal.record_id).is_not(None))
        .order_by(col(Disposal.id))
    ).all()
    return [_Target(r.record_id, r.pdf_sha256, r.signature_verdict) for r in records] + [
        _Target(rid, None, None) for rid in disposals if rid
    ]


class _Checker:
    """Walks records one by one, counting and collecting problems."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.roots: list[bytes] | None = None
        self.objects = 0
        self.signatures = 0

    def record(self, target: _Target) -> Iterator[Problem]:
        rid = target.record_id
        try:
            revisions = list_revisions(self.ws.store, rid)
        except ObjectNotFound:
            yield Problem(
                rid,
                ProblemKind.MISSING_RECORD,
                None,
                f"bản lưu {rid}: thiếu tệp mô tả (records/{rid}.json) trong kho",
            )
            return
        except StorageError as exc:
            yield Problem(rid, ProblemKind.MISSING_RECORD, None, f"bản lưu {rid}: {exc}")
            return
        # Earlier revisions stay in the archive: their objects are checked too, once each.
        refs = {ref.sha256: ref for manifest in revisions for ref in manifest.objects}
        if target.pdf_sha256 is not None and target.pdf_sha256 not in refs:
            yield Problem(
                rid,
                ProblemKind.INDEX_MISMATCH,
                content_key(target.pdf_sha256),
                f"bản lưu {rid}: cơ sở dữ liệu ghi tệp PDF sha256 {target.pdf_sha256[:12]}… "
                "nhưng tệp mô tả trong kho không có tệp này",
            )
        newest = {ref.sha256 for ref in revisions[-1].objects}
        for sha, ref in refs.items():
            yield from self.object(target, ref, verify=sha in newest)

    def object(self, target: _Target, ref: ObjectRef, *, verify: bool) -> Iterator[Problem]:
        rid, key = target.record_id, content_key(ref.sha256)
        label = f"{ref.role} '{ref.name}' ({key})"
        self.objects += 1
        try:
            data = self.ws.store.get(key)
        except ObjectNotFound:
            yield Problem(
                rid, ProblemKind.MISSING_OBJECT, label, f"bản lưu {rid}: tệp {label} bị thiếu"
            )
            return
        except StorageError as exc:
            yield Problem(rid, ProblemKind.MISSING_OBJECT, label, f"bản lưu {rid}: {exc}")
            return
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            yield Problem(
                rid,
                ProblemKind.CHANGED_OBJECT,
                label,
                f"bản lưu {rid}: tệp {label} đã bị thay đổi, nội dung không khớp SHA-256",
            )
            return
        # The signed original only: OCR copies and previews carry no signature to re-verify.
        signed = target.verdict_at_archiving not in (None, "unsigned")
        if verify and signed and ref.role == SIGNED_ROLE:
            yield from self.signature(target, label, data)

    def signature(self, target: _Target, label: str, pdf: bytes) -> Iterator[Problem]:
        if self.roots is None:
            self.roots = keys.trust_roots(self.ws)
        self.signatures += 1
        before = target.verdict_at_archiving
        try:
            report = verify_document(pdf, self.roots)
        except SigningError as exc:
            yield Problem(
                target.record_id,
                ProblemKind.SIGNATURE,
                label,
                f"bản lưu {target.record_id}: không kiểm tra lại được chữ ký số trên tệp {label}:"
                f" {exc}",
            )
            return
        if report.verdict == "invalid" or (before == "valid" and report.verdict != "valid"):
            reasons = "; ".join(report.reasons) or report.verdict
            yield Problem(
                target.record_id,
                ProblemKind.SIGNATURE,
                label,
                f"bản lưu {target.record_id}: chữ ký số trên tệp {label} không còn hợp lệ "
                f"(lúc lưu: {before}, nay: {report.verdict}): {reasons}",
            )


def check_archive(
    ws: Workspace, *, record_id: str | None = None, actor: str = "system"
) -> FixityReport:
    """Check one record or the whole archive, and audit the result. For archivists and
    administrators (and the scheduler)."""
    require_keeper(ws, actor, "kiểm tra toàn vẹn kho lưu trữ", "check the integrity of the archive")
    started = clock.now()
    with Session(ws.db) as session:
        targets = _targets(session, record_id)
    checker = _Checker(ws)
    problems = tuple(p for target in targets for p in checker.record(target))
    report = FixityReport(
        started, clock.now(), len(targets), checker.objects, checker.signatures, problems
    )
    with transaction(ws.db) as session:
        audit.append(
            session,
            actor=actor,
            event="archive_checked",
            detail={
                "record": record_id,
                "records": report.records,
                "objects": report.objects,
                "signatures": report.signatures,
                "problem_count": len(problems),
                "problems": [p.message for p in problems[:MAX_AUDITED_PROBLEMS]],
            },
        )
    return report
