"""The dossiers a person may read, filtered: the desk's and the handling units' list.

The people of a handling unit see their unit's dossiers and those they took part in (a task for
them or their unit, one they completed or were chosen at); the desk and the leaders see all of
them. Each dossier listed also passes the document read check (:func:`may_read`), so the list
never shows what the dossier's page would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from engine.core.calendar import add_working_days
from engine.core.errors import InvalidInput
from engine.core.models import Document, Dossier, Task, WorkflowInstance
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.onestop.states import STATE_NAMES, DossierState
from engine.workflow.documents import EVERY_DOCUMENT, may_read
from vanthu import clock

PAGE_SIZE = 50
SOON_WORKING_DAYS = 2
"""'Sắp đến hạn': the appointment falls within this many working days."""
RUNNING = (DossierState.RECEIVED, DossierState.PROCESSING, DossierState.WAITING_FEES)
"""States in which the appointment runs (a dossier here past it is overdue)."""
DUE_FILTERS = {"soon": "Sắp đến hạn (trong 2 ngày làm việc)", "overdue": "Quá hạn"}


@dataclass(frozen=True)
class DossierFilters:
    """Which dossiers to list (every field empty: all of them)."""

    state: int | None = None
    """The portal state (1…10)."""
    due: str = ""
    """'soon' (appointment within two working days) or 'overdue' (past it, still running)."""
    procedure: str = ""
    """The procedure's code."""
    q: str = ""
    """Part of the dossier's code or of the applicant's name."""


@dataclass(frozen=True)
class DossierRow:
    """One dossier in the list."""

    code: str
    procedure_code: str
    procedure_name: str
    applicant: str
    received_at: datetime | None
    filed_at: datetime
    due_at: datetime | None
    state: int
    state_name: str
    overdue: bool
    """Its appointment has passed while the unit still works on it."""
    late: bool
    """Its result came after the original appointment (an apology does not change this)."""


@dataclass(frozen=True)
class DossierListing:
    rows: tuple[DossierRow, ...]
    total: int
    """How many dossiers match, over every page."""
    pages: int


def dossier_filters(
    state: str = "", due: str = "", procedure: str = "", q: str = ""
) -> DossierFilters:
    """Filters as typed (a query string, command options), checked: a bad one names its field."""
    number = state.strip()
    if number and (not number.isdigit() or int(number) not in set(DossierState)):
        raise InvalidInput(
            f"trạng thái '{number}' không có (1 đến 10)",
            f"no state '{number}' (1 to 10)",
            code="onestop.filter_invalid",
            field="state",
        )
    if due not in ("", *DUE_FILTERS):
        raise InvalidInput(
            f"bộ lọc hạn '{due}' không có (soon, overdue)",
            f"no due filter '{due}' (soon, overdue)",
            code="onestop.filter_invalid",
            field="due",
        )
    return DossierFilters(int(number) if number else None, due, procedure.strip(), q.strip())


def list_dossiers(
    ws: Workspace,
    username: str,
    filters: DossierFilters | None = None,
    *,
    page: int = 1,
    page_size: int | None = PAGE_SIZE,
) -> DossierListing:
    """The page ``page`` of the dossiers ``username`` may read, newest first; ``page_size``
    None lists them all."""
    chosen = filters or DossierFilters()
    now = clock.now()
    with Session(ws.db) as session:
        person = user_named(session, username)
        conditions = _conditions(ws, chosen, now)
        if person.role not in EVERY_DOCUMENT:
            assert person.id is not None
            conditions.append(_involving(person.id, person.unit_id))
        total = session.exec(select(func.count()).select_from(Dossier).where(*conditions)).one()
        query = (
            select(Dossier, Document)
            .join(Document, col(Document.id) == Dossier.document_id)
            .where(*conditions)
            .order_by(col(Dossier.filed_at).desc(), col(Dossier.id).desc())
        )
        if page_size is not None:
            query = query.offset((max(page, 1) - 1) * page_size).limit(page_size)
        rows = tuple(
            _row(dossier, now)
            for dossier, document in session.exec(query).all()
            if may_read(session, person, document).allowed
        )
    pages = 1 if page_size is None else max(1, -(-int(total) // page_size))
    return DossierListing(rows, int(total), pages)


def _conditions(ws: Workspace, filters: DossierFilters, now: datetime) -> list[Any]:
    found: list[Any] = []
    if filters.state is not None:
        found.append(Dossier.state == filters.state)
    if filters.procedure:
        found.append(Dossier.procedure_code == filters.procedure)
    if filters.q:
        pattern = f"%{filters.q}%"
        found.append(or_(col(Dossier.code).ilike(pattern), col(Dossier.applicant).ilike(pattern)))
    if filters.due:
        found.append(col(Dossier.state).in_([int(s) for s in RUNNING]))
        if filters.due == "overdue":
            found.append(col(Dossier.due_at) < now)
        else:
            soon = add_working_days(now, SOON_WORKING_DAYS, ws.holidays)
            found.extend([col(Dossier.due_at) >= now, col(Dossier.due_at) <= soon])
    return found


def _involving(person_id: int, unit_id: int) -> Any:
    """The dossiers of ``unit_id`` and those whose tasks name the person or their unit."""
    tasks = (
        select(WorkflowInstance.document_id)
        .join(Task, col(Task.instance_id) == WorkflowInstance.id)
        .where(
            or_(
                col(Task.user_id) == person_id,
                col(Task.completed_by) == person_id,
                col(Task.chosen_user_id) == person_id,
                col(Task.unit_id) == unit_id,
            )
        )
    )
    return or_(col(Dossier.unit_id) == unit_id, col(Dossier.document_id).in_(tasks))


def _row(dossier: Dossier, now: datetime) -> DossierRow:
    late = (
        dossier.processed_at is not None
        and dossier.original_due_at is not None
        and dossier.processed_at > dossier.original_due_at
    )
    return DossierRow(
        code=dossier.code,
        procedure_code=dossier.procedure_code,
        procedure_name=dossier.procedure_name,
        applicant=dossier.applicant,
        received_at=dossier.received_at,
        filed_at=dossier.filed_at,
        due_at=dossier.due_at,
        state=dossier.state,
        state_name=STATE_NAMES[DossierState(dossier.state)],
        overdue=dossier.state in RUNNING and dossier.due_at is not None and dossier.due_at < now,
        late=late,
    )
