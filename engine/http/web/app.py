"""The web office's FastAPI application: its routers, static files, HTML error pages, and what
every web request gets (the ``web`` audit channel, CSRF on every POST, security headers).

An area adds its pages by a router in its own module (``router = APIRouter()``), listed in
:data:`ROUTERS` below. Routes need no CSRF code: the app's :func:`session.csrf_guard` checks
every POST. Errors raised by the engine become a page in Vietnamese with the status of their
kind (a document the person may not see is the engine's ``NotFound``: 404).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.core import audit
from engine.core.logs import log_unexpected
from engine.core.workspace import Workspace
from engine.http.errors import STATUS
from engine.http.web import (
    admin,
    archive,
    auth,
    documents,
    drafts,
    exchange,
    inbox,
    incoming,
    lookup,
    notifications,
    onestop,
    pages,
    registers,
    reports,
    session,
    verify,
)
from vanthu.errors import Kind, VanthuError

Next = Callable[[Request], Awaitable[Response]]
ROUTERS = (
    auth.router,
    inbox.router,
    archive.router,
    documents.router,
    notifications.router,
    drafts.router,
    verify.router,
    admin.router,
    registers.router,
    incoming.router,
    exchange.router,
    reports.router,
    lookup.router,
    onestop.router,
)
"""Every area's router, in the order their paths are matched."""

UPLOAD_MARGIN = 1024 * 1024
"""A form's fields beside its file: a body may be this much larger than ``max_upload_bytes``."""

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
"""Sent with every web response. No inline script or style: a page's script is a file under
static/ (``<script src=… defer>``), its style a class in vanthu.css."""

TITLES = {
    400: "Yêu cầu không hợp lệ",
    403: "Không được phép",
    404: "Không tìm thấy",
    405: "Không dùng được cách gửi này",
    409: "Chưa làm được lúc này",
    413: "Tệp quá lớn",
    422: "Dữ liệu chưa hợp lệ",
    500: "Lỗi máy chủ",
    503: "Dịch vụ chưa trả lời",
}


def error_page(
    request: Request, status: int, message: str, *, entry: str | None = None
) -> HTMLResponse:
    """The HTML error page (with the header and menu when the person is signed in)."""
    title = TITLES.get(status, "Lỗi")
    try:
        return pages.render(
            request, "errors.html", status_code=status, title=title, message=message, entry=entry
        )
    except Exception:  # the database itself may be what failed: the page without the person
        html = pages.environment.get_template("errors.html").render(
            request=request,
            user=None,
            title=title,
            agency="Vanthu",
            menu=[],
            flashes=[],
            csrf_token="",
            csrf_field=lambda: "",
            message=message,
            entry=entry,
        )
        return HTMLResponse(html, status_code=status)


def create_web_app(ws: Workspace) -> FastAPI:
    """The web office over one open workspace."""
    app = FastAPI(
        title="Vanthu — văn phòng điện tử",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(session.csrf_guard)],
    )
    app.state.workspace = ws
    limit = ws.settings.max_upload_bytes + UPLOAD_MARGIN

    @app.middleware("http")
    async def _web(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            response: Response = error_page(
                request,
                413,
                f"Dữ liệu gửi lên lớn hơn giới hạn {ws.settings.max_upload_bytes // (1024 * 1024)}"
                " MB.",
            )
        else:
            with audit.channel("web"):  # every event of the request says it came from the web
                response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(session.LoginRequired)
    async def _login(request: Request, exc: session.LoginRequired) -> Response:
        if request.method in session.UNSAFE_METHODS:
            return RedirectResponse("/login", status_code=303)
        return RedirectResponse(session.login_url(exc.next_path), status_code=303)

    @app.exception_handler(session.CsrfRefused)
    async def _csrf(request: Request, _exc: session.CsrfRefused) -> Response:
        return error_page(
            request,
            403,
            "Biểu mẫu đã hết hạn hoặc không được gửi từ trang của Vanthu (thiếu mã chống giả "
            "mạo). Hãy tải lại trang rồi gửi lại.",
        )

    @app.exception_handler(VanthuError)
    async def _known(request: Request, exc: VanthuError) -> Response:
        response = error_page(request, STATUS[exc.kind], str(exc))
        if exc.kind is Kind.UNAVAILABLE:
            response.headers["Retry-After"] = "30"
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({str(e["loc"][-1]) for e in exc.errors() if e.get("loc")})
        named = f" ({', '.join(fields)})" if fields else ""
        return error_page(request, 422, f"Dữ liệu gửi lên chưa hợp lệ{named}.")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {
            404: "Không có trang này, hoặc bạn không được xem nó.",
            405: "Trang này không nhận cách gửi đó.",
        }
        return error_page(request, exc.status_code, messages.get(exc.status_code, str(exc.detail)))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        entry = log_unexpected(ws.settings.home, exc, path=request.url.path)
        return error_page(
            request,
            500,
            "Máy chủ gặp lỗi không lường trước. Quản trị viên xem nhật ký theo mã dưới đây.",
            entry=entry,
        )

    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app
