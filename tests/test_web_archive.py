"""The archivist's pages in a real browser (Debian's Chromium through Playwright) against
``vanthu serve`` in a thread: search with highlighted snippets and filters, a record's page
(metadata, fixity, signature), audited downloads, restricted records hidden, case files opened,
filled and closed, a disposal proposal, a transfer package. HTTP-level checks use httpx."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fixtures_web import PHONE, PageFactory, WebOffice, login, password_of, screenshot
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from engine.archive import case_files
from engine.archive.search import index_record
from engine.core import audit
from engine.core.db import transaction
from engine.core.models import ArchiveFile, ArchiveRecord
from engine.core.text import fold
from engine.core.workspace import Workspace
from storage import NewObject, write_record
from tests_support import DECISION, LETTER, issue_document

SCRIPTED = replace(
    LETTER,
    subject="Về việc kiểm tra <script>alert('x')</script> công trình thủy lợi",
    body=(
        "Kính gửi: các phòng thuộc Sở.",
        "Đề nghị rà soát hồ sơ công trình thủy lợi và đê điều trước mùa mưa bão./.",
        "Ghi chú kỹ thuật: <script>alert('x')</script> phải hiện thành chữ.",
    ),
)
SECRET = replace(
    DECISION,
    subject="Về việc phê duyệt danh sách quy hoạch cán bộ mật",
    body=("QUYẾT ĐỊNH:", "Điều 1. Phê duyệt danh sách quy hoạch nhân sự mật năm 2026./."),
)


@dataclass(frozen=True)
class Archived:
    """The module's records: a decision, a letter whose text holds <script>, a restricted one."""

    office: WebOffice
    decision: str
    scripted: str
    secret: str


def _record_id(ws: Workspace, document_id: int) -> str:
    with Session(ws.db) as session:
        return session.exec(
            select(ArchiveRecord.record_id).where(ArchiveRecord.document_id == document_id)
        ).one()


@pytest.fixture(scope="module")
def archived(web_office: WebOffice) -> Archived:
    ws = web_office.ws
    decision = _record_id(ws, issue_document(ws, DECISION))
    scripted = _record_id(ws, issue_document(ws, SCRIPTED))
    secret = _record_id(ws, issue_document(ws, SECRET))
    case_files.open_file(
        ws,
        "luutru",
        code="2026.TCCB.MAT",
        title="Hồ sơ quy hoạch cán bộ",
        retention_class="Vĩnh viễn",
        access="restricted",
    )
    case_files.add_record(ws, "luutru", "2026.TCCB.MAT", secret)
    return Archived(web_office, decision, scripted, secret)


def _events(ws: Workspace, name: str) -> list[dict[str, object]]:
    return [json.loads(e.detail) for e in audit.events(ws.db) if e.event == name]


@contextmanager
def _http_login(office: WebOffice, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=office.url, follow_redirects=False) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        done = client.post(
            "/login",
            data={
                "username": username,
                "password": password_of(username),
                "csrf_token": token.group(1),
            },
        )
        assert done.status_code == 303, done.text
        yield client


def _search(page: Page) -> None:
    """Press Tìm and wait for the results page."""
    with page.expect_navigation():
        page.get_by_role("button", name="Tìm").click()


def _results(page: Page) -> list[str]:
    """The record ids the result list shows, in order."""
    return page.locator(".hit-id").all_inner_texts()


def test_search_finds_a_word_of_the_text_and_marks_it(
    page: Page, browser_page: PageFactory, archived: Archived
) -> None:
    login(page, "vanthu")
    page.get_by_role("link", name="Lưu trữ").click()
    page.get_by_label("Từ khóa").fill("thủy lợi")
    _search(page)
    expect(page.get_by_role("status")).to_contain_text("Tìm thấy 1 bản lưu")
    assert _results(page) == [archived.scripted]
    snippet = page.locator(".snippet")
    expect(snippet).to_contain_text("đê điều")
    assert set(snippet.locator("mark").all_inner_texts()) == {"thủy", "lợi"}
    # the subject holding <script> is text, and no script ran
    title = page.locator(".hit-title a")
    expect(title).to_have_text("Về việc kiểm tra <script>alert('x')</script> công trình thủy lợi")
    assert page.locator("main script").count() == 0
    screenshot(page, "archive-search")

    # the same query without diacritics finds it too, and so does a word of its text alone
    page.goto("/archive/search?q=de+dieu")
    assert _results(page) == [archived.scripted]
    assert {"đê", "điều"} <= set(page.locator(".snippet mark").all_inner_texts())

    with _http_login(archived.office, "vanthu") as client:
        html = client.get("/archive/search", params={"q": "thủy lợi"}).text
    assert "&lt;script&gt;alert(" in html and "<script>alert(" not in html

    small = browser_page(archived.office, viewport=PHONE)
    login(small, "vanthu")
    small.goto("/archive/search?q=thuy+loi")
    assert _results(small) == [archived.scripted]
    assert small.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(small, "archive-search-phone")


def test_filters_narrow_the_results(page: Page, archived: Archived) -> None:
    login(page, "luutru")
    page.goto("/archive/search")
    page.get_by_label("Loại văn bản").select_option("Quyết định")
    _search(page)
    assert set(_results(page)) == {archived.decision, archived.secret}  # the archivist sees both

    page.get_by_label("Từ khóa").fill("bổ nhiệm")
    _search(page)
    assert _results(page) == [archived.decision]

    page.goto("/archive/search")
    page.get_by_label("Người ký").fill("Nguyen Van An")  # giamdoc signed the letter
    _search(page)
    assert _results(page) == [archived.scripted]

    page.goto("/archive/search")
    page.get_by_label("Hồ sơ").select_option("2026.TCCB.MAT")
    _search(page)
    assert _results(page) == [archived.secret]

    page.goto("/archive/search?year=1999")
    expect(page.get_by_role("status")).to_have_text("Không tìm thấy bản lưu nào.")
    page.goto("/archive/search?year=19x9")
    expect(page.get_by_role("alert")).to_contain_text("Năm '19x9' không hợp lệ")
    page.goto("/archive/search?q=%21%21%21")  # no letter to search for: said on the page
    expect(page.get_by_role("alert")).to_contain_text("không có chữ hay số nào")

    page.goto("/archive/search?unit=TCBC")
    expect(page.get_by_role("status")).to_have_text("Không tìm thấy bản lưu nào.")


def test_the_record_page_shows_metadata_fixity_and_signature(
    page: Page, browser_page: PageFactory, archived: Archived
) -> None:
    login(page, "luutru")
    page.goto(f"/archive/search?q={archived.decision}")
    page.locator(".hit-title a").first.click()
    page.wait_for_url(f"**/archive/records/{archived.decision}")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(DECISION.subject)
    expect(facts).to_contain_text("01/QĐ-SNV")
    expect(facts).to_contain_text("Phạm Minh Đức")
    expect(facts).to_contain_text("Vĩnh viễn")
    expect(facts).to_contain_text("Công khai")
    fixity = page.get_by_role("region", name="Tính toàn vẹn")
    expect(fixity).to_contain_text("Chưa kiểm tra")
    signature = page.get_by_role("region", name="Chữ ký số")
    expect(signature.locator(".state")).to_have_text("Hợp lệ")
    expect(signature).to_contain_text("Phạm Minh Đức")
    expect(signature).to_contain_text(re.compile(r"Chữ ký: Hợp lệ · mức B-(B|T|LT|LTA)"))
    expect(signature).to_contain_text("Dấu thời gian lưu trữ: Hợp lệ")

    fixity.get_by_role("button", name="Kiểm tra ngay").click()
    expect(page.get_by_role("status").first).to_contain_text("còn nguyên vẹn")
    expect(fixity.locator(".state")).to_have_text("Nguyên vẹn")
    expect(fixity).to_contain_text("riêng bản lưu này")
    history = page.get_by_role("region", name="Lịch sử")
    expect(history).to_contain_text("Kiểm tra toàn vẹn")
    expect(history.locator("tr", has_text="Ký số")).to_contain_text("Phạm Minh Đức")
    screenshot(page, "archive-record")

    phone = browser_page(archived.office, viewport=PHONE)
    login(phone, "luutru")
    phone.goto(f"/archive/records/{archived.decision}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "archive-record-phone")


def test_a_download_is_the_file_and_leaves_an_audit_event(page: Page, archived: Archived) -> None:
    ws = archived.office.ws
    before = len(_events(ws, "archive_retrieved"))
    login(page, "vanthu")
    page.goto(f"/archive/records/{archived.decision}")
    row = page.locator("tr", has_text=".pdf").first
    with page.expect_download() as started:
        row.get_by_role("link", name="Tải về").click()
    download = started.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    events = _events(ws, "archive_retrieved")
    assert len(events) == before + 1
    assert (events[-1]["record"], events[-1]["object"], events[-1]["role"]) == (
        archived.decision,
        "pdf",
        "clerk",
    )


def test_a_restricted_record_is_not_found_for_those_not_entitled(archived: Archived) -> None:
    secret = archived.secret
    for username in ("vanthu", "chuyenvien"):
        with _http_login(archived.office, username) as client:
            page = client.get(f"/archive/records/{secret}")
            assert page.status_code == 404 and DECISION.doc_type not in page.text
            assert "quy hoạch" not in page.text
            assert client.get(f"/archive/records/{secret}/files/pdf").status_code == 404
            found = client.get("/archive/search", params={"q": "quy hoạch"}).text
            assert secret not in found and "Không tìm thấy bản lưu nào." in found
    refused = [d for d in _events(archived.office.ws, "archive_refused") if d["record"] == secret]
    assert len(refused) == 4
    with _http_login(archived.office, "luutru") as client:
        page = client.get(f"/archive/records/{secret}")
        assert page.status_code == 200 and "Hạn chế sử dụng" in page.text
        assert client.get(f"/archive/records/{secret}/files/pdf").content[:5] == b"%PDF-"


def test_a_case_file_is_opened_filled_closed_and_exported(page: Page, archived: Archived) -> None:
    login(page, "luutru")
    page.goto("/archive/files")
    page.get_by_label("Mã hồ sơ").fill("2026.VP.07")
    page.get_by_label("Tiêu đề hồ sơ").fill("Hồ sơ công trình thủy lợi năm 2026")
    page.get_by_label("Thời hạn bảo quản").select_option("20")
    page.get_by_label("Mã đơn vị lập hồ sơ").fill("VP")
    page.get_by_role("button", name="Mở hồ sơ").click()
    page.wait_for_url("**/archive/files/2026.VP.07")
    expect(page.get_by_role("status").first).to_contain_text("Đã mở hồ sơ 2026.VP.07")

    page.get_by_label("Mã bản lưu").fill(archived.scripted)
    page.get_by_role("button", name="Đưa vào hồ sơ").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Đã đưa bản lưu {archived.scripted}")
    expect(page.locator("table.list")).to_contain_text("công trình thủy lợi")
    page.get_by_label("Mã bản lưu").fill("KHONG-CO-0001")
    page.get_by_role("button", name="Đưa vào hồ sơ").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy")
    page.goto("/archive/files/2026.VP.07")
    screenshot(page, "archive-file-open")

    page.get_by_role("button", name="Đóng hồ sơ").click()
    expect(page.get_by_role("status").first).to_contain_text("Đã đóng hồ sơ 2026.VP.07")
    expect(page.locator("dl.facts")).to_contain_text("Đã đóng")
    expect(page.get_by_role("button", name="Đưa vào hồ sơ")).to_have_count(0)

    with page.expect_download() as started:
        page.get_by_role("button", name="Tải gói chuyển giao (.zip)").click()
    package = started.value
    assert package.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(open(package.path(), "rb").read())) as zipped:
        names = zipped.namelist()
    assert any(name.endswith("/METS.xml") or name == "METS.xml" for name in names), names
    assert _events(archived.office.ws, "archive_file_exported")[-1]["file"] == "2026.VP.07"
    screenshot(page, "archive-file-closed")

    page.goto("/archive/files")
    row = page.locator("tr", has_text="2026.VP.07")
    expect(row).to_contain_text("Đã đóng")
    expect(row).to_contain_text("VP")
    screenshot(page, "archive-files")

    page.goto("/archive/search?unit=VP")  # the unit filter: the file's records
    assert _results(page) == [archived.scripted]


def _expired(ws: Workspace, record_id: str) -> None:
    """A record past its retention in a closed case file (objects written without retention)."""
    manifest = write_record(
        ws.store,
        record_id,
        [NewObject("pdf", f"{record_id}.pdf", b"%PDF-1.7 het han\n", "application/pdf")],
        {"identifier": record_id, "subject": "Công văn hết hạn"},
        retain_until=None,
    )
    with transaction(ws.db) as session:
        archive_file = ArchiveFile(
            code="2015.VP.01",
            title="Hồ sơ công văn năm 2015",
            retention_years=5,
            opened_by="luutru",
            state="closed",
        )
        session.add(archive_file)
        session.flush()
        record = ArchiveRecord(
            record_id=record_id,
            agency_code="SNV",
            doc_type="Công văn",
            subject="Về việc tổng kết công tác năm 2015",
            retention_years=5,
            retain_until=datetime.now(UTC) - timedelta(days=30),
            file_id=archive_file.id,
            pdf_sha256=manifest.objects[0].sha256,
            search_text=fold(record_id),
        )
        session.add(record)
        session.flush()
        index_record(session, record, "Tổng kết công tác năm 2015")


def test_a_disposal_proposal_is_made_from_the_expired_records(
    page: Page, archived: Archived
) -> None:
    _expired(archived.office.ws, "SNV-2015-DI-VBDI-0009")
    login(page, "luutru")
    page.goto("/archive/disposal")
    expect(page.get_by_role("region", name="Các tờ trình hủy")).to_contain_text(
        "Chưa có tờ trình hủy nào."
    )
    page.get_by_label("SNV-2015-DI-VBDI-0009").check()
    page.get_by_label("Lý do đề nghị hủy").fill("Hết thời hạn bảo quản 5 năm.")
    page.get_by_role("button", name="Lập tờ trình hủy").click()
    expect(page.get_by_role("status").first).to_contain_text("Đã lập tờ trình hủy #")
    proposals = page.get_by_role("region", name="Các tờ trình hủy")
    expect(proposals).to_contain_text("Hết thời hạn bảo quản 5 năm.")
    expect(proposals).to_contain_text("Chờ duyệt")
    expect(proposals).to_contain_text("Thẩm tra danh mục tài liệu hết giá trị")
    expect(page.get_by_role("region", name="Bản lưu đã hết thời hạn bảo quản")).to_contain_text(
        "Không có bản lưu nào hết thời hạn bảo quản."
    )
    screenshot(page, "archive-disposal")
    [proposed] = _events(archived.office.ws, "disposal_proposed")
    assert proposed["records"] == ["SNV-2015-DI-VBDI-0009"]

    with _http_login(archived.office, "luutru") as client:  # nothing chosen: said, not a trace
        form = client.get("/archive/disposal").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        refused = client.post(
            "/archive/disposal", data={"csrf_token": token.group(1), "reason": "Hết hạn"}
        )
        assert refused.status_code == 422 and "ít nhất một bản lưu" in refused.text
    with _http_login(archived.office, "vanthu") as client:  # the clerk proposes nothing
        assert client.get("/archive/disposal").status_code == 403


def test_results_come_a_page_at_a_time(page: Page, archived: Archived) -> None:
    with transaction(archived.office.ws.db) as session:
        for n in range(1, 26):
            record = ArchiveRecord(
                record_id=f"SNV-2024-DI-VBDI-{n:04d}",
                agency_code="SNV",
                doc_type="Công văn",
                number=n,
                subject=f"Về việc kiểm kê kho lưu trữ đợt {n}",
                pdf_sha256="0" * 64,
                search_text=fold("kiem ke"),
            )
            session.add(record)
            session.flush()
            index_record(session, record, f"Biên bản kiểm kê kho số {n}.")
    login(page, "vanthu")
    page.goto("/archive/search?q=kiểm+kê")
    expect(page.get_by_role("status")).to_contain_text("Tìm thấy 25 bản lưu · trang 1/2")
    assert len(_results(page)) == 20
    with page.expect_navigation():
        page.get_by_role("link", name="Trang sau").click()
    expect(page.get_by_role("status")).to_contain_text("trang 2/2")
    assert len(_results(page)) == 5
    expect(page.get_by_label("Từ khóa")).to_have_value("kiểm kê")
    expect(page.get_by_role("link", name="Trang sau")).to_have_count(0)
    expect(page.get_by_role("link", name="Trang trước")).to_be_visible()
