"""``/drafts/new`` in a real browser: a specialist drafts a Công văn with 'Kính gửi' from the
Decree 30 form, or uploads their own DOCX; a refusal shows the form again with what was typed
and the engine's message under its field; 'Kính gửi' follows the type (and stays, with its
hint, without JavaScript); only those who draft see the form."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import httpx
import pytest
from docx import Document as Docx
from fixtures_web import (
    DESKTOP,
    PHONE,
    PageFactory,
    WebOffice,
    login,
    password_of,
    screenshot,
)
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session
from test_drafts import example

from engine.outgoing.drafts import render_draft
from engine.workflow.documents import document_view
from engine.workflow.files import latest_file
from storage import get_content

SUBJECT = "V/v đôn đốc báo cáo công tác văn thư năm 2026"
BODY = (
    "Thực hiện Nghị định số 30/2020/NĐ-CP, Sở Nội vụ đề nghị các cơ quan\n"
    "tổng hợp báo cáo công tác văn thư năm 2026.\n"
    "\n"
    "Báo cáo gửi về Sở Nội vụ trước ngày 15/12/2026./."
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _document_id(page: Page) -> int:
    found = re.search(r"/documents/(\d+)$", page.url)
    assert found is not None, page.url
    return int(found.group(1))


def _draft_texts(office: WebOffice, document_id: int) -> list[str]:
    """Every paragraph of the document's latest draft DOCX, table cells included."""
    with Session(office.ws.db) as session:
        data = get_content(office.ws.store, latest_file(session, document_id, "draft").sha256)
    document = Docx(io.BytesIO(data))
    cells = [p.text for t in document.tables for c in t._cells for p in c.paragraphs]
    return [t for t in cells + [p.text for p in document.paragraphs] if t.strip()]


def test_a_specialist_drafts_a_letter_with_kinh_gui_from_the_form(
    page: Page, web_office: WebOffice
) -> None:
    login(page, "chuyenvien")
    page.get_by_role("navigation", name="Chức năng").get_by_role(
        "link", name="Soạn văn bản"
    ).click()
    expect(page.get_by_role("heading", name="Soạn văn bản đi")).to_be_visible()
    expect(page.get_by_label("Loại văn bản")).to_have_value("Công văn")
    kinh_gui = page.get_by_label("Kính gửi")
    expect(kinh_gui).to_be_visible()
    page.get_by_label("Loại văn bản").select_option("Quyết định")
    expect(kinh_gui).to_be_hidden()  # a decision has no 'Kính gửi'
    page.get_by_label("Loại văn bản").select_option("Công văn")
    expect(kinh_gui).to_be_visible()
    expect(page.get_by_label("Độ khẩn").locator("option")).to_have_text(
        ["Thường", "Khẩn", "Thượng khẩn", "Hỏa tốc"]
    )
    signer = page.get_by_label("Người ký")
    expect(signer.locator("option")).to_have_text(
        [
            "Nguyễn Văn An — Giám đốc",
            "Phạm Minh Đức — Phó Giám đốc (KT. GIÁM ĐỐC)",  # the engine's authority line
        ]
    )

    page.get_by_label("Trích yếu nội dung").fill(SUBJECT)
    kinh_gui.fill("Sở Tài chính;\nSở Xây dựng.")
    page.get_by_label("Nội dung", exact=True).fill(BODY)
    page.get_by_label("Nơi nhận").fill("Như trên;\nBan Giám đốc Sở (để b/c);")
    page.get_by_label("Độ khẩn").select_option("Khẩn")
    signer.select_option("phogiamdoc")
    screenshot(page, "drafts-new-filled")
    page.get_by_role("button", name="Tạo dự thảo").click()

    page.wait_for_url(re.compile(r"/documents/\d+$"))
    document_id = _document_id(page)
    view = document_view(web_office.ws, document_id, "chuyenvien")
    document = view.document
    assert (document.doc_type, document.subject, document.urgency) == ("Công văn", SUBJECT, "Khẩn")
    assert document.recipients == "Như trên;\nBan Giám đốc Sở (để b/c);"
    assert view.signer is not None and "Phạm Minh Đức" in view.signer
    assert view.author.startswith("Trần Thị Bình")
    texts = _draft_texts(web_office, document_id)
    assert "Kính gửi:\t- Sở Tài chính;" in texts and "- Sở Xây dựng." in texts
    assert [t for t in texts if "V/v" in t] == ["V/v đôn đốc báo cáo công tác văn thư năm 2026"]
    assert "KT. GIÁM ĐỐC" in texts and "KHẨN" in texts
    paragraphs = [t for t in texts if t.startswith(("Thực hiện", "Báo cáo gửi"))]
    assert paragraphs == [  # two paragraphs, the line break inside the first one a space
        "Thực hiện Nghị định số 30/2020/NĐ-CP, Sở Nội vụ đề nghị các cơ quan tổng hợp báo cáo "
        "công tác văn thư năm 2026.",
        "Báo cáo gửi về Sở Nội vụ trước ngày 15/12/2026./.",
    ]
    expect(page.locator(".flash-success")).to_have_text(  # shown once, on the next page
        f"Đã tạo dự thảo văn bản #{document_id}: {SUBJECT}."
    )


def test_a_refusal_keeps_what_was_typed_and_names_the_field(
    page: Page, web_office: WebOffice
) -> None:
    login(page, "chuyenvien")
    page.goto("/drafts/new")
    page.get_by_label("Loại văn bản").select_option("Tờ trình")
    page.get_by_label("Trích yếu nội dung").fill("   ")
    page.get_by_label("Nội dung", exact=True).fill("<script>alert(1)</script> Nội dung giữ lại.")
    page.get_by_label("Nơi nhận").fill("Như trên;")
    page.get_by_label("Độ khẩn").select_option("Hỏa tốc")
    page.get_by_label("Người ký").select_option("giamdoc")
    page.get_by_role("button", name="Tạo dự thảo").click()

    expect(page).to_have_url(re.compile(r"/drafts/new$"))
    alert = page.locator("#loi-subject")
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_have_text("Trích yếu không được để trống")
    expect(page.get_by_label("Trích yếu nội dung")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Loại văn bản")).to_have_value("Tờ trình")
    expect(page.get_by_label("Nội dung", exact=True)).to_have_value(
        "<script>alert(1)</script> Nội dung giữ lại."  # kept, as text
    )
    expect(page.get_by_label("Nơi nhận")).to_have_value("Như trên;")
    expect(page.get_by_label("Độ khẩn")).to_have_value("Hỏa tốc")
    expect(page.get_by_label("Người ký")).to_have_value("giamdoc")
    expect(page.get_by_label("Kính gửi")).to_be_hidden()
    expect(page.locator("[role=alert]")).to_have_count(1)
    screenshot(page, "drafts-new-refused")

    # an image renamed .docx: refused by the engine, the message under the file field
    page.get_by_label("Trích yếu nội dung").fill("Về việc thử tải lên")
    page.get_by_label("Hoặc tải lên tệp DOCX tự soạn").set_input_files(
        {
            "name": "anh-chup.docx",
            "mimeType": "image/png",
            "buffer": b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
        }
    )
    page.get_by_role("button", name="Tạo dự thảo").click()
    expect(page.locator("#loi-docx")).to_have_text(re.compile(r"^Tệp không phải tệp Word \.docx"))
    expect(page.get_by_label("Trích yếu nội dung")).to_have_value("Về việc thử tải lên")


def test_a_specialist_uploads_their_own_docx(page: Page, web_office: WebOffice) -> None:
    own = render_draft(example("quyet-dinh"))  # a Decree 30 layout made elsewhere
    login(page, "chuyenvien")
    page.goto("/drafts/new")
    page.get_by_label("Loại văn bản").select_option("Quyết định")
    page.get_by_label("Trích yếu nội dung").fill("Về việc ban hành Quy chế văn thư")
    page.get_by_label("Hoặc tải lên tệp DOCX tự soạn").set_input_files(
        {
            "name": "quy-che.docx",
            "mimeType": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "buffer": own,
        }
    )
    page.get_by_role("button", name="Tạo dự thảo").click()
    page.wait_for_url(re.compile(r"/documents/\d+$"), timeout=120_000)  # LibreOffice converts it
    document_id = _document_id(page)
    view = document_view(web_office.ws, document_id, "chuyenvien")
    assert view.document.subject == "Về việc ban hành Quy chế văn thư"
    drafts = [(f.kind, f.filename) for f in view.files]
    assert ("draft", "quy-che.docx") in drafts and ("pdf", "quy-che.pdf") in drafts
    with Session(web_office.ws.db) as session:
        stored = latest_file(session, document_id, "draft").sha256
    assert get_content(web_office.ws.store, stored) == own  # the person's file, unchanged


@pytest.fixture
def no_script_page(browser: Browser, web_office: WebOffice) -> Iterator[Page]:
    context = browser.new_context(
        base_url=web_office.url, viewport=DESKTOP, locale="vi-VN", java_script_enabled=False
    )
    yield context.new_page()
    context.close()


def test_without_javascript_kinh_gui_is_there_with_its_hint(no_script_page: Page) -> None:
    page = no_script_page
    login(page, "chuyenvien")
    page.goto("/drafts/new")
    page.get_by_label("Loại văn bản").select_option("Quyết định")
    expect(page.get_by_label("Kính gửi")).to_be_visible()
    expect(page.get_by_text("chỉ dùng cho Công văn")).to_be_visible()


def test_kinh_gui_sent_with_another_type_is_refused_by_the_engine(web_office: WebOffice) -> None:
    with httpx.Client(base_url=web_office.url) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        client.post(
            "/login",
            data={
                "username": "chuyenvien",
                "password": password_of("chuyenvien"),
                "csrf_token": token.group(1),
            },
        )
        page = client.get("/drafts/new")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and csrf is not None
        answer = client.post(
            "/drafts/new",
            data={
                "csrf_token": csrf.group(1),
                "doc_type": "Quyết định",
                "subject": "Về việc thử",
                "body": "Điều 1. Thử.",
                "addressees": "Sở Tài chính",
                "signer": "giamdoc",
            },
        )
    assert answer.status_code == 422
    assert 'id="loi-addressees" role="alert"' in answer.text
    assert "&#39;Kính gửi&#39; chỉ dùng cho Công văn, không dùng cho Quyết định" in answer.text
    assert "Traceback" not in answer.text


def test_only_those_who_draft_see_the_form(
    browser_page: PageFactory, web_office: WebOffice
) -> None:
    page = browser_page(web_office, viewport=PHONE)
    login(page, "vanthu")  # a clerk registers, does not draft
    expect(page.get_by_role("link", name="Soạn văn bản")).to_have_count(0)
    answer = page.goto("/drafts/new")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", name="Không được phép")).to_be_visible()

    phone = browser_page(web_office, viewport=PHONE)
    login(phone, "chuyenvien")
    phone.goto("/drafts/new")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the form scrolls sideways on a phone: {width}px"
    screenshot(phone, "drafts-new-phone")
