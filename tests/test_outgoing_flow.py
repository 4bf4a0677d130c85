"""The whole outgoing flow with real parts: LibreOffice, pyHanko signatures, the store, pdfsig."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from active_pdfs import plain_pdf
from failing_store import relay_to
from fixtures_s3 import Corrupt, S3Server
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.status import PdfSignatureStatus
from sqlmodel import Session, select

from engine.archive import records as archive
from engine.core import audit
from engine.core.agency import DEMO_AGENCY, DEMO_PEOPLE
from engine.core.errors import NotAllowed
from engine.core.models import (
    ArchiveRecord,
    Document,
    OutboxItem,
    RegisterCounter,
    WorkflowInstance,
)
from engine.core.workspace import Workspace
from engine.outgoing import add_attachment, create_outgoing, make_copy
from engine.signatures import create_demo_keys, keys
from engine.workflow import Upload, act
from engine.workflow.files import files_of_kind, latest_file
from signing import verify_document
from signing.demo import ensure_pki_services, revoke, stop_pki_services
from storage import content_key, get_content, read_record
from tests_support import (
    DECISION,
    LETTER,
    archived_documents,
    issue_document,
    open_task_steps,
    pdfsig_lines,
    pin_of,
    refused,
)

VANTHU = [sys.executable, "-m", "engine"]


def offline_statuses(pdf: bytes, root: Path) -> list[tuple[str, PdfSignatureStatus]]:
    """pyHanko's own judgement of each signature with what the file carries (its DSS) and no
    fetching at all: revocation must be proven, and only from inside the PDF."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    context = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {
            "trust_roots": [load_cert_from_pemder(str(root))],
            "allow_fetching": False,
            "revocation_mode": "hard-fail",
            "retroactive_revinfo": True,
        }
    )
    return [
        (signature.field_name, validate_pdf_signature(signature, context))
        for signature in reader.embedded_regular_signatures
    ]


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


def test_an_issued_document_validates_offline_once_our_services_are_gone(
    make_agency: Callable[..., Workspace], demo_keys: Path, tmp_path: Path
) -> None:
    """B-LT: the recipient needs neither our OCSP responder nor our CRL service; the electronic
    copy is B-T."""
    ws = make_agency()
    doc = issue_document(ws)
    exported = tmp_path / "issued.pdf"
    exported.write_bytes(_issued_pdf(ws, doc))
    copy = make_copy(ws, doc, "vanthu").pdf
    pki, root = keys.pki(ws), str(demo_keys / "root.pem")
    stop_pki_services(pki)
    try:
        answer = subprocess.run(
            [*VANTHU, "verify", str(exported), "--offline", "--json", "--trust", root],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        for name, status in offline_statuses(exported.read_bytes(), demo_keys / "root.pem"):
            assert status.bottom_line and status.revocation_details is None, name
    finally:
        ensure_pki_services(pki)
    report = json.loads(answer.stdout)
    assert answer.returncode == 0 and report["verdict"] == "valid", report["reasons_en"]
    levels = {s["field"]: (s["level"], s["revocation_source"]) for s in report["signatures"]}
    assert levels["chu_ky_co_quan"] == ("B-LT", "embedded")
    assert levels["chu_ky_nguoi_ky"][1] == "embedded"
    copied = verify_document(copy, keys.trust_roots(ws))
    assert copied.verdict == "valid", copied.reasons_en
    [copy_signature] = [s for s in copied.signatures if s.field == "chu_ky_ban_sao"]
    assert copy_signature.timestamp_time is not None  # B-T at least: the TSA's time


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


def _at_the_clerk(ws: Workspace) -> int:
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    act(ws, doc, "phogiamdoc", "sign", pin=pin_of(ws, "phogiamdoc"))
    return doc


def _numbering(ws: Workspace, doc: int) -> tuple[str | None, int]:
    """The document's number and symbol, and how many numbers its register has given."""
    with Session(ws.db) as session:
        document = session.get(Document, doc)
        assert document is not None
        counter = session.exec(select(RegisterCounter)).first()
        return document.symbol, counter.last_number if counter else 0


def test_a_revoked_agency_certificate_refuses_the_issue_before_a_number_is_taken(
    make_agency: Callable[..., Workspace], tmp_path: Path
) -> None:
    create_demo_keys(tmp_path / "pki", DEMO_AGENCY, DEMO_PEOPLE)  # revoked below: our own
    ws = make_agency(pki_dir=tmp_path / "pki")
    doc = _at_the_clerk(ws)
    revoke(keys.pki(ws), keys.agency_key(ws).serial, "key-compromise")

    with refused("step.returned", step="number", returned_to="issue") as caught:
        act(ws, doc, "vanthu", "issue")
    assert caught.value.fields()["cause"] == "signing.policy.revoked"
    assert caught.value.kind == "failed" and "thu hồi" in str(caught.value)
    assert _numbering(ws, doc) == (None, 0)  # no number spent on a seal that cannot be made
    assert open_task_steps(ws, doc) == ["issue"]  # back with the clerk, not "finished"

    answer = subprocess.run(
        [*VANTHU, "--home", str(ws.settings.home), "act", str(doc), "issue", "--as", "vanthu"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "VANTHU_PKI_DIR": str(tmp_path / "pki")},
    )
    assert answer.returncode == 1, answer.stderr
    [line] = answer.stderr.splitlines()
    assert line.startswith("Lỗi: ") and "thu hồi" in line and "Traceback" not in answer.stderr
    assert _numbering(ws, doc) == (None, 0) and open_task_steps(ws, doc) == ["issue"]
    with Session(ws.db) as session:
        instance = session.exec(
            select(WorkflowInstance).where(WorkflowInstance.document_id == doc)
        ).one()
        assert instance.status == "active"
        assert session.exec(select(OutboxItem.state)).all().count("returned") == 2


@pytest.mark.s3
def test_a_store_that_fails_while_sealing_keeps_the_number_for_the_clerks_retry(
    make_agency: Callable[..., Workspace], s3_server: S3Server
) -> None:
    with relay_to(s3_server.endpoint) as store:
        ws = make_agency(store_url=store.fresh_url())
        doc = _at_the_clerk(ws)
        store.refusing.set()  # reads still answer: the checks before numbering pass
        with refused("step.returned", step="seal", returned_to="issue") as caught:
            act(ws, doc, "vanthu", "issue")
        store.refusing.clear()
        assert store.refused  # the sealed PDF never reached the store
        assert caught.value.fields()["cause"] == "storage.unavailable"
        assert caught.value.retryable  # the clerk may simply try again
        assert _numbering(ws, doc) == ("01/QĐ-SNV", 1)
        assert open_task_steps(ws, doc) == ["issue"]

        moved = act(ws, doc, "vanthu", "issue")  # the clerk's retry: the same number
        assert moved.now_at == () and moved.failed == ()
        assert _numbering(ws, doc) == ("01/QĐ-SNV", 1)
        assert verify_document(_issued_pdf(ws, doc), keys.trust_roots(ws)).verdict == "valid"
        assert archived_documents(ws, "", symbol="01/QĐ-SNV") == [doc]


def test_an_attachment_damaged_in_the_store_stops_the_issue_before_numbering(
    make_agency: Callable[..., Workspace], corrupt: Corrupt
) -> None:
    ws = make_agency()
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    add_attachment(ws, doc, "chuyenvien", Upload("phu-luc.pdf", plain_pdf()))
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    act(ws, doc, "phogiamdoc", "sign", pin=pin_of(ws, "phogiamdoc"))
    with Session(ws.db) as session:
        [attachment] = files_of_kind(session, doc, "attachment")
    corrupt(ws.store, content_key(attachment.sha256), offset=20)
    with refused("step.returned", step="number", returned_to="issue") as caught:
        act(ws, doc, "vanthu", "issue")
    assert caught.value.fields()["cause"] == "storage.integrity"
    assert _numbering(ws, doc) == (None, 0) and open_task_steps(ws, doc) == ["issue"]
