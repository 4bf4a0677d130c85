"""The issue's walk in a real browser (Debian's Chromium through Playwright) against
``vanthu serve`` in a thread: people log in one after another in the same browser and do
everything through the pages. A decision is drafted, returned with a comment, redrafted,
approved, signed with the PIN, issued, found in the register and in the archive and downloaded
as a valid signed PDF; that PDF is then received as an incoming document, registered, assigned
and completed. Then the refusals: a wrong password, a forged CSRF token, another person's
document by its address. The engine is only read, for the assertions."""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from docx import Document as Docx
from docx.text.paragraph import Paragraph
from fixtures_web import PageFactory, WebOffice, login, password_of, screenshot
from playwright.sync_api import Page, expect
from sqlmodel import Session

from engine.core import audit
from engine.core.models import Document
from engine.signatures import keys
from signing import verify_document
from signing.demo import DemoPKI
from tests_support import pin_of

SLOW = 90_000
"""Milliseconds for an action whose automated steps run right after it (LibreOffice, signing)."""
SUBJECT = "Về việc thành lập Tổ kiểm tra công tác văn thư, lưu trữ năm 2026"
BODY = (
    "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;"
    "\n\nQUYẾT ĐỊNH:"
    "\n\nĐiều 1. Thành lập Tổ kiểm tra công tác văn thư, lưu trữ năm 2026 của Sở."
    "\n\nĐiều 2. Quyết định có hiệu lực kể từ ngày ký./."
)
RETURNED = "Bổ sung căn cứ Luật Lưu trữ vào phần căn cứ."
ADDED = "Căn cứ Luật Lưu trữ ngày 21 tháng 6 năm 2024;"
SENDER = "SỞ NỘI VỤ TỈNH MẪU"


@pytest.fixture(scope="module")
def office(web_office: WebOffice, demo_services: DemoPKI) -> WebOffice:
    """The module's office, with the demo PKI's OCSP, CRL and TSA answering (signing asks)."""
    return web_office


@pytest.fixture
def walker(office: WebOffice, browser_page: PageFactory) -> Iterator[Page]:
    """One browser window at 1366×768 that every person of the walk uses in turn."""
    yield browser_page(office)


def _as(page: Page, username: str) -> None:
    """Log out whoever is in (the menu's button), then log ``username`` in."""
    if page.get_by_role("button", name="Đăng xuất").count():
        page.get_by_role("button", name="Đăng xuất").click()
        page.wait_for_url("**/login?out=1")
    login(page, username)


def _open_from_inbox(page: Page, subject: str) -> int:
    """Click the document in the inbox; its id."""
    page.get_by_role("link", name=subject).click()
    page.wait_for_url(re.compile(r"/documents/\d+$"))
    found = re.search(r"/documents/(\d+)$", page.url)
    assert found is not None
    return int(found[1])


def _flash(page: Page) -> str:
    """The success message the last action left (failing on an error message)."""
    expect(page.locator(".flash-success, .flash-error").first).to_be_visible(timeout=SLOW)
    assert page.locator(".flash-error").count() == 0, page.locator(".flash-error").inner_text()
    return page.locator(".flash-success").inner_text()


def _pages_drawn(page: Page) -> None:
    """Wait until the first page image has loaded (before a screenshot)."""
    first = page.get_by_alt_text("Trang 1")
    first.scroll_into_view_if_needed()
    expect(first).to_have_js_property("complete", True)
    assert first.evaluate("img => img.naturalWidth") > 0
    page.evaluate("window.scrollTo(0, 0)")


def _redrafted(path: Path) -> bytes:
    """The draft as the specialist edits it in Word: the missing legal basis added."""
    draft = Docx(str(path))
    [basis] = [p for p in draft.paragraphs if p.text.startswith("Căn cứ Nghị định")]
    added = copy.deepcopy(basis._p)  # the same indent and spacing as its neighbour
    basis._p.addprevious(added)
    Paragraph(added, basis._parent).text = ADDED
    out = io.BytesIO()
    draft.save(out)
    return out.getvalue()


def _document(office: WebOffice, document_id: int) -> Document:
    with Session(office.ws.db) as session:
        found = session.get(Document, document_id)
    assert found is not None
    return found


def test_a_decision_walks_from_draft_to_archive_and_comes_back_as_incoming_mail(
    office: WebOffice, walker: Page, tmp_path: Path
) -> None:
    page = walker

    # the specialist drafts the decision from the Decree 30 form
    _as(page, "chuyenvien")
    screenshot(page, "walk-01-inbox-specialist")
    page.get_by_role("navigation", name="Chức năng").get_by_role(
        "link", name="Soạn văn bản"
    ).click()
    page.get_by_label("Loại văn bản").select_option("Quyết định")
    page.get_by_label("Trích yếu nội dung").fill(SUBJECT)
    page.get_by_label("Nội dung", exact=True).fill(BODY)
    page.get_by_label("Người ký").select_option("phogiamdoc")
    page.get_by_label("Nơi nhận").fill("Như Điều 3;\nBan Giám đốc Sở;")
    screenshot(page, "walk-02-draft-form")
    page.get_by_role("button", name="Tạo dự thảo").click()
    page.wait_for_url(re.compile(r"/documents/\d+$"), timeout=SLOW)
    doc = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".flash-success")).to_contain_text(f"Đã tạo dự thảo văn bản #{doc}")
    expect(page.get_by_role("heading", level=1)).to_have_text(SUBJECT)
    page.get_by_role("button", name="Trình duyệt").click()
    assert "Lãnh đạo phòng xem xét" in _flash(page)
    screenshot(page, "walk-03-submitted")

    # the head of division returns it with a comment
    _as(page, "truongphong")
    assert _open_from_inbox(page, SUBJECT) == doc
    screenshot(page, "walk-04-review")
    page.get_by_label("Ý kiến — Trả lại (bắt buộc)").fill(RETURNED)
    page.get_by_role("button", name="Trả lại").click()
    assert "Đã trả lại" in _flash(page)

    # the specialist reads the comment, edits the draft in Word, uploads it and submits again
    _as(page, "chuyenvien")
    _open_from_inbox(page, SUBJECT)
    comments = page.locator("#y-kien")
    expect(comments).to_contain_text(RETURNED)
    expect(comments).to_contain_text("Lê Thị Cúc")
    with page.expect_download() as caught:
        page.locator("ul.files a", has_text=".docx").first.click()
    draft = Path(str(caught.value.path()))
    page.get_by_label("Phiên bản dự thảo mới (DOCX)").set_input_files(
        files=[
            {
                "name": "du-thao-bo-sung-can-cu.docx",
                "mimeType": "application/vnd.openxmlformats-officedocument.wordprocessingml"
                ".document",
                "buffer": _redrafted(draft),
            }
        ]
    )
    page.get_by_label("Ghi chú cho phiên bản").fill("Đã bổ sung căn cứ Luật Lưu trữ")
    page.get_by_role("button", name="Tải lên phiên bản mới").click()
    assert _flash(page) == "Đã lưu dự thảo phiên bản 2."
    expect(page.get_by_role("link", name="du-thao-bo-sung-can-cu.docx")).to_have_count(1)
    _pages_drawn(page)
    screenshot(page, "walk-05-new-version")
    page.get_by_role("button", name="Trình duyệt").click()
    assert "Lãnh đạo phòng xem xét" in _flash(page)

    # the head approves: the workflow sends it straight to the signer
    _as(page, "truongphong")
    _open_from_inbox(page, SUBJECT)
    expect(page.get_by_role("link", name="du-thao-bo-sung-can-cu.docx")).to_have_count(1)
    page.get_by_role("button", name="Duyệt").click()
    assert "Lãnh đạo ký duyệt" in _flash(page)  # LibreOffice converted the draft meanwhile

    # the deputy director signs with the PIN of the key
    _as(page, "phogiamdoc")
    _open_from_inbox(page, SUBJECT)
    expect(page.locator(".signer")).to_contain_text("KT. GIÁM ĐỐC")
    _pages_drawn(page)
    screenshot(page, "walk-06-to-sign")
    page.get_by_label("Mã PIN").fill(pin_of(office.ws, "phogiamdoc"))
    page.get_by_role("button", name="Ký số").click()
    assert "Văn thư cấp số" in _flash(page)
    expect(page.locator(".signatures")).to_contain_text("Phạm Minh Đức")

    # the clerk issues it in one click and sees its number
    _as(page, "vanthu")
    _open_from_inbox(page, SUBJECT)
    page.get_by_role("button", name="Cấp số, đóng dấu, phát hành").click()
    issued = re.search(r"Đã phát hành: số (\d+/QĐ-SNV) ngày (\d\d/\d\d/\d{4})", _flash(page))
    assert issued is not None, page.locator(".flash-success").inner_text()
    symbol, day = issued[1], issued[2]
    expect(page.locator(".doc-number")).to_contain_text(symbol)
    expect(page.locator(".signatures")).to_contain_text("HỢP LỆ")
    _pages_drawn(page)
    screenshot(page, "walk-07-issued")
    assert _document(office, doc).symbol == symbol

    # the outgoing register lists it under that number
    page.get_by_role("navigation", name="Chức năng").get_by_role(
        "link", name="Sổ văn bản đi"
    ).click()
    row = page.get_by_role("row").filter(has_text=symbol)
    expect(row.get_by_role("link", name=symbol)).to_have_attribute("href", f"/documents/{doc}")
    expect(row).to_contain_text(day)
    expect(row.locator("td.col-signer")).to_have_text("Phạm Minh Đức")
    screenshot(page, "walk-08-register-outgoing")

    # the archivist finds it by a word of its subject and downloads the signed PDF
    _as(page, "luutru")
    page.get_by_role("navigation", name="Chức năng").get_by_role("link", name="Lưu trữ").click()
    page.get_by_label("Từ khóa").fill("kiểm tra")
    with page.expect_navigation():
        page.get_by_role("button", name="Tìm").click()
    hit = page.locator(".hit-title a", has_text=SUBJECT)
    expect(hit.locator("mark").first).to_have_text("kiểm")
    screenshot(page, "walk-09-archive-search")
    hit.click()
    page.wait_for_url(re.compile(r"/archive/records/[^/]+$"))
    expect(page.locator("dl.facts")).to_contain_text(symbol)
    signature = page.get_by_role("region", name="Chữ ký số")
    expect(signature.locator(".state")).to_have_text("Hợp lệ")
    screenshot(page, "walk-10-archive-record")
    with page.expect_download() as caught:
        page.locator("tr", has_text=".pdf").first.get_by_role("link", name="Tải về").click()
    signed = Path(str(caught.value.path())).read_bytes()
    report = verify_document(signed, keys.trust_roots(office.ws))
    assert report.verdict == "valid", report.reasons
    signers = [s.signer for s in report.signatures]
    assert any("Phạm Minh Đức" in s for s in signers), signers  # the leader's, beside the seal
    assert any("SỞ NỘI VỤ" in s for s in signers), signers
    downloads = [e for e in audit.events(office.ws.db) if e.event == "archive_retrieved"]
    assert downloads and downloads[-1].actor == "luutru"

    # the same PDF arrives as incoming mail: the verdict first, then registered and sent on
    received = tmp_path / "qd-den.pdf"
    received.write_bytes(signed)
    _as(page, "vanthu")
    page.get_by_role("navigation", name="Chức năng").get_by_role(
        "link", name="Tiếp nhận văn bản đến"
    ).click()
    page.get_by_label("Tệp văn bản đến (PDF)").set_input_files(str(received))
    page.get_by_label("Cơ quan ban hành (tác giả)").fill(SENDER)
    page.get_by_label("Số, ký hiệu văn bản").fill(symbol)
    page.get_by_label("Loại văn bản").select_option("Quyết định")
    page.get_by_label("Trích yếu nội dung").fill(SUBJECT)
    page.get_by_role("button", name="Kiểm tra văn bản").click()
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text("Chữ ký số: HỢP LỆ", timeout=SLOW)
    expect(verdict).to_contain_text("Phạm Minh Đức")
    screenshot(page, "walk-11-incoming-verdict")
    page.get_by_role("button", name="Vào sổ và chuyển lãnh đạo").click(timeout=SLOW)
    page.wait_for_url("**/registers/incoming", timeout=SLOW)
    number = re.search(r"số đến (\d+)", _flash(page))
    assert number is not None
    row = page.get_by_role("row").filter(has_text=symbol)
    expect(row.locator("td.col-number")).to_have_text(number[1])
    screenshot(page, "walk-12-register-incoming")
    row.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/documents/\d+$"))
    incoming = int(page.url.rsplit("/", 1)[1])
    assert incoming != doc and _document(office, incoming).direction == "incoming"

    # the director assigns it to the head of division, who completes it
    _as(page, "giamdoc")
    assert _open_from_inbox(page, SUBJECT) == incoming
    page.get_by_label("Người được chọn").select_option(label="Lê Thị Cúc")
    page.get_by_label("Ý kiến — Giao xử lý (không bắt buộc)").fill("Giao phòng TCBC triển khai.")
    page.get_by_role("button", name="Giao xử lý").click()
    assert "Đơn vị chủ trì xử lý" in _flash(page)

    _as(page, "truongphong")
    assert _open_from_inbox(page, SUBJECT) == incoming
    page.get_by_label("Ý kiến — Hoàn thành (bắt buộc)").fill("Đã thành lập Tổ kiểm tra.")
    page.get_by_role("button", name="Hoàn thành").click()
    assert "đã kết thúc quy trình" in _flash(page)
    history = page.locator(".history tbody")
    for who, what in (
        ("Hoàng Thị Hoa", "tiếp nhận văn bản đến"),
        ("Hoàng Thị Hoa", "vào sổ"),
        ("Nguyễn Văn An", "giao xử lý"),
        ("Nguyễn Văn An", "Giao phòng TCBC triển khai."),
        ("Lê Thị Cúc", "hoàn thành"),
        ("Lê Thị Cúc", "Đã thành lập Tổ kiểm tra."),
    ):
        expect(history.locator("tr", has_text=who).filter(has_text=what)).to_have_count(1)
    _pages_drawn(page)
    screenshot(page, "walk-13-incoming-completed")
    page.goto("/inbox")
    expect(page.get_by_role("link", name=SUBJECT)).to_have_count(0)  # nothing left to do


# --- refusals -------------------------------------------------------------------------------


def _csrf(client: httpx.Client, path: str = "/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found[1]


def test_a_wrong_password_a_forged_token_and_another_persons_document_are_refused(
    office: WebOffice, walker: Page
) -> None:
    page = walker
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("chuyenvien")
    page.get_by_label("Mật khẩu").fill("mat-khau-doan-bua")
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        page.get_by_role("button", name="Đăng nhập").click()
    assert refused.value.status == 401
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login$"))
    screenshot(page, "walk-14-wrong-password")
    assert "vanthu_session" not in {c["name"] for c in page.context.cookies()}

    # the specialist drafts a document of their own (through the form)
    login(page, "chuyenvien")
    page.goto("/drafts/new")
    page.get_by_label("Loại văn bản").select_option("Tờ trình")
    page.get_by_label("Trích yếu nội dung").fill("Về việc đề xuất nâng lương trước thời hạn")
    page.get_by_label("Nội dung", exact=True).fill("Kính trình Giám đốc Sở xem xét./.")
    page.get_by_role("button", name="Tạo dự thảo").click()
    page.wait_for_url(re.compile(r"/documents/\d+$"), timeout=SLOW)
    doc = int(page.url.rsplit("/", 1)[1])

    # a comment posted with a tampered hidden token is refused, and not added
    form = page.locator("#y-kien form")
    form.get_by_label("Ý kiến của bạn (trả lời ý kiến trên)").fill("Ý kiến giả mạo")
    form.locator('input[name="csrf_token"]').evaluate("input => { input.value = 'gia-mao' }")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form.get_by_role("button", name="Gửi ý kiến").click()
    assert answer.value.status == 403
    expect(page.locator("main")).to_contain_text("mã chống giả mạo")
    screenshot(page, "walk-15-forged-csrf")
    page.goto(f"/documents/{doc}")
    expect(page.locator("#y-kien")).not_to_contain_text("Ý kiến giả mạo")

    # and from another site's script (httpx, the session cookie but no token of this session)
    with closing(httpx.Client(base_url=office.url, follow_redirects=False)) as client:
        client.post(
            "/login",
            data={
                "username": "chuyenvien",
                "password": password_of("chuyenvien"),
                "csrf_token": _csrf(client),
            },
        )
        real = _csrf(client, "/inbox")
        forged = client.post(
            f"/documents/{doc}/act", data={"action": "submit", "csrf_token": real[::-1]}
        )
        assert forged.status_code == 403
    page.reload()
    expect(page.get_by_role("button", name="Trình duyệt")).to_have_count(1)  # not submitted

    # the head of another unit types the document's address: not found, nothing shown
    _as(page, "phapche")
    response = page.goto(f"/documents/{doc}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy")
    expect(page.locator("body")).not_to_contain_text("nâng lương")
    screenshot(page, "walk-16-not-found")
