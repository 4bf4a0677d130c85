"""One-stop results as real signed documents: a decision numbered in the outgoing register and
sealed, another result signed by the head only; the apology letter signed by the head; fees
(state 6). Real LibreOffice, real signatures checked by pdfsig and by our own validation."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from docx import Document
from onestop_results import appraisal_docx, decision_docx
from sqlmodel import Session, col, select

from engine.core.calendar import VIETNAM_TIME
from engine.core.errors import Conflict, InvalidInput, NotAllowed
from engine.core.models import AuditEvent
from engine.core.models import Document as DocumentRow
from engine.core.workspace import Workspace
from engine.onestop import (
    DECISION,
    DossierRequest,
    DossierState,
    act_on,
    apologise,
    apology_letter,
    ask_fees,
    attach_result,
    dossier_tracked,
    dossier_view,
    form_docx,
    issued_result,
    public_status,
    receive,
    record_payment,
    return_result,
)
from engine.signatures import keys
from engine.workflow import Upload
from engine.workflow.ontime import classify
from engine.workflow.registers import register_rows
from signing import verify_document
from tests_support import pdfsig_lines, pin_of, refused
from vanthu.clock import ManualClock

OUTPUT = Path(__file__).parent.parent / "test-output" / "onestop"
APPLICANT = "Công ty TNHH Ánh Dương"
THURSDAY = datetime(2027, 1, 7, 10, 0, tzinfo=VIETNAM_TIME)


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


def _look(pdf: bytes, name: str) -> list[Path]:
    """The pages as PNG in test-output/onestop/, for people to look at."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / f"{name}.pdf").write_bytes(pdf)
    for old in OUTPUT.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", str(OUTPUT / f"{name}.pdf"), str(OUTPUT / name)],
        check=True,
    )
    return sorted(OUTPUT.glob(f"{name}-*.png"))


def _pdfsig(pdf: bytes, demo_keys: Path, tmp_path: Path) -> list[str]:
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    return pdfsig_lines(path, demo_keys / "root.pem", tmp_path / "nss")


def _events(ws: Workspace, document_id: int, *names: str) -> list[tuple[str, str]]:
    with Session(ws.db) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.document_id == document_id, col(AuditEvent.event).in_(names))
            .order_by(col(AuditEvent.seq))
        ).all()
        return [(row.event, row.actor) for row in rows]


def test_a_decision_is_signed_numbered_sealed_and_returned(
    make_agency: Callable[..., Workspace], demo_keys: Path, tmp_path: Path
) -> None:
    ws = make_agency()
    papers = ("1", "2")
    code, _ = receive(ws, "vanthu", DossierRequest("SNV-PC-01", APPLICANT, papers))
    act_on(ws, code, "phapche", "forward", choose="chuyenvien")
    with refused("onestop.result_missing", Conflict, dossier=code):
        act_on(ws, code, "chuyenvien", "submit")  # no result yet

    docx = decision_docx()
    with refused("onestop.result_type", InvalidInput, file="ket-qua.txt"):
        attach_result(ws, code, "chuyenvien", Upload("ket-qua.txt", b"Quyet dinh"))
    too_big = b"x" * (ws.settings.max_upload_bytes + 1)
    with refused("onestop.result_size", InvalidInput, file="qd.docx"):
        attach_result(ws, code, "chuyenvien", Upload("qd.docx", too_big))
    with refused("onestop.result_unreadable", InvalidInput, file="qd.docx"):
        attach_result(ws, code, "chuyenvien", Upload("qd.docx", b"PK not a zip"))
    with refused("onestop.result_not_holder", NotAllowed, user="phapche"):
        attach_result(ws, code, "phapche", Upload("qd.docx", docx))
    assert dossier_view(ws, code).result is None  # nothing was kept of the refused files

    assert attach_result(ws, code, "chuyenvien", Upload("quyet-dinh.docx", docx)) == 1
    act_on(ws, code, "chuyenvien", "submit")
    with refused("action.not_allowed", NotAllowed, user="truongphong"):
        act_on(ws, code, "truongphong", "approve", pin=pin_of(ws, "truongphong"))
    with refused("signing.pin_incorrect"):
        act_on(ws, code, "phapche", "approve", pin="sai-ma-pin")
    assert dossier_view(ws, code).state == DossierState.PROCESSING

    move = act_on(ws, code, "phapche", "approve", pin=pin_of(ws, "phapche"))
    assert move.results["number_result"]["symbol"] == "01/QĐ-SNV"
    view = dossier_view(ws, code)
    assert view.state == DossierState.PROCESSED and view.processed_at is not None
    assert view.result is not None
    assert (view.result.kind, view.result.symbol, view.result.signer) == (
        DECISION,
        "01/QĐ-SNV",
        "Võ Quốc Huy",
    )
    name, issued = issued_result(ws, code)
    assert name == "01-QĐ-SNV.pdf"
    text = _text(issued, tmp_path)
    assert "Số: 01/QĐ-SNV" in text and "QUYẾT ĐỊNH" in text and "Võ Quốc Huy" in text
    lines = _pdfsig(issued, demo_keys, tmp_path)
    assert lines.count("  - Signature Validation: Signature is Valid.") == 2, lines
    assert lines.count("  - Certificate Validation: Certificate is Trusted.") == 2, lines
    assert any("DEMO Võ Quốc Huy" in line for line in lines), lines
    report = verify_document(issued, keys.trust_roots(ws))
    assert report.verdict == "valid", report.reasons_en
    assert {s.field for s in report.signatures} == {"chu_ky_nguoi_ky", "chu_ky_co_quan"}
    assert _look(issued, "ket-qua-quyet-dinh")

    return_result(ws, code, "vanthu", "Ông Phạm Văn Nhận")
    view = dossier_view(ws, code)
    assert view.state == DossierState.RETURNED and view.returned_to == "Ông Phạm Văn Nhận"
    assert [line.kind for line in view.handovers] == [
        "receive.register",
        "assign.forward",
        "process.submit",
        "sign_result.sign",
        "deliver.complete",
    ]
    assert view.handovers[3].from_name == "Phòng Pháp chế (Võ Quốc Huy)"
    register = register_rows(ws, "vanthu", "outgoing")  # Decree 30: every issued document
    row = next(r for r in register.rows if r.document_id == view.document_id)
    assert view.processed_at is not None
    issued_on = view.processed_at.astimezone(VIETNAM_TIME).date()  # same step, same moment
    assert (row.register_code, row.number, row.day) == ("QD", 1, issued_on)
    assert row.cells["date"] == f"{issued_on:%d/%m/%Y}"
    assert row.cells["number_symbol"] == "01/QĐ-SNV" and row.cells["signer"] == "Võ Quốc Huy"
    assert row.cells["type_and_subject"] == (
        "Quyết định về việc giải quyết thủ tục công nhận ban vận động thành lập hội cho "
        f"{APPLICANT}"
    )
    assert row.cells["recipients"] == APPLICANT
    assert view.handovers[3].to_name == "Bộ phận một cửa"
    assert _events(ws, view.document_id, "dossier_result_attached", "signed") == [
        ("dossier_result_attached", "chuyenvien"),
        ("signed", "phapche"),
    ]


def test_another_result_is_signed_by_the_head_and_not_numbered(
    make_agency: Callable[..., Workspace], demo_keys: Path, tmp_path: Path
) -> None:
    ws = make_agency()
    code, _ = receive(ws, "vanthu", DossierRequest("SNV-TCBC-01", APPLICANT, ("1", "2", "3", "4")))
    act_on(ws, code, "truongphong", "forward", choose="chuyenvien")
    with refused("onestop.result_layout", InvalidInput, file="khong-ky.docx"):
        attach_result(ws, code, "chuyenvien", Upload("khong-ky.docx", _no_signature_block()))
    attach_result(ws, code, "chuyenvien", Upload("van-ban-tham-dinh.docx", appraisal_docx()))
    act_on(ws, code, "chuyenvien", "submit")
    act_on(ws, code, "truongphong", "sign", pin=pin_of(ws, "truongphong"))
    view = dossier_view(ws, code)
    assert view.state == DossierState.PROCESSED
    assert view.result is not None and view.result.symbol is None  # signed, not numbered
    assert view.result.signer == "Lê Thị Cúc"
    with Session(ws.db) as session:
        document = session.get(DocumentRow, view.document_id)
        assert document is not None and document.number is None and document.register_id is None
    _, issued = issued_result(ws, code)
    lines = _pdfsig(issued, demo_keys, tmp_path)
    assert lines.count("  - Signature Validation: Signature is Valid.") == 1, lines
    assert lines.count("  - Certificate Validation: Certificate is Trusted.") == 1, lines
    assert any("DEMO Lê Thị Cúc" in line for line in lines), lines
    report = verify_document(issued, keys.trust_roots(ws))
    assert report.verdict == "valid", report.reasons_en
    assert "VĂN BẢN THẨM ĐỊNH" in _text(issued, tmp_path)
    assert _look(issued, "ket-qua-van-ban-tham-dinh")


def _no_signature_block() -> bytes:
    document = Document()
    document.add_paragraph("Kết quả thẩm định: đạt.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_the_head_signs_the_apology_and_the_dossier_still_counts_late(
    make_agency: Callable[..., Workspace], clock: ManualClock, demo_keys: Path, tmp_path: Path
) -> None:
    ws = make_agency()
    clock.set(THURSDAY.astimezone(UTC))  # within the DEMO certificates' validity
    code, _ = receive(ws, "vanthu", DossierRequest("SNV-TCBC-01", APPLICANT, ("1", "2", "3", "4")))
    act_on(ws, code, "truongphong", "forward", choose="chuyenvien")
    original = dossier_view(ws, code).original_due_at
    assert original is not None
    clock.set(original - timedelta(days=1))
    new_date = _local_day(original) + timedelta(days=7)
    reason = "Chờ ý kiến thẩm định của Bộ Nội vụ"
    with refused("onestop.apology_not_head", NotAllowed):
        apologise(ws, code, "chuyenvien", new_date, reason, pin="123456")
    with refused("signing.pin_required"):
        apologise(ws, code, "truongphong", new_date, reason)
    with refused("onestop.apology_missing", Conflict):
        apology_letter(ws, code)  # nothing was recorded by the refused attempts
    assert dossier_view(ws, code).due_at == original

    apologise(ws, code, "truongphong", new_date, reason, pin=pin_of(ws, "truongphong"))
    view = dossier_view(ws, code)
    assert _local_day(view.due_at) == new_date
    assert view.original_due_at == original
    assert view.apologies == (f"phieu-xin-loi-{code}-1.pdf",)
    assert view.handovers[-1].to_name == f"Công dân ({APPLICANT})"
    _, letter = apology_letter(ws, code)
    lines = _pdfsig(letter, demo_keys, tmp_path)
    assert lines.count("  - Signature Validation: Signature is Valid.") == 1, lines
    assert lines.count("  - Certificate Validation: Certificate is Trusted.") == 1, lines
    assert any("DEMO Lê Thị Cúc" in line for line in lines), lines
    assert verify_document(letter, keys.trust_roots(ws)).verdict == "valid"
    text = _text(letter, tmp_path)
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text and reason in text
    assert f"ngày {_local_day(original):%d/%m/%Y}" in text
    assert f"ngày {new_date:%d/%m/%Y}" in text and "Lê Thị Cúc" in text
    assert _look(letter, "phieu-xin-loi-da-ky")
    events = _events(ws, view.document_id, "dossier_apology")
    assert events == [("dossier_apology", "truongphong")]

    clock.set(original + timedelta(days=2))  # after the original date, before the new one
    attach_result(ws, code, "chuyenvien", Upload("van-ban-tham-dinh.docx", appraisal_docx()))
    act_on(ws, code, "chuyenvien", "submit")
    act_on(ws, code, "truongphong", "approve", pin=pin_of(ws, "truongphong"))
    received = _local_day(view.received_at)
    (item,) = dossier_tracked(ws, received, received, None)
    assert item.due_at == original  # the apology's date does not count
    assert classify(item, datetime.now(UTC)) == "late"


def _local_day(moment: datetime | None) -> date:
    assert moment is not None
    return moment.astimezone(VIETNAM_TIME).date()


def test_fees_hold_the_dossier_in_state_6_until_the_desk_records_payment(
    make_agency: Callable[..., Workspace],
) -> None:
    ws = make_agency()
    code, _ = receive(ws, "vanthu", DossierRequest("SNV-TCBC-02", APPLICANT, ("1", "2", "3")))
    with refused("onestop.fees_state", Conflict):
        ask_fees(ws, code, "truongphong")  # received, not yet being processed
    act_on(ws, code, "truongphong", "forward", choose="chuyenvien")
    with refused("onestop.fees_not_allowed", NotAllowed):
        ask_fees(ws, code, "phapche")  # another unit
    with refused("onestop.fees_amount", InvalidInput):
        ask_fees(ws, code, "chuyenvien", amount=0)
    assert dossier_view(ws, code).state == DossierState.PROCESSING

    due = ask_fees(ws, code, "chuyenvien", note="Lệ phí thẩm định, nộp tại Bộ phận một cửa")
    assert due == 500_000  # the procedure's fee (data)
    view = dossier_view(ws, code)
    assert (view.state, view.fee_amount) == (DossierState.WAITING_FEES, 500_000)
    assert public_status(ws, code).state == 6
    assert public_status(ws, code).state_name == "Chờ thực hiện nghĩa vụ tài chính"
    with refused("onestop.waiting_fees", Conflict):
        act_on(ws, code, "chuyenvien", "submit")
    with refused("onestop.waiting_fees", Conflict):
        attach_result(ws, code, "chuyenvien", Upload("kq.docx", appraisal_docx()))
    with refused("onestop.clerk_only", NotAllowed):
        record_payment(ws, code, "truongphong", amount=500_000, receipt="0001234")
    with refused("onestop.fees_short", InvalidInput):
        record_payment(ws, code, "vanthu", amount=200_000, receipt="0001234")
    with refused("onestop.field_missing", InvalidInput):
        record_payment(ws, code, "vanthu", amount=500_000, receipt=" ")
    assert dossier_view(ws, code).state == DossierState.WAITING_FEES

    record_payment(ws, code, "vanthu", amount=500_000, receipt="0001234")
    view = dossier_view(ws, code)
    assert view.state == DossierState.PROCESSING
    assert (view.fee_paid, view.fee_receipt) == (500_000, "0001234")
    with refused("onestop.fees_not_asked", Conflict):
        record_payment(ws, code, "vanthu", amount=500_000, receipt="0001235")
    fees = [line for line in view.handovers if line.kind.startswith("fees.")]
    assert [(line.kind, line.to_name) for line in fees] == [
        ("fees.ask", f"Công dân ({APPLICANT})"),
        ("fees.paid", "Phòng Tổ chức, biên chế (Trần Thị Bình)"),
    ]
    assert fees[1].note == "Đã nộp 500.000 đồng, biên lai số 0001234"
    sheet = Document(io.BytesIO(form_docx(ws, code, "06")))
    cells = " ".join(c.text for t in sheet.tables for row in t.rows for c in row.cells)
    assert "Chờ nộp phí, lệ phí: 500.000 đồng" in cells and "biên lai số 0001234" in cells
    assert _events(ws, view.document_id, "dossier_fees_asked", "dossier_fees_paid") == [
        ("dossier_fees_asked", "chuyenvien"),
        ("dossier_fees_paid", "vanthu"),
    ]
