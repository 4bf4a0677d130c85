"""Archiving a document, the last automated step of both flows.

The record goes to the store: its PDF (PAdES B-LTA for an outgoing one), its source DOCX,
attachments, an OCR copy of a scan and the metadata JSON with the signature report made now,
written with the retention date of its class; then its database row and full-text entry, and
the manifest's hash in the audit log (engine.archive.revisions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from engine.archive import records, retention, revisions
from engine.archive.extraction import ExtractedText, extract_text
from engine.archive.search import index_record
from engine.core.models import (
    Agency,
    ArchiveRecord,
    Document,
    DocumentFile,
    OutboxItem,
    Register,
    User,
)
from engine.core.text import vietnam_time
from engine.core.workspace import Finisher, Workspace
from engine.signatures import keys
from engine.workflow.files import (
    DOCX_TYPE,
    PDF_TYPE,
    find_document,
    newest_file,
    require_step_file,
)
from signing import verify_document
from storage import (
    NewObject,
    ObjectNotFound,
    PendingRecord,
    RecordManifest,
    finish_pending,
    get_content,
    pending_record,
    read_record,
    write_record,
)
from vanthu import clock


def archive_document(ws: Workspace, item: OutboxItem) -> Finisher:
    """Archive the document as a record: in the store its PDF, its source (DOCX), attachments,
    an OCR copy of a scan and the metadata JSON (with the signature report made now), written
    with the retention date of its class; in the database its row and its full-text entry, and
    in the audit log the manifest written.

    A retry finds the record in the store and indexes that one: OCR is not run again, so the
    stored record never changes. A retry after a crash between the objects and the manifest
    finishes the record with the objects already written (they are locked: a second set would
    stay for ever), and reuses the archival PDF and OCR copy of the first attempt when only
    some objects made it.
    """
    with Session(ws.db) as session:
        document = find_document(session, item.document_id)
        related = _related(session, document)
    main_kind = "issued" if document.direction == "outgoing" else "received"
    main = require_step_file(ws, item.document_id, main_kind, item.step_id)
    record_id = str(_metadata(document, related, verdict="")["identifier"])
    try:
        manifest = read_record(ws.store, record_id)
        text = records.stored_text(ws.store, manifest)
    except ObjectNotFound:
        pending = pending_record(ws.store, record_id)
        if pending is not None and not _ours(ws, pending, document, related, main):
            pending = None  # not what this step writes: its objects are left as orphans
        if pending is not None and pending.complete:
            manifest = finish_pending(ws.store, pending)
            text = records.stored_text(ws.store, manifest)
        else:
            reused = _reusable(ws, pending)
            manifest, text = _write(ws, item, document, related, main, record_id, reused)

    def finish(session: Session) -> dict[str, Any]:
        record = session.exec(
            select(ArchiveRecord).where(ArchiveRecord.document_id == item.document_id)
        ).first()
        if record is None:
            record = ArchiveRecord(document_id=item.document_id, **records.record_fields(manifest))
            session.add(record)
            session.flush()
            index_record(session, record, text)
            revisions.audit_written(session, actor="system", manifest=manifest, via="archive")
        return {
            "record_id": record_id,
            "verdict": record.signature_verdict,
            "pdf_sha256": record.pdf_sha256,
            "objects": len(manifest.objects),
            "manifest_sha256": manifest.digest,
        }

    return finish


_REUSED = ("pdf", "ocr")
"""Objects a retry takes from an interrupted attempt rather than making again: the archival
PDF (its document timestamp) and the OCR copy differ each time they are made."""


_IDENTITY = (
    "identifier",
    "document_id",
    "direction",
    "agency_code",
    "register_code",
    "number",
    "symbol",
    "doc_type",
    "subject",
    "issued_at",
    "received_at",
    "access",
    "retention_years",
    "retain_until",
)
"""Metadata a pending note must share with the document for its objects to be taken up."""


def _ours(
    ws: Workspace,
    pending: PendingRecord,
    document: Document,
    related: _Related,
    main: DocumentFile,
) -> bool:
    """Whether an interrupted write's note is this document's record as this step makes it:
    the same identity, and a PDF that is the document's own (for an outgoing one, the issued PDF
    with the archival timestamp appended as an incremental update). The note is in the store,
    unlocked: anyone who can write there could have put it, so it is checked, never trusted."""
    expected = _metadata(document, related, verdict="", schedule=retention.schedule_for(ws))
    meta = pending.manifest.metadata
    if any(meta.get(key) != expected.get(key) for key in _IDENTITY):
        return False
    pdf = next((ref for ref in pending.present if ref.role == "pdf"), None)
    if pdf is None:
        return not any(ref.role == "pdf" for ref in pending.manifest.objects)
    archived = get_content(ws.store, pdf.sha256)
    original = get_content(ws.store, main.sha256)
    if document.direction == "outgoing":
        return archived.startswith(original)
    return archived == original


def _reusable(ws: Workspace, pending: PendingRecord | None) -> dict[str, bytes]:
    if pending is None:
        return {}
    return {
        ref.role: get_content(ws.store, ref.sha256)
        for ref in pending.present
        if ref.role in _REUSED
    }


def _write(
    ws: Workspace,
    item: OutboxItem,
    document: Document,
    related: _Related,
    main: DocumentFile,
    record_id: str,
    reused: dict[str, bytes],
) -> tuple[RecordManifest, str]:
    """Make the record's objects and metadata and write it to the store."""
    pdf = reused.get("pdf")
    if pdf is None:
        pdf = get_content(ws.store, main.sha256)
        if document.direction == "outgoing":  # kept as PAdES B-LTA: validation data, timestamp
            pdf = keys.archival(ws, pdf)
    report = verify_document(pdf, keys.trust_roots(ws))
    ocr = reused.get("ocr")
    if ocr is None:
        extracted = records.full_text(pdf)
    else:
        pages = extract_text(pdf, ocr=False).pages
        extracted = ExtractedText(extract_text(ocr, ocr=False).text, pages, ocr)
    schedule = retention.schedule_for(ws)
    metadata = _metadata(
        document, related, verdict=report.verdict, pages=extracted.pages, schedule=schedule
    )
    with Session(ws.db) as session:
        source = newest_file(session, item.document_id, "draft")
        signer = report.signatures[0].signer if report.signatures else None
        if document.direction == "incoming" and signer:
            metadata["signer"] = signer
        objects = [NewObject("pdf", main.filename, pdf, PDF_TYPE)]
        if source is not None:
            data = get_content(ws.store, source.sha256)
            objects.append(NewObject("source", source.filename, data, DOCX_TYPE))
        if extracted.ocr_pdf is not None:
            name = main.filename.rsplit(".", 1)[0] + "-ocr.pdf"
            objects.append(NewObject("ocr", name, extracted.ocr_pdf, PDF_TYPE))
        objects += records.attachment_objects(
            session, ws.store, item.document_id, document.direction
        )
    # the report made at archiving stays with the record (re-validation runs elsewhere)
    metadata["signature_report"] = json.loads(json.dumps(report.to_json(), default=str))
    until = records.stored_until(metadata)
    manifest = write_record(
        ws.store,
        record_id,
        objects,
        metadata,
        retain_until=retention.store_retain_until(ws.store, until),
    )
    return manifest, extracted.text


@dataclass(frozen=True)
class _Related:
    """The rows the record's metadata names beside the document, read once per step (outside
    any transaction held across the signing and validation)."""

    agency: Agency
    signer: User | None
    register: Register | None


def _related(session: Session, document: Document) -> _Related:
    agency = session.get(Agency, document.agency_id)
    signer = session.get(User, document.signer_id) if document.signer_id else None
    register = session.get(Register, document.register_id) if document.register_id else None
    assert agency is not None
    return _Related(agency, signer, register)


def _metadata(
    document: Document,
    related: _Related,
    *,
    verdict: str,
    pages: int | None = None,
    schedule: retention.RetentionSchedule | None = None,
) -> dict[str, Any]:
    """The record's metadata, from the database only, so a retry writes the same record. Keys
    are the ArchiveRecord columns (``records.record_fields`` reads them back) and more."""
    agency, signer, register = related.agency, related.signer, related.register
    direction = "DI" if document.direction == "outgoing" else "DEN"
    year = document.year or vietnam_time(document.created_at).year
    outgoing = document.direction == "outgoing"
    matter_year = vietnam_time(document.issued_at or clock.now()).year
    years = None
    if schedule is not None:
        years = schedule.years_for(document.doc_type, register.code if register else None)
    until = retention.retain_until(years, matter_year)
    return {
        "identifier": f"{agency.code}-{year}-{direction}-{register.code if register else 'X'}-"
        f"{(document.number or 0):04d}",
        "document_id": document.id,
        "agency": agency.name if outgoing else (document.sender or ""),
        "agency_code": agency.code if outgoing else "",
        "holder": agency.name,
        "holder_code": agency.code,
        "direction": document.direction,
        "register": register.name if register else None,
        "register_code": register.code if register else None,
        "number": document.number,
        "symbol": document.symbol or document.sender_symbol,
        "sender": document.sender,
        "sender_symbol": document.sender_symbol,
        "issued_at": vietnam_time(document.issued_at).isoformat() if document.issued_at else None,
        "received_at": None if outgoing else vietnam_time(document.created_at).isoformat(),
        "doc_type": document.doc_type,
        "subject": document.subject,
        "signer": signer.full_name if signer else None,
        "signer_title": signer.title if signer else None,
        "recipients": [r for r in document.recipients.splitlines() if r],
        "pages": pages,
        "language": "vi",
        "matter_year": matter_year,
        "retention_years": years,
        "retention": retention.label(years),
        "retain_until": vietnam_time(until).isoformat() if until else None,
        "access": schedule.access_for(document.doc_type) if schedule else "public",
        "signature_verdict": verdict,
        "file": None,
        "file_title": None,
    }
