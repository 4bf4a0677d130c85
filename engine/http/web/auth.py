"""Logging in and out: ``/login`` (username and password), ``/login/totp`` (the second factor
when enrolled), ``/logout``; ``/`` goes to the inbox. The rules (throttling, what is audited,
when TOTP is required) are the engine's, :mod:`engine.core.sessions`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from engine.core import sessions
from engine.core.credentials import MAX_PASSWORD_LENGTH
from engine.core.errors import NotAllowed
from engine.core.users import NAME_LIMIT
from engine.http.web import session
from engine.http.web.pages import redirect, render

router = APIRouter()

Username = Annotated[str, Form(max_length=NAME_LIMIT)]
Password = Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH + 1)]
Code = Annotated[str, Form(max_length=16)]
Next = Annotated[str, Form(max_length=2000)]

STATUS = {"account.throttled": 429}
"""A refused login is 401; too many tries, 429."""


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/inbox", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = "/inbox", out: bool = False) -> Response:
    found = session.signed_in(request)
    target = session.safe_next(next)
    if found is not None and found.stage == sessions.STAGE_ACTIVE:
        return redirect(target)
    if found is not None and found.stage == sessions.STAGE_TOTP:
        return render(request, "login_totp.html", title="Xác thực hai bước", next=target, error="")
    notice = "Bạn đã đăng xuất." if out else ""
    return render(
        request,
        "login.html",
        title="Đăng nhập",
        next=target,
        username="",
        error="",
        notice=notice,
    )


@router.post("/login")
def login(
    request: Request, username: Username, password: Password, next: Next = "/inbox"
) -> Response:
    ws = session.workspace(request)
    target = session.safe_next(next)
    try:
        grant = sessions.login(ws, username, password, address=session.client_address(request))
    except NotAllowed as refused:
        request.state.signed_in = None  # a half-open session, if any, no longer counts
        return render(
            request,
            "login.html",
            status_code=STATUS.get(refused.code, 401),
            title="Đăng nhập",
            next=target,
            username=username,
            error=refused.message,
            notice="",
        )
    if grant.stage == sessions.STAGE_TOTP:
        response = redirect(session.login_url(target).replace("/login", "/login/totp", 1))
    else:
        response = redirect(target)
    session.start_session(request, response, grant)
    return response


@router.get("/login/totp")
def totp_form(request: Request, next: str = "/inbox") -> Response:
    found = session.signed_in(request)
    if found is None or found.stage != sessions.STAGE_TOTP:
        return redirect(session.login_url(session.safe_next(next)))
    return render(
        request,
        "login_totp.html",
        title="Xác thực hai bước",
        next=session.safe_next(next),
        error="",
    )


@router.post("/login/totp")
def totp(request: Request, code: Code, next: Next = "/inbox") -> Response:
    ws = session.workspace(request)
    target = session.safe_next(next)
    key = request.cookies.get(session.COOKIE, "")
    try:
        grant = sessions.confirm_totp(ws, key, code, address=session.client_address(request))
    except NotAllowed as refused:
        if refused.code == "account.session_expired":
            request.state.signed_in = None
            expired: Response = render(
                request,
                "login.html",
                status_code=401,
                title="Đăng nhập",
                next=target,
                username="",
                error=refused.message,
                notice="",
            )
            session.end_session(expired)
            return expired
        return render(
            request,
            "login_totp.html",
            status_code=STATUS.get(refused.code, 401),
            title="Xác thực hai bước",
            next=target,
            error=refused.message,
        )
    response = redirect(target)
    session.start_session(request, response, grant)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    key = request.cookies.get(session.COOKIE, "")
    if key:
        sessions.logout(session.workspace(request), key)
    response = redirect("/login?out=1")
    session.end_session(response)
    return response
