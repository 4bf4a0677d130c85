"""``POST /exchange/edxml``: where peers deliver envelopes and status messages.

No session, no token, no CSRF: a message is authenticated by its own signature, checked against
the certificate pinned for the peer its From names (:mod:`engine.exchange.arrivals`). Every
answer is JSON ``{"ok", "code", …}``; a body over the size limit is refused before it is read.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from engine.core import audit
from engine.core.logs import log_unexpected
from engine.core.workspace import Workspace
from engine.exchange import ENDPOINT, Answer, accept, max_envelope_bytes
from engine.http.errors import STATUS
from vanthu.errors import VanthuError


def _refused(status: int, code: str, vi: str, en: str) -> JSONResponse:
    return JSONResponse(
        {"ok": False, "code": code, "detail": vi, "detail_en": en}, status_code=status
    )


def _accept(ws: Workspace, body: bytes) -> Answer:
    with audit.channel("api"):  # the events of an arrival say it came over the network
        return accept(ws, body)


def create_exchange_app(ws: Workspace) -> FastAPI:
    """The exchange endpoint over one open workspace."""
    app = FastAPI(title="Vanthu — liên thông văn bản", docs_url=None, redoc_url=None)
    app.state.workspace = ws
    limit = max_envelope_bytes(ws)

    @app.post(ENDPOINT)
    async def receive(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared is None or not declared.isdigit():
            return _refused(
                411,
                "input.length_required",
                "cần khai báo độ dài dữ liệu gửi lên (Content-Length)",
                "the request must declare its length (Content-Length)",
            )
        if int(declared) > limit:
            return _refused(
                413,
                "input.too_large",
                f"gói tin lớn hơn {limit // (1024 * 1024)} MB",
                f"the envelope is larger than {limit // (1024 * 1024)} MB",
            )
        body = await request.body()
        try:
            answer = await run_in_threadpool(_accept, ws, body)
        except VanthuError as exc:
            return JSONResponse(
                {"ok": False, "code": exc.code, "detail": str(exc), "detail_en": exc.message_en},
                status_code=STATUS[exc.kind],
            )
        except Exception as exc:  # the peer retries; the log keeps the traceback
            entry = log_unexpected(ws.settings.home, exc, endpoint=ENDPOINT)
            return JSONResponse(
                {"ok": False, "code": "exchange.internal", "log": entry}, status_code=500
            )
        return JSONResponse({"ok": True, "code": answer.code, **answer.extra})

    return app
