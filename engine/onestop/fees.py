"""Fees and charges (phí, lệ phí): the portal's state 6, "waiting for financial obligations".

The handling unit asks for them (the amount, by default the procedure's ``fee``, and a note):
the dossier leaves processing (4) for state 6 and nothing moves on it; the desk records the
payment with its receipt number and the dossier is back in processing. Each is one transaction
with its line on the control sheet (Mẫu 06) and its audit event.
"""

from __future__ import annotations

from sqlmodel import Session

from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import Conflict, InvalidInput, NotAllowed
from engine.core.fields import checked_line
from engine.core.models import Dossier, User
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.onestop.dossiers import _clerk, _dossier, _hand_over, _line, procedure
from engine.onestop.states import DossierState
from engine.workflow.runtime import instance_of, may_take, open_tasks
from vanthu import clock

MAX_FEE = 1_000_000_000


def money(amount: int) -> str:
    """'500.000 đồng'."""
    return f"{amount:,} đồng".replace(",", ".")


def ask_fees(
    ws: Workspace, code: str, username: str, *, amount: int | None = None, note: str = ""
) -> int:
    """The handling unit (its head, or whoever holds the dossier there) asks the citizen for
    ``amount`` đồng (default: the procedure's fee); returns the amount asked."""
    text = checked_line(note, "ghi chú (--note)", max_length=1000) or ""
    with transaction(ws.db) as session:
        dossier = _dossier(session, code)
        user = _of_the_unit(session, ws, dossier, username)
        if dossier.state != DossierState.PROCESSING:
            raise Conflict(
                f"hồ sơ {code} không ở trạng thái đang xử lý (4): không yêu cầu nộp phí được",
                f"the dossier {code} is not being processed (4): no fees can be asked",
                code="onestop.fees_state",
                dossier=code,
                state=dossier.state,
            )
        due = amount if amount is not None else procedure(ws, dossier.procedure_code).fee
        _check_amount(due, "số tiền (--amount)")
        dossier.state = int(DossierState.WAITING_FEES)
        dossier.fee_amount, dossier.fee_note = due, text or None
        dossier.fee_paid = dossier.fee_receipt = dossier.fee_paid_at = None
        session.add(dossier)
        line = f"Chờ nộp phí, lệ phí: {money(due)}" + (f". {text}" if text else "")
        _hand_over(session, dossier, user, "fees", "ask", line, clock.now())
        audit.append(
            session,
            actor=username,
            event="dossier_fees_asked",
            document_id=dossier.document_id,
            detail={"code": code, "amount": due, "note": text},
        )
        return due


def record_payment(ws: Workspace, code: str, username: str, *, amount: int, receipt: str) -> None:
    """The desk records that the citizen paid ``amount`` đồng (receipt ``receipt``): the
    dossier is back in processing, with whoever held it."""
    number = _line(receipt, "số biên lai (--receipt)", 60)
    _check_amount(amount, "số tiền đã nộp (--amount)")
    with transaction(ws.db) as session:
        dossier = _dossier(session, code)
        clerk = _clerk(session, username)
        if dossier.state != DossierState.WAITING_FEES or dossier.fee_amount is None:
            raise Conflict(
                f"hồ sơ {code} không chờ nộp phí, lệ phí",
                f"the dossier {code} is not waiting for fees",
                code="onestop.fees_not_asked",
                dossier=code,
                state=dossier.state,
            )
        if amount < dossier.fee_amount:
            raise InvalidInput(
                f"số tiền đã nộp {money(amount)} ít hơn số phải nộp {money(dossier.fee_amount)}",
                f"{money(amount)} paid is less than the {money(dossier.fee_amount)} due",
                code="onestop.fees_short",
                dossier=code,
                amount=amount,
                due=dossier.fee_amount,
            )
        now = clock.now()
        dossier.state = int(DossierState.PROCESSING)
        dossier.fee_paid, dossier.fee_receipt, dossier.fee_paid_at = amount, number, now
        session.add(dossier)
        line = f"Đã nộp {money(amount)}, biên lai số {number}"
        _hand_over(session, dossier, clerk, "fees", "paid", line, now)
        audit.append(
            session,
            actor=username,
            event="dossier_fees_paid",
            document_id=dossier.document_id,
            detail={"code": code, "amount": amount, "receipt": number},
        )


def _check_amount(amount: int, field: str) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_FEE:
        raise InvalidInput(
            f"{field} phải là số đồng từ 1 đến {MAX_FEE:,}".replace(",", "."),
            f"{field} must be a number of đồng from 1 to {MAX_FEE:,}",
            code="onestop.fees_amount",
            field=field,
        )


def _of_the_unit(session: Session, ws: Workspace, dossier: Dossier, username: str) -> User:
    """``username``, if they are the handling unit's head or hold the dossier in that unit."""
    user = user_named(session, username)
    if user.unit_id == dossier.unit_id and user.role == "head":
        return user
    instance = instance_of(session, dossier.document_id)
    assert instance.id is not None
    if user.unit_id == dossier.unit_id and any(
        may_take(task, user) for task in open_tasks(session, instance.id)
    ):
        return user
    raise NotAllowed(
        f"{username} không thuộc đơn vị giải quyết hồ sơ {dossier.code} hoặc không giữ hồ sơ",
        f"{username} is not of the unit handling the dossier {dossier.code}, or does not hold it",
        code="onestop.fees_not_allowed",
        dossier=dossier.code,
        user=username,
    )
