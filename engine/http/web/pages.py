"""Rendering the web office's pages: ``render``, flash messages, the menu and its counts.

How a page uses it (a plain ``def`` route: rendering reads the database)::

    from engine.http.web.pages import flash, render, redirect
    from engine.http.web.session import CurrentUser

    @router.get("/registers/outgoing")
    def outgoing(request: Request, user: CurrentUser) -> HTMLResponse:
        rows = engine_function(workspace(request), ..., user.username)
        return render(request, "registers/outgoing.html", title="Sổ văn bản đi", rows=rows)

    @router.post("/documents/{id}/approve")          # CSRF already checked by the router
    def approve(request: Request, id: int, user: CurrentUser) -> Response:
        ...
        flash(request, "Đã duyệt văn bản.", "success")
        return redirect(f"/documents/{id}")

A template extends ``base.html`` and fills ``{% block content %}``; it has ``user`` (an
:class:`~engine.http.web.session.Account` or None), ``title``, ``agency``, ``menu``, the
filters ``when`` (date and time in Vietnam time) and ``day``, and ``csrf_field()`` which every
``<form method="post">`` must contain. Jinja2 escapes every value (autoescape).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from sqlmodel import Session, select

from engine.core import sessions
from engine.core.accounts import Account
from engine.core.calendar import VIETNAM_TIME
from engine.core.definitions import Role
from engine.core.models import Agency
from engine.http.web import session as web_session
from engine.workflow.inbox import inbox_counts

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

ROLE_NAMES = {
    Role.SPECIALIST.value: "Chuyên viên",
    Role.HEAD.value: "Trưởng/Phó phòng",
    Role.LEADER.value: "Lãnh đạo",
    Role.CLERK.value: "Văn thư",
    Role.ARCHIVIST.value: "Lưu trữ",
    Role.ADMIN.value: "Quản trị",
}

_EVERYONE = frozenset(r.value for r in Role)
_REGISTER_READERS = frozenset({"clerk", "leader", "archivist", "admin"})


@dataclass(frozen=True)
class MenuEntry:
    label: str
    href: str
    roles: frozenset[str]
    """The roles that use it; the menu shows only the user's."""
    section: str = ""
    """The paths it stands for (marked current in the menu); default its own."""


MENU: tuple[MenuEntry, ...] = (
    MenuEntry("Hộp việc", "/inbox", _EVERYONE),
    MenuEntry("Soạn văn bản", "/drafts/new", frozenset({"specialist"})),
    MenuEntry("Sổ văn bản đi", "/registers/outgoing", _REGISTER_READERS),
    MenuEntry("Sổ văn bản đến", "/registers/incoming", _REGISTER_READERS),
    MenuEntry("Tiếp nhận văn bản đến", "/incoming/new", frozenset({"clerk"})),
    MenuEntry("Đề nghị liên thông", "/exchange/requests", frozenset({"clerk"})),
    MenuEntry("Hồ sơ một cửa", "/onestop", frozenset({"clerk", "head", "specialist", "leader"})),
    MenuEntry(
        "Lưu trữ",
        "/archive/search",
        frozenset({"archivist", "clerk", "leader", "admin"}),
        section="/archive",
    ),
    MenuEntry("Thống kê đúng hạn", "/reports/on-time", frozenset({"leader", "head", "clerk"})),
    MenuEntry("Kiểm tra chữ ký", "/verify", _EVERYONE),
    MenuEntry("Quản trị", "/admin", frozenset({"admin"})),
)


@dataclass(frozen=True)
class MenuItem:
    label: str
    href: str
    count: int | None
    current: bool


def _when(value: datetime | None) -> str:
    """Date and time in Vietnam time: 05/03/2026 14:30."""
    if value is None:
        return ""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(VIETNAM_TIME).strftime("%d/%m/%Y %H:%M")


def _day(value: datetime | date | None) -> str:
    """A date: 05/03/2026 (a time is shown in Vietnam time)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        value = aware.astimezone(VIETNAM_TIME).date()
    return value.strftime("%d/%m/%Y")


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
"""The templates' environment: every value escaped; an undefined name is an error, not blank."""
environment.filters["when"] = _when
environment.filters["day"] = _day
environment.globals["role_name"] = lambda role: ROLE_NAMES.get(role, role)


def agency_name(request: Request) -> str:
    """The agency's name for the header (read once it exists)."""
    ws = web_session.workspace(request)
    cached = ws.caches.get("web:agency")
    if isinstance(cached, str):
        return cached
    with Session(ws.db) as session:
        agency = session.exec(select(Agency)).first()
    if agency is None:
        return "Vanthu"
    ws.caches["web:agency"] = agency.name
    return agency.name


def menu(request: Request, user: Account, inbox_count: int | None = None) -> list[MenuItem]:
    """The entries ``user``'s role uses, the inbox with its count of open tasks."""
    if inbox_count is None:
        inbox_count, _overdue = inbox_counts(web_session.workspace(request), user.username)
    path = request.url.path
    return [
        MenuItem(
            label=entry.label,
            href=entry.href,
            count=inbox_count if entry.href == "/inbox" else None,
            current=path == entry.href
            or path.startswith((entry.section or entry.href).rstrip("/") + "/"),
        )
        for entry in MENU
        if user.role in entry.roles
    ]


def flash(request: Request, message: str, kind: str = "info") -> None:
    """A message shown once on the next page (after a redirect): ``info``, ``success`` or
    ``error``. Needs a signed-in person."""
    found = web_session.signed_in(request)
    if found is not None:
        sessions.add_flash(web_session.workspace(request), found.session_id, message, kind)


def redirect(path: str) -> RedirectResponse:
    """After a POST: go to ``path`` with a GET (303)."""
    return RedirectResponse(path, status_code=303)


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    title: str = "",
    inbox_count: int | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` (under templates/) with ``context`` and what base.html needs:
    the person, the menu (``inbox_count`` saves counting again), the flash messages, the CSRF
    field. Security headers are added to every web response by the app."""
    found = web_session.signed_in(request)
    user = found.account if found is not None and found.stage == sessions.STAGE_ACTIVE else None
    ws = web_session.workspace(request)
    flashes = (
        sessions.take_flashes(ws, found.session_id)
        if found is not None and found.has_flashes
        else []
    )
    token = web_session.csrf_token(request)
    field = Markup('<input type="hidden" name="{}" value="{}">').format(
        web_session.CSRF_FIELD, escape(token)
    )
    values = {
        "request": request,
        "user": user,
        "title": title,
        "agency": agency_name(request),
        "menu": menu(request, user, inbox_count) if user is not None else [],
        "flashes": flashes,
        "csrf_token": token,
        "csrf_field": lambda: field,
        **context,
    }
    html = environment.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code)
    web_session.finish(request, response)
    return response
