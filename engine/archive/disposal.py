"""Disposal of expired archive records: the only way anything leaves the archive.

An archivist proposes a list of expired records (tờ trình); the proposal is a document of type
"Tờ trình" running the 'disposal' workflow (workflows/disposal.yaml), so review, approval and
return use the ordinary `vanthu act`. Once the head of agency approves, the automated step
`dispose_records` writes the disposal record (biên bản hủy) to the store first, then deletes the
records' objects (the store itself refuses an object whose retention has not ended), and marks
the records disposed in the same transaction as the audit event. The biên bản is kept for ever.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from engine.archive.search import remove_from_index
from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import Conflict, EngineError, InvalidInput, NotAllowed, NotFound
from engine.core.models import (
    Agency,
    ArchiveFile,
    ArchiveRecord,
    Disposal,
    DisposalItem,
    Document,
    DocumentFile,
    OutboxItem,
    Task,
    Unit,
    User,
    WorkflowInstance,
)
from engine.core.text import vietnam_time
from engine.core.users import user_named
from engine.core.workspace import Finisher, Workspace
from engine.workflow.runtime import instance_of, start_instance, waiting_at
from storage import (
    NewObject,
    ObjectNotFound,
    RetentionError,
    StorageError,
    content_key,
    get_content,
    list_revisions,
    read_record,
    write_record,
)
from vanthu import clock

DEFINITION = "disposal"
"""The workflow every proposal runs (workflows/disposal.yaml)."""
DOC_TYPE, DOC_ABBR = "Tờ trình", "TTr"
PROPOSERS = frozenset({"archivist"})
RECORD_ROLE = "disposal-record"
"""The biên bản's role in its own store record."""
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class DisposalView:
    """A proposal as users see it: `archive dispose list` and `show`."""

    number: int
    """The proposal's document number, the one `vanthu act` takes."""
    state: str
    """proposed | disposed."""
    reason: str
    proposed_by: str
    proposed_at: datetime
    records: tuple[str, ...]
    """Identifiers of the records listed."""
    waiting_at: tuple[str, ...]
    """Steps the workflow waits at (empty once finished)."""
    disposed_at: datetime | None = None
    record_id: str | None = None
    """The biên bản's identifier in the store, once disposed."""
    disposal_record: dict[str, Any] | None = None
    """The biên bản itself, once disposed."""


@dataclass(frozen=True)
class Refusal:
    """Why one record may not be disposed of now."""

    record_id: str
    code: str
    """``record.disposed``, ``disposal.permanent``, ``disposal.not_in_file``,
    ``disposal.file_open``, ``disposal.not_expired`` or ``disposal.pending``."""
    message: str
    message_en: str


def refusal(session: Session, record: ArchiveRecord, now: datetime) -> Refusal | None:
    """Why ``record`` may not be disposed of now; None when it may."""
    rid = record.record_id
    label, label_en = f"bản lưu {rid}", f"record {rid}"
    if record.disposed_at is not None:
        day = f"{vietnam_time(record.disposed_at):%d/%m/%Y}"
        return Refusal(
            rid,
            "record.disposed",
            f"{label} đã bị hủy ngày {day}",
            f"{label_en} was disposed of on {day}",
        )
    if record.retention_years is None or record.retain_until is None:
        return Refusal(
            rid,
            "disposal.permanent",
            f"{label} được bảo quản vĩnh viễn, không bao giờ được hủy",
            f"{label_en} is kept permanently and may never be disposed of",
        )
    if record.file_id is None:
        return Refusal(
            rid,
            "disposal.not_in_file",
            f"{label} chưa thuộc hồ sơ nào; chỉ hủy tài liệu của hồ sơ đã đóng",
            f"{label_en} is in no case file; only records of closed files are disposed of",
        )
    file = session.get(ArchiveFile, record.file_id)
    if file is None or file.state != "closed":
        code = file.code if file else record.file_id
        return Refusal(
            rid,
            "disposal.file_open",
            f"{label} thuộc hồ sơ {code} chưa đóng; chỉ hủy tài liệu của hồ sơ đã đóng",
            f"{label_en} is in case file {code}, which is not closed; only records of closed"
            " files are disposed of",
        )
    until = _aware(record.retain_until)
    if until > now:
        vi, en = _until(until)
        return Refusal(
            rid,
            "disposal.not_expired",
            f"{label} còn thời hạn bảo quản ({record.retention_years} năm) {vi}",
            f"{label_en} is under retention ({record.retention_years} years) {en}",
        )
    return None


def _until(until: datetime) -> tuple[str, str]:
    """'đến hết ngày 31/12/2031' for a period ending at midnight (Vietnam time), else the hour;
    in Vietnamese and in English."""
    local = vietnam_time(until)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        day = f"{local - timedelta(days=1):%d/%m/%Y}"
        return f"đến hết ngày {day}", f"until the end of {day}"
    return (
        f"đến {local:%H:%M} ngày {local:%d/%m/%Y}",
        f"until {local:%H:%M} on {local:%d/%m/%Y}",
    )


def _refused(lead: str, lead_en: str, problems: Sequence[Refusal], **fields: Any) -> Conflict:
    """One refusal for every record that may not be disposed of: the code of their reason when
    they share one, else ``disposal.refused``; each record's reason in ``problems``."""
    codes = {p.code for p in problems}
    return Conflict(
        lead + "; ".join(p.message for p in problems),
        lead_en + "; ".join(p.message_en for p in problems),
        code=codes.pop() if len(codes) == 1 else "disposal.refused",
        problems=[{"record_id": p.record_id, "code": p.code} for p in problems],
        **fields,
    )


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; every time stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _records(session: Session, record_ids: Sequence[str]) -> list[ArchiveRecord]:
    found = {
        r.record_id: r
        for r in session.exec(
            select(ArchiveRecord).where(col(ArchiveRecord.record_id).in_(list(record_ids)))
        )
    }
    missing = [rid for rid in record_ids if rid not in found]
    if missing:
        raise NotFound(
            f"không có bản lưu {', '.join(missing)}",
            f"there is no archive record {', '.join(missing)}",
            code="record.not_found",
            record_id=missing[0],
            record_ids=missing,
        )
    return [found[rid] for rid in record_ids]


def _pending_elsewhere(session: Session, record_ids: Sequence[str]) -> dict[str, int]:
    """Records already listed in a proposal still under way, with that proposal's number."""
    rows = session.exec(
        select(DisposalItem.record_id, Disposal.document_id)
        .join(Disposal, col(Disposal.id) == col(DisposalItem.disposal_id))
        .where(Disposal.state == "proposed", col(DisposalItem.record_id).in_(list(record_ids)))
    ).all()
    return {record_id: document_id for record_id, document_id in rows}


def propose(ws: Workspace, username: str, record_ids: Sequence[str], reason: str) -> int:
    """Open a disposal proposal for ``record_ids``; returns its document number.

    Every record must be expired, in a closed file and not permanent; one that is not refuses
    the whole proposal, naming the record and why.
    """
    ids = list(dict.fromkeys(r.strip() for r in record_ids if r.strip()))
    reason = reason.strip()
    if not ids:
        raise InvalidInput(
            "tờ trình hủy cần ít nhất một bản lưu",
            "a disposal proposal needs at least one record",
            code="disposal.records_missing",
        )
    if not reason:
        raise InvalidInput(
            "tờ trình hủy cần lý do (--reason)",
            "a disposal proposal needs a reason (--reason)",
            code="disposal.reason_missing",
        )
    now = clock.now()
    with transaction(ws.db) as session:
        user = user_named(session, username)
        if user.role not in PROPOSERS:
            raise NotAllowed(
                f"{username} ({user.role}) không được đề nghị hủy tài liệu lưu trữ",
                f"{username} ({user.role}) may not propose disposing of archive records",
                code="disposal.proposer_only",
                username=username,
                role=user.role,
            )
        records = _records(session, ids)
        problems = [p for p in (refusal(session, r, now) for r in records) if p]
        problems += [
            Refusal(
                rid,
                "disposal.pending",
                f"bản lưu {rid} đã có trong tờ trình hủy #{number} đang xử lý",
                f"record {rid} is already in disposal proposal #{number}, still under way",
            )
            for rid, number in _pending_elsewhere(session, ids).items()
        ]
        if problems:
            raise _refused(
                "không lập được tờ trình hủy: ",
                "the disposal proposal cannot be made: ",
                problems,
            )
        document = _proposal_document(session, user, len(ids), reason)
        assert document.id is not None
        disposal = Disposal(document_id=document.id, reason=reason, proposed_by=username)
        session.add(disposal)
        session.flush()
        assert disposal.id is not None
        for record_id in ids:
            session.add(DisposalItem(disposal_id=disposal.id, record_id=record_id))
        audit.append(
            session,
            actor=username,
            event="disposal_proposed",
            document_id=document.id,
            detail={"records": ids, "reason": reason},
        )
        start_instance(session, ws, ws.definition(DEFINITION), document, user)
        return document.id


def _proposal_document(session: Session, user: User, count: int, reason: str) -> Document:
    unit = session.get(Unit, user.unit_id)
    assert unit is not None and user.id is not None
    document = Document(
        agency_id=unit.agency_id,
        direction="disposal",
        doc_type=DOC_TYPE,
        type_abbr=DOC_ABBR,
        subject=f"Đề nghị hủy {count} tài liệu hết thời hạn bảo quản: {reason}",
        unit_id=user.unit_id,
        author_id=user.id,
    )
    session.add(document)
    session.flush()
    return document


# --- Listing ------------------------------------------------------------------------------------


def _view(session: Session, disposal: Disposal) -> DisposalView:
    assert disposal.id is not None
    items = session.exec(
        select(DisposalItem.record_id)
        .where(DisposalItem.disposal_id == disposal.id)
        .order_by(col(DisposalItem.id))
    ).all()
    instance = instance_of(session, disposal.document_id)
    assert instance.id is not None
    return DisposalView(
        number=disposal.document_id,
        state=disposal.state,
        reason=disposal.reason,
        proposed_by=disposal.proposed_by,
        proposed_at=_aware(disposal.proposed_at),
        records=tuple(items),
        waiting_at=waiting_at(session, instance.id),
        disposed_at=_aware(disposal.disposed_at) if disposal.disposed_at else None,
        record_id=disposal.record_id,
        disposal_record=json.loads(disposal.record_json) if disposal.record_json else None,
    )


def list_disposals(ws: Workspace) -> list[DisposalView]:
    """Every proposal, newest first."""
    with Session(ws.db) as session:
        rows = session.exec(select(Disposal).order_by(col(Disposal.id).desc())).all()
        return [_view(session, row) for row in rows]


def show_disposal(ws: Workspace, number: int) -> DisposalView:
    with Session(ws.db) as session:
        return _view(session, _disposal_of(session, number))


def _disposal_of(session: Session, document_id: int) -> Disposal:
    disposal = session.exec(select(Disposal).where(Disposal.document_id == document_id)).first()
    if disposal is None:
        raise NotFound(
            f"không có tờ trình hủy tài liệu #{document_id}",
            f"there is no disposal proposal #{document_id}",
            code="disposal.not_found",
            number=document_id,
        )
    return disposal


# --- The automated step -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Removal:
    """What disposing of one record removes from the store, and what it must leave."""

    record: ArchiveRecord
    delete: tuple[str, ...]
    """Content keys: the objects of every revision, then the document's working copies."""
    kept: tuple[str, ...]
    """Content keys whose bytes another document, or a record under retention, also holds."""
    manifests: tuple[str, ...]
    """The record's manifest and its revisions, deleted after the objects."""


@dataclass(frozen=True)
class _Plan:
    disposal: Disposal
    removals: tuple[_Removal, ...]

    @property
    def records(self) -> tuple[ArchiveRecord, ...]:
        return tuple(r.record for r in self.removals)


def dispose_records(ws: Workspace, item: OutboxItem) -> Finisher:
    """Write the biên bản, delete the records' objects, mark them disposed (idempotent)."""
    now = clock.now()
    with Session(ws.db) as session:
        disposal = _disposal_of(session, item.document_id)
        if disposal.state == "disposed":
            done = disposal.record_id
            return lambda _session: {"disposal_record": done, "reused": True}
        plan = _plan(session, ws, disposal, now, item.step_id)
        content = _disposal_record(session, ws, plan, now)
    record_id, stored = _keep_for_ever(ws, content)
    deleted = _delete(ws, plan, item.step_id)

    def finish(session: Session) -> dict[str, Any]:
        return _mark_disposed(session, plan, record_id, stored, deleted)

    return finish


def _plan(session: Session, ws: Workspace, disposal: Disposal, now: datetime, step: str) -> _Plan:
    assert disposal.id is not None
    ids = session.exec(
        select(DisposalItem.record_id)
        .where(DisposalItem.disposal_id == disposal.id)
        .order_by(col(DisposalItem.id))
    ).all()
    records = _records(session, ids)
    # Checked again: time passed since the proposal, and a check costs nothing here.
    problems = [p for p in (refusal(session, r, now) for r in records) if p]
    if problems:
        raise _refused(
            "không hủy được: ",
            "cannot dispose: ",
            problems,
            document_id=disposal.document_id,
            step=step,
        )
    documents = {r.document_id for r in records if r.document_id is not None}
    record_ids = {r.record_id for r in records}
    removals = []
    for record in records:
        shas = _record_shas(ws, record)
        if record.document_id is not None:
            shas += session.exec(
                select(DocumentFile.sha256).where(DocumentFile.document_id == record.document_id)
            ).all()
        used = _still_used(session, set(shas), documents, record_ids)
        keys = [content_key(sha) for sha in dict.fromkeys(shas)]
        kept = {content_key(sha) for sha in used} | {k for k in keys if _locked(ws, k, now)}
        manifests = _manifest_keys(ws, record.record_id)
        for key in manifests:
            if _locked(ws, key, now):
                raise Conflict(
                    f"bản lưu {record.record_id}: kho còn giữ {key} đến sau hôm nay, khác thời hạn"
                    " trong cơ sở dữ liệu; không hủy",
                    f"record {record.record_id}: the store keeps {key} beyond today, unlike the"
                    " retention date in the database; not disposed of",
                    code="disposal.store_retention_mismatch",
                    document_id=disposal.document_id,
                    step=step,
                    record_id=record.record_id,
                    key=key,
                )
        removals.append(
            _Removal(
                record,
                tuple(k for k in keys if k not in kept),
                tuple(k for k in keys if k in kept),
                manifests,
            )
        )
    return _Plan(disposal, tuple(removals))


def _record_shas(ws: Workspace, record: ArchiveRecord) -> list[str]:
    try:
        revisions = list_revisions(ws.store, record.record_id)
    except ObjectNotFound:  # a retry after the manifest went: the objects went before it
        return [record.pdf_sha256]
    return [ref.sha256 for manifest in revisions for ref in manifest.objects]


def _manifest_keys(ws: Workspace, record_id: str) -> tuple[str, ...]:
    """The record's manifests, newest revision first, the first manifest last.

    The layout ('records/<id>.json', 'revisions/<id>/NNNNNN.json') is the store's; the first
    manifest goes last so that a crash midway leaves the record findable for a retry.
    """
    revisions = sorted(ws.store.list_keys(f"revisions/{record_id}/"), reverse=True)
    first = f"records/{record_id}.json"
    return (*revisions, first) if ws.store.exists(first) else tuple(revisions)


def _locked(ws: Workspace, key: str, now: datetime) -> bool:
    try:
        until = ws.store.retention(key)
    except ObjectNotFound:
        return False
    return until is not None and until > now


def _still_used(
    session: Session, shas: set[str], disposed_docs: set[int], disposed: set[str]
) -> set[str]:
    """Contents another document or live record also holds (the store is content-addressed)."""
    if not shas:
        return set()
    used = set(
        session.exec(
            select(DocumentFile.sha256).where(
                col(DocumentFile.sha256).in_(shas),
                col(DocumentFile.document_id).not_in(list(disposed_docs)),
            )
        ).all()
    )
    used |= set(
        session.exec(
            select(ArchiveRecord.pdf_sha256).where(
                col(ArchiveRecord.pdf_sha256).in_(shas),
                col(ArchiveRecord.disposed_at).is_(None),
                col(ArchiveRecord.record_id).not_in(list(disposed)),
            )
        ).all()
    )
    return used


def _person(
    session: Session, username: str | None = None, user_id: int | None = None
) -> dict[str, Any]:
    user = (
        session.get(User, user_id)
        if user_id is not None
        else session.exec(select(User).where(User.username == username)).first()
    )
    if user is None:
        return {"username": username}
    return {"username": user.username, "full_name": user.full_name, "title": user.title}


def _approvals(session: Session, ws: Workspace, document_id: int) -> list[dict[str, Any]]:
    instance = session.exec(
        select(WorkflowInstance).where(WorkflowInstance.document_id == document_id)
    ).one()
    definition = ws.definition_for(instance, session)
    tasks = session.exec(
        select(Task)
        .where(Task.instance_id == instance.id, Task.state == "done")
        .order_by(col(Task.completed_at), col(Task.id))
    ).all()
    return [
        {
            "step": definition.step(t.step_id).title,
            "action": t.action,
            "by": _person(session, user_id=t.completed_by),
            "at": vietnam_time(_aware(t.completed_at)).isoformat() if t.completed_at else None,
            "comment": t.comment,
        }
        for t in tasks
    ]


def _disposal_record(session: Session, ws: Workspace, plan: _Plan, now: datetime) -> dict[str, Any]:
    """The biên bản hủy: what was destroyed, on whose proposal and approval, and when."""
    disposal = plan.disposal
    assert disposal.id is not None
    document = session.get(Document, disposal.document_id)
    assert document is not None
    agency = session.get(Agency, document.agency_id)
    assert agency is not None
    year = vietnam_time(now).year
    return {
        "title": "BIÊN BẢN HỦY TÀI LIỆU HẾT GIÁ TRỊ",
        "identifier": f"{agency.code}-{year}-HUY-{disposal.id:04d}",
        "agency": {"code": agency.code, "name": agency.name},
        "proposal": {
            "number": disposal.document_id,
            "reason": disposal.reason,
            "proposed_by": _person(session, disposal.proposed_by),
            "proposed_at": vietnam_time(_aware(disposal.proposed_at)).isoformat(),
        },
        "approvals": _approvals(session, ws, disposal.document_id),
        "disposed_at": vietnam_time(now).isoformat(),
        "records": [_record_entry(session, removal) for removal in plan.removals],
    }


def _record_entry(session: Session, removal: _Removal) -> dict[str, Any]:
    record = removal.record
    file = session.get(ArchiveFile, record.file_id) if record.file_id else None
    return {
        "identifier": record.record_id,
        "symbol": record.symbol,
        "doc_type": record.doc_type,
        "subject": record.subject,
        "issued_at": vietnam_time(_aware(record.issued_at)).isoformat()
        if record.issued_at
        else None,
        "file": file.code if file else None,
        "retention_years": record.retention_years,
        "retain_until": _aware(record.retain_until).isoformat() if record.retain_until else None,
        "signature_verdict": record.signature_verdict,
        "pdf_sha256": record.pdf_sha256,
        "deleted_objects": list(removal.delete),
        "kept_objects": list(removal.kept),
        "kept_because": "cùng nội dung với văn bản hoặc bản lưu khác vẫn còn giữ"
        if removal.kept
        else None,
    }


def _keep_for_ever(ws: Workspace, content: dict[str, Any]) -> tuple[str, bytes]:
    """Store the biên bản as a permanent record; a retry finds the first one and keeps it."""
    record_id = str(content["identifier"])
    records = [r["identifier"] for r in content["records"]]
    proposal = content["proposal"]["number"]
    try:
        manifest = read_record(ws.store, record_id)
    except ObjectNotFound:
        body = json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
        name = f"bien-ban-huy-{record_id}.json"
        metadata = {
            "identifier": record_id,
            "doc_type": "Biên bản hủy tài liệu",
            "subject": content["title"],
            "retention": "Vĩnh viễn",
            "records": records,
            "proposal": proposal,
        }
        objects = [NewObject(RECORD_ROLE, name, body, JSON_TYPE)]
        write_record(ws.store, record_id, objects, metadata, retain_until=ws.store.max_retain_until)
        return record_id, body
    # A retry of this disposal finds its own biên bản; anything else under this identifier (a
    # database rebuilt from the store numbers disposals afresh) must never stand in for it.
    if manifest.metadata.get("records") != records or manifest.metadata.get("proposal") != proposal:
        raise Conflict(
            f"kho đã có biên bản hủy {record_id} của một tờ trình khác; không ghi đè, không hủy",
            f"the store already holds disposal record {record_id} of another proposal; it is"
            " not overwritten and nothing is disposed of",
            code="disposal.record_exists",
            document_id=proposal,
            record_id=record_id,
        )
    ref = next(r for r in manifest.objects if r.role == RECORD_ROLE)
    return record_id, get_content(ws.store, ref.sha256)


def _delete(ws: Workspace, plan: _Plan, step: str) -> int:
    """Delete every planned object, then each record's manifests; gone already is fine (a retry).

    The store refuses an object under retention (storage.RetentionError): the step then fails
    with the store's reason and date, and nothing is marked disposed.
    """
    deleted = 0
    for removal in plan.removals:
        for key in (*removal.delete, *removal.manifests):
            deleted += _delete_key(ws, key, plan.disposal.document_id, step)
    return deleted


def _delete_key(ws: Workspace, key: str, document_id: int, step: str) -> int:
    try:
        ws.store.delete(key)
    except ObjectNotFound:
        return 0
    except RetentionError as exc:  # the store's own clock says no: never retried
        raise Conflict(
            f"kho lưu trữ không xóa được: {exc}",
            f"the store would not delete: {exc.english}",
            code="disposal.under_retention",
            document_id=document_id,
            step=step,
            key=key,
            until=exc.until,
        ) from exc
    except StorageError as exc:  # a timeout is retried, anything else is not
        raise EngineError(
            f"kho lưu trữ không xóa được: {exc}",
            f"the store would not delete: {exc.english}",
            code="disposal.delete_failed",
            retryable=exc.retryable,
            document_id=document_id,
            step=step,
            key=key,
        ) from exc
    return 1


def _mark_disposed(
    session: Session,
    plan: _Plan,
    record_id: str,
    stored: bytes,
    deleted: int,
) -> dict[str, Any]:
    now = clock.now()
    disposal = session.get(Disposal, plan.disposal.id, with_for_update=True)
    assert disposal is not None
    ids = [r.record_id for r in plan.records]
    for record in session.exec(
        select(ArchiveRecord).where(col(ArchiveRecord.record_id).in_(ids)).with_for_update()
    ):
        record.disposed_at = now
        session.add(record)
        remove_from_index(session, record.record_id)
    disposal.state, disposal.disposed_at = "disposed", now
    disposal.record_id, disposal.record_json = record_id, stored.decode("utf-8")
    disposal.record_sha256 = hashlib.sha256(stored).hexdigest()
    session.add(disposal)
    audit.append(
        session,
        actor="system",
        event="records_disposed",
        document_id=disposal.document_id,
        detail={
            "disposal_record": record_id,
            "sha256": disposal.record_sha256,
            "records": ids,
            "deleted_objects": deleted,
        },
    )
    return {"disposal_record": record_id, "records": ids, "deleted_objects": deleted}
