"""The web office's front door, in a real browser (Debian's Chromium through Playwright) against
``vanthu serve`` in a thread: logging in and out, the inbox, refusals a person or an attacker
meets (wrong password, throttling, CSRF, an idle or disabled session), the second factor, what
the cookie promises, escaping, and the inbox on a phone. HTTP-level checks use httpx."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient
from fixtures_web import PHONE, PageFactory, WebOffice, login, password_of, screenshot
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from engine.core import accounts, audit, sessions
from engine.core.models import AuditEvent, WebSession
from engine.http import create_app
from engine.outgoing import create_outgoing
from engine.workflow.inbox import inbox_counts
from tests_support import DECISION, LETTER
from vanthu.clock import ManualClock

LOGIN_REFUSED = "Tên đăng nhập hoặc mật khẩu không đúng."


def _events(office: WebOffice, event: str) -> list[AuditEvent]:
    return [e for e in audit.events(office.ws.db) if e.event == event]


def _submit_login(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()


def _session_cookie(page: Page) -> dict[str, object]:
    [cookie] = [c for c in page.context.cookies() if c["name"] == "vanthu_session"]
    return dict(cookie)


@contextmanager
def _http_login(office: WebOffice, username: str) -> Iterator[httpx.Client]:
    """An httpx client logged in through the form (the login page's token, then the POST)."""
    with httpx.Client(base_url=office.url, follow_redirects=False) as client:
        yield _logged_in(client, username)


def _logged_in(client: httpx.Client, username: str) -> httpx.Client:
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
    assert done.status_code == 303 and done.headers["location"] == "/inbox", done.text
    return client


def _csrf_of(client: httpx.Client) -> str:
    page = client.get("/inbox")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert page.status_code == 200 and found is not None
    return found.group(1)


# --- logging in and the inbox ----------------------------------------------------------------


@pytest.mark.parametrize(
    "office_fixture", ["web_office", pytest.param("web_office_pg", marks=pytest.mark.postgres)]
)
def test_a_person_logs_in_and_sees_their_inbox_with_its_count(
    office_fixture: str, request: pytest.FixtureRequest, browser_page: PageFactory
) -> None:
    office: WebOffice = request.getfixturevalue(office_fixture)
    before, _ = inbox_counts(office.ws, "chuyenvien")
    urgent = dataclasses.replace(DECISION, urgency="Hỏa tốc")
    first = create_outgoing(office.ws, "chuyenvien", urgent)
    second = create_outgoing(office.ws, "chuyenvien", LETTER)
    page = browser_page(office)

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))  # nobody signed in yet
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    screenshot(page, "login")
    login(page, "chuyenvien")

    expect(page.get_by_role("heading", name="Hộp việc")).to_be_visible()
    menu = page.get_by_role("navigation", name="Chức năng")
    expect(menu.get_by_role("link", name=re.compile("Hộp việc"))).to_contain_text(str(before + 2))
    expect(menu.get_by_role("link")).to_have_text(
        [re.compile("Hộp việc"), "Soạn văn bản", "Hồ sơ một cửa", "Kiểm tra chữ ký"]
    )
    expect(page.locator(".who-name")).to_have_text("Trần Thị Bình")  # who is signed in
    row = page.get_by_role("row").filter(has_text=DECISION.subject)
    expect(row).to_contain_text("Hỏa tốc")
    expect(row).to_contain_text("Soạn thảo dự thảo")  # the step
    expect(row.get_by_role("link", name=DECISION.subject)).to_have_attribute(
        "href", f"/documents/{first}"
    )
    expect(
        page.get_by_role("row").filter(has_text=LETTER.subject).get_by_role("link")
    ).to_have_attribute("href", f"/documents/{second}")
    screenshot(page, f"inbox-{office_fixture}")
    [event] = [e for e in _events(office, "login") if e.actor == "chuyenvien"][-1:]
    assert event.channel == "web" and json.loads(event.detail)["address"] == "127.0.0.1"


def test_an_overdue_task_is_shown_in_red(
    web_office: WebOffice, page: Page, clock: ManualClock
) -> None:
    doc = create_outgoing(web_office.ws, "chuyenvien", LETTER)  # draft: 3 working days
    clock.advance(days=10)
    login(page, "chuyenvien")
    row = page.get_by_role("row").filter(has=page.locator(f'a[href="/documents/{doc}"]'))
    expect(row.locator(".overdue").first).to_be_visible()
    expect(row).to_contain_text("Quá hạn")
    colour = row.locator("span.overdue").first.evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(176, 0, 32)"  # the danger red
    screenshot(page, "inbox-overdue")


def test_the_menu_follows_the_role(web_office: WebOffice, browser_page: PageFactory) -> None:
    clerk = browser_page(web_office)
    login(clerk, "vanthu")
    entries = clerk.get_by_role("navigation", name="Chức năng").get_by_role("link")
    expect(entries).to_have_text(
        [
            re.compile("Hộp việc"),
            "Sổ văn bản đi",
            "Sổ văn bản đến",
            "Tiếp nhận văn bản đến",
            "Đề nghị liên thông",
            "Hồ sơ một cửa",
            "Lưu trữ",
            "Thống kê đúng hạn",
            "Kiểm tra chữ ký",
        ]
    )
    admin = browser_page(web_office)
    login(admin, "quantri")
    expect(
        admin.get_by_role("navigation", name="Chức năng").get_by_role("link", name="Quản trị")
    ).to_be_visible()


# --- refusals ------------------------------------------------------------------------------------


def test_a_wrong_password_is_refused_and_audited(web_office: WebOffice, page: Page) -> None:
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        _submit_login(page, "phapche", "not-the-password")
    assert answer.value.status == 401
    expect(page.get_by_role("alert")).to_have_text(LOGIN_REFUSED)
    expect(page.get_by_label("Tên đăng nhập")).to_have_value("phapche")  # kept, not the password
    expect(page.get_by_label("Mật khẩu")).to_have_value("")
    screenshot(page, "login-refused")
    _submit_login(page, "nobody-here", "not-the-password")  # an unknown name: the same answer
    expect(page.get_by_role("alert")).to_have_text(LOGIN_REFUSED)
    refusals = {e.actor: json.loads(e.detail) for e in _events(web_office, "login_refused")}
    assert refusals["phapche"]["reason"] == "wrong_password"
    assert refusals["nobody-here"]["reason"] == "unknown_user"
    assert {e.channel for e in _events(web_office, "login_refused")} == {"web"}
    assert not page.context.cookies() or "vanthu_session" not in {
        c["name"] for c in page.context.cookies()
    }


def test_repeated_failures_are_throttled_until_the_window_passes(
    fresh_web_office: WebOffice, browser_page: PageFactory, clock: ManualClock
) -> None:
    page = browser_page(fresh_web_office)
    for _ in range(sessions.USER_FAILURES):
        _submit_login(page, "vanthu", "guessing-again")
        expect(page.get_by_role("alert")).to_have_text(LOGIN_REFUSED)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        _submit_login(page, "vanthu", password_of("vanthu"))  # right, but too late
    assert answer.value.status == 429
    expect(page.get_by_role("alert")).to_contain_text("thử lại sau 15 phút")
    screenshot(page, "login-throttled")
    assert "vanthu_session" not in {c["name"] for c in page.context.cookies()}

    other = browser_page(fresh_web_office)
    login(other, "luutru")  # another person from the same address is not locked out

    clock.advance(minutes=16)
    login(page, "vanthu")
    expect(page.get_by_role("heading", name="Hộp việc")).to_be_visible()


def test_a_forged_or_missing_csrf_token_is_refused(web_office: WebOffice) -> None:
    with _http_login(web_office, "truongphong") as client:
        token = _csrf_of(client)
        missing = client.post("/logout", data={})
        assert missing.status_code == 403
        assert "mã chống giả mạo" in missing.text and 'lang="vi"' in missing.text
        forged = client.post("/logout", data={"csrf_token": "x" * len(token)})
        assert forged.status_code == 403
        with _http_login(web_office, "phapche") as other:  # another session's token
            assert client.post("/logout", data={"csrf_token": _csrf_of(other)}).status_code == 403
        assert client.get("/inbox").status_code == 200  # still signed in: nothing happened
        assert client.post("/logout", data={"csrf_token": token}).status_code == 303

    with httpx.Client(base_url=web_office.url) as stranger:  # the login form has one too
        refused = stranger.post(
            "/login", data={"username": "truongphong", "password": password_of("truongphong")}
        )
        assert refused.status_code == 403 and "vanthu_session" not in refused.cookies


def test_the_session_cookie_is_http_only_lax_rotated_and_kept_only_hashed(
    web_office: WebOffice, page: Page
) -> None:
    page.context.add_cookies(
        [{"name": "vanthu_session", "value": "chosen-by-an-attacker", "url": web_office.url}]
    )
    login(page, "chanhvanphong")
    cookie = _session_cookie(page)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # this agency allows http on 127.0.0.1 (insecure_cookies)
    assert cookie["value"] != "chosen-by-an-attacker"  # a new id at login: no fixation
    assert page.evaluate("document.cookie") == ""  # not readable by scripts
    key = str(cookie["value"])
    with Session(web_office.ws.db) as session:
        hashes = set(session.exec(select(WebSession.key_hash)).all())
    assert hashlib.sha256(key.encode()).hexdigest() in hashes and key not in hashes

    page.get_by_role("button", name="Đăng xuất").click()  # logged out: the old id is dead
    expect(page.get_by_text("Bạn đã đăng xuất.")).to_be_visible()
    login(page, "chanhvanphong")  # logging in again: another id
    assert _session_cookie(page)["value"] != key
    with httpx.Client(base_url=web_office.url, cookies={"vanthu_session": key}) as old:
        assert old.get("/inbox").status_code == 303

    response = page.goto("/inbox")
    assert response is not None
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


def test_the_session_cookie_is_secure_by_default(web_office: WebOffice) -> None:
    settings = web_office.ws.settings.model_copy(update={"insecure_cookies": False})
    assert load_default_insecure_cookies() is False
    secure = dataclasses.replace(web_office.ws, settings=settings)
    with TestClient(create_app(secure), base_url="https://vanthu.example") as client:
        form = client.get("/login")
        assert "secure" in form.headers["set-cookie"].lower()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        done = client.post(
            "/login",
            data={
                "username": "giamdoc",
                "password": password_of("giamdoc"),
                "csrf_token": token.group(1),
            },
            follow_redirects=False,
        )
        set_cookie = done.headers["set-cookie"]
        assert done.status_code == 303 and "vanthu_session=" in set_cookie
        assert re.search(r"vanthu_session=[^;]+;.*HttpOnly", set_cookie)
        assert "secure" in set_cookie.lower() and "samesite=lax" in set_cookie.lower()


def load_default_insecure_cookies() -> bool:
    """The setting's default, as a new agency gets it."""
    return bool(type(accounts).__dict__ and _default("insecure_cookies"))


def _default(name: str) -> object:
    from engine.core.config import Settings

    return Settings.model_fields[name].default


def test_logout_ends_the_session(web_office: WebOffice, page: Page) -> None:
    login(page, "giamdoc")
    key = _session_cookie(page)["value"]
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(re.compile(r"/login\?out=1$"))
    expect(page.get_by_role("status")).to_have_text("Bạn đã đăng xuất.")
    screenshot(page, "logged-out")
    with httpx.Client(base_url=web_office.url, cookies={"vanthu_session": str(key)}) as old:
        assert old.get("/inbox").headers["location"] == "/login"
    assert _events(web_office, "logout")[-1].actor == "giamdoc"
    page.goto("/inbox")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_an_idle_session_ends_but_use_keeps_it_alive(
    web_office: WebOffice, page: Page, clock: ManualClock
) -> None:
    login(page, "truongphong")
    for _ in range(3):  # used every 20 minutes: an hour later still signed in
        clock.advance(minutes=20)
        page.goto("/inbox")
        expect(page.get_by_role("heading", name="Hộp việc")).to_be_visible()
    clock.advance(minutes=web_office.ws.settings.session_idle_minutes + 1)
    page.goto("/inbox?page=1")
    expect(page).to_have_url(re.compile(r"/login\?next=/inbox%3Fpage%3D1$"))
    expect(page.get_by_label("Tên đăng nhập")).to_be_visible()
    assert _events(web_office, "session_expired")[-1].actor == "truongphong"
    login_back = page.get_by_label("Tên đăng nhập")
    login_back.fill("truongphong")
    page.get_by_label("Mật khẩu").fill(password_of("truongphong"))
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(r"/inbox\?page=1$"))  # back where they were


def test_a_second_factor_is_asked_after_the_password(
    web_office: WebOffice, browser_page: PageFactory, clock: ManualClock
) -> None:
    enrolled = accounts.enrol_totp(web_office.ws, "quantri", "phogiamdoc")
    assert enrolled.uri.startswith("otpauth://totp/") and enrolled.secret in enrolled.uri
    page = browser_page(web_office)
    _submit_login(page, "phogiamdoc", password_of("phogiamdoc"))
    expect(page).to_have_url(re.compile(r"/login/totp"))
    pending = _session_cookie(page)["value"]
    page.goto("/inbox")  # not signed in yet
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_label("Mã xác thực")).to_be_visible()
    screenshot(page, "login-totp")

    page.get_by_label("Mã xác thực").fill("000000")
    page.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_role("alert")).to_contain_text("Mã xác thực không đúng")

    code = pyotp.TOTP(enrolled.secret).at(clock())
    page.get_by_label("Mã xác thực").fill(code)
    page.get_by_role("button", name="Xác nhận").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))
    assert _session_cookie(page)["value"] != pending  # a new id after the second factor
    [event] = [e for e in _events(web_office, "login") if e.actor == "phogiamdoc"]
    assert json.loads(event.detail)["totp"] is True

    again = browser_page(web_office)  # the same code a second time: refused (replay)
    _submit_login(again, "phogiamdoc", password_of("phogiamdoc"))
    again.get_by_label("Mã xác thực").fill(code)
    again.get_by_role("button", name="Xác nhận").click()
    expect(again.get_by_role("alert")).to_contain_text("Mã xác thực không đúng")
    clock.advance(seconds=30)
    again.get_by_label("Mã xác thực").fill(pyotp.TOTP(enrolled.secret).at(clock()))
    again.get_by_role("button", name="Xác nhận").click()
    expect(again).to_have_url(re.compile(r"/inbox$"))


def test_a_disabled_person_is_signed_out_and_cannot_log_in(
    web_office: WebOffice, page: Page
) -> None:
    login(page, "luutru")
    assert accounts.disable_user(web_office.ws, "quantri", "luutru") == 1
    page.goto("/inbox")
    expect(page).to_have_url(re.compile(r"/login"))
    _submit_login(page, "luutru", password_of("luutru"))
    expect(page.get_by_role("alert")).to_have_text(LOGIN_REFUSED)
    assert json.loads(_events(web_office, "login_refused")[-1].detail)["reason"] == "disabled"


# --- what the pages show -------------------------------------------------------------------------


def test_a_subject_with_markup_shows_as_text(web_office: WebOffice, page: Page) -> None:
    hostile = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> Về việc'
    doc = create_outgoing(
        web_office.ws, "chuyenvien", dataclasses.replace(DECISION, subject=hostile)
    )
    login(page, "chuyenvien")
    link = page.locator(f'a[href="/documents/{doc}"]')
    expect(link).to_have_text(hostile)
    assert page.evaluate("window.pwned") is None
    assert page.locator("main script, main img").count() == 0


def test_the_inbox_reflows_on_a_phone(web_office: WebOffice, browser_page: PageFactory) -> None:
    create_outgoing(web_office.ws, "chuyenvien", DECISION)
    page = browser_page(web_office, viewport=PHONE)
    page.goto("/login")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "login-390")
    login(page, "chuyenvien")
    expect(page.get_by_role("heading", name="Hộp việc")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.get_by_role("link", name=DECISION.subject).first.is_visible()
    screenshot(page, "inbox-390")


def test_unknown_pages_are_vietnamese_html_and_the_api_stays_json(
    web_office: WebOffice, page: Page
) -> None:
    login(page, "vanthu")
    response = page.goto("/khong-co-trang-nay")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Không tìm thấy")).to_be_visible()
    expect(page.get_by_role("link", name="Về hộp việc")).to_be_visible()
    screenshot(page, "error-404")
    with httpx.Client(base_url=web_office.url) as client:
        api = client.get("/api/agent/whoami")
        assert api.status_code == 403 and api.json()["code"] == "agent.token_missing"
        bad_page = client.get("/inbox?page=0", follow_redirects=False)
        assert bad_page.status_code == 303  # signed out: to the login page first


def test_login_returns_only_to_paths_on_this_site(web_office: WebOffice, page: Page) -> None:
    for hostile in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        page.goto(f"/login?next={hostile}")
        page.get_by_label("Tên đăng nhập").fill("vanthu")
        page.get_by_label("Mật khẩu").fill(password_of("vanthu"))
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page).to_have_url(f"{web_office.url}/inbox")
        page.get_by_role("button", name="Đăng xuất").click()


@pytest.fixture(autouse=True)
def _no_stray_time(clock: ManualClock) -> None:
    """Every test here holds the clock (the server thread reads it too)."""
    assert clock.offset == timedelta(0)
