"""Dossiers at the one-stop desk: filed, checked, received, handled, returned, apologised for.

Every move is a workflow action ('mot_cua') taken with the dossier's own bookkeeping in the same
transaction: the portal state (1…10), the appointment, and a line on the control sheet
(phiếu kiểm soát, Mẫu 06) naming who handed the dossier to whom, when, and by when.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.calendar import VIETNAM_TIME, add_working_days
from engine.core.db import transaction
from engine.core.errors import ConfigError, Conflict, InvalidInput, NotAllowed, NotFound
from engine.core.fields import checked_line
from engine.core.models import (
    Agency,
    Document,
    Dossier,
    DossierComponent,
    DossierHandover,
    Task,
    Unit,
    User,
    WorkflowInstance,
)
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.onestop.procedures import Procedure, load_procedures
from engine.onestop.states import ENDED, DossierState
from engine.workflow.actions import after_action
from engine.workflow.documents import may_read
from engine.workflow.runtime import Move, claim_task, complete_task, start_instance
from vanthu import clock

T = TypeVar("T")
WORKFLOW = "mot_cua"
DIRECTION = "dossier"
"""Document.direction of a dossier's document: kept out of the registers of documents."""
DESK = "Bộ phận một cửa"
_CODE_TRIES = 5

_STATE_AFTER: dict[tuple[str, str], DossierState] = {
    ("receive", "register"): DossierState.RECEIVED,
    ("completion", "register"): DossierState.RECEIVED,
    ("receive", "return"): DossierState.WAITING_COMPLETION,
    ("completion", "return"): DossierState.WAITING_COMPLETION,
    ("receive", "reject"): DossierState.REFUSED,
    ("completion", "reject"): DossierState.REFUSED,
    ("assign", "forward"): DossierState.PROCESSING,
    ("assign", "consult"): DossierState.PROCESSING,
    ("deliver", "complete"): DossierState.RETURNED,
}
"""The portal state a workflow action leaves the dossier in (other actions keep it); the
result's issuing step makes it processed (9, engine.onestop.results)."""


@dataclass(frozen=True)
class DossierRequest:
    """What the desk reads off a dossier handed in."""

    procedure: str
    """The procedure's code."""
    applicant: str
    """The citizen or organisation filing it."""
    components: tuple[str, ...]
    """The papers handed in, by the procedure's names (or their 1-based numbers)."""
    address: str = ""
    phone: str = ""
    channel: int = 1
    """1 in person, 2 online, 3 public post."""


@lru_cache(maxsize=8)
def _procedures_at(path: Path | None, mtime: float) -> dict[str, Procedure]:
    return load_procedures(path)


def procedures(ws: Workspace) -> dict[str, Procedure]:
    """The agency's procedures (its ``procedures_file``, else the shipped samples), by code."""
    path = ws.settings.procedures_file
    mtime = path.stat().st_mtime if path is not None and path.exists() else 0.0
    return _procedures_at(path, mtime)


def procedure(ws: Workspace, code: str) -> Procedure:
    found = procedures(ws).get(code)
    if found is None:
        known = ", ".join(procedures(ws))
        raise NotFound(
            f"không có thủ tục '{code}' (có: {known})",
            f"no procedure '{code}' (known: {known})",
            code="onestop.procedure_unknown",
            procedure=code,
        )
    return found


def missing_components(proc: Procedure, given: tuple[str, ...]) -> tuple[str, ...]:
    """The procedure's papers not among ``given`` (names compared without case and spaces, or
    given by number); an unknown paper is refused."""
    names = {_key(c.name): c.name for c in proc.components}
    have: set[str] = set()
    for item in given:
        text = item.strip()
        if text.isdigit() and 1 <= int(text) <= len(proc.components):
            have.add(proc.components[int(text) - 1].name)
        elif _key(text) in names:
            have.add(names[_key(text)])
        else:
            listed = "; ".join(f"{i}. {c.name}" for i, c in enumerate(proc.components, 1))
            raise InvalidInput(
                f"thủ tục {proc.code} không có thành phần '{text}' (có: {listed})",
                f"the procedure {proc.code} has no component '{text}' (it has: {listed})",
                code="onestop.component_unknown",
                component=text,
            )
    return tuple(c.name for c in proc.components if c.name not in have)


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def file_dossier(ws: Workspace, username: str, request: DossierRequest) -> str:
    """Record a dossier handed in (state 1, waiting at the desk) and give it its code."""
    return _filed(ws, username, request, lambda session, dossier: dossier.code)


def _filed(
    ws: Workspace,
    username: str,
    request: DossierRequest,
    then: Callable[[Session, Dossier], T],
) -> T:
    """File the dossier and do ``then`` with it in the same transaction (nothing is stored
    when ``then`` fails); a code taken meanwhile by another desk is retried with the next."""
    proc = procedure(ws, request.procedure)
    applicant = _line(request.applicant, "người nộp hồ sơ (--applicant)", 200)
    address = checked_line(request.address, "địa chỉ (--address)", max_length=300)
    phone = checked_line(request.phone, "số điện thoại (--phone)", max_length=30)
    if request.channel not in (1, 2, 3):
        raise InvalidInput(
            f"kênh nộp hồ sơ là 1, 2 hoặc 3, không phải {request.channel}",
            f"the channel is 1, 2 or 3, not {request.channel}",
            code="onestop.channel_invalid",
        )
    missing = missing_components(proc, request.components)
    definition = ws.definition(WORKFLOW)
    for attempt in range(_CODE_TRIES):
        try:
            with transaction(ws.db) as session:
                clerk = _clerk(session, username)
                unit = _unit(session, clerk, proc.unit)
                agency = session.get(Agency, unit.agency_id)
                assert agency is not None and unit.id is not None and clerk.id is not None
                document = Document(
                    agency_id=agency.id or 0,
                    direction=DIRECTION,
                    doc_type="Hồ sơ thủ tục hành chính",
                    subject=proc.name,
                    unit_id=unit.id,
                    author_id=clerk.id,
                )
                session.add(document)
                session.flush()
                assert document.id is not None
                dossier = Dossier(
                    code=_next_code(session, agency, attempt),
                    document_id=document.id,
                    agency_id=agency.id or 0,
                    procedure_code=proc.code,
                    procedure_name=proc.name,
                    unit_id=unit.id,
                    applicant=applicant,
                    applicant_address=address or "",
                    applicant_phone=phone or "",
                    channel=request.channel,
                    state=int(DossierState.NEW),
                )
                session.add(dossier)
                session.flush()
                assert dossier.id is not None
                for component in proc.components:
                    session.add(
                        DossierComponent(
                            dossier_id=dossier.id,
                            name=component.name,
                            originals=component.originals,
                            copies=component.copies,
                            missing=component.name in missing,
                        )
                    )
                audit.append(
                    session,
                    actor=username,
                    event="dossier_filed",
                    document_id=document.id,
                    detail={"code": dossier.code, "procedure": proc.code, "missing": missing},
                )
                start_instance(session, ws, definition, document, clerk)
                session.flush()
                return then(session, dossier)
        except IntegrityError:
            if attempt == _CODE_TRIES - 1:
                raise
    raise AssertionError("unreachable")


def _next_code(session: Session, agency: Agency, attempt: int) -> str:
    """Agency code, the day (yymmdd, Vietnam) and a serial of the day: 'SNV-261205-0003'."""
    day = clock.now().astimezone(VIETNAM_TIME).strftime("%y%m%d")
    prefix = f"{agency.organ_id or agency.code}-{day}-"
    codes = session.exec(select(Dossier.code).where(col(Dossier.code).startswith(prefix))).all()
    serial = max((int(c[len(prefix) :]) for c in codes if c[len(prefix) :].isdigit()), default=0)
    return f"{prefix}{serial + 1 + attempt:04d}"


def check_at_desk(
    ws: Workspace,
    code: str,
    username: str,
    *,
    components: tuple[str, ...] | None = None,
    refuse: str | None = None,
) -> Move:
    """The desk's decision on a dossier waiting for it: refused with ``refuse`` as the reasons,
    sent back for completion when papers are missing, else received and handed to the head of
    the handling unit (the appointment is computed now). ``components``: what the citizen has
    handed in by now (completing the dossier); None keeps what was recorded."""
    with transaction(ws.db) as session:
        move = _checked(session, ws, _dossier(session, code), username, components, refuse)
    return after_action(ws, move)


def _checked(
    session: Session,
    ws: Workspace,
    dossier: Dossier,
    username: str,
    components: tuple[str, ...] | None,
    refuse: str | None,
) -> Move:
    proc = procedure(ws, dossier.procedure_code)
    recorded = session.exec(
        select(DossierComponent).where(DossierComponent.dossier_id == dossier.id)
    ).all()
    given = (
        components if components is not None else tuple(c.name for c in recorded if not c.missing)
    )
    missing = missing_components(proc, given)
    if refuse is not None:
        return _moved(session, ws, dossier, username, "reject", comment=refuse)
    if missing:
        reason = "Thiếu thành phần hồ sơ: " + "; ".join(missing)
        return _moved(session, ws, dossier, username, "return", comment=reason, missing=missing)
    head = _head_of(session, dossier.unit_id)
    return _moved(session, ws, dossier, username, "register", choose=head.username, missing=())


def receive(
    ws: Workspace, username: str, request: DossierRequest, *, refuse: str | None = None
) -> tuple[str, Move]:
    """The desk receives a dossier handed in: filed and checked at once, in one transaction
    (a dossier the desk cannot hand on, its unit having no head, is not stored)."""

    def check(session: Session, dossier: Dossier) -> tuple[str, Move]:
        move = _checked(session, ws, dossier, username, request.components, refuse)
        return dossier.code, move

    code, move = _filed(ws, username, request, check)
    return code, after_action(ws, move)


def act_on(
    ws: Workspace,
    code: str,
    username: str,
    action: str,
    *,
    comment: str | None = None,
    choose: str | None = None,
    pin: str | None = None,
) -> Move:
    """A handling-unit action on a dossier (forward, consult, comment, submit, sign, return,
    complete); the head the dossier goes back to is found by itself when the action needs one.
    At 'sign_result' the head's ``approve`` is the ``sign`` action: the result is signed with
    their key (``pin``), see engine.onestop.results."""
    with Session(ws.db) as session:
        dossier = _dossier(session, code)
        if action == "approve" and RESULT_STEP in _open_steps(session, dossier):
            action = "sign"
        if choose is None and _needs_head(ws, session, dossier, username, action):
            choose = _head_of(session, dossier.unit_id).username
    if action == "sign":
        # lazy: engine.onestop.results builds on this module (a cycle at import time)
        from engine.onestop.results import sign_result

        return sign_result(ws, code, username, comment=comment, pin=pin)
    return _move(ws, code, username, action, comment=comment, choose=choose)


RESULT_STEP = "sign_result"


def _open_steps(session: Session, dossier: Dossier) -> set[str]:
    return set(
        session.exec(
            select(Task.step_id)
            .join(WorkflowInstance, col(WorkflowInstance.id) == Task.instance_id)
            .where(WorkflowInstance.document_id == dossier.document_id, Task.state == "open")
        ).all()
    )


def return_result(ws: Workspace, code: str, username: str, received_by: str) -> Move:
    """The desk hands the result over; ``received_by`` is who signed for it."""
    name = _line(received_by, "người nhận kết quả (--received-by)", 200)
    return _move(ws, code, username, "complete", comment=name)


def _needs_head(
    ws: Workspace, session: Session, dossier: Dossier, username: str, action: str
) -> bool:
    user = user_named(session, username)
    claim = claim_task(session, ws, dossier.document_id, user, action)
    return claim.action.choose is not None and claim.action.choose.value == "head"


def _move(
    ws: Workspace,
    code: str,
    username: str,
    action: str,
    *,
    comment: str | None = None,
    choose: str | None = None,
) -> Move:
    with transaction(ws.db) as session:
        move = _moved(
            session, ws, _dossier(session, code), username, action, comment=comment, choose=choose
        )
    return after_action(ws, move)


def _moved(
    session: Session,
    ws: Workspace,
    dossier: Dossier,
    username: str,
    action: str,
    *,
    comment: str | None = None,
    choose: str | None = None,
    missing: tuple[str, ...] | None = None,
) -> Move:
    """The workflow action and the dossier's bookkeeping, in the caller's transaction; the
    caller runs :func:`after_action` once it is committed."""
    user = user_named(session, username)
    claim = claim_task(session, ws, dossier.document_id, user, action)
    _may_move(session, dossier, claim.step.id, action)
    chosen = user_named(session, choose) if choose else None
    move = complete_task(session, ws, claim, user, comment=comment, chosen=chosen)
    now = clock.now()
    step = claim.step.id
    state = _STATE_AFTER.get((step, action))
    if state is not None:
        dossier.state = int(state)
    if state in (DossierState.WAITING_COMPLETION, DossierState.REFUSED):
        dossier.reason = comment
    if missing is not None:
        for component in session.exec(
            select(DossierComponent).where(DossierComponent.dossier_id == dossier.id)
        ).all():
            component.missing = component.name in missing
            session.add(component)
    if state is DossierState.RECEIVED:
        proc = procedure(ws, dossier.procedure_code)
        dossier.received_at = now
        dossier.original_due_at = add_working_days(now, proc.days, ws.holidays)
        dossier.due_at = dossier.original_due_at
    if state is DossierState.PROCESSED:
        dossier.processed_at = now
    if state is DossierState.RETURNED:
        dossier.returned_at, dossier.returned_to = now, comment
    session.add(dossier)
    _hand_over(session, dossier, user, step, action, comment, now)
    return move


def _may_move(session: Session, dossier: Dossier, step: str, action: str) -> None:
    """Nothing moves while the citizen owes fees; the specialist submits a result only."""
    if dossier.state == DossierState.WAITING_FEES:
        raise waiting_for_fees(dossier)
    if (step, action) == ("process", "submit") and dossier.result_kind is None:
        raise Conflict(
            f"hồ sơ {dossier.code} chưa có kết quả giải quyết: đính kèm dự thảo kết quả trước "
            f"(vanthu onestop result {dossier.code} --file …)",
            f"the dossier {dossier.code} has no result yet: attach the result's draft first "
            f"(vanthu onestop result {dossier.code} --file …)",
            code="onestop.result_missing",
            dossier=dossier.code,
        )


def waiting_for_fees(dossier: Dossier) -> Conflict:
    return Conflict(
        f"hồ sơ {dossier.code} đang chờ công dân nộp phí, lệ phí: ghi nhận nộp phí trước",
        f"the dossier {dossier.code} waits for the citizen's fees: record the payment first",
        code="onestop.waiting_fees",
        dossier=dossier.code,
    )


def _hand_over(
    session: Session,
    dossier: Dossier,
    user: User,
    step: str,
    action: str,
    comment: str | None,
    now: datetime,
    *,
    to_name: str | None = None,
) -> None:
    """Close the open line of the control sheet and open the next one, to whoever holds the
    dossier now (a person, a unit, the desk, or the citizen), or to ``to_name``."""
    assert dossier.id is not None
    for line in session.exec(
        select(DossierHandover).where(
            DossierHandover.dossier_id == dossier.id, col(DossierHandover.done_at).is_(None)
        )
    ).all():
        line.done_at = now
        session.add(line)
    session.flush()
    holders = session.exec(
        select(Task)
        .join(WorkflowInstance, col(WorkflowInstance.id) == Task.instance_id)
        .where(WorkflowInstance.document_id == dossier.document_id, Task.state == "open")
        .order_by(col(Task.id))
    ).all()
    ended = DossierState(dossier.state) in ENDED or dossier.state in (
        DossierState.WAITING_COMPLETION,
        DossierState.WAITING_FEES,
    )
    if to_name is None:
        to_name = (
            f"Công dân ({dossier.returned_to or dossier.applicant})"
            if ended
            else ", ".join(_holder(session, task) for task in holders) or None
        )
    session.add(
        DossierHandover(
            dossier_id=dossier.id,
            kind=f"{step}.{action}",
            from_name=_person(session, user),
            to_name=to_name,
            handed_at=now,
            due_at=dossier.due_at,
            done_at=now if ended else None,
            note=comment,
        )
    )


def _holder(session: Session, task: Task) -> str:
    if task.user_id is not None:
        user = session.get(User, task.user_id)
        assert user is not None
        return _person(session, user)
    if task.role == "clerk":
        return DESK
    unit = session.get(Unit, task.unit_id) if task.unit_id is not None else None
    return unit.name if unit is not None else task.role


def _person(session: Session, user: User) -> str:
    unit = session.get(Unit, user.unit_id)
    where = DESK if user.role == "clerk" else (unit.name if unit else "")
    return f"{where} ({user.full_name})"


def _line(value: str, field: str, max_length: int) -> str:
    text = checked_line(value, field, max_length=max_length)
    if not text:
        raise InvalidInput(
            f"thiếu {field}", f"{field} is missing", code="onestop.field_missing", field=field
        )
    return text


CLOSABLE = frozenset(
    {
        DossierState.NEW,
        DossierState.RECEIVED,
        DossierState.PROCESSING,
        DossierState.WAITING_COMPLETION,
        DossierState.WAITING_FEES,
    }
)
"""States a dossier may be withdrawn or stopped in: before its result is signed."""


def close_dossier(
    ws: Workspace, code: str, username: str, state: DossierState, reason: str
) -> None:
    """End a dossier outside its workflow's path: withdrawn at the citizen's request (7, by the
    desk) or stopped (8, by the handling unit's head or a leader). Its open tasks are cancelled
    and its instance ends; the control sheet and the audit log say who, when and why."""
    if state not in (DossierState.WITHDRAWN, DossierState.STOPPED):
        raise ValueError(f"a dossier is closed as withdrawn or stopped, not {state!r}")
    why = _line(reason, "lý do (--reason)", 1000)
    with transaction(ws.db) as session:
        dossier = _dossier(session, code)
        user = user_named(session, username)
        may = (
            user.role == "clerk"
            if state is DossierState.WITHDRAWN
            else user.role == "leader" or (user.role == "head" and user.unit_id == dossier.unit_id)
        )
        if not may:
            verb, verb_en = ("rút", "withdraw") if state == 7 else ("dừng", "stop")
            raise NotAllowed(
                f"{username} ({user.role}) không được {verb} hồ sơ {code}",
                f"{username} ({user.role}) may not {verb_en} {code}",
                code="onestop.close_not_allowed",
                dossier=code,
            )
        if DossierState(dossier.state) not in CLOSABLE:
            raise Conflict(
                f"hồ sơ {code} đã ở trạng thái {dossier.state}: không rút, không dừng được nữa",
                f"the dossier {code} is in state {dossier.state}: it can no longer be closed",
                code="onestop.close_state",
                dossier=code,
                state=dossier.state,
            )
        instance = session.exec(
            select(WorkflowInstance).where(WorkflowInstance.document_id == dossier.document_id)
        ).one()
        now = clock.now()
        for task in session.exec(
            select(Task).where(Task.instance_id == instance.id, Task.state == "open")
        ).all():
            task.state = "cancelled"
            session.add(task)
        instance.status, instance.finished_at = "done", now
        dossier.state, dossier.reason = int(state), why
        session.add_all([instance, dossier])
        _hand_over(session, dossier, user, "closed", state.name.lower(), why, now)
        audit.append(
            session,
            actor=username,
            event=f"dossier_{state.name.lower()}",
            document_id=dossier.document_id,
            detail={"code": code, "reason": why},
        )


def dossier_code_of(ws: Workspace, document_id: int) -> str | None:
    """The code of the dossier whose document this is; None for any other document."""
    with Session(ws.db) as session:
        return session.exec(select(Dossier.code).where(Dossier.document_id == document_id)).first()


def refuse_outside_desk(ws: Workspace, document_id: int, username: str) -> None:
    """Refuse a generic workflow action on a dossier's document: a dossier moves through this
    package only, which keeps its portal state and control sheet with each move. Someone who
    may not read the document learns nothing here (the generic refusal stays theirs)."""
    with Session(ws.db) as session:
        found = session.exec(select(Dossier).where(Dossier.document_id == document_id)).first()
        if found is None:
            return
        document = session.get(Document, document_id)
        assert document is not None
        if not may_read(session, user_named(session, username), document).allowed:
            return
        code = found.code
    raise NotAllowed(
        f"văn bản #{document_id} là hồ sơ một cửa {code}: thao tác trên trang hồ sơ "
        f"/onestop/{code} hoặc bằng lệnh 'vanthu onestop act {code} <thao tác>' (để trạng "
        "thái hồ sơ và phiếu kiểm soát được ghi cùng mỗi lần chuyển)",
        f"the document #{document_id} is the one-stop dossier {code}: act on it at "
        f"/onestop/{code} or with 'vanthu onestop act {code} <action>' (so that its state and "
        "control sheet move with it)",
        code="onestop.desk_actions_only",
        dossier=code,
    )


def _dossier(session: Session, code: str) -> Dossier:
    found = session.exec(select(Dossier).where(Dossier.code == code.strip())).first()
    if found is None:
        raise NotFound(
            f"không có hồ sơ mã '{code}'",
            f"no dossier with the code '{code}'",
            code="onestop.dossier_not_found",
            dossier=code,
        )
    return found


def _clerk(session: Session, username: str) -> User:
    user = user_named(session, username)
    if user.role != "clerk":
        raise NotAllowed(
            f"{username} ({user.role}) không phải công chức Bộ phận một cửa",
            f"{username} ({user.role}) is not a one-stop desk clerk",
            code="onestop.clerk_only",
            user=username,
        )
    return user


def _unit(session: Session, clerk: User, code: str) -> Unit:
    own = session.get(Unit, clerk.unit_id)
    assert own is not None
    found = session.exec(
        select(Unit).where(Unit.agency_id == own.agency_id, Unit.code == code)
    ).first()
    if found is None:
        raise ConfigError(
            f"thủ tục cần đơn vị giải quyết '{code}' nhưng cơ quan chưa có đơn vị này",
            f"the procedure needs the handling unit '{code}' but the agency has none",
            code="onestop.unit_missing",
            unit=code,
        )
    return found


def _head_of(session: Session, unit_id: int) -> User:
    head = session.exec(
        select(User)
        .where(User.unit_id == unit_id, User.role == "head", col(User.active))
        .order_by(col(User.id))
    ).first()
    if head is None:
        unit = session.get(Unit, unit_id)
        name = unit.name if unit else str(unit_id)
        raise ConfigError(
            f"đơn vị giải quyết '{name}' chưa có lãnh đạo (vai trò head)",
            f"the handling unit '{name}' has no head (role head)",
            code="onestop.head_missing",
            unit=name,
        )
    return head


def overdue_by(dossier: Dossier, now: datetime) -> timedelta | None:
    """How late the dossier is against its original appointment, None when not late."""
    if dossier.original_due_at is None:
        return None
    done = dossier.processed_at or now
    return done - dossier.original_due_at if done > dossier.original_due_at else None
