"""``/onestop``: the one-stop desk (Bộ phận một cửa) in the web office.

The desk clerk receives a dossier through a form (the procedure's checklist of components; the
engine decides: received with its appointment, sent back for completion, or refused) and prints
the forms of Thông tư 01/2018/TT-VPCP; the handling unit's head and specialist move it on from
the dossier's page, which shows the processing control sheet (Mẫu 06); the desk returns the
result. Every move is a call into :mod:`engine.onestop` (who may do what is the engine's and the
workflow's); a dossier's page and forms are read through the engine's document read check,
which audits the read.
The list is the engine's (:func:`engine.onestop.list_dossiers`, which decides who sees what).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from engine.core.accounts import Account
from engine.core.calendar import VIETNAM_TIME
from engine.core.errors import InvalidInput, NotAllowed
from engine.core.workspace import Workspace
from engine.http.web.pages import flash, redirect, render
from engine.http.web.session import CurrentUser, workspace
from engine.onestop import (
    CHANNELS,
    DECISION,
    DUE_FILTERS,
    FORMS,
    RUNNING,
    STATE_NAMES,
    DossierFilters,
    DossierRequest,
    DossierState,
    DossierView,
    act_on,
    apologise,
    apology_letter,
    ask_fees,
    attach_result,
    check_at_desk,
    close_dossier,
    dossier_filters,
    dossier_view,
    form_docx,
    form_pdf,
    issued_result,
    list_dossiers,
    lookup_url,
    money,
    procedures,
    qr_png,
    receive,
    record_payment,
    return_result,
)
from engine.workflow.documents import document_view
from engine.workflow.files import DOCX_TYPE, PDF_TYPE, Upload
from engine.workflow.offers import Offer, offers
from engine.workflow.runtime import Move
from vanthu import clock
from vanthu.errors import Kind, VanthuError

router = APIRouter()

DESK_ROLES = frozenset({"clerk", "head", "specialist", "leader"})
"""Who works on dossiers: the desk, the handling units' heads and specialists, the leaders."""
CLOSABLE = (
    DossierState.NEW,
    DossierState.RECEIVED,
    DossierState.PROCESSING,
    DossierState.WAITING_COMPLETION,
    DossierState.WAITING_FEES,
)
"""States the page offers withdrawing or stopping in (the engine decides)."""
DESK_ACTIONS = frozenset({"register", "return", "reject"})
"""The desk's check (Mẫu 01, 02, 03): one form on the page, decided by the engine."""
ACTION_LABELS = {
    "forward": "Phân công chuyên viên xử lý",
    "consult": "Lấy ý kiến",
    "comment": "Gửi ý kiến góp ý",
    "submit": "Trình kết quả giải quyết",
    "approve": "Duyệt kết quả",
    "sign": "Ký số kết quả",
    "return": "Trả lại chuyên viên",
}
MEDIA = {"pdf": PDF_TYPE, "docx": DOCX_TYPE}

Line = Annotated[str, Form(max_length=300)]
Text = Annotated[str, Form(max_length=2000)]
Papers = Annotated[list[str] | None, Form(max_length=10)]
Pin = Annotated[str, Form(max_length=128)]


@dataclass(frozen=True)
class Page:
    """The list's filters and page, as the query string carries them."""

    filters: DossierFilters
    page: int

    @property
    def state(self) -> int | None:
        return self.filters.state

    @property
    def due(self) -> str:
        return self.filters.due

    @property
    def procedure(self) -> str:
        return self.filters.procedure

    @property
    def q(self) -> str:
        return self.filters.q

    def query(self, page: int | None = None) -> str:
        values = {
            "state": "" if self.state is None else str(self.state),
            "due": self.due,
            "procedure": self.procedure,
            "q": self.q,
            "page": "" if (page or self.page) == 1 else str(page or self.page),
        }
        return urlencode({k: v for k, v in values.items() if v})


def require_desk(user: Account) -> None:
    """Refuse anyone who does not work on dossiers (an archivist, an administrator)."""
    if user.role not in DESK_ROLES:
        raise NotAllowed(
            f"{user.username} ({user.role}) không làm việc với hồ sơ một cửa",
            f"{user.username} ({user.role}) does not work on one-stop dossiers",
            code="onestop.desk_only",
            user=user.username,
            role=user.role,
        )


@router.get("/onestop")
def dossier_list(
    request: Request,
    user: CurrentUser,
    state: Annotated[str, Query(max_length=3)] = "",
    due: Annotated[str, Query(max_length=10)] = "",
    procedure: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[str, Query(max_length=6)] = "",
) -> HTMLResponse:
    require_desk(user)
    ws = workspace(request)
    shown = Page(
        dossier_filters(state, due, procedure, q),
        int(page) if page.isdigit() and int(page) > 0 else 1,
    )
    listing = list_dossiers(ws, user.username, shown.filters, page=shown.page)
    return render(
        request,
        "onestop/list.html",
        title="Hồ sơ một cửa",
        listing=listing,
        filters=shown,
        states=STATE_NAMES,
        due_filters=DUE_FILTERS,
        procedures=list(procedures(ws).values()),
        may_receive=user.role == "clerk",
    )


# --- receiving at the desk ---


@dataclass(frozen=True)
class Reception:
    """The reception form's values, as typed (shown again when something is wrong)."""

    procedure: str
    applicant: str = ""
    address: str = ""
    phone: str = ""
    channel: str = "1"
    components: tuple[str, ...] = ()
    """The numbers (1-based) of the papers ticked."""
    reason: str = ""


FIELD_OF_ERROR = {
    "onestop.procedure_unknown": "procedure",
    "onestop.component_unknown": "components",
    "onestop.channel_invalid": "channel",
    "onestop.head_missing": "form",
}
FIELD_OF_FLAG = {
    "--applicant": "applicant",
    "--address": "address",
    "--phone": "phone",
    "--reason": "reason",
}


def _field_of(exc: VanthuError) -> tuple[str, str]:
    """The form field an engine error is about, and its message as a sentence, without the
    command line's option."""
    message = str(exc)
    named = str(exc.details.get("field", ""))
    field = FIELD_OF_ERROR.get(exc.code, "form")
    for flag, name in FIELD_OF_FLAG.items():
        if flag in named or flag in message:
            field, message = name, message.replace(f" ({flag})", "")
            break
    return field, message[:1].upper() + message[1:]


def _reception_page(
    request: Request,
    ws: Workspace,
    values: Reception,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    known = procedures(ws)
    chosen = known.get(values.procedure) or next(iter(known.values()))
    return render(
        request,
        "onestop/new.html",
        status_code=status_code,
        title="Tiếp nhận hồ sơ một cửa",
        values=values,
        errors=errors or {},
        procedures=list(known.values()),
        chosen=chosen,
        channels=CHANNELS,
    )


@router.get("/onestop/new")
def reception_form(
    request: Request,
    user: CurrentUser,
    procedure: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    _require_clerk(user)
    ws = workspace(request)
    known = procedures(ws)
    code = procedure if procedure in known else next(iter(known))
    ticked = tuple(str(i) for i in range(1, len(known[code].components) + 1))
    return _reception_page(request, ws, Reception(code, components=ticked))


def _require_clerk(user: Account) -> None:
    require_desk(user)
    if user.role != "clerk":
        raise NotAllowed(
            f"{user.username} ({user.role}) không phải công chức Bộ phận một cửa",
            f"{user.username} ({user.role}) is not a one-stop desk clerk",
            code="onestop.clerk_only",
            user=user.username,
        )


@router.post("/onestop/new")
def reception(
    request: Request,
    user: CurrentUser,
    procedure: Annotated[str, Form(max_length=40)],
    applicant: Line = "",
    address: Line = "",
    phone: Line = "",
    channel: Annotated[str, Form(max_length=3)] = "1",
    components: Papers = None,
    decision: Annotated[str, Form(max_length=10)] = "receive",
    reason: Text = "",
) -> Response:
    _require_clerk(user)
    ws = workspace(request)
    values = Reception(
        procedure, applicant, address, phone, channel, tuple(components or ()), reason
    )
    errors = _reception_errors(values, decision)
    if errors:
        return _reception_page(request, ws, values, errors, 422)
    request_ = DossierRequest(procedure, applicant, values.components, address, phone, int(channel))
    refuse = reason.strip() if decision == "refuse" else None
    try:
        code, move = receive(ws, user.username, request_, refuse=refuse)
    except VanthuError as exc:  # refused before anything is stored: the form, at the field
        if exc.kind is not Kind.INVALID and exc.code not in FIELD_OF_ERROR:
            raise
        field, message = _field_of(exc)
        return _reception_page(request, ws, values, {field: message}, 422)
    flash(request, _received_message(ws, code, move), _kind(move))
    return redirect(f"/onestop/{quote(code)}")


def _reception_errors(values: Reception, decision: str) -> dict[str, str]:
    """What cannot be asked of the engine as typed: a channel that is no number, a refusal
    without its reasons (said at the field, before the engine is asked)."""
    errors: dict[str, str] = {}
    if values.channel not in {str(c) for c in CHANNELS}:
        errors["channel"] = "Chọn kênh nộp hồ sơ: trực tiếp, trực tuyến hoặc bưu chính."
    if decision not in ("receive", "refuse"):
        errors["form"] = "Chọn tiếp nhận hoặc từ chối tiếp nhận."
    if decision == "refuse" and not values.reason.strip():
        errors["reason"] = "Từ chối tiếp nhận phải ghi rõ lý do (in trên Mẫu 03)."
    return errors


def _received_message(ws: Workspace, code: str, move: Move) -> str:
    view = dossier_view(ws, code)
    if move.action == "register":
        due = (
            view.due_at.astimezone(VIETNAM_TIME).strftime("%H:%M ngày %d/%m/%Y")
            if view.due_at
            else "—"
        )
        return (
            f"Đã tiếp nhận hồ sơ {code}, hẹn trả kết quả {due}; đã chuyển {view.unit}."
            " In giấy tiếp nhận và hẹn trả kết quả (Mẫu 01) giao công dân."
        )
    if move.action == "return":
        return (
            f"Hồ sơ {code} chưa đủ thành phần: in phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"
            " (Mẫu 02) giao công dân."
        )
    return f"Đã từ chối tiếp nhận hồ sơ {code}: in phiếu từ chối (Mẫu 03) giao công dân."


def _kind(move: Move) -> str:
    return "success" if move.action == "register" else "info"


# --- a dossier's page ---


@dataclass(frozen=True)
class Actions:
    """What the page offers the person (the engine refuses anything else)."""

    desk_check: bool
    """The desk's check of the components (receive, ask for completion, refuse)."""
    moves: tuple[Offer, ...]
    """The handling unit's workflow actions (forward, consult, comment, submit, sign, return)."""
    attach: bool
    """Attach the result's draft (the specialist holding the dossier)."""
    pin: bool
    """Signing here opens the person's server-held key: ask for its PIN."""
    deliver: bool
    """Return the result to the citizen."""
    ask_fees: bool
    record_payment: bool
    apologise: bool
    withdraw: bool
    stop: bool

    def __bool__(self) -> bool:
        return any(
            (
                self.desk_check,
                self.moves,
                self.attach,
                self.deliver,
                self.ask_fees,
                self.record_payment,
                self.apologise,
                self.withdraw,
                self.stop,
            )
        )


def _actions(ws: Workspace, view: DossierView, user: Account) -> Actions:
    offered = offers(ws, view.document_id, user.username).actions
    names = {o.action for o in offered}
    desk = "register" in names
    state = DossierState(view.state)
    unit_head = user.role == "leader" or (user.role == "head" and user.unit_name == view.unit)
    holder = bool(offered) and user.unit_name == view.unit
    decision = view.result is not None and view.result.kind == DECISION
    return Actions(
        desk_check=desk,
        moves=tuple(
            o for o in offered if o.action != "complete" and not (desk and o.action in DESK_ACTIONS)
        ),
        attach="submit" in names,
        pin=not decision or ws.settings.leader_signing == "server",
        deliver="complete" in names,
        ask_fees=state == DossierState.PROCESSING and (unit_head or holder),
        record_payment=user.role == "clerk" and state == DossierState.WAITING_FEES,
        apologise=unit_head
        and state in RUNNING
        and view.due_at is not None
        and view.due_at > clock.now(),
        withdraw=user.role == "clerk" and state in CLOSABLE,
        stop=unit_head and state in CLOSABLE,
    )


def applicable_forms(view: DossierView) -> list[tuple[str, str]]:
    """(number, title) of the forms the dossier has now (the engine refuses the others); the
    apology (Mẫu 05) is the signed letter, downloaded apart."""
    has = {
        "01": view.received_at is not None,
        "02": view.state == DossierState.WAITING_COMPLETION,
        "03": view.state == DossierState.REFUSED,
        "06": True,
    }
    return [(n, f.title) for n, f in FORMS.items() if has.get(n, False)]


def _read(ws: Workspace, code: str, user: Account) -> DossierView:
    """The dossier, once the engine agrees ``user`` may read it (the read is audited)."""
    require_desk(user)
    view = dossier_view(ws, code)
    document_view(ws, view.document_id, user.username)
    return view


@router.get("/onestop/{code}")
def dossier_page(request: Request, code: str, user: CurrentUser) -> HTMLResponse:
    ws = workspace(request)
    view = _read(ws, code, user)
    now = clock.now()
    return render(
        request,
        "onestop/dossier.html",
        title=f"Hồ sơ {view.code}",
        view=view,
        actions=_actions(ws, view, user),
        labels=ACTION_LABELS,
        money=money,
        forms=applicable_forms(view),
        lookup=lookup_url(ws, view.code),
        overdue=view.state in RUNNING and view.due_at is not None and view.due_at < now,
        late=view.original_due_at is not None and (view.processed_at or now) > view.original_due_at,
        today=now.astimezone(VIETNAM_TIME).date().isoformat(),
    )


@router.get("/onestop/{code}/forms/{number}.{ext}")
def form_file(request: Request, code: str, number: str, ext: str, user: CurrentUser) -> Response:
    if ext not in MEDIA:
        raise InvalidInput(
            f"mẫu phiếu chỉ tải được dạng PDF hoặc DOCX, không phải '{ext}'",
            f"a form downloads as PDF or DOCX, not '{ext}'",
            code="onestop.form_format",
            form=number,
        )
    ws = workspace(request)
    view = _read(ws, code, user)
    data = form_pdf(ws, view.code, number) if ext == "pdf" else form_docx(ws, view.code, number)
    name = f"{view.code}-mau-{number}.{ext}"
    return Response(
        data,
        media_type=MEDIA[ext],
        headers={
            "Content-Disposition": f'attachment; filename="{quote(name)}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/onestop/{code}/qr.png")
def qr(request: Request, code: str, user: CurrentUser) -> Response:
    """The QR code of the dossier's public look-up (what the receipt prints)."""
    require_desk(user)
    ws = workspace(request)
    view = dossier_view(ws, code)
    return Response(qr_png(lookup_url(ws, view.code)), media_type="image/png")


def _back(code: str) -> Response:
    return redirect(f"/onestop/{quote(code)}")


def _refused(request: Request, code: str, exc: VanthuError) -> Response:
    """A refusal the person can correct (a missing reason, a wrong state): the page again with
    the reason; a refusal of who they are or a broken installation is the error page."""
    if exc.kind in (Kind.NOT_FOUND, Kind.CONFIG, Kind.FORBIDDEN):
        raise exc
    flash(request, _field_of(exc)[1], "error")
    return _back(code)


@router.post("/onestop/{code}/check")
def desk_check(
    request: Request,
    code: str,
    user: CurrentUser,
    components: Papers = None,
    decision: Annotated[str, Form(max_length=10)] = "receive",
    reason: Text = "",
) -> Response:
    require_desk(user)
    ws = workspace(request)
    if decision == "refuse" and not reason.strip():
        flash(request, "Từ chối tiếp nhận phải ghi rõ lý do (in trên Mẫu 03).", "error")
        return _back(code)
    refuse = reason.strip() if decision == "refuse" else None
    try:
        move = check_at_desk(
            ws, code, user.username, components=tuple(components or ()), refuse=refuse
        )
    except VanthuError as exc:
        return _refused(request, code, exc)
    flash(request, _received_message(ws, code, move), _kind(move))
    return _back(code)


@router.post("/onestop/{code}/act")
def act(
    request: Request,
    code: str,
    user: CurrentUser,
    action: Annotated[str, Form(max_length=20)],
    choose: Annotated[str, Form(max_length=64)] = "",
    comment: Text = "",
    pin: Pin = "",
) -> Response:
    require_desk(user)
    ws = workspace(request)
    try:
        move = act_on(
            ws,
            code,
            user.username,
            action,
            comment=comment.strip() or None,
            choose=choose or None,
            pin=pin or None,
        )
    except VanthuError as exc:
        return _refused(request, code, exc)
    label = ACTION_LABELS.get(action, action).lower()
    flash(request, f"Đã {label}. {_where(ws, code, move)}", "success")
    return _back(code)


def _where(ws: Workspace, code: str, move: Move) -> str:
    """Who holds the dossier now, as the control sheet's last line names them."""
    sheet = dossier_view(ws, code).handovers
    holder = sheet[-1].to_name if sheet else None
    if holder:
        return f"Hồ sơ đã chuyển đến: {holder}."
    return f"Hồ sơ đang ở bước: {', '.join(move.waiting)}." if move.waiting else ""


@router.post("/onestop/{code}/return")
def give_back(request: Request, code: str, user: CurrentUser, received_by: Line = "") -> Response:
    require_desk(user)
    try:
        return_result(workspace(request), code, user.username, received_by)
    except VanthuError as exc:
        return _refused(request, code, exc)
    flash(request, f"Đã trả kết quả hồ sơ {code} cho {received_by.strip()}.", "success")
    return _back(code)


@router.post("/onestop/{code}/apology")
def apology(
    request: Request,
    code: str,
    user: CurrentUser,
    new_date: Annotated[str, Form(max_length=10)] = "",
    reason: Text = "",
    pin: Pin = "",
) -> Response:
    require_desk(user)
    try:
        day = _date(new_date)
        due = apologise(workspace(request), code, user.username, day, reason, pin=pin or None)
    except VanthuError as exc:
        return _refused(request, code, exc)
    flash(
        request,
        f"Đã ký phiếu xin lỗi, hẹn lại ngày trả {due.astimezone(VIETNAM_TIME):%d/%m/%Y}"
        " (hồ sơ vẫn tính là trễ hạn). Tải phiếu xin lỗi đã ký (Mẫu 05) gửi công dân.",
        "success",
    )
    return _back(code)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"ngày hẹn mới '{value}' không phải một ngày",
            f"the new date '{value}' is not a date",
            code="onestop.date_invalid",
            field="new_date",
        ) from None


CLOSE_KINDS = {
    "withdraw": (DossierState.WITHDRAWN, "Đã ghi nhận công dân rút hồ sơ {}."),
    "stop": (DossierState.STOPPED, "Đã dừng xử lý hồ sơ {}."),
}


@router.post("/onestop/{code}/close")
def close(
    request: Request,
    code: str,
    user: CurrentUser,
    kind: Annotated[str, Form(max_length=10)],
    reason: Text = "",
) -> Response:
    require_desk(user)
    if kind not in CLOSE_KINDS:
        raise InvalidInput(
            f"không có thao tác '{kind}' (withdraw, stop)",
            f"no such closing '{kind}' (withdraw, stop)",
            code="onestop.close_kind",
        )
    state, said = CLOSE_KINDS[kind]
    try:
        close_dossier(workspace(request), code, user.username, state, reason)
    except VanthuError as exc:
        return _refused(request, code, exc)
    flash(request, said.format(code), "success")
    return _back(code)


def _attachment(data: bytes, name: str, media: str) -> Response:
    return Response(
        data,
        media_type=media,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/onestop/{code}/result.pdf")
def result_file(request: Request, code: str, user: CurrentUser) -> Response:
    """The issued result: signed (numbered and sealed when it is a decision)."""
    ws = workspace(request)
    view = _read(ws, code, user)
    name, data = issued_result(ws, view.code)
    return _attachment(data, name, PDF_TYPE)


@router.get("/onestop/{code}/apology.pdf")
def apology_file(request: Request, code: str, user: CurrentUser) -> Response:
    """The latest signed apology letter (Mẫu 05)."""
    ws = workspace(request)
    view = _read(ws, code, user)
    name, data = apology_letter(ws, view.code)
    return _attachment(data, name, PDF_TYPE)


@router.post("/onestop/{code}/result")
def result_upload(
    request: Request,
    code: str,
    user: CurrentUser,
    file: Annotated[UploadFile, File()],
) -> Response:
    """The specialist attaches the result's draft (DOCX or PDF), checked at once."""
    require_desk(user)
    ws = workspace(request)
    data = file.file.read(ws.settings.max_upload_bytes + 1)
    name = file.filename or "ket-qua"
    try:
        version = attach_result(ws, code, user.username, Upload(name, data))
    except VanthuError as exc:
        return _refused(request, code, exc)
    flash(
        request,
        f"Đã đính kèm dự thảo kết quả {name} (phiên bản {version}). Trình lãnh đạo ký khi xong.",
        "success",
    )
    return _back(code)


@router.post("/onestop/{code}/fees")
def fees(
    request: Request,
    code: str,
    user: CurrentUser,
    amount: Annotated[str, Form(max_length=20)] = "",
    note: Text = "",
) -> Response:
    """The handling unit asks the citizen for fees (state 6)."""
    require_desk(user)
    try:
        asked = ask_fees(
            workspace(request), code, user.username, amount=_amount(amount, True), note=note
        )
    except VanthuError as exc:
        return _refused(request, code, exc)
    flash(request, f"Đã yêu cầu công dân nộp phí, lệ phí {money(asked)}.", "success")
    return _back(code)


@router.post("/onestop/{code}/paid")
def paid(
    request: Request,
    code: str,
    user: CurrentUser,
    amount: Annotated[str, Form(max_length=20)] = "",
    receipt: Line = "",
) -> Response:
    """The desk records the payment: the dossier is back in processing."""
    require_desk(user)
    try:
        value = _amount(amount, False)
        assert value is not None
        record_payment(workspace(request), code, user.username, amount=value, receipt=receipt)
    except VanthuError as exc:
        return _refused(request, code, exc)
    flash(
        request, f"Đã ghi nhận công dân nộp {money(value)}; hồ sơ tiếp tục được xử lý.", "success"
    )
    return _back(code)


def _amount(value: str, optional: bool) -> int | None:
    """An amount in đồng as typed ('500.000' or '500000'); blank is None when ``optional``."""
    digits = value.strip().replace(".", "").replace(",", "").replace(" ", "")
    if not digits and optional:
        return None
    if not digits.isdigit():
        raise InvalidInput(
            f"số tiền '{value.strip()}' không phải một số đồng",
            f"the amount '{value.strip()}' is not a number of đồng",
            code="onestop.amount_invalid",
            field="amount",
        )
    return int(digits)
