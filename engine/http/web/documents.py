"""``/documents/{id}``: a document as a participant reads it (facts, the PDF's pages as images,
versions, attachments, signatures, comments, history) and the actions their open task allows,
each a POST that calls the engine and comes back with a flash naming the result.

A document the person may not read is "not found" here, its files and page images too: the web
office does not tell an outsider that a document exists (the engine's refusal is audited).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from engine.core.errors import InvalidInput, NotAllowed, NotFound
from engine.core.text import vietnam_time
from engine.core.workspace import Workspace
from engine.http.web.exchange import exchange_section
from engine.http.web.onestop import DESK_ROLES
from engine.http.web.pages import flash, redirect, render
from engine.http.web.session import CurrentUser, workspace
from engine.onestop import dossier_code_of, refuse_outside_desk
from engine.outgoing import add_attachment, upload_version
from engine.outgoing.reading import signature_reports, signer_line
from engine.signatures.labels import CHANGES, KINDS, REVOCATIONS, VERDICTS
from engine.workflow import DocumentView, act, document_view
from engine.workflow.comments import add_comment
from engine.workflow.documents import ACTIONS, DIRECTIONS, FILE_KINDS
from engine.workflow.files import DOCX_TYPE, PDF_TYPE, Upload
from engine.workflow.offers import offers, state_token
from engine.workflow.previews import (
    DEFAULT_WIDTH,
    FilePages,
    document_file,
    file_pages,
    page_png,
)
from engine.workflow.runtime import Move
from vanthu import clock
from vanthu.errors import Kind, VanthuError

router = APIRouter()

T = TypeVar("T")
HIDDEN = frozenset({"document.read_not_allowed", "document.restricted"})
"""Refusals shown as "not found": an outsider learns nothing of the document."""
SHOWN_FIRST = ("issued", "signed", "pdf", "received", "copy", "draft")
"""The file whose pages the page shows: the most final one the document has."""
MEDIA = {".pdf": PDF_TYPE, ".docx": DOCX_TYPE}
ACTION_BUTTONS = {
    "submit": "Trình duyệt",
    "approve": "Duyệt",
    "return": "Trả lại",
    "forward": "Chuyển xử lý",
    "consult": "Xin ý kiến các đơn vị",
    "sign": "Ký số",
    "issue": "Cấp số, đóng dấu, phát hành",
    "register": "Vào sổ văn bản đến",
    "assign": "Giao xử lý",
    "comment": "Gửi ý kiến góp ý",
    "complete": "Hoàn thành",
    "reject": "Từ chối tiếp nhận",
}


@contextmanager
def _readable() -> Iterator[None]:
    """The engine's "may not read" as not found."""
    try:
        yield
    except NotAllowed as exc:
        if exc.code not in HIDDEN:
            raise
        raise NotFound(
            "Không có văn bản này, hoặc bạn không được xem nó.",
            "no such document, or you may not read it",
            code="document.not_found",
        ) from None


def _hidden(call: Callable[[], T]) -> T:
    with _readable():
        return call()


@router.get("/documents/{document_id}")
def document_page(request: Request, document_id: int, user: CurrentUser) -> Response:
    ws = workspace(request)
    view = _hidden(lambda: document_view(ws, document_id, user.username))
    dossier = dossier_code_of(ws, document_id)
    if dossier is not None and user.role in DESK_ROLES:  # its moves are the desk page's
        return redirect(f"/onestop/{quote(dossier)}")
    pages = file_pages(ws, view.files)
    shown = _shown(pages)
    offered = offers(ws, document_id, user.username)
    outgoing = view.document.direction == "outgoing"
    return render(
        request,
        "documents/page.html",
        title=f"{view.document.doc_type}: {view.document.subject}",
        view=view,
        files=pages,
        shown=shown,
        page_width=DEFAULT_WIDTH,
        offers=offered,
        action_offers=sorted(offered.actions, key=lambda o: o.action == "return"),  # last
        drafter=any(o.action == "submit" for o in offered.actions),
        signer=signer_line(ws, view) if outgoing else None,
        signatures=_signatures(ws, view),
        comments=[h for h in view.history if h.comment],
        signing_mode=ws.settings.leader_signing,
        state=state_token(ws, document_id, user.username),
        buttons=ACTION_BUTTONS,
        actions=ACTIONS,
        directions=DIRECTIONS,
        file_kinds=FILE_KINDS,
        verdicts=VERDICTS,
        kinds=KINDS,
        revocations=REVOCATIONS,
        changes=CHANGES,
        parse_time=_parse_time,
        exchange=exchange_section(ws, document_id, view.document.direction),
    )


def _signatures(ws: Workspace, view: DocumentView) -> list[tuple[str, Any, str | None]]:
    """(what, report as JSON, error) for each signed file the page reports on."""
    found: list[tuple[str, Any, str | None]] = []
    if view.verification:
        found.append(("Bản nhận (kiểm tra khi tiếp nhận)", view.verification, None))
    if view.document.direction == "outgoing":
        for checked in signature_reports(ws, view):
            kind = FILE_KINDS.get(checked.file.kind, checked.file.kind)
            found.append((f"{kind}: {checked.file.filename}", checked.report, checked.error))
    return found


def _shown(pages: tuple[FilePages, ...]) -> FilePages | None:
    """The file whose pages the page shows."""
    for kind in SHOWN_FIRST:
        found = [p for p in pages if p.file.kind == kind and p.pages]
        if found:
            return found[-1]
    return None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@router.get("/documents/{document_id}/state")
def document_state(request: Request, document_id: int, user: CurrentUser) -> JSONResponse:
    """A short token that changes when the document moves (the page polls it)."""
    token = _hidden(lambda: state_token(workspace(request), document_id, user.username))
    return JSONResponse({"state": token}, headers={"Cache-Control": "no-store"})


@router.get("/documents/{document_id}/files/{file_id}")
def download(request: Request, document_id: int, file_id: int, user: CurrentUser) -> Response:
    found, data = _hidden(
        lambda: document_file(workspace(request), document_id, file_id, user.username)
    )
    suffix = "." + found.filename.rsplit(".", 1)[-1].lower() if "." in found.filename else ""
    return Response(
        data,
        media_type=MEDIA.get(suffix, "application/octet-stream"),
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/documents/{document_id}/files/{file_id}/pages/{page}.png")
def page_image(
    request: Request,
    document_id: int,
    file_id: int,
    page: int,
    user: CurrentUser,
    w: Annotated[int, Query()] = DEFAULT_WIDTH,
) -> Response:
    png = _hidden(
        lambda: page_png(workspace(request), document_id, user.username, file_id, page, width=w)
    )
    return Response(
        png, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"}
    )


@router.post("/documents/{document_id}/act")
def take_action(
    request: Request,
    document_id: int,
    user: CurrentUser,
    action: Annotated[str, Form(max_length=20)],
    comment: Annotated[str, Form(max_length=4000)] = "",
    choose: Annotated[str, Form(max_length=64)] = "",
    pin: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    ws = workspace(request)
    try:
        refuse_outside_desk(ws, document_id, user.username)
    except NotAllowed as exc:
        said = str(exc)
        flash(request, said[:1].upper() + said[1:], "error")
        return redirect(f"/onestop/{quote(str(exc.details['dossier']))}")
    try:
        with _readable():
            move = act(
                ws,
                document_id,
                user.username,
                action,
                comment=comment.strip() or None,
                choose=choose or None,
                pin=pin or None,
            )
    except VanthuError as exc:
        if exc.kind in (Kind.NOT_FOUND, Kind.CONFIG):
            raise
        flash(request, str(exc), "error")
        return redirect(f"/documents/{document_id}")
    flash(request, _said(move), "error" if move.failed else "success")
    return redirect(f"/documents/{document_id}")


def _said(move: Move) -> str:
    """What the action did, as the flash says it."""
    for result in move.results.values():
        if result.get("symbol") and "register" in result:
            day = vietnam_time(clock.now()).strftime("%d/%m/%Y")
            return f"Đã phát hành: số {result['symbol']} ngày {day}."
        if "number" in result and "register" in result:
            return f"Đã vào sổ: số đến {result['number']} (sổ {result['register']})."
    done = ACTIONS.get(move.action, move.action)
    if move.action == "sign" and move.now_at == (move.step,):
        return "Đã gửi yêu cầu ký tới thiết bị ký. Đang chờ ký trên thiết bị…"
    where = ", ".join(move.waiting) if move.waiting else "đã kết thúc quy trình"
    said = f"Đã {done}. Văn bản đang ở: {where}."
    for title, error in move.failed:
        said += f" Bước '{title}' chưa xong: {error}"
    return said


@router.post("/documents/{document_id}/comments")
def comment(
    request: Request,
    document_id: int,
    user: CurrentUser,
    text: Annotated[str, Form(max_length=4000)],
) -> Response:
    with _readable():
        add_comment(workspace(request), document_id, user.username, text)
    flash(request, "Đã gửi ý kiến.", "success")
    return redirect(f"/documents/{document_id}#y-kien")


async def _upload(request: Request, file: UploadFile) -> Upload:
    limit = workspace(request).settings.max_upload_bytes
    data = await file.read(limit + 1)
    if not file.filename or not data:
        raise InvalidInput(
            "chưa chọn tệp, hoặc tệp rỗng",
            "no file chosen, or the file is empty",
            code="upload.empty",
        )
    if len(data) > limit:
        raise InvalidInput(
            f"tệp lớn hơn giới hạn {limit // (1024 * 1024)} MB",
            f"the file is larger than the {limit // (1024 * 1024)} MB limit",
            code="upload.too_large",
            limit=limit,
        )
    return Upload(file.filename, data)


@router.post("/documents/{document_id}/versions")
async def new_version(
    request: Request,
    document_id: int,
    user: CurrentUser,
    file: Annotated[UploadFile, File()],
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    upload = await _upload(request, file)
    ws = workspace(request)
    version = await run_in_threadpool(
        lambda: _hidden(
            lambda: upload_version(ws, document_id, user.username, upload, note.strip() or None)
        )
    )
    await run_in_threadpool(flash, request, f"Đã lưu dự thảo phiên bản {version}.", "success")
    return redirect(f"/documents/{document_id}")


@router.post("/documents/{document_id}/attachments")
async def new_attachment(
    request: Request,
    document_id: int,
    user: CurrentUser,
    file: Annotated[UploadFile, File()],
) -> Response:
    upload = await _upload(request, file)
    ws = workspace(request)
    ordinal = await run_in_threadpool(
        lambda: _hidden(lambda: add_attachment(ws, document_id, user.username, upload))
    )
    await run_in_threadpool(
        flash, request, f"Đã đính kèm {upload.filename} (văn bản kèm theo số {ordinal}).", "success"
    )
    return redirect(f"/documents/{document_id}")
