"""The document page in a real browser (Debian's Chromium through Playwright) against
``vanthu serve`` in a thread: what a participant reads (facts, the PDF's pages as images,
versions, comments, history, the signatures' report), the actions their task allows (return
with a comment, approve, sign with the PIN, issue in one click, sign on a token), what an
outsider gets (404, for the page, its images and its files), and new work announced without
reloading. The engine functions behind it are tested directly at the end."""

from __future__ import annotations

import dataclasses
import json
import re
import struct
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from fixtures_pkcs11 import Tokens
from fixtures_web import (
    PHONE,
    PageFactory,
    WebOffice,
    login,
    open_office,
    password_of,
    screenshot,
    serving,
)
from pdf_support import text_pdf
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from engine.core import audit
from engine.core.authorities import clear_signing_authority, set_signing_authority
from engine.core.models import DocumentFile
from engine.core.workspace import Workspace
from engine.http import agent
from engine.incoming import IncomingRequest, receive_incoming
from engine.outgoing import create_outgoing, render_request
from engine.outgoing.agents import create_agent_token
from engine.workflow import act
from engine.workflow.comments import add_comment
from engine.workflow.documents import READ_REFUSED
from engine.workflow.files import DOCX_TYPE, PDF_TYPE, Upload
from engine.workflow.notifications import notifications
from engine.workflow.offers import offers, state_token
from engine.workflow.previews import page_count, page_png
from signing import TokenKey, open_pkcs11_key
from signing.demo import DemoPKI
from tests_support import DECISION, LETTER, pin_of, refused
from vanthu import clock
from vanthu.errors import VanthuError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SLOW = 90_000
"""Milliseconds for an action whose automated steps run right after it (LibreOffice, signing)."""


@pytest.fixture(scope="module")
def office(web_office: WebOffice, demo_services: DemoPKI) -> WebOffice:
    """The module's office, with the demo PKI's OCSP, CRL and TSA answering (signing asks)."""
    return web_office


def _draft(ws: Workspace, subject: str = DECISION.subject) -> int:
    return create_outgoing(ws, "chuyenvien", dataclasses.replace(DECISION, subject=subject))


def _approved(office: WebOffice, subject: str) -> int:
    doc = _draft(office.ws, subject)
    act(office.ws, doc, "chuyenvien", "submit")
    act(office.ws, doc, "truongphong", "approve")
    return doc


def _png_width(data: bytes) -> int:
    assert data.startswith(PNG_MAGIC)
    return int(struct.unpack(">I", data[16:20])[0])


def _http(office: WebOffice, username: str) -> httpx.Client:
    client = httpx.Client(base_url=office.url, follow_redirects=False)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post(
        "/login",
        data={"username": username, "password": password_of(username), "csrf_token": token[1]},
    )
    assert done.status_code == 303, done.text
    return client


def _pages_loaded(page: Page) -> None:
    """Wait until the page images in view have been drawn and loaded (before a screenshot)."""
    first = page.get_by_alt_text("Trang 1")
    first.scroll_into_view_if_needed()
    expect(first).to_have_js_property("complete", True)
    assert first.evaluate("img => img.naturalWidth") > 0


def _as(browser_page: PageFactory, office: WebOffice, username: str, **kw: object) -> Page:
    page = browser_page(office, **kw)
    login(page, username)
    return page


# --- the outgoing journey on the page -------------------------------------------------------


def test_return_with_comment_approve_sign_with_pin_and_issue_in_one_click(
    office: WebOffice, browser_page: PageFactory
) -> None:
    ws = office.ws
    subject = "Về việc cử cán bộ đi học lớp bồi dưỡng văn thư"
    doc = _draft(ws, subject)
    act(ws, doc, "chuyenvien", "submit")

    head = _as(browser_page, office, "truongphong")
    head.goto(f"/documents/{doc}")
    expect(head.get_by_role("heading", level=1)).to_have_text(
        "Về việc cử cán bộ đi học lớp bồi dưỡng văn thư"
    )
    expect(head.locator("form.action-consult")).to_contain_text(
        "Góp ý của Phòng Pháp chế; Góp ý của Văn phòng"
    )
    draft_page = head.get_by_role("img", name="Trang 1")  # the DOCX draft, read in its layout
    expect(draft_page).to_be_visible(timeout=SLOW)  # LibreOffice makes its preview once
    expect(draft_page).to_have_js_property("complete", True, timeout=SLOW)
    assert draft_page.evaluate("img => img.naturalWidth") == 960
    expect(head.locator(".pages h2")).to_contain_text("1 trang")
    screenshot(head, "documents-review")
    head.get_by_role("button", name="Trả lại").click()  # the comment is required: not sent
    expect(head.locator("#comment-return:invalid")).to_have_count(1)
    head.get_by_label("Ý kiến — Trả lại (bắt buộc)").fill("Bổ sung căn cứ Luật Cán bộ, công chức.")
    head.get_by_role("button", name="Trả lại").click()
    expect(head.locator(".flash-success")).to_contain_text("Đã trả lại")

    author = _as(browser_page, office, "chuyenvien")
    author.goto(f"/documents/{doc}")
    comments = author.locator("#y-kien")
    expect(comments).to_contain_text("Bổ sung căn cứ Luật Cán bộ, công chức.")
    expect(comments).to_contain_text("Lê Thị Cúc")
    author.get_by_label("Ý kiến của bạn (trả lời ý kiến trên)").fill("Đã bổ sung, xin trình lại.")
    author.get_by_role("button", name="Gửi ý kiến").click()
    expect(author.locator(".flash-success")).to_have_text("Đã gửi ý kiến.")
    expect(comments).to_contain_text("Đã bổ sung, xin trình lại.")
    version = render_request(ws, "chuyenvien", dataclasses.replace(DECISION, subject=subject))
    author.get_by_label("Phiên bản dự thảo mới (DOCX)").set_input_files(
        files=[{"name": "du-thao-2.docx", "mimeType": DOCX_TYPE, "buffer": version.data}]
    )
    author.get_by_label("Ghi chú cho phiên bản").fill("Đã bổ sung căn cứ")
    author.get_by_role("button", name="Tải lên phiên bản mới").click()
    expect(author.locator(".flash-success")).to_have_text(
        "Đã lưu dự thảo phiên bản 2.", timeout=SLOW
    )
    expect(author.get_by_role("link", name="du-thao-2.docx")).to_have_count(1)
    author.get_by_label("Văn bản kèm theo (PDF)").set_input_files(
        files=[
            {
                "name": "phu-luc.pdf",
                "mimeType": PDF_TYPE,
                "buffer": text_pdf([[(72, 760, b"Phu luc")]]),
            }
        ]
    )
    author.get_by_role("button", name="Đính kèm").click()
    expect(author.locator(".flash-success")).to_contain_text("văn bản kèm theo số 1")
    expect(author.get_by_role("link", name="phu-luc.pdf")).to_have_count(1)
    author.get_by_role("button", name="Trình duyệt").click()
    expect(author.locator(".flash-success")).to_contain_text("Lãnh đạo phòng xem xét")
    expect(author.get_by_role("button", name="Trình duyệt")).to_have_count(0)

    head.goto(f"/documents/{doc}")
    head.get_by_role("button", name="Duyệt").click()
    # LibreOffice converts the draft right after: slow on a busy machine
    expect(head.locator(".flash-success")).to_contain_text("Lãnh đạo ký duyệt", timeout=SLOW)

    leader = _as(browser_page, office, "phogiamdoc")
    leader.goto(f"/documents/{doc}")
    expect(leader.locator(".signer")).to_contain_text("KT. GIÁM ĐỐC")
    expect(leader.locator(".signer")).to_contain_text("PHÓ GIÁM ĐỐC")
    [image] = leader.get_by_alt_text("Trang 1").all()
    expect(image).to_have_attribute("loading", "lazy")
    on_the_road = _as(browser_page, office, "phogiamdoc", viewport=PHONE)
    on_the_road.goto(f"/documents/{doc}")
    expect(on_the_road.get_by_label("Mã PIN")).to_be_visible()
    assert on_the_road.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(on_the_road, "documents-sign-phone")
    leader.get_by_label("Mã PIN").fill("000000")
    leader.get_by_role("button", name="Ký số").click()
    expect(leader.locator(".flash-error")).to_contain_text("PIN")
    expect(leader.get_by_role("button", name="Ký số")).to_have_count(1)  # still to sign
    leader.get_by_label("Mã PIN").fill(pin_of(ws, "phogiamdoc"))
    leader.get_by_role("button", name="Ký số").click()
    expect(leader.locator(".flash-success")).to_contain_text("Văn thư cấp số", timeout=SLOW)
    expect(leader.locator(".signatures")).to_contain_text("Phạm Minh Đức")
    _pages_loaded(leader)
    screenshot(leader, "documents-signed")

    clerk = _as(browser_page, office, "vanthu")
    clerk.goto(f"/documents/{doc}")
    clerk.get_by_role("button", name="Cấp số, đóng dấu, phát hành").click()
    flash = clerk.locator(".flash-success")
    issued = re.compile(r"Đã phát hành: số \d+/QĐ-SNV ngày \d\d/\d\d/\d{4}")
    expect(flash).to_contain_text(issued, timeout=SLOW)
    symbol = re.search(r"số (\d+/QĐ-SNV)", flash.inner_text())
    assert symbol is not None
    expect(clerk.locator(".doc-number")).to_contain_text(symbol[1])
    report = clerk.locator(".signatures")
    expect(report).to_contain_text("HỢP LỆ")
    expect(report).to_contain_text("SỞ NỘI VỤ")  # the agency's seal beside the leader's
    expect(clerk.locator(".history")).to_contain_text("ban hành")
    _pages_loaded(clerk)
    assert clerk.get_by_alt_text("Trang 1").evaluate("img => img.naturalWidth") == 960
    screenshot(clerk, "documents-issued-desktop")

    phone = _as(browser_page, office, "vanthu", viewport=PHONE)
    phone.goto(f"/documents/{doc}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    _pages_loaded(phone)
    screenshot(phone, "documents-issued-phone")


def test_an_incoming_document_is_registered_assigned_and_completed_on_its_page(
    office: WebOffice, browser_page: PageFactory
) -> None:
    pdf = text_pdf([[(72, 760, b"Cong van bao cao")]])
    request = IncomingRequest(
        "ỦY BAN NHÂN DÂN HUYỆN MẪU", "15/UBND-VP", "Công văn", "Về việc báo cáo"
    )
    doc = receive_incoming(office.ws, "vanthu", Upload("15-UBND.pdf", pdf), request)

    clerk = _as(browser_page, office, "vanthu")
    clerk.goto(f"/documents/{doc}")
    expect(clerk.locator(".signatures")).to_contain_text("KHÔNG CÓ CHỮ KÝ SỐ")
    clerk.get_by_role("button", name="Vào sổ văn bản đến").click()
    expect(clerk.locator(".flash-success")).to_contain_text(re.compile(r"Đã vào sổ: số đến \d+"))

    leader = _as(browser_page, office, "giamdoc")
    leader.goto(f"/documents/{doc}")
    leader.get_by_label("Người được chọn").select_option(label="Lê Thị Cúc")
    leader.get_by_role("button", name="Giao xử lý").click()
    expect(leader.locator(".flash-success")).to_contain_text("Đơn vị chủ trì xử lý")

    head = _as(browser_page, office, "truongphong")
    head.goto(f"/documents/{doc}")
    head.get_by_label("Ý kiến — Hoàn thành (bắt buộc)").fill("Đã gửi báo cáo.")
    head.get_by_role("button", name="Hoàn thành").click()
    expect(head.locator(".flash-success")).to_contain_text("đã kết thúc quy trình")
    expect(head.locator(".history")).to_contain_text("Đã gửi báo cáo.")


def test_the_page_images_and_the_downloads_are_real_and_audited(office: WebOffice) -> None:
    doc = _approved(office, "Về việc kiểm tra ảnh trang")
    with closing(_http(office, "chuyenvien")) as client:
        page = client.get(f"/documents/{doc}")
        assert page.status_code == 200
        [(file_id, n)] = re.findall(r"/files/(\d+)/pages/(\d+)\.png", page.text)[:1]
        image = client.get(f"/documents/{doc}/files/{file_id}/pages/{n}.png?w=480")
        assert image.headers["content-type"] == "image/png"
        assert "private" in image.headers["cache-control"]
        assert _png_width(image.content) == 480
        assert client.get(f"/documents/{doc}/files/{file_id}/pages/99.png").status_code == 404
        downloaded = client.get(f"/documents/{doc}/files/{file_id}")
        assert downloaded.status_code == 200 and downloaded.content.startswith(b"%PDF-")
        assert "attachment" in downloaded.headers["content-disposition"]
    reads = [
        e
        for e in audit.events(office.ws.db, doc)
        if e.event == "document_file_read" and e.actor == "chuyenvien"
    ]
    assert sorted(json.loads(e.detail or "{}")["what"] for e in reads) == ["file", "page"]


def test_another_persons_document_is_not_found_its_images_and_files_neither(
    office: WebOffice,
) -> None:
    doc = _approved(office, "Về việc hồ sơ nhân sự mật")
    with Session(office.ws.db) as session:
        pdf = session.exec(
            select(DocumentFile).where(DocumentFile.document_id == doc, DocumentFile.kind == "pdf")
        ).one()
    before = len([e for e in audit.events(office.ws.db, doc) if e.event == READ_REFUSED])
    with closing(_http(office, "phapche")) as outsider:  # head of another unit, not consulted
        for path in (
            f"/documents/{doc}",
            f"/documents/{doc}/files/{pdf.id}",
            f"/documents/{doc}/files/{pdf.id}/pages/1.png",
            f"/documents/{doc}/state",
        ):
            answer = outsider.get(path)
            assert answer.status_code == 404, path
            assert "Hồ sơ nhân sự mật".lower() not in answer.text.lower()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', outsider.get("/inbox").text)
        assert csrf is not None
        posted = outsider.post(
            f"/documents/{doc}/comments", data={"text": "xin xem", "csrf_token": csrf[1]}
        )
        assert posted.status_code == 404
    after = [e for e in audit.events(office.ws.db, doc) if e.event == READ_REFUSED]
    assert len(after) - before == 5 and {e.actor for e in after[before:]} == {"phapche"}


def test_the_signers_line_is_the_one_the_administrator_set(office: WebOffice) -> None:
    doc = _draft(office.ws, "Về việc ký thừa lệnh")
    set_signing_authority(office.ws, "quantri", "phogiamdoc", "TL.", "Giám đốc")
    try:
        with closing(_http(office, "chuyenvien")) as client:
            page = client.get(f"/documents/{doc}")
        assert re.search(r'class="authority">TL\. GIÁM ĐỐC<', page.text), page.text
    finally:
        clear_signing_authority(office.ws, "quantri", "phogiamdoc")


def test_a_subject_with_a_script_shows_as_text(office: WebOffice, page: Page) -> None:
    subject = "Về việc <script>alert('x')</script> kiểm tra"
    doc = _draft(office.ws, subject)
    login(page, "chuyenvien")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"/documents/{doc}")
    expect(page.get_by_role("heading", level=1)).to_have_text(subject)
    assert dialogs == [] and page.locator("main script").count() == 0


def test_a_new_task_is_announced_on_an_open_page_without_reloading(
    office: WebOffice, browser_page: PageFactory
) -> None:
    head = browser_page(office)
    head.clock.install()
    login(head, "truongphong")
    badge = head.locator('nav.menu a[href="/inbox"] .count')
    before = int(badge.inner_text())
    head.wait_for_load_state("networkidle")  # the first question has its answer

    doc = _draft(office.ws, "Về việc báo cáo tổng kết năm")
    act(office.ws, doc, "chuyenvien", "submit")
    head.clock.run_for(21_000)
    notice = head.get_by_role("status").get_by_role("link", name=re.compile("Có việc mới"))
    expect(notice).to_have_text("Có việc mới: Về việc báo cáo tổng kết năm")
    expect(badge).to_have_text(str(before + 1))
    head.get_by_role("button", name="Đóng thông báo").click()
    expect(notice).to_have_count(0)


# --- signing on the leader's token ----------------------------------------------------------


@pytest.fixture(scope="module")
def token_office(
    tmp_path_factory: pytest.TempPathFactory, demo_keys: Path, demo_services: DemoPKI
) -> Iterator[WebOffice]:
    """The demo agency whose leaders sign on their own tokens (``vanthu sign-agent``)."""
    ws = open_office(tmp_path_factory.mktemp("token-office"), demo_keys, leader_signing="agent")
    with serving(ws) as url:
        yield WebOffice(ws, url)
    ws.db.dispose()


@pytest.fixture
def leader_token(pkcs11_tokens: Tokens) -> Iterator[TokenKey]:
    key = open_pkcs11_key(
        pkcs11_tokens.module, token_label=pkcs11_tokens.labels["phogiamdoc"], pin=pkcs11_tokens.pin
    )
    yield key
    key.close()


def test_signing_on_the_token_updates_the_page_by_itself(
    token_office: WebOffice, browser_page: PageFactory, leader_token: TokenKey
) -> None:
    ws = token_office.ws
    signing_agent = httpx.Client(
        base_url=token_office.url,
        headers={"Authorization": f"Bearer {create_agent_token(ws, 'phogiamdoc')[1]}"},
    )
    with closing(signing_agent):
        agent.register(signing_agent, leader_token, "phogiamdoc")
        doc = _approved(token_office, "Về việc ký trên thiết bị")
        leader = _as(browser_page, token_office, "phogiamdoc")
        leader.goto(f"/documents/{doc}")
        expect(leader.get_by_label("Mã PIN")).to_have_count(0)  # the token asks its own PIN
        leader.get_by_role("button", name="Ký số").click()
        waiting = leader.get_by_role("heading", name="Đang chờ ký trên thiết bị…")
        expect(waiting).to_be_visible()
        _pages_loaded(leader)
        screenshot(leader, "documents-waiting-token")

        [outcome] = agent.sign_waiting(signing_agent, leader_token)  # the agent, beside the token
        assert outcome.document_id == doc
        expect(waiting).to_have_count(0)  # the page reloaded by itself
        expect(leader.locator(".history")).to_contain_text("ký trên thiết bị ký xong")
        expect(leader.get_by_role("button", name="Ký số")).to_have_count(0)


# --- the engine functions behind the page ---------------------------------------------------


def test_a_page_is_drawn_once_and_only_for_readers(office: WebOffice) -> None:
    ws = office.ws
    doc = _approved(office, "Về việc bộ nhớ đệm ảnh trang")
    with Session(ws.db) as session:
        pdf = session.exec(
            select(DocumentFile).where(DocumentFile.document_id == doc, DocumentFile.kind == "pdf")
        ).one()
    assert pdf.id is not None
    assert page_count(ws, doc, pdf.id, "chuyenvien") >= 1
    first = page_png(ws, doc, "chuyenvien", pdf.id, 1, width=480)
    assert _png_width(first) == 480
    cached = ws.settings.home / "cache" / "pages" / f"{pdf.sha256}-1-480.png"
    cached.write_bytes(PNG_MAGIC + b"kept")  # served from the cache, never drawn again
    assert page_png(ws, doc, "truongphong", pdf.id, 1, width=480) == PNG_MAGIC + b"kept"
    with refused("document.read_not_allowed", username="phapche"):
        page_png(ws, doc, "phapche", pdf.id, 1, width=480)
    with refused("preview.width_invalid"):
        page_png(ws, doc, "chuyenvien", pdf.id, 1, width=5000)
    other = _draft(ws, "Về việc khác")
    with refused("document.file_not_found"):
        page_png(ws, other, "chuyenvien", pdf.id, 1)  # a file of another document


def test_a_comment_needs_text_and_a_reader(office: WebOffice) -> None:
    ws = office.ws
    doc = _draft(ws, "Về việc góp ý")
    with refused("comment.invalid"):
        add_comment(ws, doc, "chuyenvien", "   ")
    with refused("document.read_not_allowed"):
        add_comment(ws, doc, "phapche", "Tôi góp ý")
    add_comment(ws, doc, "truongphong", "Xem lại Điều 2.")
    [event] = [e for e in audit.events(ws.db, doc) if e.event == "commented"]
    assert event.actor == "truongphong" and "Xem lại Điều 2." in (event.detail or "")


def test_notifications_name_the_tasks_opened_since(office: WebOffice) -> None:
    ws = office.ws
    before = notifications(ws, "truongphong", None)
    assert before.new == ()
    doc = create_outgoing(ws, "chuyenvien", dataclasses.replace(LETTER, subject="Về việc mới"))
    act(ws, doc, "chuyenvien", "submit")
    after = notifications(ws, "truongphong", before.now)
    assert after.open == before.open + 1
    assert [(t.document_id, t.subject) for t in after.new] == [(doc, "Về việc mới")]
    assert notifications(ws, "truongphong", clock.now()).new == ()
    assert notifications(ws, "chuyenvien", before.now).new == ()


def test_an_action_the_task_does_not_allow_is_refused_with_the_engines_message(
    office: WebOffice,
) -> None:
    doc = _draft(office.ws, "Về việc thao tác sai")
    with closing(_http(office, "chuyenvien")) as client:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/inbox").text)
        assert csrf is not None
        done = client.post(f"/documents/{doc}/act", data={"action": "issue", "csrf_token": csrf[1]})
        assert done.status_code == 303
        page = client.get(f"/documents/{doc}")
        assert "không thể &#39;issue&#39;" in page.text or "không thể 'issue'" in page.text
    with pytest.raises(VanthuError):
        act(office.ws, doc, "chuyenvien", "issue")


def test_the_offers_are_the_open_tasks_actions_and_the_state_moves_with_them(
    office: WebOffice,
) -> None:
    ws = office.ws
    doc = _draft(ws, "Về việc thao tác được phép")
    act(ws, doc, "chuyenvien", "submit")
    review = offers(ws, doc, "truongphong")
    assert [o.action for o in review.actions] == ["return", "consult", "approve"]
    assert [o.comment_required for o in review.actions] == [True, False, False]
    assert review.actions[1].leads_to == ("Góp ý của Phòng Pháp chế", "Góp ý của Văn phòng")
    assert offers(ws, doc, "chuyenvien").actions == ()
    assert offers(ws, doc, "phogiamdoc").actions == ()  # a leader reads it, signs later
    before = state_token(ws, doc, "chuyenvien")
    assert state_token(ws, doc, "truongphong") == before  # the same for every reader
    act(ws, doc, "truongphong", "consult")
    assert state_token(ws, doc, "chuyenvien") != before
    [legal] = offers(ws, doc, "phapche").actions  # the consulted unit now reads and comments
    assert (legal.action, legal.comment_required) == ("comment", True)
    with refused("document.read_not_allowed"):
        state_token(ws, doc, "luutru")


def test_new_tasks_and_comments_on_each_database(agency: Workspace) -> None:
    """SQLite, then PostgreSQL: times compared in SQL, the comment in the audit chain."""
    before = notifications(agency, "truongphong", None)
    doc = _draft(agency, "Về việc trên từng cơ sở dữ liệu")
    act(agency, doc, "chuyenvien", "submit")
    add_comment(agency, doc, "truongphong", "Đề nghị xem lại.")
    [new] = notifications(agency, "truongphong", before.now).new
    assert new.document_id == doc
    assert audit.verify_chain(agency.db).intact
