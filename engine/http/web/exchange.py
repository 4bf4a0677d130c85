"""The exchange between agencies in the web office: the "Liên thông" section of a document's
page (per external recipient what came back, or where an arrival came from) and the clerk's
page of pending take-back, update and replacement requests, each answered with one click (a
refusal says why)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from engine.core.errors import InvalidInput
from engine.core.workspace import Workspace
from engine.exchange import Arrival, RecipientStatus, answer, arrival_of, exchange_status
from engine.exchange import pending_requests as pending
from engine.http.web.pages import flash, redirect, render
from engine.http.web.session import CurrentUser, workspace
from engine.incoming import require_clerk

router = APIRouter()

Reason = Annotated[str, Form(max_length=2000)]

REQUEST_KINDS = {
    "recall": "Đề nghị lấy lại văn bản",
    "update": "Cập nhật văn bản",
    "replacement": "Văn bản thay thế",
}
BUSINESS = {
    "new": "Gửi mới",
    "recall": "Lấy lại",
    "update": "Cập nhật",
    "replacement": "Thay thế",
}
DELIVERY = {
    "pending": "Đang chờ gửi",
    "sent": "Đã gửi",
    "failed": "Gửi không được",
    "refused": "Bị từ chối nhận",
}
ARRIVAL_STATES = {
    "received": "Đã nhận",
    "rejected": "Đã từ chối tiếp nhận",
    "withdrawn": "Đã trả lại cơ quan gửi",
    "replaced": "Đã được thay thế",
}


@dataclass(frozen=True)
class ExchangeSection:
    """What the document page shows under "Liên thông"."""

    recipients: tuple[RecipientStatus, ...]
    arrival: Arrival | None
    states = ARRIVAL_STATES
    business = BUSINESS
    delivery = DELIVERY

    def __bool__(self) -> bool:
        return bool(self.recipients) or self.arrival is not None


def exchange_section(ws: Workspace, document_id: int, direction: str) -> ExchangeSection:
    """The section for a document the person may already read."""
    if direction == "outgoing":
        return ExchangeSection(tuple(exchange_status(ws, document_id)), None)
    return ExchangeSection((), arrival_of(ws, document_id))


@router.get("/exchange/requests")
def requests_page(request: Request, user: CurrentUser) -> HTMLResponse:
    ws = workspace(request)
    require_clerk(ws, user.username)
    return render(
        request,
        "exchange/requests.html",
        title="Đề nghị liên thông chờ trả lời",
        requests=pending(ws),
        kinds=REQUEST_KINDS,
    )


@router.post("/exchange/requests/{request_id}/agree")
def agree(request: Request, request_id: int, user: CurrentUser) -> Response:
    ws = workspace(request)
    require_clerk(ws, user.username)
    new_id = answer(ws, request_id, user.username, agree=True)
    message = f"Đã đồng ý đề nghị #{request_id}; cơ quan gửi đã được báo (15)."
    if new_id is not None:
        message += f" Văn bản thay thế đã vào văn bản đến #{new_id}."
    flash(request, message, "success")
    return redirect("/exchange/requests")


@router.post("/exchange/requests/{request_id}/refuse")
def refuse(request: Request, request_id: int, user: CurrentUser, reason: Reason = "") -> Response:
    ws = workspace(request)
    require_clerk(ws, user.username)
    try:
        answer(ws, request_id, user.username, agree=False, reason=reason)
    except InvalidInput as exc:
        flash(request, str(exc), "error")
        return redirect("/exchange/requests")
    flash(request, f"Đã từ chối đề nghị #{request_id}; cơ quan gửi đã được báo (16).", "success")
    return redirect("/exchange/requests")
