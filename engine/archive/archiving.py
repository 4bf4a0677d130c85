"""Archiving a document, the last automated step of both flows.

The record goes to the store: its PDF (PAdES B-LTA for an outgoing one), its source DOCX,
attachments, an OCR copy of a scan and the metadata JSON with the signature report made now,
written with the retention date of its class; then its database row and full-text entry.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select

from engine.archive import records, retention
from engine.archive.search import index_record
from engine.core.models import Agency, ArchiveRecord, Document, OutboxItem, Register, User
from engine.core.text import vietnam_time
from engine.core.workspace import Finisher, Workspace
from engine.signatures import keys
from engine.workflow.files import DOCX_TYPE, PDF_TYPE, load_document, require_step_file, step_file
from signing import verify_document
from storage import NewObject, ObjectNotFound, get_content, read_record, write_record
from vanthu import clock


def archive_document(ws: Workspace, item: OutboxItem) -> Finisher:
    """Archive the document as a record: in the store its PDF, its source (DOCX), attachments,
    an OCR copy of a scan and the metadata JSON (with the signature report made now), written
    with the retention date of its class; in the database its row and its full-text entry.

    A retry finds the record in the store and indexes that one: OCR is not run again, so the
    stored record never changes.
    """
    document = load_document(ws, item.document_id)
    main_kind = "issued" if document.direction == "outgoing" else "received"
    main = require_step_file(ws, item.document_id, main_kind, item.step_id)
    with Session(ws.db) as session:
        record_id = str(_metadata(session, document, verdict="")["identifier"])
    try:
        manifest = read_record(ws.store, record_id)
        text = records.stored_text(ws.store, manifest)
    except ObjectNotFound:
        pdf = get_content(ws.store, main.sha256)
        if document.direction == "outgoing":  # kept as PAdES B-LTA: validation data, timestamp
            pdf = keys.archival(ws, pdf)
        report = verify_document(pdf, keys.trust_roots(ws))
        extracted = records.full_text(pdf)
        schedule = retention.schedule_for(ws)
        source = step_file(ws, item.document_id, "draft")
        with Session(ws.db) as session:
            metadata = _metadata(
                session, document, verdict=report.verdict, pages=extracted.pages, schedule=schedule
            )
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
        text = extracted.text

    def finish(session: Session) -> dict[str, Any]:
        record = session.exec(
            select(ArchiveRecord).where(ArchiveRecord.document_id == item.document_id)
        ).first()
        if record is None:
            record = ArchiveRecord(document_id=item.document_id, **records.record_fields(manifest))
            session.add(record)
            session.flush()
            index_record(session, record, text)
        return {
            "record_id": record_id,
            "verdict": record.signature_verdict,
            "pdf_sha256": record.pdf_sha256,
            "objects": len(manifest.objects),
        }

    return finish


def _metadata(
    session: Session,
    document: Document,
    *,
    verdict: str,
    pages: int | None = None,
    schedule: retention.RetentionSchedule | None = None,
) -> dict[str, Any]:
    """The record's metadata, from the database only, so a retry writes the same record. Keys
    are the ArchiveRecord columns (``records.record_fields`` reads them back) and more."""
    agency = session.get(Agency, document.agency_id)
    signer = session.get(User, document.signer_id) if document.signer_id else None
    register = session.get(Register, document.register_id) if document.register_id else None
    assert agency is not None
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
