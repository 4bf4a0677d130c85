"""Automated steps as plain functions: the outside work first, then a finisher for the database.

Each is safe to run again: a step whose result is already recorded returns a finisher that
changes nothing, and the number step takes its number inside the completing transaction.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from engine import archive, keys, retention
from engine.attachments import seal_attachments
from engine.conversion import docx_to_pdf, find_form_layout
from engine.disposal import dispose_records
from engine.errors import EngineError
from engine.models import (
    Agency,
    ArchiveRecord,
    Document,
    DocumentFile,
    OutboxItem,
    Register,
    User,
)
from engine.numbering import format_symbol, next_number, register_for, unit_code
from engine.outbox import Finisher, StepFunction
from engine.search import index_record
from engine.text import date_line, vietnam_time
from engine.workspace import Workspace
from signing import add_form_fields, issue, verify_document
from storage import (
    NewObject,
    ObjectNotFound,
    get_content,
    put_content,
    read_record,
    write_record,
)

PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _load(ws: Workspace, document_id: int) -> Document:
    with Session(ws.db) as session:
        document = session.get(Document, document_id)
        if document is None:
            raise EngineError(f"không có văn bản #{document_id}")
        return document


def _latest(ws: Workspace, document_id: int, kind: str) -> DocumentFile | None:
    with Session(ws.db) as session:
        return session.exec(
            select(DocumentFile)
            .where(DocumentFile.document_id == document_id, DocumentFile.kind == kind)
            .order_by(col(DocumentFile.id).desc())
        ).first()


def _require(ws: Workspace, document_id: int, kind: str, step: str) -> DocumentFile:
    found = _latest(ws, document_id, kind)
    if found is None:
        raise EngineError(f"thiếu tệp '{kind}'", document_id=document_id, step=step)
    return found


def _record_file(
    document_id: int, kind: str, version: int, sha: str, size: int, name: str
) -> Finisher:
    def finish(session: Session) -> dict[str, Any]:
        exists = session.exec(
            select(DocumentFile).where(
                DocumentFile.document_id == document_id,
                DocumentFile.kind == kind,
                DocumentFile.sha256 == sha,
            )
        ).first()
        if exists is None:
            session.add(
                DocumentFile(
                    document_id=document_id,
                    kind=kind,
                    version=version,
                    sha256=sha,
                    size=size,
                    filename=name,
                )
            )
        return {"sha256": sha, "bytes": size}

    return finish


def prepare_pdf(ws: Workspace, docx: bytes) -> bytes:
    """LibreOffice's PDF with the number, date, signer and seal fields placed by the layout."""
    pdf = docx_to_pdf(docx, soffice=ws.settings.soffice)
    return add_form_fields(pdf, find_form_layout(pdf))


def convert_to_pdf(ws: Workspace, item: OutboxItem) -> Finisher:
    """The newest draft version to PDF, with the number, date, signer and seal fields."""
    draft = _require(ws, item.document_id, "draft", item.step_id)
    done = _latest(ws, item.document_id, "pdf")
    if done is not None and done.version == draft.version:  # converted when it was uploaded
        return lambda session: {"sha256": done.sha256, "reused": True}
    prepared = prepare_pdf(ws, get_content(ws.store, draft.sha256))
    sha = put_content(ws.store, prepared, PDF_TYPE)
    name = draft.filename.rsplit(".", 1)[0] + ".pdf"
    return _record_file(item.document_id, "pdf", draft.version, sha, len(prepared), name)


def assign_number(ws: Workspace, item: OutboxItem) -> Finisher:
    """Number and issue time from the register, taken in the completing transaction."""

    def finish(session: Session) -> dict[str, Any]:
        document = session.get(Document, item.document_id, with_for_update=True)
        assert document is not None and document.id is not None
        if document.number is not None:
            return {"symbol": document.symbol, "number": document.number, "reused": True}
        agency = session.get(Agency, document.agency_id)
        assert agency is not None
        register = register_for(session, agency, "outgoing", document.type_abbr)
        assert register.id is not None
        issued_at = datetime.now(UTC)
        year = vietnam_time(issued_at).year
        number = next_number(session, register.id, year)
        document.register_id, document.year, document.number = register.id, year, number
        document.issued_at = issued_at
        document.symbol = format_symbol(
            number,
            type_abbr=document.type_abbr,
            agency_code=agency.code,
            unit_code=unit_code(session, document.unit_id),
        )
        session.add(document)
        return {"symbol": document.symbol, "number": number, "register": register.code}

    return finish


def apply_seal(ws: Workspace, item: OutboxItem) -> Finisher:
    """Fill number and date into the leader-signed PDF and add the agency's seal signature;
    sign the attachments kept in files of their own with the attachment stamp."""
    document = _load(ws, item.document_id)
    signed = _require(ws, item.document_id, "signed", item.step_id)
    done = _latest(ws, item.document_id, "issued")
    if done is not None and done.version == signed.version:
        return _record_file(
            item.document_id, "issued", done.version, done.sha256, done.size, done.filename
        )
    if document.symbol is None or document.issued_at is None:
        raise EngineError("văn bản chưa có số", document_id=item.document_id, step=item.step_id)
    with keys.signing_policy(ws, "B-T"):  # seal and attachment stamps carry the TSA time
        issued = issue(
            get_content(ws.store, signed.sha256),
            number=document.symbol,
            date_text=date_line(document.issued_at),
            key=keys.agency_key(ws),
            seal_image=keys.seal_image(ws),
        )
        sha = put_content(ws.store, issued, PDF_TYPE)
        name = document.symbol.replace("/", "-") + ".pdf"
        record = _record_file(item.document_id, "issued", signed.version, sha, len(issued), name)
        return seal_attachments(ws, document, record)  # each attachment in its own file, signed


def archive_document(ws: Workspace, item: OutboxItem) -> Finisher:
    """Archive the document as a record: in the store its PDF, its source (DOCX), attachments,
    an OCR copy of a scan and the metadata JSON (with the signature report made now), written
    with the retention date of its class; in the database its row and its full-text entry.

    A retry finds the record in the store and indexes that one: OCR is not run again, so the
    stored record never changes.
    """
    document = _load(ws, item.document_id)
    main_kind = "issued" if document.direction == "outgoing" else "received"
    main = _require(ws, item.document_id, main_kind, item.step_id)
    with Session(ws.db) as session:
        record_id = str(_metadata(session, document, verdict="")["identifier"])
    try:
        manifest = read_record(ws.store, record_id)
        text = archive.stored_text(ws.store, manifest)
    except ObjectNotFound:
        pdf = get_content(ws.store, main.sha256)
        if document.direction == "outgoing":  # kept as PAdES B-LTA: validation data, timestamp
            pdf = keys.archival(ws, pdf)
        report = verify_document(pdf, keys.trust_roots(ws))
        extracted = archive.full_text(pdf)
        schedule = retention.schedule_for(ws)
        source = _latest(ws, item.document_id, "draft")
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
            objects += archive.attachment_objects(
                session, ws.store, item.document_id, document.direction
            )
        # the report made at archiving stays with the record (re-validation runs elsewhere)
        metadata["signature_report"] = json.loads(json.dumps(report.to_json(), default=str))
        until = archive.stored_until(metadata)
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
            record = ArchiveRecord(document_id=item.document_id, **archive.record_fields(manifest))
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
    are the ArchiveRecord columns (engine.archive.record_fields reads them back) and more."""
    agency = session.get(Agency, document.agency_id)
    signer = session.get(User, document.signer_id) if document.signer_id else None
    register = session.get(Register, document.register_id) if document.register_id else None
    assert agency is not None
    direction = "DI" if document.direction == "outgoing" else "DEN"
    year = document.year or vietnam_time(document.created_at).year
    outgoing = document.direction == "outgoing"
    matter_year = vietnam_time(document.issued_at or datetime.now(UTC)).year
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


def verify_incoming(ws: Workspace, item: OutboxItem) -> Finisher:
    """Verify every signature of a received PDF and keep the verdict with the document."""
    received = _require(ws, item.document_id, "received", item.step_id)
    report = verify_document(get_content(ws.store, received.sha256), keys.trust_roots(ws))

    def finish(session: Session) -> dict[str, Any]:
        document = session.get(Document, item.document_id, with_for_update=True)
        assert document is not None
        document.verification = json.dumps(report.to_json(), ensure_ascii=False, default=str)
        session.add(document)
        return {"verdict": report.verdict, "signatures": len(report.signatures)}

    return finish


def register_incoming(ws: Workspace, item: OutboxItem) -> Finisher:
    """The incoming number (số đến): consecutive within the year, in order of registration."""

    def finish(session: Session) -> dict[str, Any]:
        document = session.get(Document, item.document_id, with_for_update=True)
        assert document is not None
        if document.number is not None:
            return {"number": document.number, "reused": True}
        agency = session.get(Agency, document.agency_id)
        assert agency is not None
        register = register_for(session, agency, "incoming", None)
        assert register.id is not None
        year = vietnam_time(datetime.now(UTC)).year
        document.register_id, document.year = register.id, year
        document.number = next_number(session, register.id, year)
        session.add(document)
        return {"number": document.number, "register": register.code}

    return finish


STEP_FUNCTIONS: dict[str, StepFunction] = {
    "convert_to_pdf": convert_to_pdf,
    "assign_number": assign_number,
    "apply_seal": apply_seal,
    "archive_document": archive_document,
    "verify_incoming": verify_incoming,
    "register_incoming": register_incoming,
    "dispose_records": dispose_records,
}
