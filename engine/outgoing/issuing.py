"""The clerk's issuing, as automated steps: the draft to PDF, the number, the seal.

Each is safe to run again: a step whose result is already recorded returns a finisher that
changes nothing, and the number is taken inside the completing transaction. A number once taken
is never given back (the register has no gaps), so before taking one the number step checks
what would make the seal fail: the signed PDF in the store, the agency's key and seal image, its
certificate under the signing policy (trusted, valid, not revoked), the attachments signable.
If the seal still fails, the definition's ``on_failure`` hands the document back to the clerk,
its number kept for the next try.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from engine.core.errors import Conflict
from engine.core.models import Agency, Document, OutboxItem
from engine.core.registers import format_symbol, next_number, register_for, unit_code
from engine.core.text import date_line, vietnam_time
from engine.core.workspace import Finisher, Workspace
from engine.outgoing.attachments import check_attachments_signable, seal_attachments
from engine.outgoing.conversion import prepare_pdf
from engine.signatures import keys
from engine.workflow.files import (
    PDF_TYPE,
    find_document,
    load_document,
    newest_file,
    record_file,
    require_step_file,
    step_file,
)
from signing import Level, check_signing_policy, issue
from storage import get_content, put_content
from vanthu import clock

ISSUED_LEVEL: Level = "B-LT"
"""What leaves the agency: timestamped, with the validation data embedded (PAdES B-LT)."""


def convert_to_pdf(ws: Workspace, item: OutboxItem) -> Finisher:
    """The newest draft version to PDF, with the number, date, signer and seal fields."""
    draft = require_step_file(ws, item.document_id, "draft", item.step_id)
    done = step_file(ws, item.document_id, "pdf")
    if done is not None and done.version == draft.version:  # converted when it was uploaded
        return lambda session: {"sha256": done.sha256, "reused": True}
    prepared = prepare_pdf(ws, get_content(ws.store, draft.sha256))
    sha = put_content(ws.store, prepared, PDF_TYPE)
    name = draft.filename.rsplit(".", 1)[0] + ".pdf"
    return record_file(item.document_id, "pdf", draft.version, sha, len(prepared), name)


def assign_number(ws: Workspace, item: OutboxItem) -> Finisher:
    """Number and issue time from the register, taken in the completing transaction, once the
    seal is known to be possible."""
    if load_document(ws, item.document_id).number is None:
        check_seal_ready(ws, item)

    def finish(session: Session) -> dict[str, Any]:
        document = session.get(Document, item.document_id, with_for_update=True)
        assert document is not None and document.id is not None
        if document.number is not None:
            return {"symbol": document.symbol, "number": document.number, "reused": True}
        agency = session.get(Agency, document.agency_id)
        assert agency is not None
        register = register_for(
            session, agency, "outgoing", document.type_abbr, secret=document.secrecy is not None
        )
        assert register.id is not None
        issued_at = clock.now()
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


def check_seal_ready(ws: Workspace, item: OutboxItem) -> None:
    """Refuse now what would make :func:`apply_seal` fail, before a number is spent on it."""
    signed = require_step_file(ws, item.document_id, "signed", item.step_id)
    get_content(ws.store, signed.sha256)  # the store answers and holds it, intact
    key = keys.agency_key(ws)
    keys.seal_image(ws)
    with keys.signing_policy(ws, ISSUED_LEVEL):  # trusted, valid, not revoked (OCSP/CRL now)
        check_signing_policy(key.certificate, key.chain, kind="organisation")
    check_attachments_signable(ws, item.document_id)


def apply_seal(ws: Workspace, item: OutboxItem) -> Finisher:
    """Fill number and date into the leader-signed PDF and add the agency's seal signature;
    sign the attachments kept in files of their own with the attachment stamp."""
    with Session(ws.db) as session:  # one read for the document and its issued copy
        document = find_document(session, item.document_id)
        done = newest_file(session, item.document_id, "issued")
    signed = require_step_file(ws, item.document_id, "signed", item.step_id)
    if done is not None and done.version == signed.version:
        return record_file(
            item.document_id, "issued", done.version, done.sha256, done.size, done.filename
        )
    if document.symbol is None or document.issued_at is None:
        raise Conflict(
            "văn bản chưa có số",
            "the document has no number yet",
            code="document.not_numbered",
            document_id=item.document_id,
            step=item.step_id,
        )
    # B-LT: the TSA's time and the revocation data inside, so a recipient validates offline
    with keys.signing_policy(ws, ISSUED_LEVEL):
        issued = issue(
            get_content(ws.store, signed.sha256),
            number=document.symbol,
            date_text=date_line(document.issued_at),
            key=keys.agency_key(ws),
            seal_image=keys.seal_image(ws),
        )
        sha = put_content(ws.store, issued, PDF_TYPE)
        name = document.symbol.replace("/", "-") + ".pdf"
        record = record_file(item.document_id, "issued", signed.version, sha, len(issued), name)
        return seal_attachments(ws, document, record)  # each attachment in its own file, signed
