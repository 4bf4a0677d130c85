"""Fixtures for the web office: a demo agency with known passwords served by uvicorn in a thread
(plain http on 127.0.0.1, so the agency allows insecure cookies), Debian's Chromium driven by
Playwright, ``login(page, username)`` and ``screenshot(page, name)``.

- ``web_office`` (one per test module, SQLite) and ``web_office_pg`` (PostgreSQL, skipped when
  it does not answer) give a :class:`WebOffice`: its workspace, its address, the passwords.
  ``fresh_web_office`` is one per test, for tests that lock accounts or move the clock a lot.
- ``page``: a new browser context (1366×768, Vietnamese) on ``web_office``, its ``base_url``
  the office's, so ``page.goto("/inbox")`` works. ``browser_page(office)`` for another office.
- Every person's password is :func:`password_of` (``mat-khau-<username>``).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from fixtures_db import PG_ADMIN_URL, postgres_available
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from engine.automation import open_workspace
from engine.core import accounts
from engine.core.agency import DEMO_PEOPLE, create_demo_agency
from engine.core.config import load_settings
from engine.core.workspace import Workspace
from engine.http.serving import serving_in_thread

ROOT = Path(__file__).resolve().parent.parent
SCREENS = ROOT / "test-output" / "screens"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def password_of(username: str) -> str:
    """Every demo person's password in the web tests."""
    return f"mat-khau-{username}"


@dataclass
class WebOffice:
    """A demo agency served over http on 127.0.0.1."""

    ws: Workspace
    url: str
    """``http://127.0.0.1:PORT``"""

    def password(self, username: str) -> str:
        return password_of(username)


@contextmanager
def serving(
    ws: Workspace, port: int | None = None, listener: socket.socket | None = None
) -> Iterator[str]:
    """``vanthu serve`` (web, API, exchange) in a thread on ``port``, or on ``listener`` (a
    socket bound when its port was given out), else on a port of its own; its address."""
    if port is None:
        listener = bound_port()
        port = int(listener.getsockname()[1])
    with serving_in_thread(ws, port, listener=listener) as url:
        yield url


def bound_port() -> socket.socket:
    """A socket bound to a free port of 127.0.0.1, not yet listening: the port stays this
    test's until the server takes the socket (a port only named as free may be bound by another
    process of the suite first)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    return listener


def open_office(
    home: Path, demo_keys: Path, database_url: str = "", **settings: object
) -> Workspace:
    """A demo agency in ``home`` whose people have :func:`password_of` as password."""
    home.mkdir(parents=True, exist_ok=True)
    values: dict[str, object] = {
        "pki_dir": demo_keys,
        "steps_runner": "inline",
        "insecure_cookies": True,
        **settings,
    }
    ws = open_workspace(load_settings(home, database_url=database_url, **values))
    create_demo_agency(ws)
    for person in DEMO_PEOPLE:
        accounts.set_password(ws, person.username, person.username, password_of(person.username))
    return ws


@contextmanager
def _postgres_database() -> Iterator[str]:
    if not postgres_available():
        pytest.skip(f"PostgreSQL không trả lời ({PG_ADMIN_URL}): bỏ qua phần chạy trên PostgreSQL")
    name = f"vanthu_w_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def web_office(tmp_path_factory: pytest.TempPathFactory, demo_keys: Path) -> Iterator[WebOffice]:
    """The demo agency on SQLite, served for the whole test module."""
    ws = open_office(tmp_path_factory.mktemp("web-office"), demo_keys)
    with serving(ws) as url:
        yield WebOffice(ws, url)
    ws.db.dispose()


@pytest.fixture(scope="module")
def web_office_pg(tmp_path_factory: pytest.TempPathFactory, demo_keys: Path) -> Iterator[WebOffice]:
    """The demo agency on PostgreSQL, served for the whole test module."""
    with _postgres_database() as url:
        ws = open_office(tmp_path_factory.mktemp("web-office-pg"), demo_keys, url)
        with serving(ws) as address:
            yield WebOffice(ws, address)
        ws.db.dispose()


@pytest.fixture
def fresh_web_office(tmp_path: Path, demo_keys: Path) -> Iterator[WebOffice]:
    """A demo agency of the test's own (locked accounts, a moved clock stay there)."""
    ws = open_office(tmp_path / "web-office", demo_keys)
    with serving(ws) as url:
        yield WebOffice(ws, url)
    ws.db.dispose()


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    """One per test module, not per session: Playwright's sync API keeps an asyncio loop
    running in the main thread while it is open, and with it pyHanko's and Prefect's sync
    calls (asyncio.run) fail in whatever test module a pytest-xdist worker runs next."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (Playwright's own download is not reachable here)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} không có: cài gói chromium (scripts/install-system-deps.sh)")
    launched = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


PageFactory = Callable[..., Page]


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[PageFactory]:
    """``browser_page(office, viewport=PHONE)``: a page in a new context (its own cookies)."""
    contexts: list[BrowserContext] = []

    def make(office: WebOffice, viewport: dict[str, int] = DESKTOP) -> Page:
        context = browser.new_context(
            base_url=office.url, viewport=viewport, locale="vi-VN", timezone_id="Asia/Bangkok"
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(browser_page: PageFactory, web_office: WebOffice) -> Page:
    """A fresh browser page on the module's web office, at 1366×768."""
    return browser_page(web_office)


def login(page: Page, username: str, password: str | None = None) -> None:
    """Log ``username`` in through the login form (their known password unless given) and
    land on the inbox."""
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password if password is not None else password_of(username))
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/inbox")


def screenshot(page: Page, name: str) -> Path:
    """The whole page as ``test-output/screens/<name>.png`` (look at it)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    target = SCREENS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target
