"""Errors as the HTTP API answers them, here and nowhere else: a status per kind of error and
one JSON body, ``{"code", "kind", "detail" (Vietnamese), "detail_en", "retryable", …fields}``.

A store or service that timed out is 503 (try again), not a bare 500; an unexpected exception
is 500 with the log entry that holds its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from engine.core.logs import log_unexpected
from vanthu.errors import Kind, VanthuError

STATUS: dict[Kind, int] = {
    Kind.INVALID: 422,
    Kind.NOT_FOUND: 404,
    Kind.FORBIDDEN: 403,
    Kind.CONFLICT: 409,
    Kind.CONFIG: 500,
    Kind.UNAVAILABLE: 503,
    Kind.FAILED: 422,
}


def error_body(error: VanthuError) -> dict[str, Any]:
    body = error.to_json()
    body["detail"], body["detail_en"] = body.pop("message"), body.pop("message_en")
    return body


def reply(status: int, code: str, vi: str, en: str) -> JSONResponse:
    """An error the HTTP layer itself finds (a body too large, a field missing)."""
    return JSONResponse(
        {"code": code, "kind": "invalid", "detail": vi, "detail_en": en, "retryable": False},
        status_code=status,
    )


def install(app: FastAPI, home: Path) -> None:
    """Map every error the engine raises, and every other exception, to one JSON answer."""

    @app.exception_handler(VanthuError)
    async def _known(_request: Request, exc: VanthuError) -> JSONResponse:
        headers = {"Retry-After": "30"} if exc.kind is Kind.UNAVAILABLE else None
        return JSONResponse(error_body(exc), status_code=STATUS[exc.kind], headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in exc.errors()
        )
        return reply(422, "input.invalid", f"dữ liệu gửi lên không hợp lệ: {problems}", problems)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        entry = log_unexpected(home, exc, path=request.url.path)
        return JSONResponse(
            {
                "code": "internal.unexpected",
                "kind": "failed",
                "detail": f"lỗi không lường trước của máy chủ, xem nhật ký {entry}",
                "detail_en": f"unexpected server error, see the log {entry}",
                "retryable": False,
            },
            status_code=500,
        )
