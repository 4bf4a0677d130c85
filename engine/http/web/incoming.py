"""``/incoming/new``: the clerk receives an incoming PDF in two steps. Uploading it shows the
verification verdict of every signature and warns of a duplicate (same number, symbol and
sender) while nothing is registered yet; confirming receives and registers it (the incoming
number is given) and hands it to the leaders for assignment, in one click.

Between the steps the PDF waits in the engine's staging folder under a random token bound to
the clerk (:mod:`engine.incoming.preview`): the browser never sends it twice, the confirm form
carries only the token and the fields, and an abandoned upload is removed after an hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from engine.core.doctypes import document_types
from engine.core.errors import InvalidInput
from engine.core.registers import SECRECY_LEVELS, format_number
from engine.http.web.pages import flash, redirect, render
from engine.http.web.session import CurrentUser, workspace
from engine.incoming import (
    URGENCIES,
    IncomingPreview,
    IncomingRequest,
    discard_staged,
    preview_incoming,
    receive_staged,
    require_clerk,
)
from engine.signatures.labels import KINDS, VERDICTS
from engine.workflow.files import Upload

router = APIRouter()

Field = Annotated[str, Form(max_length=1000)]
Token = Annotated[str, Form(max_length=100)]


@dataclass(frozen=True)
class SignatureLine:
    """One signature as the preview shows it."""

    signer: str
    organisation: str
    kind: str
    signed_at: datetime | None
    valid: bool
    verdict: str
    problems: tuple[str, ...]


def _form(
    request: Request,
    *,
    values: IncomingRequest | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "incoming/new.html",
        status_code=status_code,
        title="Tiếp nhận văn bản đến",
        values=values or IncomingRequest("", "", "Công văn", ""),
        error=error,
        doc_types=list(document_types()),
        urgencies=URGENCIES,
        secrecy_levels=SECRECY_LEVELS,
    )


@router.get("/incoming/new")
def new(request: Request, user: CurrentUser) -> HTMLResponse:
    require_clerk(workspace(request), user.username)
    return _form(request)


@router.post("/incoming/new")
def preview(
    request: Request,
    user: CurrentUser,
    file: Annotated[UploadFile, File()],
    sender: Field,
    symbol: Field,
    doc_type: Field,
    subject: Field,
    urgency: Field = "",
    secrecy: Field = "",
) -> HTMLResponse:
    fields = IncomingRequest(sender, symbol, doc_type, subject, urgency or None, secrecy or None)
    ws = workspace(request)
    data = file.file.read(ws.settings.max_upload_bytes + 1)
    try:
        found = preview_incoming(
            ws, user.username, Upload(file.filename or "van-ban-den.pdf", data), fields
        )
    except InvalidInput as exc:  # the form again, filled in, with what to correct
        return _form(request, values=fields, error=str(exc), status_code=422)
    return render(
        request,
        "incoming/preview.html",
        title="Kiểm tra văn bản đến trước khi vào sổ",
        preview=found,
        verdict_word=VERDICTS.get(found.verdict, found.verdict),
        signatures=_signatures(found),
        format_number=format_number,
    )


@router.post("/incoming/confirm")
def confirm(
    request: Request,
    user: CurrentUser,
    token: Token,
    sender: Field,
    symbol: Field,
    doc_type: Field,
    subject: Field,
    urgency: Field = "",
    secrecy: Field = "",
) -> Response:
    fields = IncomingRequest(sender, symbol, doc_type, subject, urgency or None, secrecy or None)
    receipt = receive_staged(workspace(request), user.username, token, fields)
    if receipt.number is not None:
        flash(
            request,
            f"Đã vào sổ văn bản đến: số đến {format_number(receipt.number)}"
            f" — {fields.symbol} của {fields.sender}. Đã chuyển lãnh đạo cho ý kiến, giao xử lý.",
            "success",
        )
        return redirect("/registers/incoming")
    flash(
        request,
        f"Đã tiếp nhận {fields.symbol} của {fields.sender}; văn bản đang được kiểm tra chữ ký"
        " trước khi vào sổ.",
        "info",
    )
    return redirect(f"/documents/{receipt.document_id}")


@router.post("/incoming/cancel")
def cancel(request: Request, user: CurrentUser, token: Token) -> Response:
    discard_staged(workspace(request), user.username, token)
    flash(request, "Đã hủy, văn bản không được vào sổ.", "info")
    return redirect("/incoming/new")


def _signatures(found: IncomingPreview) -> list[SignatureLine]:
    lines = []
    for signature in found.report.get("signatures") or []:
        if not isinstance(signature, dict):
            continue
        lines.append(
            SignatureLine(
                signer=str(signature.get("signer") or "?"),
                organisation=str(signature.get("organisation") or ""),
                kind=KINDS.get(str(signature.get("kind")), ""),
                signed_at=_moment(signature.get("signing_time")),
                valid=bool(signature.get("valid")),
                verdict=VERDICTS.get(str(signature.get("verdict")), ""),
                problems=tuple(str(p) for p in signature.get("problems") or []),
            )
        )
    return lines


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
