"""The registers of outgoing and incoming documents (Decree 30 Appendix IV) read, filtered and
exported, and the clerk's look before registering an incoming PDF: its verdict, duplicates."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from active_pdfs import plain_pdf
from openpyxl import load_workbook
from sqlmodel import Session, select

from engine.automation import open_workspace
from engine.core import accounts, audit
from engine.core.agency import create_demo_agency
from engine.core.config import load_settings
from engine.core.db import transaction
from engine.core.errors import InvalidInput, NotAllowed, NotFound
from engine.core.models import ArchiveRecord, Document
from engine.core.registers import format_number
from engine.core.text import vietnam_time
from engine.core.workspace import Workspace
from engine.incoming import (
    IncomingRequest,
    discard_staged,
    find_duplicates,
    preview_incoming,
    receive_incoming,
    receive_staged,
)
from engine.incoming.preview import STAGED_FOR, staged_upload
from engine.workflow import Upload, act, registers
from engine.workflow.files import latest_file
from engine.workflow.registers import (
    RegisterFilters,
    register_pdf,
    register_rows,
    register_xlsx,
)
from storage import get_content
from tests_support import DECISION, LETTER, issue_document, refused
from vanthu.clock import ManualClock

SENDER = "SỞ NỘI VỤ TỈNH MẪU"
OUTGOING_HEADERS = [
    "Số, ký hiệu văn bản",
    "Ngày tháng văn bản",
    "Tên loại và trích yếu nội dung văn bản",
    "Người ký",
    "Nơi nhận văn bản",
    "Đơn vị, người nhận bản lưu",
    "Số lượng bản",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
]
INCOMING_HEADERS = [
    "Ngày đến",
    "Số đến",
    "Tác giả",
    "Số, ký hiệu",
    "Ngày tháng",
    "Tên loại và trích yếu nội dung",
    "Đơn vị hoặc người nhận",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
]


@dataclass
class Office:
    ws: Workspace
    decision: int
    letter: int
    signed_pdf: bytes
    incoming: int
    """Received from the signed PDF, registered and assigned to the head of TCBC."""
    unsigned: int
    """Received without a signature, registered, not assigned."""


def _request(symbol: str, subject: str, sender: str = SENDER, **more: str) -> IncomingRequest:
    return IncomingRequest(sender, symbol, "Quyết định", subject, **more)


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory, demo_keys: Path) -> Iterator[Office]:
    home = tmp_path_factory.mktemp("registers")
    ws = open_workspace(load_settings(home, pki_dir=demo_keys, steps_runner="inline"))
    create_demo_agency(ws)
    decision = issue_document(ws, DECISION)
    letter = issue_document(ws, LETTER)
    with Session(ws.db) as session:
        signed = get_content(ws.store, latest_file(session, decision, "issued").sha256)
    incoming = receive_incoming(
        ws,
        "vanthu",
        Upload("qd.pdf", signed),
        _request("01/QĐ-SNV", "Về việc bổ nhiệm", urgency="Khẩn"),
    )
    act(ws, incoming, "vanthu", "register")
    act(ws, incoming, "giamdoc", "assign", choose="truongphong")
    unsigned = receive_incoming(
        ws,
        "vanthu",
        Upload("cv.pdf", plain_pdf()),
        IncomingRequest("UBND HUYỆN MẪU", "7/UBND", "Công văn", "Về việc kiểm kê tài sản"),
    )
    act(ws, unsigned, "vanthu", "register")
    yield Office(ws, decision, letter, signed, incoming, unsigned)
    ws.db.dispose()


def _document(ws: Workspace, document_id: int) -> Document:
    with Session(ws.db) as session:
        found = session.get(Document, document_id)
        assert found is not None
        return found


def test_the_outgoing_register_has_the_decrees_columns_and_a_line_per_issued_document(
    office: Office,
) -> None:
    page = register_rows(office.ws, "vanthu", "outgoing")
    assert [c.header for c in page.columns] == OUTGOING_HEADERS
    assert [r.document_id for r in page.rows] == [office.decision, office.letter]
    decision = _document(office.ws, office.decision)
    cells = page.rows[0].cells
    assert cells["number_symbol"] == decision.symbol and decision.symbol
    assert decision.issued_at is not None
    assert cells["date"] == f"{vietnam_time(decision.issued_at):%d/%m/%Y}"
    assert (
        cells["type_and_subject"]
        == "Quyết định về việc bổ nhiệm Phó Trưởng phòng Tổ chức, biên chế"
    )
    assert cells["signer"] == "Phạm Minh Đức"
    assert cells["recipients"] == "Như Điều 2;"
    assert "Trần Thị Bình" in cells["file_copy"]
    assert (cells["copies"], cells["sent_on"], cells["receipt"]) == ("", "", "")
    assert page.total == 2 and page.years == (decision.year,)


def test_the_incoming_register_shows_the_number_sender_verdict_and_assignment(
    office: Office,
) -> None:
    page = register_rows(office.ws, "giamdoc", "incoming")
    assert [c.header for c in page.columns] == INCOMING_HEADERS
    assert [r.document_id for r in page.rows] == [office.incoming, office.unsigned]
    signed, unsigned = (r.cells for r in page.rows)
    assert (signed["number"], unsigned["number"]) == ("01", "02")
    assert signed["author"] == SENDER and signed["number_symbol"] == "01/QĐ-SNV"
    assert signed["date"] == f"{vietnam_time(datetime.now().astimezone()):%d/%m/%Y}"  # the seal
    assert signed["recipient"] == "Phòng Tổ chức, biên chế (Lê Thị Cúc)"
    assert signed["sent_on"] == f"{vietnam_time(datetime.now().astimezone()):%d/%m}"
    assert signed["note"] == "Khẩn"  # a valid signature adds nothing
    assert unsigned["date"] == "" and unsigned["recipient"] == "" and unsigned["sent_on"] == ""
    assert unsigned["note"] == "không có chữ ký số"


def test_filters_narrow_the_register(office: Office) -> None:
    ws, today = office.ws, vietnam_time(datetime.now().astimezone()).date()

    def shown(limit: int = 50, offset: int = 0, **filters: Any) -> list[int]:
        filtered = RegisterFilters(**filters)
        page = register_rows(ws, "vanthu", "outgoing", filtered, limit=limit, offset=offset)
        return [r.document_id for r in page.rows]

    assert shown(doc_type="Công văn") == [office.letter]
    assert shown(text="bo nhiem") == [office.decision]  # diacritics folded
    assert shown(text="Nguyễn Văn An") == [office.letter]  # the signer
    assert shown(year=today.year - 1) == []
    assert shown(date_from=today, date_to=today) == [office.decision, office.letter]
    assert shown(date_to=today - timedelta(days=1)) == []
    assert shown(limit=1, offset=1) == [office.letter]
    incoming = register_rows(ws, "vanthu", "incoming", RegisterFilters(text="ubnd huyen"))
    assert [r.document_id for r in incoming.rows] == [office.unsigned]  # the sender
    with refused("register.dates_reversed", InvalidInput):
        shown(date_from=today, date_to=today - timedelta(days=1))
    with refused("register.code_unknown", InvalidInput, register_code="XX"):
        shown(register_code="XX")
    with refused("doctype.unknown", InvalidInput):
        shown(doc_type="Sắc lệnh")
    with refused("register.limit_invalid", InvalidInput):
        shown(limit=0)


@pytest.mark.parametrize("username", ["chuyenvien", "truongphong"])
def test_only_clerks_leaders_archivists_and_administrators_read_the_registers(
    office: Office, username: str
) -> None:
    for reader in ("vanthu", "giamdoc", "luutru", "quantri"):
        assert register_rows(office.ws, reader, "incoming").total == 2
    with refused("register.read_not_allowed", NotAllowed, username=username):
        register_rows(office.ws, username, "outgoing")
    with refused("register.read_not_allowed", NotAllowed, username=username):
        register_xlsx(office.ws, username, "incoming")
    refusals = [e for e in audit.events(office.ws.db) if e.event == registers.REFUSED]
    assert any(e.actor == username for e in refusals)


def test_the_xlsx_export_has_the_header_row_a_row_per_document_and_real_dates(
    office: Office,
) -> None:
    before = len([e for e in audit.events(office.ws.db) if e.event == registers.EXPORTED])
    book = load_workbook(io.BytesIO(register_xlsx(office.ws, "vanthu", "outgoing")))
    sheet = book.active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(rows) if r[0] == OUTGOING_HEADERS[0])
    assert rows[header] == OUTGOING_HEADERS
    assert rows[header + 1] == [f"({i})" for i in range(1, 11)]
    lines = rows[header + 2 :]
    decision = _document(office.ws, office.decision)
    assert [r[0] for r in lines] == [decision.symbol, _document(office.ws, office.letter).symbol]
    assert isinstance(lines[0][1], datetime | date)
    assert decision.issued_at is not None
    assert lines[0][1].date() == vietnam_time(decision.issued_at).date()  # type: ignore[union-attr]
    assert "SỔ ĐĂNG KÝ VĂN BẢN ĐI" in [r[0] for r in rows[:header]]
    exported = [e for e in audit.events(office.ws.db) if e.event == registers.EXPORTED]
    assert len(exported) == before + 1
    assert json.loads(exported[-1].detail)["form"] == "xlsx"

    incoming = load_workbook(io.BytesIO(register_xlsx(office.ws, "luutru", "incoming"))).active
    assert incoming is not None
    rows = [list(r) for r in incoming.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(rows) if r[0] == INCOMING_HEADERS[0])
    assert rows[header] == INCOMING_HEADERS
    assert [r[1] for r in rows[header + 2 :]] == ["01", "02"]


def test_the_pdf_export_is_landscape_a4_with_the_title_and_every_line(
    office: Office, tmp_path: Path
) -> None:
    pdf = register_pdf(office.ws, "vanthu", "incoming")
    path = tmp_path / "so-den.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    size = next(line for line in info.stdout.splitlines() if line.startswith("Page size"))
    width, height = (float(v) for v in size.split(":")[1].split("pts")[0].split(" x "))
    assert (round(width), round(height)) == (842, 595)  # A4 landscape
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN" in text
    for expected in ("01/QĐ-SNV", "7/UBND", "Tác giả", "chuyển", "Cúc", "Khẩn"):  # wrapped
        assert expected in text


def test_an_export_larger_than_the_limit_asks_for_a_narrower_filter(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registers, "EXPORT_MAX", 1)
    with refused("register.export_too_large", InvalidInput, total=2, max_lines=1):
        register_xlsx(office.ws, "vanthu", "outgoing")
    letters = RegisterFilters(doc_type="Công văn")
    assert register_xlsx(office.ws, "vanthu", "outgoing", letters)[:2] == b"PK"


# --- looking before registering, duplicates ----------------------------------------------------


def _documents(ws: Workspace) -> int:
    with Session(ws.db) as session:
        return len(session.exec(select(Document.id)).all())


def test_a_preview_verifies_and_registers_nothing_until_the_clerk_confirms(
    office: Office, clock: ManualClock
) -> None:
    ws, count = office.ws, _documents(office.ws)
    request = _request("05/QĐ-SNV", "Về việc điều động cán bộ", urgency="Hỏa tốc")
    preview = preview_incoming(ws, "vanthu", Upload("qd-05.pdf", office.signed_pdf), request)
    assert preview.verdict == "valid" and preview.duplicates == ()
    assert [s["signer"] for s in preview.report["signatures"]] != []
    assert _documents(ws) == count  # nothing registered, nothing received
    with refused("incoming.staged_missing", NotFound):  # someone else's upload
        staged_upload(ws, "giamdoc", preview.token)
    receipt = receive_staged(ws, "vanthu", preview.token, preview.request)
    assert receipt.registered and receipt.verdict == "valid" and receipt.number == 3
    document = _document(ws, receipt.document_id)
    assert (document.number, document.urgency, document.sender_symbol) == (
        3,
        "Hỏa tốc",
        "05/QĐ-SNV",
    )
    with refused("incoming.staged_missing", NotFound):  # used once
        receive_staged(ws, "vanthu", preview.token, preview.request)
    late = preview_incoming(ws, "vanthu", Upload("b.pdf", plain_pdf()), _request("9/X", "Thử"))
    assert late.verdict == "unsigned"
    clock.advance(STAGED_FOR + timedelta(minutes=1))
    with refused("incoming.staged_missing", NotFound):  # too late
        receive_staged(ws, "vanthu", late.token, late.request)
    with refused("incoming.staged_missing", NotFound):
        receive_staged(ws, "vanthu", "../../vanthu.toml", late.request)
    pdf = plain_pdf()
    fresh = preview_incoming(ws, "vanthu", Upload("c.pdf", pdf), _request("9/X", "Thử"))
    staged = sorted(p.name for p in (ws.settings.home / "staging" / "incoming").iterdir())
    assert staged == [f"{fresh.token}.json", f"{fresh.token}.pdf"]  # the expired one removed
    discard_staged(ws, "giamdoc", fresh.token)  # not theirs: nothing happens
    assert staged_upload(ws, "vanthu", fresh.token).data == pdf
    discard_staged(ws, "vanthu", fresh.token)
    with refused("incoming.staged_missing", NotFound):
        staged_upload(ws, "vanthu", fresh.token)


def test_a_preview_of_a_tampered_pdf_says_invalid_and_why(office: Office) -> None:
    pdf = bytearray(office.signed_pdf)
    position = pdf.index(b"/Contents") - 200  # inside the signed byte range
    pdf[position] = ord("X") if pdf[position] != ord("X") else ord("Y")
    preview = preview_incoming(
        office.ws, "vanthu", Upload("x.pdf", bytes(pdf)), _request("06/QĐ-SNV", "Thử")
    )
    assert preview.verdict == "invalid" and preview.report["reasons"]


def test_only_clerks_preview_and_only_pdfs(office: Office) -> None:
    request = _request("1/X", "Thử")
    with refused("incoming.clerk_only", NotAllowed, user="giamdoc"):
        preview_incoming(office.ws, "giamdoc", Upload("a.pdf", plain_pdf()), request)
    with refused("incoming.not_pdf", InvalidInput):
        preview_incoming(office.ws, "vanthu", Upload("a.docx", b"PK\x03\x04"), request)
    with refused("incoming.urgency_unknown", InvalidInput, urgency="Gấp"):
        preview_incoming(
            office.ws, "vanthu", Upload("a.pdf", plain_pdf()), _request("1/X", "T", urgency="Gấp")
        )


def test_the_same_number_and_symbol_from_the_same_sender_is_a_duplicate(office: Office) -> None:
    ws = office.ws
    again = _request(" 01 / QĐ-SNV ", "Về việc bổ nhiệm", sender="sở nội vụ  tỉnh mẫu")
    preview = preview_incoming(ws, "vanthu", Upload("qd.pdf", office.signed_pdf), again)
    assert [d.document_id for d in preview.duplicates] == [office.incoming]
    assert preview.duplicates[0].number == 1
    other_sender = _request("01/QĐ-SNV", "Về việc bổ nhiệm", sender="SỞ TÀI CHÍNH")
    assert (
        preview_incoming(ws, "vanthu", Upload("a.pdf", plain_pdf()), other_sender).duplicates == ()
    )
    receipt = receive_staged(ws, "vanthu", preview.token, preview.request)  # a warning, no refusal
    assert [d.document_id for d in receipt.duplicates] == [office.incoming]
    received = [e for e in audit.events(ws.db) if e.event == "received"][-1]
    assert json.loads(received.detail)["duplicates"] == [office.incoming]
    with Session(ws.db) as session:
        agency_id = _document(ws, office.incoming).agency_id
        found = find_duplicates(session, agency_id, SENDER, "01/QĐ-SNV")
    assert [d.document_id for d in found] == [office.incoming, receipt.document_id]
    assert format_number(receipt.number or 0) == "04"


def test_a_restricted_document_keeps_its_line_with_its_subject_hidden(office: Office) -> None:
    ws = office.ws
    accounts.add_user(
        ws, "quantri", "vanthu2", full_name="Lý Thị Mai", role="clerk", unit="VP", title="Văn thư"
    )
    with transaction(ws.db) as session:
        record = session.exec(
            select(ArchiveRecord).where(ArchiveRecord.document_id == office.decision)
        ).one()
        record.access = "restricted"
        session.add(record)
    try:
        page = register_rows(ws, "vanthu2", "outgoing")  # a clerk not on the document
        hidden = next(r for r in page.rows if r.document_id == office.decision)
        assert hidden.restricted and hidden.cells["number_symbol"]  # the number stays
        assert hidden.cells["type_and_subject"] == f"Quyết định {registers.HIDDEN}"
        assert hidden.cells["recipients"] == ""
        assert register_rows(ws, "vanthu2", "outgoing", RegisterFilters(text="bo nhiem")).total == 0
        shown = register_rows(ws, "giamdoc", "outgoing")  # a leader reads restricted records
        assert not next(r for r in shown.rows if r.document_id == office.decision).restricted
    finally:
        with transaction(ws.db) as session:
            record = session.exec(
                select(ArchiveRecord).where(ArchiveRecord.document_id == office.decision)
            ).one()
            record.access = "public"
            session.add(record)


def test_a_page_counted_by_the_database_agrees_with_one_filtered_by_words(
    office: Office,
) -> None:
    """Without words the database counts and pages; with them Python does: same answer."""
    plain = register_rows(office.ws, "vanthu", "incoming", limit=1, offset=1)
    worded = register_rows(
        office.ws, "vanthu", "incoming", RegisterFilters(text="ve viec"), limit=1, offset=1
    )
    assert plain.total == worded.total and plain.total >= 2
    assert [r.document_id for r in plain.rows] == [r.document_id for r in worded.rows]
    for name in ("years", "first_day", "last_day", "first_number", "last_number"):
        assert getattr(plain, name) == getattr(worded, name), name
    assert plain.title_block()[-1] == f"Từ số 01 đến số {format_number(plain.total)}"
