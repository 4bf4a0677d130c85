"""The whole outgoing flow with real parts: LibreOffice, pyHanko signatures, the store, pdfsig."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session, select

from engine.archive import records as archive
from engine.core import audit
from engine.core.errors import NotAllowed
from engine.core.models import ArchiveRecord, Document, OutboxItem
from engine.core.workspace import Workspace
from engine.outgoing import create_outgoing
from engine.signatures import keys
from engine.workflow import act
from engine.workflow.files import latest_file
from signing import verify_document
from storage import get_content, read_record
from tests_support import (
    DECISION,
    LETTER,
    archived_documents,
    issue_document,
    open_task_steps,
    pdfsig_lines,
    refused,
)


def _issued_pdf(ws: Workspace, doc: int) -> bytes:
    with Session(ws.db) as session:
        issued = latest_file(session, doc, "issued")
    return get_content(ws.store, issued.sha256)


def test_a_decision_is_numbered_sealed_verified_and_archived(
    agency: Workspace, tmp_path: Path
) -> None:
    doc = issue_document(agency)
    with Session(agency.db) as session:
        document = session.get(Document, doc)
        assert document is not None
        assert document.symbol == "01/QĐ-SNV" and document.issued_at is not None
        assert session.exec(select(OutboxItem).where(OutboxItem.state != "done")).all() == []
    pdf = _issued_pdf(agency, doc)
    report = verify_document(pdf, keys.trust_roots(agency))
    assert report.verdict == "valid"
    leader, seal = report.signatures
    assert leader.certification and leader.modification == "form_filling" and leader.valid
    assert "Phạm Minh Đức" in leader.signer and seal.valid and "SỞ NỘI VỤ" in seal.signer

    assert archived_documents(agency, "quyet dinh bo nhiem pho truong phong") == [doc]
    with Session(agency.db) as session:
        record = session.exec(select(ArchiveRecord).where(ArchiveRecord.document_id == doc)).one()
    retrieved = archive.retrieve(agency, record.record_id, "luutru", tmp_path / "out")
    pdf_copy = next(p for p in retrieved.files if p.suffix == ".pdf")
    assert hashlib.sha256(pdf_copy.read_bytes()).hexdigest() == record.pdf_sha256
    manifest = read_record(agency.store, record.record_id)
    assert manifest.metadata["symbol"] == "01/QĐ-SNV"
    assert {o.role for o in manifest.objects} == {"pdf", "source"}
    with pytest.raises(NotAllowed):
        archive.retrieve(agency, record.record_id, "chuyenvien", tmp_path / "x")
    assert audit.verify_chain(agency.db).intact


def test_pdfsig_accepts_both_signatures_with_the_demo_root(
    make_agency: Callable[..., Workspace],
    demo_keys: Path,
    tmp_path: Path,
) -> None:
    ws = make_agency()
    path = tmp_path / "issued.pdf"
    path.write_bytes(_issued_pdf(ws, issue_document(ws)))
    lines = pdfsig_lines(path, demo_keys / "root.pem", tmp_path / "nss")
    assert lines.count("  - Signature Validation: Signature is Valid.") == 2, lines
    assert lines.count("  - Certificate Validation: Certificate is Trusted.") == 2, lines


def test_registers_number_per_type_and_the_letter_takes_the_unit(agency: Workspace) -> None:
    first, second = issue_document(agency), issue_document(agency)
    letter = issue_document(agency, LETTER)
    with Session(agency.db) as session:
        symbols = [session.get(Document, d).symbol for d in (first, second, letter)]  # type: ignore[union-attr]
        assert len(session.exec(select(ArchiveRecord)).all()) == 3
    assert symbols == ["01/QĐ-SNV", "02/QĐ-SNV", "01/SNV-TCBC"]


def test_only_the_named_signer_signs(make_agency: Callable[..., Workspace]) -> None:
    ws = make_agency()
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    assert open_task_steps(ws, doc) == ["sign"]
    with refused("signing.not_the_signer", NotAllowed, document_id=doc):
        act(ws, doc, "giamdoc", "sign")
    act(ws, doc, "phogiamdoc", "return", comment="Xem lại Điều 2")
    assert open_task_steps(ws, doc) == ["draft"]


def test_an_issued_document_on_the_s3_store(
    make_agency: Callable[..., Workspace], s3_store_url: str
) -> None:
    ws = make_agency(store_url=s3_store_url)
    doc = issue_document(ws)
    assert verify_document(_issued_pdf(ws, doc), keys.trust_roots(ws)).verdict == "valid"
    assert archived_documents(ws, "", symbol="01/QĐ-SNV") == [doc]
