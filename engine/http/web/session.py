"""The web office's sessions: the cookie, the signed-in person, CSRF, the client's address.

How a page uses it::

    from engine.http.web.session import CurrentUser

    @router.get("/inbox")
    def page(request: Request, user: CurrentUser) -> HTMLResponse:
        ...  # user is an engine.core.accounts.Account; no session: redirected to /login

Every POST (PUT, PATCH, DELETE) under the web router is checked by :func:`csrf_guard`, which
the router installs: the form must carry ``csrf_token`` equal to the session's (templates put
it in with ``{{ csrf_field() }}``); missing or wrong is a 403 page. Nothing else to do in a
route. Before login the login form's token is a random cookie's value (double submit).

The session cookie ``vanthu_session`` is HttpOnly, SameSite=Lax and Secure unless the agency
allows plain http (``insecure_cookies``, for tests and ``vanthu serve --insecure-cookies`` on
127.0.0.1). The engine keeps only the SHA-256 of its value (:mod:`engine.core.sessions`).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from engine.core import sessions
from engine.core.accounts import Account
from engine.core.sessions import SessionGrant, SignedIn
from engine.core.workspace import Workspace

COOKIE = "vanthu_session"
LOGIN_CSRF_COOKIE = "vanthu_login_csrf"
"""Before login: the login form's CSRF token, compared with the form's (double submit)."""
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NO_SESSION = object()


class LoginRequired(Exception):
    """No live session: the web app redirects to /login (and back to ``next`` afterwards)."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):
    """A form without the session's CSRF token."""


def workspace(request: Request) -> Workspace:
    """The agency the app serves."""
    ws: Workspace = request.app.state.workspace
    return ws


def client_address(request: Request) -> str:
    """The peer's address (a reverse proxy's own, unless uvicorn trusts its headers)."""
    return request.client.host if request.client else "?"


def signed_in(request: Request) -> SignedIn | None:
    """The request's session, any stage (looked up once per request)."""
    found = getattr(request.state, "signed_in", _NO_SESSION)
    if found is _NO_SESSION:
        key = request.cookies.get(COOKIE, "")
        found = sessions.signed_in(workspace(request), key) if key else None
        request.state.signed_in = found
    return found if isinstance(found, SignedIn) else None


def current_user(request: Request) -> Account:
    """Dependency: the signed-in person; without a live session, :class:`LoginRequired`."""
    found = signed_in(request)
    if found is None or found.stage != sessions.STAGE_ACTIVE:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return found.account


CurrentUser = Annotated[Account, Depends(current_user)]
"""A route parameter ``user: CurrentUser`` requires a signed-in person and gives them."""


def csrf_token(request: Request) -> str:
    """The token the page's forms carry: the session's, or before login the login cookie's
    (a new one is made when missing; :func:`finish` sets its cookie)."""
    found = signed_in(request)
    if found is not None:
        return found.csrf_token
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or getattr(request.state, "new_login_csrf", "")
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_login_csrf = token
    return token


async def csrf_guard(request: Request) -> None:
    """Router dependency: refuse an unsafe request whose form lacks the right ``csrf_token``."""
    if request.method not in UNSAFE_METHODS:
        return
    found = await run_in_threadpool(signed_in, request)
    expected = found.csrf_token if found is not None else request.cookies.get(LOGIN_CSRF_COOKIE)
    given = request.headers.get("x-csrf-token")
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise CsrfRefused()


def _secure(request: Request) -> bool:
    return not workspace(request).settings.insecure_cookies


def start_session(request: Request, response: Response, grant: SessionGrant) -> None:
    """Give the browser the new session's key (the old one, if any, is replaced)."""
    response.set_cookie(
        COOKIE,
        grant.key,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")


def end_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def finish(request: Request, response: Response) -> Response:
    """Set the login form's CSRF cookie if this request made one (called by ``render``)."""
    token = getattr(request.state, "new_login_csrf", "")
    if token:
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=_secure(request),
            path="/",
        )
    return response


def safe_next(value: str | None) -> str:
    """Where to go after login: a path on this site only (never another host)."""
    if (
        value
        and value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and value.isprintable()
        and " " not in value
    ):
        return value
    return "/inbox"


def login_url(next_path: str) -> str:
    return "/login" + (f"?next={quote(next_path, safe='/')}" if next_path != "/inbox" else "")
