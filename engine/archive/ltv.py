"""Long-term validation: keep archived PDFs verifiable after their timestamps' keys expire.

An archived PDF is PAdES B-LTA: validation data of every signature plus a document timestamp.
That timestamp proves nothing once its TSA certificate expires, so before then
`vanthu ltv refresh` (and the `vanthu-ltv-refresh` Prefect schedule) adds the last timestamp's
validation data and a new document timestamp, and stores the result as a new revision of the
record; earlier revisions stay in the archive. Each refresh is one audit event.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from engine.archive import revisions
from engine.archive.records import require_keeper
from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import EngineError, InvalidInput
from engine.core.models import ArchiveRecord
from engine.core.workspace import Workspace
from engine.signatures import keys
from signing import SigningError, archival_timestamp_expiry, renew_archival_timestamp
from storage import NewObject, StorageError, get_content, read_record, revise_record
from vanthu import clock
from vanthu.errors import Kind

PDF_ROLE = "pdf"
PDF_TYPE = "application/pdf"
REASON = "Gia hạn dấu thời gian lưu trữ (PAdES B-LTA)"
DEFAULT_WITHIN_DAYS = 90


class LtvRefreshFailed(EngineError):
    """A scheduled refresh could not renew some record: the flow run fails, so it is seen."""

    code = "ltv.refresh_failed"
    kind = Kind.FAILED


@dataclass(frozen=True)
class Refreshed:
    """One record that got a new document timestamp."""

    record_id: str
    revision: int
    previous_expiry: datetime
    new_expiry: datetime | None
    pdf_sha256: str


@dataclass
class RefreshReport:
    """What one `ltv refresh` run did."""

    checked: int = 0
    """Archived records looked at."""
    refreshed: list[Refreshed] = field(default_factory=list)
    not_due: int = 0
    """Records whose last document timestamp is still good beyond the window."""
    without_timestamp: list[str] = field(default_factory=list)
    """Records whose PDF has no document timestamp (not archived as B-LTA)."""
    failures: list[str] = field(default_factory=list)
    """One Vietnamese sentence per record that could not be refreshed."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["refreshed"] = [
            {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(r).items()}
            for r in self.refreshed
        ]
        return data


def refresh(
    ws: Workspace,
    within_days: int = DEFAULT_WITHIN_DAYS,
    *,
    actor: str = "system",
    now: datetime | None = None,
) -> RefreshReport:
    """Renew the document timestamp of every record whose last one expires within the window.
    For archivists and administrators (and the scheduler)."""
    require_keeper(
        ws, actor, "gia hạn dấu thời gian bản lưu", "renew the archival timestamps of records"
    )
    if within_days < 0:
        raise InvalidInput(
            f"số ngày --within-days phải từ 0 trở lên, không phải {within_days}",
            f"--within-days must be 0 or more, not {within_days}",
            code="ltv.window_invalid",
            within_days=within_days,
        )
    deadline = (now or clock.now()) + timedelta(days=within_days)
    with Session(ws.db) as session:
        records = session.exec(
            select(ArchiveRecord)
            .where(col(ArchiveRecord.disposed_at).is_(None))
            .order_by(col(ArchiveRecord.id))
        ).all()
        record_ids = [r.record_id for r in records]
    report = RefreshReport()
    for record_id in record_ids:
        report.checked += 1
        try:
            _one(ws, record_id, deadline, actor, report)
        except (SigningError, StorageError) as exc:
            report.failures.append(f"bản lưu {record_id}: {exc}")
    return report


def _one(
    ws: Workspace, record_id: str, deadline: datetime, actor: str, report: RefreshReport
) -> None:
    manifest = read_record(ws.store, record_id)
    ref = next((r for r in manifest.objects if r.role == PDF_ROLE), None)
    if ref is None:
        report.without_timestamp.append(record_id)
        return
    pdf = get_content(ws.store, ref.sha256, version_id=ref.version_id)
    expiry = archival_timestamp_expiry(pdf)
    if expiry is None:
        report.without_timestamp.append(record_id)
        return
    if expiry > deadline:
        report.not_due += 1
        return
    renewed = renew_archival_timestamp(
        pdf, trust_roots=keys.trust_roots(ws), tsa_url=keys.tsa_url(ws)
    )
    new_expiry = archival_timestamp_expiry(renewed)
    sha = hashlib.sha256(renewed).hexdigest()
    revision = revise_record(
        ws.store,
        record_id,
        objects=[NewObject(PDF_ROLE, ref.name, renewed, PDF_TYPE)],
        metadata={"archival_timestamp_until": new_expiry.isoformat() if new_expiry else None},
        reason=REASON,
    )
    with transaction(ws.db) as session:
        row = session.exec(
            select(ArchiveRecord).where(ArchiveRecord.record_id == record_id)
        ).first()
        if row is not None:
            row.pdf_sha256 = sha
            session.add(row)
        revisions.audit_written(session, actor=actor, manifest=revision, via="ltv")
        audit.append(
            session,
            actor=actor,
            event="ltv_refreshed",
            detail={
                "record": record_id,
                "revision": revision.revision,
                "previous_sha256": ref.sha256,
                "pdf_sha256": sha,
                "previous_expiry": expiry.isoformat(),
                "new_expiry": new_expiry.isoformat() if new_expiry else None,
            },
        )
    report.refreshed.append(Refreshed(record_id, revision.revision, expiry, new_expiry, sha))
