"""``/verify``: anyone, signed in or not, uploads a PDF and reads its signatures' report (the
engine's, as ``vanthu verify`` prints it). Nothing is kept: the file is read in memory, judged,
and forgotten (no database row, no store object, no audit event). The form is CSRF-protected
like the login form (a cookie's token for a visitor who is not signed in)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse

from engine.core.calendar import VIETNAM_TIME
from engine.core.errors import InvalidInput
from engine.http.web.pages import render
from engine.http.web.session import workspace
from engine.signatures.labels import (
    CHANGES,
    COVERS,
    KINDS,
    REVOCATIONS,
    SOURCES,
    TRUST_LISTS,
    VERDICTS,
)
from engine.signatures.verification import verify_upload
from signing import reason_text

router = APIRouter()

TITLE = "Kiểm tra chữ ký số"
VERDICT_NOTES = {
    "valid": "Mọi chữ ký còn nguyên vẹn, chứng thư dẫn tới gốc tin cậy, chưa bị thu hồi lúc ký.",
    "invalid": "Có chữ ký không hợp lệ: đừng dựa vào tệp này.",
    "indeterminate": "Chưa kết luận được (thiếu thông tin tin cậy hoặc thu hồi).",
    "unsigned": "Tệp không có chữ ký số nào.",
}
TRUST_LIST_NAMES = {**TRUST_LISTS, "given": "chứng thư gốc được cung cấp"}


def _moment(value: datetime | None) -> str:
    """A signing time to the second, in Vietnam time."""
    if value is None:
        return "—"
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(VIETNAM_TIME).strftime("%H:%M:%S ngày %d/%m/%Y")


def _form(request: Request, *, error: str | None = None, status: int = 200) -> HTMLResponse:
    ws = workspace(request)
    return render(
        request,
        "verify/form.html",
        status_code=status,
        title=TITLE,
        error=error,
        max_mb=ws.settings.max_upload_bytes // (1024 * 1024),
    )


@router.get("/verify")
def verify_form(request: Request) -> HTMLResponse:
    return _form(request)


@router.post("/verify")
def verify_pdf(request: Request, pdf: Annotated[UploadFile | None, File()] = None) -> HTMLResponse:
    if pdf is None or not pdf.filename:
        return _form(request, error="Chưa chọn tệp PDF để kiểm tra.", status=400)
    ws = workspace(request)
    data = pdf.file.read(ws.settings.max_upload_bytes + 1)  # one byte more: refused by size
    try:
        report = verify_upload(ws, data)
    except InvalidInput as exc:
        message = exc.message[:1].upper() + exc.message[1:]
        return _form(request, error=f"{pdf.filename}: {message.rstrip('.')}.", status=422)
    return render(
        request,
        "verify/report.html",
        title=TITLE,
        report=report,
        file_name=pdf.filename,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        verdicts=VERDICTS,
        verdict_notes=VERDICT_NOTES,
        kinds=KINDS,
        revocations=REVOCATIONS,
        sources=SOURCES,
        covers=COVERS,
        changes=CHANGES,
        trust_lists=TRUST_LIST_NAMES,
        reason_text=reason_text,
        moment=_moment,
        yes_no=lambda value: "có" if value else "KHÔNG",
        error=None,
        max_mb=ws.settings.max_upload_bytes // (1024 * 1024),
    )
