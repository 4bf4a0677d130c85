"""The administrator's pages (/admin) in a real browser against ``vanthu serve`` in a thread:
people (add, password, second factor, role, disable), units, who signs for whom, certificates
and signing agents' tokens, the workflow definitions with a broken file's mistakes; the refusals
a non-administrator meets; the engine functions behind them; and ``bench web`` running."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import docx
import httpx
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
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from engine.core import accounts, audit, authorities, units
from engine.core.agency import DEMO_AGENCY, DEMO_PEOPLE
from engine.core.definitions import review_definitions
from engine.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.core.models import AuditEvent, User
from engine.core.workspace import Workspace
from engine.outgoing import DraftRequest, agents, render_request
from engine.outgoing.drafting import draft_signers
from engine.signatures import create_demo_keys
from signing.demo import load_demo_pki, stop_pki_services
from tests_support import DECISION, LETTER, refused
from workflows import DEFINITIONS_DIR

ROOT = Path(__file__).resolve().parent.parent
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def _http_login(
    office: WebOffice, username: str, password: str | None = None
) -> Iterator[httpx.Client]:
    """An httpx client logged in through the login form."""
    with httpx.Client(base_url=office.url, follow_redirects=False) as client:
        token = _CSRF.search(client.get("/login").text)
        assert token is not None
        done = client.post(
            "/login",
            data={
                "username": username,
                "password": password if password is not None else password_of(username),
                "csrf_token": token.group(1),
            },
        )
        assert done.status_code == 303 and done.headers["location"] == "/inbox", done.text
        yield client


def _csrf(client: httpx.Client) -> str:
    found = _CSRF.search(client.get("/inbox").text)
    assert found is not None
    return found.group(1)


def _events(ws: Workspace, event: str) -> list[AuditEvent]:
    return [e for e in audit.events(ws.db) if e.event == event]


# --- in the browser ------------------------------------------------------------------------------


def test_the_administrator_adds_a_person_who_can_then_log_in(
    page: Page, browser_page: PageFactory, web_office: WebOffice
) -> None:
    login(page, "quantri")
    page.get_by_role("link", name="Quản trị").click()
    expect(page.get_by_role("heading", name="Quản trị", exact=True)).to_be_visible()
    screenshot(page, "admin-overview")
    page.get_by_role("navigation", name="Các mục quản trị").get_by_role(
        "link", name="Người dùng"
    ).click()
    expect(page.get_by_role("row", name=re.compile(r"^giamdoc "))).to_contain_text("Nguyễn Văn An")
    page.get_by_label("Tên đăng nhập").fill("chuyenvien2")
    page.get_by_label("Họ và tên").fill("Đỗ Thị <b>Mai</b>")
    page.get_by_label("Vai trò").select_option("specialist")
    page.get_by_label("Đơn vị").select_option("PC")
    page.get_by_label("Chức danh").fill("Chuyên viên")
    screenshot(page, "admin-users")
    page.get_by_role("button", name="Thêm người dùng").click()
    page.wait_for_url("**/admin/users/chuyenvien2")
    expect(page.get_by_role("status")).to_contain_text("Đã thêm chuyenvien2")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Đỗ Thị <b>Mai</b>")  # as text
    expect(page.locator("main")).to_contain_text("Mật khẩu: chưa có")

    page.get_by_label("Mật khẩu mới", exact=True).fill("mat-khau-moi-1")
    page.get_by_label("Nhập lại mật khẩu mới").fill("mat-khau-moi-2")
    page.get_by_role("button", name="Đặt mật khẩu").click()
    expect(page.get_by_role("heading", name="Dữ liệu chưa hợp lệ")).to_be_visible()
    page.go_back()
    page.get_by_label("Mật khẩu mới", exact=True).fill("mat-khau-moi-1")
    page.get_by_label("Nhập lại mật khẩu mới").fill("mat-khau-moi-1")
    page.get_by_role("button", name="Đặt mật khẩu").click()
    expect(page.get_by_role("status")).to_contain_text("Đã đặt mật khẩu mới cho chuyenvien2")
    expect(page.locator("main")).to_contain_text("Mật khẩu: có")
    screenshot(page, "admin-person")

    newcomer = browser_page(web_office)
    login(newcomer, "chuyenvien2", "mat-khau-moi-1")
    expect(newcomer.locator(".who-name")).to_have_text("Đỗ Thị <b>Mai</b>")
    expect(newcomer.get_by_role("link", name="Quản trị")).to_have_count(0)
    assert newcomer.goto("/admin").status == 403
    [added] = _events(web_office.ws, "user_added")
    assert added.actor == "quantri" and added.channel == "web"


def test_the_administrator_changes_a_role_and_enrols_a_second_factor_shown_once(
    page: Page, web_office: WebOffice
) -> None:
    login(page, "quantri")
    page.goto("/admin/users/phapche")
    page.get_by_label("Chức danh", exact=True).fill("Phó Trưởng phòng")
    page.get_by_label("Đơn vị", exact=True).select_option("VP")
    page.get_by_role("button", name="Lưu thay đổi").click()
    expect(page.get_by_role("status")).to_contain_text("Đã lưu")
    expect(page.locator("main")).to_contain_text("Phó Trưởng phòng · Văn phòng Sở")
    assert accounts.account(web_office.ws, "phapche").unit_code == "VP"

    page.get_by_role("button", name="Bật xác thực hai bước").click()
    secret = page.locator("#totp-secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    expect(page.locator("#totp-uri")).to_contain_text("otpauth://totp/")
    screenshot(page, "admin-totp-once")
    page.goto("/admin/users/phapche")
    expect(page.locator("main")).to_contain_text("Xác thực hai bước: đã bật")
    assert secret not in page.content()  # never shown again


def test_disabling_a_person_ends_their_open_session(
    browser_page: PageFactory, fresh_web_office: WebOffice
) -> None:
    with _http_login(fresh_web_office, "chuyenvien") as victim:
        assert victim.get("/inbox").status_code == 200
        admin = browser_page(fresh_web_office)
        login(admin, "quantri")
        admin.goto("/admin/users/chuyenvien")
        admin.get_by_role("button", name="Khóa tài khoản chuyenvien").click()
        admin.wait_for_url("**/admin/users")
        expect(admin.get_by_role("status")).to_contain_text("1 phiên đăng nhập")
        expect(admin.locator("tr", has_text="chuyenvien").first).to_contain_text("Đã khóa")
        screenshot(admin, "admin-users-disabled")
        gone = victim.get("/inbox")
        assert gone.status_code == 303 and gone.headers["location"].startswith("/login")


def test_someone_not_an_administrator_is_refused_every_page_and_every_form(
    web_office: WebOffice,
) -> None:
    with _http_login(web_office, "truongphong") as client:
        for path in (
            "/admin",
            "/admin/users",
            "/admin/users/giamdoc",
            "/admin/units",
            "/admin/signers",
            "/admin/certificates",
            "/admin/workflows",
        ):
            answer = client.get(path)
            assert answer.status_code == 403, path
            assert "Không được phép" in answer.text and "quản trị viên" in answer.text, path
        token = _csrf(client)
        forms = {
            "/admin/users": {
                "username": "ke.gian",
                "full_name": "Kẻ Gian",
                "role": "admin",
                "unit": "VP",
                "title": "Quản trị",
            },
            "/admin/users/truongphong/change": {"role": "admin", "title": "X", "unit": "VP"},
            "/admin/users/giamdoc/password": {
                "new_password": "mat-khau-cua-ke-gian",
                "new_password_again": "mat-khau-cua-ke-gian",
            },
            "/admin/users/giamdoc/totp": {},
            "/admin/users/giamdoc/disable": {},
            "/admin/units": {"code": "GIAN", "name": "Phòng Gian"},
            "/admin/signers/phogiamdoc": {"prefix": "TL.", "on_behalf_of": "Giám đốc"},
            "/admin/tokens": {"username": "giamdoc"},
            "/admin/tokens/1/revoke": {},
            "/admin/certificates/revoke": {"serial": "1", "reason": "unspecified"},
        }
        for path, data in forms.items():
            answer = client.post(path, data={**data, "csrf_token": token})
            assert answer.status_code == 403, (path, answer.status_code)
    ws = web_office.ws
    with Session(ws.db) as session:
        assert session.exec(select(User).where(User.username == "ke.gian")).first() is None
        boss = session.exec(select(User).where(User.username == "giamdoc")).one()
        assert boss.active and boss.totp_secret is None
    assert accounts.account(ws, "truongphong").role == "head"
    assert not any(
        e.event in {"user_added", "unit_added", "agent_token_created", "certificate_revoked"}
        and e.actor == "truongphong"
        for e in audit.events(ws.db)
    )


def test_a_token_is_shown_once_and_revoked(page: Page, web_office: WebOffice) -> None:
    login(page, "quantri")
    page.goto("/admin/certificates")
    expect(
        page.get_by_role("heading", name="Chứng thư số do bộ khóa của cơ quan cấp")
    ).to_be_visible()
    expect(page.locator("main")).to_contain_text("DEMO Nguyễn Văn An")
    page.get_by_label("Cho người dùng").select_option("giamdoc")
    page.get_by_role("button", name="Tạo mã truy cập").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith(agents.TOKEN_PREFIX)
    assert agents.authenticate(web_office.ws, token).username == "giamdoc"
    screenshot(page, "admin-certificates-token")
    page.goto("/admin/certificates")
    assert token not in page.content()
    [row] = page.locator("tr", has_text="Nguyễn Văn An (giamdoc)").filter(has_text="#").all()
    row.get_by_role("button", name=re.compile(r"Thu hồi mã #\d+")).click()
    expect(page.get_by_role("status")).to_contain_text("Đã thu hồi mã truy cập")
    expect(page.locator("tr", has_text="Nguyễn Văn An (giamdoc)")).to_contain_text("Đã thu hồi")
    with refused("agent.token_invalid", NotAllowed):
        agents.authenticate(web_office.ws, token)


def test_the_administrator_revokes_a_leaders_certificate(
    browser_page: PageFactory, tmp_path: Path
) -> None:
    """On a PKI of its own: the session's DEMO PKI signs in every other test."""
    keys = tmp_path / "pki"
    create_demo_keys(keys, DEMO_AGENCY, DEMO_PEOPLE)
    ws = open_office(tmp_path / "office", keys)
    try:
        with serving(ws) as url:
            _revoke_in_the_page(browser_page, WebOffice(ws, url))
    finally:
        stop_pki_services(load_demo_pki(keys))
        ws.db.dispose()


def _revoke_in_the_page(browser_page: PageFactory, fresh_web_office: WebOffice) -> None:
    page = browser_page(fresh_web_office)
    login(page, "quantri")
    page.goto("/admin/certificates")
    row = page.locator("tr", has_text="(phogiamdoc)")
    expect(row).to_contain_text("Còn hiệu lực")
    row.get_by_label(re.compile("Lý do thu hồi")).select_option("affiliation-changed")
    row.get_by_role("button", name="Thu hồi").click()
    expect(page.get_by_role("status")).to_contain_text("Đã thu hồi chứng thư")
    expect(page.locator("tr", has_text="(phogiamdoc)")).to_contain_text("Đã thu hồi")
    [event] = _events(fresh_web_office.ws, "certificate_revoked")
    assert event.actor == "quantri"


def test_units_and_who_signs_for_whom(page: Page, web_office: WebOffice) -> None:
    login(page, "quantri")
    page.goto("/admin/units")
    page.get_by_label("Mã đơn vị").fill("KHTC")
    page.get_by_label("Tên đơn vị").fill("Phòng Kế hoạch, tài chính")
    page.get_by_role("button", name="Thêm đơn vị").click()
    expect(page.get_by_role("status")).to_contain_text("Đã thêm đơn vị KHTC")
    expect(page.locator("tr", has_text="KHTC")).to_contain_text("Phòng Kế hoạch, tài chính")
    page.get_by_label("Mã đơn vị").fill("KHTC")
    page.get_by_label("Tên đơn vị").fill("Trùng")
    page.get_by_role("button", name="Thêm đơn vị").click()
    expect(page.locator("main")).to_contain_text("đã có đơn vị 'KHTC'")
    assert page.get_by_role("heading", name="Chưa làm được lúc này").is_visible()

    page.goto("/admin/signers")
    deputy = page.locator("tr", has_text="(phogiamdoc)")
    expect(deputy.locator("td.signature-block")).to_contain_text("KT. GIÁM ĐỐC")
    head = page.locator("tr", has_text="(giamdoc)").locator("td.signature-block")
    expect(head).not_to_contain_text("KT.")
    deputy.get_by_label("Hình thức ký").select_option("TUQ.")
    deputy.get_by_label("Ký thay cho (chức danh)").fill("Giám đốc")
    deputy.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("status")).to_contain_text("TUQ. GIÁM ĐỐC")
    expect(page.locator("tr", has_text="(phogiamdoc)")).to_contain_text("do quản trị viên đặt")
    screenshot(page, "admin-signers")
    signers = {s.username: s.authority for s in draft_signers(web_office.ws, "chuyenvien")}
    assert signers["phogiamdoc"] == "TUQ. GIÁM ĐỐC" and signers["giamdoc"] is None
    page.locator("tr", has_text="(phogiamdoc)").get_by_role(
        "button", name="Trở về mặc định"
    ).click()
    expect(page.locator("tr", has_text="(phogiamdoc)")).to_contain_text("mặc định")
    signers = {s.username: s.authority for s in draft_signers(web_office.ws, "chuyenvien")}
    assert signers["phogiamdoc"] == "KT. GIÁM ĐỐC"


def test_the_workflows_page_shows_each_definition_and_a_broken_files_mistake(
    tmp_path: Path, demo_keys: Path, browser_page: PageFactory
) -> None:
    folder = tmp_path / "workflows"
    folder.mkdir()
    for source in DEFINITIONS_DIR.glob("*.yaml"):
        shutil.copy(source, folder / source.name)
    ws = open_office(tmp_path / "office", demo_keys, workflows_dir=folder)
    try:
        with serving(ws) as url:
            office = WebOffice(ws, url)
            page = browser_page(office)
            login(page, "quantri")
            page.goto("/admin/workflows")
            outgoing = page.locator("section.workflow", has_text="Văn bản đi — outgoing")
            review = outgoing.get_by_role("row", name=re.compile(r"^review "))
            expect(review).to_contain_text("Trưởng/Phó phòng, đơn vị người soạn")
            expect(review).to_contain_text("return → draft (bắt buộc ý kiến)")
            expect(page.get_by_role("alert")).to_have_count(0)
            text = (folder / "outgoing.yaml").read_text(encoding="utf-8")
            broken = text.replace("    deadline_days: 2\n", "    deadline_day: 2\n", 1)
            assert broken != text
            (folder / "outgoing.yaml").write_text(broken, encoding="utf-8")
            line = broken.splitlines().index("    deadline_day: 2") + 1
            page.reload()
            error = page.locator("section.workflow.has-error")
            expect(error).to_contain_text("outgoing.yaml")
            expect(error).to_contain_text(f"dòng {line}")
            expect(error).to_contain_text("deadline_day")
            expect(error).to_contain_text("workflow.definition.unknown_key")
            expect(page.locator("section.workflow", has_text="Văn bản đến")).to_be_visible()
            screenshot(page, "admin-workflows-error")
            page.goto("/admin")
            expect(page.locator("main")).to_contain_text("1 tệp định nghĩa có lỗi")
    finally:
        ws.db.dispose()


def test_the_admin_pages_on_a_phone(browser_page: PageFactory, web_office: WebOffice) -> None:
    page = browser_page(web_office, viewport=PHONE)
    login(page, "quantri")
    for path, name in (
        ("/admin/users", "admin-users-phone"),
        ("/admin/signers", "admin-signers-phone"),
        ("/admin/workflows", "admin-workflows-phone"),
    ):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
        screenshot(page, name)


# --- the engine ----------------------------------------------------------------------------------


def test_the_administrators_engine_functions_check_the_role_and_are_audited(
    agency: Workspace,
) -> None:
    ws = agency
    for call in (
        lambda: accounts.list_users(ws, "vanthu"),
        lambda: units.list_units(ws, "vanthu"),
        lambda: units.add_unit(ws, "vanthu", "KHTC", "Phòng Kế hoạch"),
        lambda: accounts.change_user(ws, "vanthu", "vanthu", role="admin"),
        lambda: authorities.signing_authorities(ws, "vanthu"),
        lambda: authorities.set_signing_authority(ws, "vanthu", "phogiamdoc", "TL.", "Giám đốc"),
        lambda: agents.agent_tokens(ws, "vanthu"),
        lambda: agents.issue_agent_token(ws, "vanthu", "giamdoc"),
        lambda: agents.registered_certificates(ws, "vanthu"),
    ):
        with refused("account.admin_required", NotAllowed):
            call()

    units.add_unit(ws, "quantri", "khtc", "Phòng  Kế hoạch,   tài chính")
    assert ("KHTC", "Phòng Kế hoạch, tài chính", 0) in [
        (u.code, u.name, u.people) for u in units.list_units(ws, "quantri")
    ]
    with refused("account.unit_exists", Conflict):
        units.add_unit(ws, "quantri", "KHTC", "Lần hai")
    with refused("account.unit_code_invalid", InvalidInput):
        units.add_unit(ws, "quantri", "Phòng 1", "Sai mã")

    moved = accounts.change_user(
        ws, "quantri", "chuyenvien", role="head", title="Phó Trưởng phòng", unit="KHTC"
    )
    assert (moved.role, moved.title, moved.unit_code) == ("head", "Phó Trưởng phòng", "KHTC")
    [event] = _events(ws, "user_changed")
    detail = json.loads(event.detail)
    assert detail["role"] == ["specialist", "head"] and detail["unit"] == ["TCBC", "KHTC"]
    with refused("account.nothing_changed", InvalidInput):
        accounts.change_user(ws, "quantri", "chuyenvien", role="head")
    with refused("account.demote_self", Conflict):
        accounts.change_user(ws, "quantri", "quantri", role="clerk")
    with refused("account.unit_unknown", InvalidInput):
        accounts.change_user(ws, "quantri", "chuyenvien", unit="KHONGCO")

    line = authorities.set_signing_authority(ws, "quantri", "phogiamdoc", "TL.", "giám đốc")
    assert line == "TL. GIÁM ĐỐC"
    with refused("account.authority_prefix_unknown", InvalidInput):
        authorities.set_signing_authority(ws, "quantri", "phogiamdoc", "XX.", "Giám đốc")
    rows = {r.username: r for r in authorities.signing_authorities(ws, "quantri")}
    assert rows["phogiamdoc"].line == "TL. GIÁM ĐỐC" and rows["phogiamdoc"].configured
    assert rows["giamdoc"].line is None and not rows["giamdoc"].configured
    authorities.clear_signing_authority(ws, "quantri", "phogiamdoc")
    with refused("account.authority_not_set", NotFound):
        authorities.clear_signing_authority(ws, "quantri", "phogiamdoc")
    assert [e.event for e in audit.events(ws.db)][-2:] == [
        "signing_authority_set",
        "signing_authority_removed",
    ]

    token_id, token = agents.issue_agent_token(ws, "quantri", "giamdoc")
    assert agents.authenticate(ws, token).username == "giamdoc"
    [row] = [t for t in agents.agent_tokens(ws, "quantri") if t.id == token_id]
    assert row.username == "giamdoc" and row.revoked_at is None
    with refused("account.admin_required", NotAllowed):
        agents.revoke_agent_token(ws, "giamdoc", token_id)
    assert agents.revoke_agent_token(ws, "quantri", token_id) == "giamdoc"
    with refused("agent.token_not_found", NotFound):
        agents.revoke_agent_token(ws, "quantri", token_id)
    created = _events(ws, "agent_token_created")[-1]
    assert created.actor == "quantri" and json.loads(created.detail)["user"] == "giamdoc"


def test_the_authority_an_administrator_sets_is_printed_on_new_drafts(
    make_agency: Callable[..., Workspace],
) -> None:
    ws = make_agency()

    def signature_block(request: DraftRequest) -> list[str]:
        upload = render_request(ws, "chuyenvien", request)
        document = docx.Document(io.BytesIO(upload.data))
        cells = [cell for table in document.tables for row in table.rows for cell in row.cells]
        return [p.text for p in cells[-1].paragraphs if p.text.strip()]

    assert signature_block(DECISION)[:2] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]
    authorities.set_signing_authority(ws, "quantri", "phogiamdoc", "TUQ.", "Giám đốc")
    assert signature_block(DECISION)[:2] == ["TUQ. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]
    assert signature_block(LETTER)[0] == "GIÁM ĐỐC"  # the head signs in their own name


def test_a_definitions_folder_is_reviewed_file_by_file(tmp_path: Path) -> None:
    for source in DEFINITIONS_DIR.glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / "copy.yaml").write_text(
        (DEFINITIONS_DIR / "incoming.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "bad.yaml").write_text("name: bad\nsteps: [\n", encoding="utf-8")
    steps = {
        "convert_to_pdf",
        "assign_number",
        "apply_seal",
        "verify_incoming",
        "register_incoming",
        "archive_document",
        "dispose_records",
        "send_to_recipients",
    }
    found = {Path(f.path).name: f for f in review_definitions(tmp_path, automated_steps=steps)}
    assert found["outgoing.yaml"].definition is not None
    assert found["bad.yaml"].error is not None
    assert found["bad.yaml"].error.code == "workflow.definition.yaml_syntax"
    assert found["bad.yaml"].error.line is not None
    duplicate = found["incoming.yaml"].error or found["copy.yaml"].error
    assert duplicate is not None and duplicate.code == "workflow.definition.duplicate_name"
    [missing] = review_definitions(tmp_path / "none", automated_steps=steps)
    assert missing.error is not None and missing.error.code == "workflow.definition.folder_missing"


# --- the benchmark -------------------------------------------------------------------------------


def test_bench_web_runs_and_prints_its_figures_as_json() -> None:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bench", "web", "--tasks", "200", "--seconds", "0.2"),
            *("--workers", "2", "--json"),  # two server processes whatever the machine's CPUs
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    for route in ("inbox", "document", "static"):
        for figure in ("p50_ms", "p95_ms", "rps"):
            assert figures[f"{route}_{figure}_sqlite"] > 0, (route, figure)
    assert figures["inbox_status_sqlite"] == [200] and figures["static_status_sqlite"] == [200]
    assert ("inbox_p95_ms_postgresql" in figures) != ("skipped_postgresql" in figures)
