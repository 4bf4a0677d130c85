"""The clerk's pages in a real browser: receiving an incoming PDF (its verdict and a duplicate
shown before anything is registered, then registered and handed to the leaders in one click),
and the registers of outgoing and incoming documents with their filters and exports."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures_web import PHONE, PageFactory, WebOffice, login, screenshot
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from engine.core.models import Document
from engine.incoming import IncomingRequest, receive_incoming
from engine.workflow import Upload
from engine.workflow.files import latest_file
from storage import get_content
from tests_support import DECISION, LETTER, issue_document, open_task_steps

SENDER = "SỞ NỘI VỤ TỈNH MẪU"


@dataclass
class Issued:
    decision: int
    letter: int
    decision_symbol: str
    letter_symbol: str
    pdf: bytes
    """The decision as issued: signed by the leader and sealed by the agency."""


@pytest.fixture(scope="module")
def issued(web_office: WebOffice) -> Iterator[Issued]:
    ws = web_office.ws
    decision, letter = issue_document(ws, DECISION), issue_document(ws, LETTER)
    with Session(ws.db) as session:
        pdf = get_content(ws.store, latest_file(session, decision, "issued").sha256)
        symbols = [session.get(Document, d).symbol for d in (decision, letter)]  # type: ignore[union-attr]
    assert all(symbols)
    yield Issued(decision, letter, str(symbols[0]), str(symbols[1]), pdf)


def _received(office: WebOffice, symbol: str) -> list[Document]:
    with Session(office.ws.db) as session:
        return list(
            session.exec(
                select(Document).where(
                    Document.direction == "incoming", Document.sender_symbol == symbol
                )
            ).all()
        )


def _upload(page: Page, pdf: Path, symbol: str, subject: str, urgency: str = "") -> None:
    page.goto("/incoming/new")
    page.get_by_label("Tệp văn bản đến (PDF)").set_input_files(str(pdf))
    page.get_by_label("Cơ quan ban hành (tác giả)").fill(SENDER)
    page.get_by_label("Số, ký hiệu văn bản").fill(symbol)
    page.get_by_label("Loại văn bản").select_option("Quyết định")
    page.get_by_label("Trích yếu nội dung").fill(subject)
    if urgency:
        page.get_by_label("Độ khẩn").select_option(urgency)
    page.get_by_role("button", name="Kiểm tra văn bản").click()
    page.wait_for_load_state()


def test_a_clerk_sees_a_valid_verdict_before_registering_then_the_register_lists_it(
    web_office: WebOffice, page: Page, issued: Issued, tmp_path: Path
) -> None:
    pdf = tmp_path / "qd-01.pdf"
    pdf.write_bytes(issued.pdf)
    login(page, "vanthu")
    _upload(page, pdf, "01/QĐ-SNV", "Về việc bổ nhiệm cán bộ", urgency="Khẩn")
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text("Chữ ký số: HỢP LỆ")
    expect(verdict).to_have_class("panel verdict verdict-valid")
    expect(verdict.locator(".signatures li")).to_have_count(2)  # the leader's and the seal
    expect(page.locator("#duplicate")).to_have_count(0)
    assert _received(web_office, "01/QĐ-SNV") == []  # nothing registered yet
    screenshot(page, "clerk-incoming-preview")

    page.get_by_role("button", name="Vào sổ và chuyển lãnh đạo").click()
    page.wait_for_url("**/registers/incoming")
    [document] = _received(web_office, "01/QĐ-SNV")
    assert document.number is not None and document.urgency == "Khẩn"
    number = f"{document.number:02d}"
    expect(page.locator(".flash-success")).to_contain_text(f"số đến {number}")
    row = page.get_by_role("row").filter(has_text="01/QĐ-SNV")
    expect(row.locator("td.col-number")).to_have_text(number)
    expect(row.locator("td.col-author")).to_have_text(SENDER)
    expect(row.locator("td.col-note")).to_contain_text("Khẩn")
    assert document.id is not None
    assert open_task_steps(web_office.ws, document.id) == ["assign"]  # with the leaders now


def test_a_tampered_pdf_shows_the_invalid_verdict_and_cancelling_registers_nothing(
    web_office: WebOffice, page: Page, issued: Issued, tmp_path: Path
) -> None:
    data = bytearray(issued.pdf)
    position = data.index(b"/Contents") - 200  # inside the signed byte range
    data[position] = ord("X") if data[position] != ord("X") else ord("Y")
    pdf = tmp_path / "sua.pdf"
    pdf.write_bytes(bytes(data))
    login(page, "vanthu")
    _upload(page, pdf, "02/QĐ-SNV", "Về việc điều động")
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text("Chữ ký số: KHÔNG HỢP LỆ")
    expect(verdict).to_have_class("panel verdict verdict-invalid")
    expect(verdict.locator(".reasons li").first).to_be_visible()
    screenshot(page, "clerk-incoming-invalid")
    page.get_by_role("button", name="Hủy, không vào sổ").click()
    page.wait_for_url("**/incoming/new")
    expect(page.locator(".flash-info")).to_contain_text("không được vào sổ")
    assert _received(web_office, "02/QĐ-SNV") == []


def test_the_same_number_and_symbol_from_the_same_sender_is_warned(
    web_office: WebOffice, page: Page, issued: Issued, tmp_path: Path
) -> None:
    first = receive_incoming(
        web_office.ws,
        "vanthu",
        Upload("qd.pdf", issued.pdf),
        IncomingRequest(SENDER, "03/QĐ-SNV", "Quyết định", "Về việc khen thưởng"),
    )
    pdf = tmp_path / "lai.pdf"
    pdf.write_bytes(issued.pdf)
    login(page, "vanthu")
    _upload(page, pdf, "03/QĐ-SNV", "Về việc khen thưởng")
    warning = page.locator("#duplicate")
    expect(warning).to_contain_text("có thể trùng văn bản đã tiếp nhận")
    expect(warning.locator(f'a[href="/documents/{first}"]')).to_be_visible()
    screenshot(page, "clerk-incoming-duplicate")
    page.get_by_role("button", name="Vào sổ và chuyển lãnh đạo").click()  # a warning only
    page.wait_for_url("**/registers/incoming")
    assert len(_received(web_office, "03/QĐ-SNV")) == 2


def test_a_form_with_a_missing_field_comes_back_filled_in_with_the_reason(
    web_office: WebOffice, page: Page, tmp_path: Path
) -> None:
    not_pdf = tmp_path / "thu.pdf"
    not_pdf.write_bytes(b"PK\x03\x04 not a pdf")
    login(page, "vanthu")
    _upload(page, not_pdf, "04/QĐ-SNV", "Về việc thử")
    expect(page.locator("#receive-error")).to_contain_text("không phải tệp PDF")
    expect(page.get_by_label("Số, ký hiệu văn bản")).to_have_value("04/QĐ-SNV")
    screenshot(page, "clerk-incoming-form-error")


def test_the_receiving_form_on_a_phone(web_office: WebOffice, browser_page: PageFactory) -> None:
    page = browser_page(web_office, viewport=PHONE)
    login(page, "vanthu")
    page.goto("/incoming/new")
    for label in ("Tệp văn bản đến (PDF)", "Cơ quan ban hành (tác giả)", "Trích yếu nội dung"):
        expect(page.get_by_label(label)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "clerk-incoming-form-phone")


def test_the_outgoing_register_shows_issued_documents_filters_and_downloads_xlsx(
    web_office: WebOffice, page: Page, issued: Issued
) -> None:
    login(page, "vanthu")
    page.get_by_role("link", name="Sổ văn bản đi").click()
    page.wait_for_url("**/registers/outgoing")
    expect(page.get_by_role("heading", name="Sổ đăng ký văn bản đi")).to_be_visible()
    for header in ("Số, ký hiệu văn bản", "Người ký", "Nơi nhận văn bản", "Ghi chú"):
        expect(page.get_by_role("columnheader", name=header)).to_be_visible()
    decision = page.get_by_role("row").filter(has_text=issued.decision_symbol)
    expect(decision.get_by_role("link", name=issued.decision_symbol)).to_have_attribute(
        "href", f"/documents/{issued.decision}"
    )
    expect(decision.locator("td.col-signer")).to_have_text("Phạm Minh Đức")
    screenshot(page, "clerk-register-outgoing")

    page.get_by_label("Loại văn bản").select_option("Công văn")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url(re.compile(r"/registers/outgoing\?.*type=C"))
    expect(page.get_by_role("row").filter(has_text=issued.letter_symbol)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=issued.decision_symbol)).to_have_count(0)

    with page.expect_download() as caught:
        page.get_by_role("link", name="Tải Excel (XLSX)").click()
    download = caught.value
    assert download.suggested_filename.endswith(".xlsx")
    path = download.path()
    assert path is not None
    sheet = load_workbook(io.BytesIO(Path(path).read_bytes())).active
    assert sheet is not None
    symbols = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert issued.letter_symbol in symbols and issued.decision_symbol not in symbols  # filtered


def test_the_registers_on_a_phone(
    web_office: WebOffice, browser_page: PageFactory, issued: Issued
) -> None:
    page = browser_page(web_office, viewport=PHONE)
    login(page, "giamdoc")
    page.goto("/registers/outgoing")
    expect(page.get_by_role("row").filter(has_text=issued.decision_symbol)).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # no sideways scrolling
    screenshot(page, "clerk-register-outgoing-phone")
    page.goto("/registers/incoming")
    expect(page.get_by_role("heading", name="Sổ đăng ký văn bản đến")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "clerk-register-incoming-phone")


def test_a_specialist_may_not_read_the_registers_nor_receive(
    web_office: WebOffice, page: Page
) -> None:
    login(page, "chuyenvien")
    for path in ("/registers/outgoing", "/registers/incoming.xlsx", "/incoming/new"):
        response = page.goto(path)
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("heading", name="Không được phép")).to_be_visible()


def test_a_bad_filter_is_explained_not_a_crash(web_office: WebOffice, page: Page) -> None:
    login(page, "luutru")
    response = page.goto("/registers/incoming?from=2026-13-45")
    assert response is not None and response.status == 422
    expect(page.locator("main")).to_contain_text("không phải một ngày")


def test_the_pdf_export_is_a_pdf_with_an_ascii_and_a_vietnamese_file_name(
    web_office: WebOffice, page: Page, issued: Issued
) -> None:
    login(page, "luutru")
    response = page.request.get("/registers/incoming.pdf?type=Quy%E1%BA%BFt+%C4%91%E1%BB%8Bnh")
    assert response.status == 200 and response.body().startswith(b"%PDF-")
    disposition = response.headers["content-disposition"]
    assert 'filename="so-dang-ky-van-ban-den.pdf"' in disposition
    assert "filename*=UTF-8''S%E1%BB%95%20%C4%91%C4%83ng%20k%C3%BD" in disposition
