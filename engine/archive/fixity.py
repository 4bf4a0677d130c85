"""Fixity: re-hash every archived object, re-verify every signature, and compare the store with
what the engine wrote, report what changed.

Run by `vanthu archive check` and nightly by the Prefect schedule (engine.automation.schedules).
Each problem names the record and the object, so an archivist knows what to restore from backup.
Besides damage it finds what was done past the engine:

- a manifest revision the audit log does not name (a record swapped by hand), or one it names
  that is gone;
- an object or manifest hidden on S3 by a delete marker (a plain DELETE over a locked object:
  the object is still there, a plain read fails). ``repair`` removes the marker, audited;
- database rows that no longer say what their record says (number, symbol, subject, signer,
  access, case file);
- locked objects no record names (orphans: an archiving step that stopped before its manifest
  and was never run again).

Every check, clean or not, leaves one audit event with its counts and problems.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from engine.archive import revisions
from engine.archive.records import disposed, require_keeper
from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import EngineError, NotFound
from engine.core.models import ArchiveFile, ArchiveRecord, Disposal, DocumentFile
from engine.core.text import vietnam_time
from engine.core.workspace import Workspace
from engine.signatures import keys
from signing import SigningError, verify_document
from storage import (
    PERMANENT,
    ObjectNotFound,
    ObjectRef,
    RecordManifest,
    StorageError,
    content_key,
    every_manifest,
    list_revisions,
    manifest_key,
    pending_records,
)
from vanthu import clock
from vanthu.errors import Kind

SIGNED_ROLE = "pdf"
"""The role of a record's signed original in its manifest."""
MAX_AUDITED_PROBLEMS = 100
"""Problems written into the audit event; the count is always complete."""
OBJECTS = "objects/sha256/"
"""Where content-addressed objects live in the store (storage.content_key)."""
UNHIDDEN = "archive_unhidden"
"""The audit event of a delete marker removed by a repair."""


class ProblemKind(StrEnum):
    MISSING_RECORD = "missing_record"
    """The record's manifest (or an audited revision of it) is not in the store."""
    MISSING_OBJECT = "missing_object"
    CHANGED_OBJECT = "changed_object"
    """The content no longer matches its SHA-256."""
    INDEX_MISMATCH = "index_mismatch"
    """The database names a PDF the manifest does not hold."""
    SIGNATURE = "signature"
    """The signatures no longer verify as they did at archiving."""
    HIDDEN = "hidden"
    """On S3 a delete marker hides a locked object or manifest: it is there, a plain read
    fails. ``repair`` removes the marker."""
    UNAUDITED_REVISION = "unaudited_revision"
    """A manifest revision the engine did not write: the audit log does not name it, or names
    another manifest under its number."""
    DATABASE_DIFFERS = "database_differs"
    """The database row says otherwise than the record (``field`` names what)."""
    ORPHAN = "orphan"
    """A locked object no record names."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one record."""

    record_id: str | None
    """The record (or disposal record) it concerns; None for an orphan no record names."""
    kind: ProblemKind
    object: str | None
    """The object: role, file name and store key; None for the record as a whole."""
    message: str
    """One Vietnamese sentence naming the record and the object."""
    key: str | None = None
    """The store key concerned, when there is one."""
    field: str | None = None
    """For ``database_differs``: the field ('number', 'symbol', 'subject', 'signer',
    'access', 'file')."""


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
    """What is wrong (after the repairs, when asked for)."""
    repaired: tuple[Problem, ...] = ()
    """What a repair put right (a delete marker removed); not in ``problems`` any more."""

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
            "repaired": [asdict(p) for p in self.repaired],
        }


class FixityFailed(EngineError):
    """A scheduled check found problems: the flow run fails, so the operator sees it."""

    code = "fixity.problems"
    kind = Kind.FAILED


COMPARED = (
    ("number", "số", "number"),
    ("symbol", "ký hiệu", "symbol"),
    ("subject", "trích yếu", "subject"),
    ("signer", "người ký", "signer"),
    ("access", "chế độ sử dụng", "access"),
    ("file", "hồ sơ", "case file"),
)
"""Fields compared between a database row and its record: (name, Vietnamese, English)."""


@dataclass(frozen=True)
class _Target:
    record_id: str
    pdf_sha256: str | None
    """What the database says the record's PDF is; None for a disposal record."""
    verdict_at_archiving: str | None
    row: dict[str, Any] | None = None
    """The database's values of the ``COMPARED`` fields; None for a disposal record."""


def _row(record: ArchiveRecord, files: dict[int, str]) -> dict[str, Any]:
    return {
        "number": record.number,
        "symbol": record.symbol,
        "subject": record.subject,
        "signer": record.signer,
        "access": record.access,
        "file": files.get(record.file_id) if record.file_id is not None else None,
    }


def _target(record: ArchiveRecord, files: dict[int, str]) -> _Target:
    return _Target(
        record.record_id, record.pdf_sha256, record.signature_verdict, _row(record, files)
    )


def _targets(session: Session, record_id: str | None) -> list[_Target]:
    files = {f.id: f.code for f in session.exec(select(ArchiveFile)).all() if f.id is not None}
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
        return [_target(record, files)]
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
    return [_target(r, files) for r in records] + [
        _Target(rid, None, None) for rid in disposals if rid
    ]


def _date(until: datetime) -> str:
    if until >= PERMANENT:  # the end of time, a day later in Việt Nam than datetime allows
        return f"{until:%d/%m/%Y} (vĩnh viễn)"
    return f"{vietnam_time(until):%d/%m/%Y}"


def _shown(value: Any) -> str:
    return "(trống)" if value in (None, "") else f"'{value}'"


class _Checker:
    """Walks records one by one, counting and collecting problems."""

    def __init__(
        self,
        ws: Workspace,
        audited: revisions.Audited,
        hidden: set[str] | None,
    ) -> None:
        self.ws = ws
        self.audited = audited
        self.all_hidden = hidden
        """Every hidden key of the store (a whole-archive check lists them once), else None."""
        self.roots: list[bytes] | None = None
        self.objects = 0
        self.signatures = 0
        self.referenced: set[str] = set()
        """Content keys the records checked name, in any revision."""
        self.read: set[str] = set()
        """Records whose revisions were read."""

    def hidden(self, prefix: str) -> list[str]:
        if self.all_hidden is not None:
            return sorted(k for k in self.all_hidden if k.startswith(prefix))
        return list(self.ws.store.hidden_keys(prefix))

    def is_hidden(self, key: str) -> bool:
        return key in self.hidden(key)

    def record(self, target: _Target) -> Iterator[Problem]:
        rid = target.record_id
        first = manifest_key(rid)
        hidden = [k for k in self.hidden(first) if k == first]
        hidden += self.hidden(f"revisions/{rid}/")
        for key in hidden:
            yield Problem(
                rid,
                ProblemKind.HIDDEN,
                key,
                f"bản lưu {rid}: tệp mô tả {key} bị che bởi một dấu xóa (delete marker) trên"
                " S3: bản khóa vẫn còn nhưng đọc thường không thấy; chạy `vanthu archive check"
                " --repair` để gỡ dấu xóa",
                key=key,
            )
        try:
            stored = list_revisions(self.ws.store, rid)
        except ObjectNotFound:
            if first not in hidden:
                yield Problem(
                    rid,
                    ProblemKind.MISSING_RECORD,
                    None,
                    f"bản lưu {rid}: thiếu tệp mô tả ({first}) trong kho",
                    key=first,
                )
            return
        except StorageError as exc:
            yield Problem(rid, ProblemKind.MISSING_RECORD, None, f"bản lưu {rid}: {exc}")
            return
        self.read.add(rid)
        yield from self.revisions(rid, stored, hidden)
        # Earlier revisions stay in the archive: their objects are checked too, once each.
        refs = {ref.sha256: ref for manifest in stored for ref in manifest.objects}
        self.referenced.update(content_key(sha) for sha in refs)
        if target.pdf_sha256 is not None and target.pdf_sha256 not in refs:
            yield Problem(
                rid,
                ProblemKind.INDEX_MISMATCH,
                content_key(target.pdf_sha256),
                f"bản lưu {rid}: cơ sở dữ liệu ghi tệp PDF sha256 {target.pdf_sha256[:12]}… "
                "nhưng tệp mô tả trong kho không có tệp này",
                key=content_key(target.pdf_sha256),
            )
        if target.row is not None:
            yield from self.database(rid, target.row, stored[-1])
        newest = {ref.sha256 for ref in stored[-1].objects}
        for sha, ref in refs.items():
            yield from self.object(target, ref, verify=sha in newest)

    def revisions(
        self, rid: str, stored: tuple[RecordManifest, ...], hidden: list[str]
    ) -> Iterator[Problem]:
        """Each revision in the store against the manifests the engine audited."""
        audited = self.audited.get(rid, {})
        numbers = {m.revision for m in stored}
        for manifest in stored:
            known = audited.get(manifest.revision)
            # Revision 1 of a record archived before its manifests were audited has no entry;
            # every later revision is written by the engine, which audits it.
            if manifest.revision == 1 and known is None:
                continue
            if known is None or manifest.digest not in known:
                key = manifest_key(rid, manifest.revision)
                why = (
                    "không có trong nhật ký kiểm tra (audit)"
                    if known is None
                    else "khác tệp mô tả Vanthu đã ghi (mã SHA-256 không khớp nhật ký)"
                )
                yield Problem(
                    rid,
                    ProblemKind.UNAUDITED_REVISION,
                    key,
                    f"bản lưu {rid}: phiên bản {manifest.revision} ({key}) không do Vanthu ghi:"
                    f" {why}; có thể bản lưu đã bị thay trái phép",
                    key=key,
                )
        for number in sorted(set(audited) - numbers):
            key = manifest_key(rid, number)
            if key not in hidden:
                yield Problem(
                    rid,
                    ProblemKind.MISSING_RECORD,
                    key,
                    f"bản lưu {rid}: thiếu phiên bản {number} ({key}) mà nhật ký kiểm tra ghi"
                    " đã lưu",
                    key=key,
                )

    def database(self, rid: str, row: dict[str, Any], newest: RecordManifest) -> Iterator[Problem]:
        """Every field in which the database row and the newest revision differ."""
        meta = newest.metadata
        stored = {name: meta.get(name) for name, _, _ in COMPARED}
        stored["access"] = meta.get("access") or "public"
        for name, label, _ in COMPARED:
            if row[name] != stored[name]:
                yield Problem(
                    rid,
                    ProblemKind.DATABASE_DIFFERS,
                    None,
                    f"bản lưu {rid}: cơ sở dữ liệu ghi {label} {_shown(row[name])}, bản lưu"
                    f" trong kho (phiên bản {newest.revision}) ghi {_shown(stored[name])}",
                    field=name,
                )

    def object(self, target: _Target, ref: ObjectRef, *, verify: bool) -> Iterator[Problem]:
        rid, key = target.record_id, content_key(ref.sha256)
        label = f"{ref.role} '{ref.name}' ({key})"
        self.objects += 1
        try:
            data = self.ws.store.get(key)  # a plain read: what anyone reading the key gets
        except ObjectNotFound:
            if self.is_hidden(key):
                yield Problem(
                    rid,
                    ProblemKind.HIDDEN,
                    label,
                    f"bản lưu {rid}: tệp {label} bị che bởi một dấu xóa (delete marker) trên"
                    " S3: bản khóa vẫn còn nhưng đọc thường không thấy; chạy `vanthu archive"
                    " check --repair` để gỡ dấu xóa",
                    key=key,
                )
                return
            yield Problem(
                rid,
                ProblemKind.MISSING_OBJECT,
                label,
                f"bản lưu {rid}: tệp {label} bị thiếu",
                key=key,
            )
            return
        except StorageError as exc:
            yield Problem(rid, ProblemKind.MISSING_OBJECT, label, f"bản lưu {rid}: {exc}", key=key)
            return
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            yield Problem(
                rid,
                ProblemKind.CHANGED_OBJECT,
                label,
                f"bản lưu {rid}: tệp {label} đã bị thay đổi, nội dung không khớp SHA-256",
                key=key,
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

    def orphans(self, session: Session) -> Iterator[Problem]:
        """Locked objects no record in the store names, in any revision."""
        store = self.ws.store
        referenced = set(self.referenced)
        # Every manifest in the store names its objects: those of records not checked here (no
        # row, or a first manifest that cannot be read), hidden ones too.
        for manifest in every_manifest(store, skip=self.read):
            referenced.update(content_key(r.sha256) for r in manifest.objects)
        documents = {content_key(sha) for sha in session.exec(select(DocumentFile.sha256))}
        pending = {
            content_key(ref.sha256): manifest.record_id
            for manifest in pending_records(store)
            for ref in manifest.objects
        }
        now = clock.now()
        for key in store.list_keys(OBJECTS):
            if key in referenced or key in documents:
                continue  # a document's own file (a draft, the issued PDF) is not locked
            try:
                until = store.retention(key)
            except StorageError:
                continue
            if until is None or until <= now:
                continue
            owner = pending.get(key)
            where = (
                f"; lần lưu bản lưu {owner} dừng giữa chừng (pending/{owner}.json): chạy lại bước"
                " lưu trữ để hoàn tất"
                if owner
                else ""
            )
            yield Problem(
                owner,
                ProblemKind.ORPHAN,
                key,
                f"tệp {key} bị khóa đến {_date(until)} nhưng không bản lưu nào"
                f" dùng đến (tệp mồ côi){where}",
                key=key,
            )


@dataclass
class _Repairs:
    done: list[tuple[Problem, tuple[str, ...]]] = field(default_factory=list)
    """Each hidden key unhidden, with the delete markers removed."""


def _repair(ws: Workspace, problems: tuple[Problem, ...]) -> _Repairs:
    """Remove the delete markers that hide locked objects and manifests (outside work, before
    the transaction that audits it)."""
    repairs = _Repairs()
    for problem in problems:
        if problem.kind is ProblemKind.HIDDEN and problem.key is not None:
            markers = ws.store.unhide(problem.key)
            if markers:
                repairs.done.append((problem, markers))
    return repairs


def check_archive(
    ws: Workspace, *, record_id: str | None = None, actor: str = "system", repair: bool = False
) -> FixityReport:
    """Check one record or the whole archive, and audit the result. With ``repair``, remove
    the delete markers that hide archived objects (each removal audited) and check the records
    concerned again. For archivists and administrators (and the scheduler)."""
    require_keeper(ws, actor, "kiểm tra toàn vẹn kho lưu trữ", "check the integrity of the archive")
    started = clock.now()
    with Session(ws.db) as session:
        targets = _targets(session, record_id)
        audited = revisions.audited(session, record_id)
    whole = record_id is None
    checker = _Checker(ws, audited, set(ws.store.hidden_keys()) if whole else None)
    problems = tuple(p for target in targets for p in checker.record(target))
    if whole:
        with Session(ws.db) as session:
            problems += tuple(checker.orphans(session))
    repairs = _repair(ws, problems) if repair else _Repairs()
    repaired = tuple(p for p, _ in repairs.done)
    if repaired:
        again = {p.record_id for p in repaired}
        recheck = _Checker(ws, audited, set(ws.store.hidden_keys()) if whole else None)
        fresh = tuple(p for t in targets if t.record_id in again for p in recheck.record(t))
        problems = tuple(p for p in problems if p.record_id not in again) + fresh
    report = FixityReport(
        started,
        clock.now(),
        len(targets),
        checker.objects,
        checker.signatures,
        problems,
        repaired,
    )
    with transaction(ws.db) as session:
        for problem, markers in repairs.done:
            audit.append(
                session,
                actor=actor,
                event=UNHIDDEN,
                detail={
                    "record": problem.record_id,
                    "key": problem.key,
                    "delete_markers": list(markers),
                },
            )
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
                "repaired": [p.message for p in repaired[:MAX_AUDITED_PROBLEMS]],
            },
        )
    return report
