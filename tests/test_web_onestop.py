"""The one-stop desk in a real browser: the clerk receives a dossier through the form and
prints the receipt (Mẫu 01 with the dossier's code), the handling unit moves it on from the
dossier's page, the clerk returns the result; completion asked and refusal; a form with bad
input comes back with the error at the field and nothing stored; who may not is refused; the
list's filters; the pages on a phone."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path

from fixtures_web import PHONE, SCREENS, PageFactory, WebOffice, login, screenshot
from onestop_results import appraisal_docx
from playwright.sync_api import Page, expect
from sqlalchemy import func
from sqlmodel import Session, select

from engine.core.calendar import VIETNAM_TIME
from engine.core.models import Dossier
from engine.onestop import (
    DossierRequest,
    DossierState,
    act_on,
    dossier_view,
    procedures,
    receive,
)
from tests_support import pin_of
from vanthu import clock as vanthu_clock
from vanthu.clock import ManualClock

PROCEDURE = "SNV-TCBC-01"
PAPERS = (
    "Tờ trình đề nghị thành lập tổ chức hành chính",
    "Đề án thành lập tổ chức hành chính",
    "Dự thảo quyết định thành lập tổ chức hành chính",
    "Văn bản thẩm định của cơ quan có liên quan",
)
ALL = ("1", "2", "3", "4")
"""Every paper of the procedure, by number."""
CODE = re.compile(r"/onestop/([A-Za-z0-9.\-]+)$")


def _count(office: WebOffice) -> int:
    with Session(office.ws.db) as session:
        return int(session.exec(select(func.count()).select_from(Dossier)).one())


def _state(office: WebOffice, code: str) -> int:
    return dossier_view(office.ws, code).state


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "phieu.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _fill_reception(page: Page, applicant: str, *, untick: tuple[str, ...] = ()) -> None:
    page.goto("/onestop/new")
    page.get_by_label("Người (tổ chức) nộp hồ sơ").fill(applicant)
    page.get_by_label("Địa chỉ").fill("Số 5 Tràng Tiền, Hoàn Kiếm, Hà Nội")
    page.get_by_label("Số điện thoại").fill("0243 826 1234")
    for paper in untick:
        page.get_by_label(paper).uncheck()


def _received(page: Page) -> str:
    page.wait_for_url(CODE)
    found = CODE.search(page.url)
    assert found is not None
    return found.group(1)


def _csrf(page: Page) -> str:
    return str(page.locator('input[name="csrf_token"]').first.get_attribute("value"))


def _download(page: Page, row: str, link: str = "PDF") -> bytes:
    """The file of the row ``row`` of the page's "In phiếu" list."""
    with page.expect_download() as caught:
        page.locator("#forms li").filter(has_text=row).get_by_role("link", name=link).click()
    path = caught.value.path()
    assert path is not None
    return Path(path).read_bytes()


def test_the_desk_receives_the_unit_handles_and_the_desk_returns_the_result(
    web_office: WebOffice, browser_page: PageFactory, tmp_path: Path
) -> None:
    clerk = browser_page(web_office)
    login(clerk, "vanthu")
    clerk.get_by_role("link", name="Hồ sơ một cửa").click()
    clerk.wait_for_url("**/onestop")
    clerk.get_by_role("link", name="Tiếp nhận hồ sơ mới").click()
    clerk.wait_for_url("**/onestop/new")
    expect(clerk.locator(".checklist li")).to_have_count(4)
    _fill_reception(clerk, "Công ty TNHH Ánh Dương")
    for paper in PAPERS:
        expect(clerk.get_by_label(paper)).to_be_checked()
    expect(clerk.get_by_text("1 bản chính, 0 bản sao").first).to_be_visible()
    screenshot(clerk, "onestop-receive")
    clerk.get_by_role("button", name="Kiểm tra và tiếp nhận").click()
    code = _received(clerk)
    expect(clerk.locator(".flash-success")).to_contain_text(f"Đã tiếp nhận hồ sơ {code}")
    expect(clerk.locator("#dossier-state")).to_have_text("Đã tiếp nhận")
    assert _state(web_office, code) == DossierState.RECEIVED
    receipt_pdf = _download(clerk, "Mẫu 01")
    (SCREENS / "onestop-receipt.pdf").write_bytes(receipt_pdf)  # for people to look at
    receipt = _pdf_text(receipt_pdf, tmp_path)
    assert code in receipt and "GIẤY TIẾP NHẬN HỒ SƠ" in receipt
    assert "Công ty TNHH Ánh Dương" in receipt

    head = browser_page(web_office)
    login(head, "truongphong")
    document_id = dossier_view(web_office.ws, code).document_id
    head.goto(f"/documents/{document_id}")  # the inbox's link: the dossier's moves are here
    head.wait_for_url(f"**/onestop/{code}")
    bypass = head.request.post(
        f"/documents/{document_id}/act",
        form={"csrf_token": _csrf(head), "action": "forward", "choose": "chuyenvien"},
        max_redirects=0,
    )
    assert bypass.status == 303 and bypass.headers["location"] == f"/onestop/{code}"
    head.goto(f"/onestop/{code}")  # the desk page, with the refusal naming where to act
    expect(head.locator(".flash-error")).to_contain_text("vanthu onestop act")
    screenshot(head, "onestop-generic-action-refused")
    assert _state(web_office, code) == DossierState.RECEIVED
    head.get_by_label("Chuyên viên được giao").select_option(label="Trần Thị Bình")
    head.get_by_role("button", name="Phân công chuyên viên xử lý").click()
    expect(head.locator(".flash-success")).to_contain_text("Trần Thị Bình")
    expect(head.locator("#dossier-state")).to_have_text("Đang xử lý")

    specialist = browser_page(web_office)
    login(specialist, "chuyenvien")
    specialist.goto("/onestop")
    specialist.get_by_role("link", name=code).click()
    specialist.get_by_role("button", name="Trình kết quả giải quyết").click()  # no result yet
    expect(specialist.locator(".flash-error")).to_contain_text("chưa có kết quả giải quyết")
    result = tmp_path / "van-ban-tham-dinh.docx"
    result.write_bytes(appraisal_docx())
    specialist.get_by_label("Tệp kết quả (DOCX hoặc PDF)").set_input_files(str(result))
    specialist.get_by_role("button", name="Đính kèm kết quả").click()
    expect(specialist.locator(".flash-success")).to_contain_text("van-ban-tham-dinh.docx")
    specialist.get_by_label("Ý kiến (không bắt buộc)").fill("Hồ sơ đủ điều kiện, đề nghị ký.")
    specialist.get_by_role("button", name="Trình kết quả giải quyết").click()
    expect(specialist.locator(".flash-success")).to_contain_text("Lê Thị Cúc")

    head.goto(f"/onestop/{code}")
    screenshot(head, "onestop-dossier-head")
    head.get_by_label("Mã PIN ký kết quả").fill(pin_of(web_office.ws, "truongphong"))
    head.get_by_role("button", name="Ký số kết quả").click()
    expect(head.locator("#dossier-state")).to_have_text("Đã xử lý xong, chờ trả kết quả")
    expect(head.locator("#dossier-result")).to_contain_text("Đã ký: Lê Thị Cúc")

    clerk.goto(f"/onestop/{code}")
    clerk.get_by_label("Người nhận kết quả (ký nhận)").fill("Trần Văn Nhận")
    clerk.get_by_role("button", name="Trả kết quả").click()
    expect(clerk.locator(".flash-success")).to_contain_text("Trần Văn Nhận")
    expect(clerk.locator("#dossier-state")).to_have_text("Đã trả kết quả")
    signed = _pdf_text(_download(clerk, "Kết quả giải quyết đã ký"), tmp_path)
    assert "VĂN BẢN THẨM ĐỊNH" in signed
    expect(clerk.locator("#viec-can-lam")).to_have_count(0)  # nothing left to do
    sheet = clerk.locator("#phieu-kiem-soat tbody tr")
    expect(sheet).to_have_count(5)  # desk → head → specialist → head → desk → citizen
    expect(sheet.last).to_contain_text("Công dân (Trần Văn Nhận)")
    expect(clerk.locator("#lookup-link")).to_have_attribute("href", re.compile(f"ma={code}$"))
    qr = clerk.request.get(f"/onestop/{code}/qr.png")
    assert qr.status == 200 and qr.body().startswith(b"\x89PNG")
    screenshot(clerk, "onestop-dossier")
    view = dossier_view(web_office.ws, code)
    assert view.state == DossierState.RETURNED and view.returned_to == "Trần Văn Nhận"
    assert [line.kind for line in view.handovers] == [
        "receive.register",
        "assign.forward",
        "process.submit",
        "sign_result.sign",
        "deliver.complete",
    ]


def test_a_missing_paper_asks_for_completion_then_the_desk_receives_it(
    web_office: WebOffice, page: Page, tmp_path: Path
) -> None:
    login(page, "vanthu")
    _fill_reception(page, "Ông Phạm Văn Thiếu", untick=(PAPERS[3],))
    page.get_by_role("button", name="Kiểm tra và tiếp nhận").click()
    code = _received(page)
    expect(page.locator(".flash-info")).to_contain_text("Mẫu 02")
    expect(page.locator("#dossier-state")).to_have_text("Chờ bổ sung, hoàn thiện hồ sơ")
    expect(page.locator("#forms")).to_contain_text("Mẫu 02")
    slip = _pdf_text(_download(page, "Mẫu 02"), tmp_path)
    assert code in slip and "Văn bản thẩm định" in slip  # the paper asked for

    page.locator("#viec-can-lam").get_by_label(PAPERS[3]).check()
    page.get_by_role("button", name="Kiểm tra và tiếp nhận").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Đã tiếp nhận hồ sơ {code}")
    assert _state(web_office, code) == DossierState.RECEIVED


def test_a_refusal_needs_its_reasons_and_prints_form_03(
    web_office: WebOffice, page: Page, tmp_path: Path
) -> None:
    login(page, "vanthu")
    before = _count(web_office)
    _fill_reception(page, "Bà Lê Thị Từ Chối")
    page.get_by_role("button", name="Từ chối tiếp nhận").click()
    expect(page.locator("#e-reason")).to_contain_text("phải ghi rõ lý do")
    expect(page.get_by_label("Người (tổ chức) nộp hồ sơ")).to_have_value("Bà Lê Thị Từ Chối")
    assert _count(web_office) == before  # nothing stored

    page.get_by_label("Lý do từ chối (chỉ khi từ chối tiếp nhận)").fill(
        "Thủ tục không thuộc thẩm quyền giải quyết của Sở"
    )
    page.get_by_role("button", name="Từ chối tiếp nhận").click()
    code = _received(page)
    expect(page.locator("#dossier-state")).to_have_text("Không tiếp nhận")
    refusal = _pdf_text(_download(page, "Mẫu 03"), tmp_path)
    assert code in refusal and "không thuộc thẩm quyền" in refusal


def test_choosing_a_procedure_shows_its_checklist(web_office: WebOffice, page: Page) -> None:
    papers = procedures(web_office.ws)["SNV-PC-01"].components
    login(page, "vanthu")
    page.goto("/onestop/new")
    page.get_by_label("Thủ tục hành chính").select_option("SNV-PC-01")  # onestop.js submits
    page.wait_for_url(re.compile(r"procedure=SNV-PC-01"))
    expect(page.locator(".checklist li")).to_have_count(len(papers))
    expect(page.get_by_label(papers[0].name)).to_be_checked()
    expect(page.locator('input[name="procedure"]')).to_have_value("SNV-PC-01")


def test_bad_input_comes_back_at_the_field_and_stores_nothing(
    web_office: WebOffice, page: Page
) -> None:
    login(page, "vanthu")
    before = _count(web_office)
    _fill_reception(page, "   ")
    page.get_by_role("button", name="Kiểm tra và tiếp nhận").click()
    expect(page.locator("#e-applicant")).to_have_text("Thiếu người nộp hồ sơ")
    expect(page.get_by_label("Người (tổ chức) nộp hồ sơ")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Địa chỉ")).to_have_value("Số 5 Tràng Tiền, Hoàn Kiếm, Hà Nội")

    page.get_by_label("Người (tổ chức) nộp hồ sơ").fill("Công ty Cổ phần Ký Tự")
    page.get_by_label("Số điện thoại").fill("0243\u202e826")  # a right-to-left override
    page.get_by_role("button", name="Kiểm tra và tiếp nhận").click()
    expect(page.locator("#e-phone")).to_contain_text("Số điện thoại: có ký tự điều khiển U+202E")
    expect(page.locator("#e-phone")).not_to_contain_text("--phone")
    assert _count(web_office) == before
    screenshot(page, "onestop-receive-error")


def test_who_may_not_is_refused(web_office: WebOffice, browser_page: PageFactory) -> None:
    code, _move = receive(
        web_office.ws, "vanthu", DossierRequest(PROCEDURE, "Ông Nguyễn Riêng", ALL)
    )
    archivist = browser_page(web_office)
    login(archivist, "luutru")
    for path in ("/onestop", f"/onestop/{code}", f"/onestop/{code}/forms/01.pdf"):
        response = archivist.goto(path)
        assert response is not None and response.status == 403, path
    expect(archivist.get_by_role("heading", name="Không được phép")).to_be_visible()
    expect(archivist.get_by_role("link", name="Hồ sơ một cửa")).to_have_count(0)

    specialist = browser_page(web_office)
    login(specialist, "chuyenvien")
    response = specialist.goto("/onestop/new")
    assert response is not None and response.status == 403
    before = _count(web_office)
    posted = specialist.request.post(
        "/onestop/new",
        form={"csrf_token": _csrf(specialist), "procedure": PROCEDURE, "applicant": "Giả mạo"},
    )
    assert posted.status == 403 and _count(web_office) == before
    taken = specialist.request.post(
        f"/onestop/{code}/act", form={"csrf_token": _csrf(specialist), "action": "forward"}
    )
    assert taken.status == 403  # the head's task, not the specialist's
    assert _state(web_office, code) == DossierState.RECEIVED

    other_unit = browser_page(web_office)
    login(other_unit, "phapche")  # head of the legal unit, not consulted on it
    response = other_unit.goto(f"/onestop/{code}")
    assert response is not None and response.status == 403
    other_unit.goto("/onestop")
    expect(other_unit.get_by_role("link", name=code)).to_have_count(0)


def test_a_form_without_the_csrf_token_is_refused(web_office: WebOffice, page: Page) -> None:
    login(page, "vanthu")
    before = _count(web_office)
    response = page.request.post(
        "/onestop/new",
        form={"procedure": PROCEDURE, "applicant": "Không Mã", "components": "1"},
    )
    assert response.status == 403
    assert "mã chống giả mạo" in response.text()
    assert _count(web_office) == before


def test_the_list_filters_by_state_procedure_and_overdue(
    web_office: WebOffice, browser_page: PageFactory
) -> None:
    with vanthu_clock.use(ManualClock(-timedelta(days=40))):  # its appointment has passed
        late, _move = receive(
            web_office.ws, "vanthu", DossierRequest(PROCEDURE, "Ông Trễ Hẹn", ALL)
        )
    other, _move = receive(
        web_office.ws,
        "vanthu",
        DossierRequest("SNV-PC-01", "Ban vận động Hội Cựu học sinh", ("1", "2")),
    )
    page = browser_page(web_office)
    login(page, "vanthu")
    page.goto("/onestop")
    row = page.get_by_role("row").filter(has_text=late)
    expect(row.locator(".col-due .overdue")).to_be_visible()
    expect(row.locator(".badge-overdue")).to_have_text("Quá hạn")
    expect(page.get_by_role("row").filter(has_text=other)).to_be_visible()

    page.get_by_label("Hạn trả kết quả").select_option("overdue")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url(re.compile(r"due=overdue"))
    expect(page.get_by_role("link", name=late)).to_be_visible()
    expect(page.get_by_role("link", name=other)).to_have_count(0)
    screenshot(page, "onestop-list")

    page.goto("/onestop?due=soon&q=Trễ")  # overdue is not "due soon"
    expect(page.locator("#onestop-count")).to_have_text("Không có hồ sơ nào khớp với bộ lọc.")
    page.goto("/onestop?procedure=SNV-PC-01")
    expect(page.get_by_role("link", name=other)).to_be_visible()
    expect(page.get_by_role("link", name=late)).to_have_count(0)
    page.goto(f"/onestop?state={DossierState.RECEIVED.value}&q=Trễ")
    expect(page.locator("table.dossiers tbody tr")).to_have_count(1)
    response = page.goto("/onestop?state=42")
    assert response is not None and response.status == 422
    expect(page.locator("main")).to_contain_text("trạng thái '42' không có")


def test_on_postgresql_each_unit_lists_its_own_dossiers_and_the_filters_work(
    web_office_pg: WebOffice, browser_page: PageFactory
) -> None:
    ws = web_office_pg.ws
    with vanthu_clock.use(ManualClock(-timedelta(days=40))):
        late, _move = receive(ws, "vanthu", DossierRequest(PROCEDURE, "Ông Trễ Hẹn", ALL))
    legal, _move = receive(ws, "vanthu", DossierRequest("SNV-PC-01", "Ban vận động", ("1", "2")))
    specialist = browser_page(web_office_pg)
    login(specialist, "chuyenvien")  # of the unit handling SNV-TCBC-01
    specialist.goto("/onestop")
    expect(specialist.get_by_role("link", name=late)).to_be_visible()
    expect(specialist.get_by_role("link", name=legal)).to_have_count(0)
    specialist.goto("/onestop?due=overdue&q=Trễ")
    expect(specialist.locator("table.dossiers tbody tr")).to_have_count(1)
    expect(specialist.locator(".badge-overdue")).to_have_text("Quá hạn")
    head = browser_page(web_office_pg)
    login(head, "phapche")  # of the unit handling SNV-PC-01
    head.goto("/onestop")
    expect(head.get_by_role("link", name=legal)).to_be_visible()
    expect(head.get_by_role("link", name=late)).to_have_count(0)
    expect(head.locator("#onestop-count")).to_have_text("1 hồ sơ.")


def test_the_unit_asks_for_fees_the_desk_records_them_and_the_head_signs_an_apology(
    web_office: WebOffice, browser_page: PageFactory, tmp_path: Path
) -> None:
    code, _move = receive(
        web_office.ws,
        "vanthu",
        DossierRequest(PROCEDURE, "Hợp tác xã Chậm Trễ", ALL),
    )
    act_on(web_office.ws, code, "truongphong", "forward", choose="chuyenvien")
    head = browser_page(web_office)
    login(head, "truongphong")
    head.goto(f"/onestop/{code}")
    head.locator("summary", has_text="Yêu cầu nộp phí, lệ phí").click()  # folded by default
    head.get_by_label("Số tiền (đồng)").fill("500.000")
    head.get_by_role("button", name="Yêu cầu nộp phí").click()
    expect(head.locator(".flash-success")).to_contain_text("500.000 đồng")
    expect(head.locator("#dossier-state")).to_have_text("Chờ thực hiện nghĩa vụ tài chính")
    expect(head.locator("#dossier-fees")).to_contain_text("Chưa nộp")

    clerk = browser_page(web_office)
    login(clerk, "vanthu")
    clerk.goto(f"/onestop/{code}")
    expect(clerk.get_by_label("Số tiền đã nộp (đồng)")).to_have_value("500000")
    clerk.get_by_label("Số biên lai").fill("BL-0042")
    clerk.get_by_role("button", name="Ghi nhận đã nộp").click()
    expect(clerk.locator("#dossier-state")).to_have_text("Đang xử lý")
    expect(clerk.locator("#dossier-fees")).to_contain_text("biên lai số BL-0042")

    due = dossier_view(web_office.ws, code).due_at
    assert due is not None
    later = (due.astimezone(VIETNAM_TIME) + timedelta(days=7)).date()
    head.goto(f"/onestop/{code}")
    head.locator("summary", has_text="Xin lỗi và hẹn lại ngày trả").click()
    head.get_by_label("Ngày hẹn trả mới").fill(later.isoformat())
    head.get_by_label("Lý do chậm").fill("Cần lấy thêm ý kiến của Bộ Nội vụ")
    head.get_by_label("Mã PIN ký phiếu xin lỗi").fill(pin_of(web_office.ws, "truongphong"))
    head.get_by_role("button", name="Ký phiếu xin lỗi").click()
    expect(head.locator(".flash-success")).to_contain_text(f"hẹn lại ngày trả {later:%d/%m/%Y}")
    expect(head.locator("#dossier-due")).to_contain_text(f"{later:%d/%m/%Y}")
    letter = _pdf_text(_download(head, "Mẫu 05"), tmp_path)
    assert code in letter and "Bộ Nội vụ" in letter
    view = dossier_view(web_office.ws, code)
    assert view.original_due_at == due and view.state == DossierState.PROCESSING


def test_the_pages_reflow_on_a_phone(web_office: WebOffice, browser_page: PageFactory) -> None:
    code, _move = receive(
        web_office.ws,
        "vanthu",
        DossierRequest(PROCEDURE, "Công ty Điện Thoại Di Động", ALL),
    )
    page = browser_page(web_office, viewport=PHONE)
    login(page, "vanthu")
    for name, path in (
        ("list", "/onestop"),
        ("new", "/onestop/new"),
        ("dossier", f"/onestop/{code}"),
    ):
        page.goto(path)
        expect(page.locator("h1")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        screenshot(page, f"onestop-{name}-phone")
