"""A person's inbox: the open tasks they may take, with their deadlines.

One statement answers a page of it, however many tasks are open: the tasks the person may take
(:func:`engine.workflow.runtime.may_take`, written as SQL) are three ranges of two partial
indexes over open tasks only (migration 0010: one by person, one by role and unit); each range
is read in deadline order and cut at the page's end, the pieces merged (overdue first, then by
deadline), cut to the page, and only then joined to their documents, units and the person who
sent each one; the totals are counts over the same ranges. The statement is built once with
bound parameters. A clerk with 10 000 open tasks gets the first page in milliseconds; done
tasks, however many years of them, are never read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Subquery,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    union_all,
)
from sqlalchemy import select as sql_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from engine.core.db import read_only
from engine.core.definitions import WorkflowDefinition
from engine.core.errors import InvalidInput
from engine.core.models import Document, SignRequest, Task, Unit, User, WorkflowInstance
from engine.core.users import user_named
from engine.core.workspace import Workspace
from vanthu import clock

WAITING_LABEL = "chờ ký số trên thiết bị"
"""Shown beside a task whose signature is out on the leader's token."""
PAGE_MAX = 500
"""The most entries one page holds."""
OPEN: ColumnElement[str] = literal_column("'open'")
"""Written into the SQL, not bound: a partial index (``WHERE state = 'open'``) is used only when
the query says the same literal (SQLite; PostgreSQL's generic plans likewise)."""


@dataclass(frozen=True)
class InboxEntry:
    """One line of a user's inbox."""

    document_id: int
    doc_type: str
    subject: str
    step: str
    """The step's Vietnamese title (with :data:`WAITING_LABEL` while a token signs)."""
    actions: tuple[str, ...]
    due_at: datetime | None
    task_id: int = 0
    step_id: str = ""
    direction: str = "outgoing"
    symbol: str | None = None
    """Ours once issued (outgoing), the sender's (incoming)."""
    urgency: str | None = None
    """Độ khẩn: Khẩn, Thượng khẩn, Hỏa tốc; None for an ordinary document."""
    sender: str = ""
    """Who sent it here: the person whose action opened the task; for an incoming document
    not yet handled by anyone here, the agency that sent it; else its author."""
    unit: str = ""
    """The document's unit (drafting or handling)."""
    received_at: datetime | None = None
    """When the task opened."""
    overdue: bool = False
    """Past its deadline now (the page shows it in red)."""
    waiting_on_token: bool = False
    """Its signature is out on the leader's token (``vanthu sign-agent``)."""
    handling_due_at: datetime | None = None
    """An incoming document's handling deadline (hạn xử lý), set when the leader assigned it."""


@dataclass(frozen=True)
class InboxPage:
    """A page of an inbox, with the counts the menu shows."""

    entries: tuple[InboxEntry, ...]
    total: int
    """Open tasks the person may take, all pages."""
    overdue: int
    """Of those, past their deadline."""
    offset: int
    limit: int


def inbox(ws: Workspace, username: str) -> list[InboxEntry]:
    """Every open task ``username`` may take, overdue first, then by deadline, then oldest."""
    return list(_read(ws, username, limit=None, offset=0).entries)


def inbox_page(ws: Workspace, username: str, *, limit: int = 50, offset: int = 0) -> InboxPage:
    """A page of :func:`inbox` with the totals, in one statement."""
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidInput(
            f"số việc mỗi trang phải từ 1 đến {PAGE_MAX}, nhận {limit}",
            f"the number of tasks per page must be from 1 to {PAGE_MAX}, got {limit}",
            code="inbox.limit_invalid",
            limit=limit,
        )
    if offset < 0:
        raise InvalidInput(
            f"vị trí bắt đầu không được âm, nhận {offset}",
            f"the starting position may not be negative, got {offset}",
            code="inbox.offset_invalid",
            offset=offset,
        )
    return _read(ws, username, limit=limit, offset=offset)


def inbox_counts(ws: Workspace, username: str) -> tuple[int, int]:
    """(open tasks, overdue ones) for the menu: counted on the open-task indexes, no page."""
    return _counts(ws, username)


def mine(user: User) -> Subquery:
    """:func:`engine.workflow.runtime.may_take` in SQL: the ids and deadlines of the open tasks
    for the person, and of those for their role (in their unit, or in any unit). Two disjoint
    halves, each answered by its own partial index (a single OR leads SQLite to the plain index
    on ``state``, every open task of everyone)."""
    keys: list[Any] = [col(Task.id).label("task_id"), col(Task.due_at).label("due_at")]
    own = sql_select(*keys).where(col(Task.state) == OPEN, col(Task.user_id) == user.id)
    shared = sql_select(*keys).where(
        col(Task.state) == OPEN,
        col(Task.user_id).is_(None),
        col(Task.role) == user.role,
        or_(col(Task.unit_id).is_(None), col(Task.unit_id) == user.unit_id),
    )
    return union_all(own, shared).subquery("mine")


_DUE_AT_TYPE = Task.__table__.c.due_at.type  # type: ignore[attr-defined]
"""How a deadline is bound (UTC), for the ``now`` the statement compares deadlines with."""


@dataclass(frozen=True)
class _Params:
    """The values an inbox statement is run with (it is built once, with these as bound
    parameters: building it costs more than running it)."""

    user_id: Any = field(default_factory=lambda: bindparam("user_id"))
    role: Any = field(default_factory=lambda: bindparam("role"))
    unit_id: Any = field(default_factory=lambda: bindparam("unit_id"))
    now: Any = field(default_factory=lambda: bindparam("now", type_=_DUE_AT_TYPE))
    keep: Any = field(default_factory=lambda: bindparam("keep"))
    offset: Any = field(default_factory=lambda: bindparam("page_offset"))
    limit: Any = field(default_factory=lambda: bindparam("page_limit"))


def _parts(p: _Params) -> list[list[ColumnElement[bool]]]:
    """:func:`mine` as three disjoint parts, each one range of a partial index: the person's
    own tasks, their role's in any unit, their role's in their unit."""
    open_task = col(Task.state) == OPEN
    shared = [open_task, col(Task.user_id).is_(None), col(Task.role) == p.role]
    return [
        [open_task, col(Task.user_id) == p.user_id],
        [*shared, col(Task.unit_id).is_(None)],
        [*shared, col(Task.unit_id) == p.unit_id],
    ]


def _first(p: _Params, paged: bool) -> Subquery:
    """The first ``keep`` tasks of each part in inbox order (all, unless ``paged``), together:
    read in index order and cut there, so a page of 10 000 open tasks reads a page per part."""
    keys: list[Any] = [col(Task.id).label("task_id"), col(Task.due_at).label("due_at")]
    # each part ordered as its index is (the leading columns are constant in the part; said
    # anyway, since PostgreSQL does not take ``unit_id IS NULL`` as fixing the order)
    own, anywhere, in_unit = _parts(p)
    person: list[Any] = [col(Task.user_id)]
    role: list[Any] = [col(Task.role), col(Task.unit_id)]
    pieces: list[Any] = []
    for where, leading in ((own, person), (anywhere, role), (in_unit, role)):
        order = [*leading, col(Task.due_at), col(Task.id)]
        dated = sql_select(*keys).where(*where, col(Task.due_at).is_not(None))
        undated = sql_select(*keys).where(*where, col(Task.due_at).is_(None))
        if paged:
            dated = dated.order_by(*order).limit(p.keep)
            undated = undated.order_by(*order).limit(p.keep)
        for piece in (dated, undated):
            wrapped = piece.subquery()
            pieces.append(sql_select(wrapped.c.task_id, wrapped.c.due_at))
    return union_all(*pieces).subquery("first")


def _totals(p: _Params) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """(open tasks, overdue ones) of the person as two SQL expressions: counts over the
    index ranges of each part, computed once per statement."""
    totals: list[Any] = []
    lates: list[Any] = []
    for where in _parts(p):
        totals.append(sql_select(func.count()).where(*where).scalar_subquery())
        lates.append(
            sql_select(func.count()).where(*where, col(Task.due_at) < p.now).scalar_subquery()
        )
    return totals[0] + totals[1] + totals[2], lates[0] + lates[1] + lates[2]


@cache
def _page_statement(paged: bool) -> Any:
    """The one statement that reads an inbox (a page of it when ``paged``), built once."""
    p = _Params()
    tasks = _first(p, paged)
    late = case((tasks.c.due_at < p.now, 1), else_=0)
    # the open tasks of this person only (the partial indexes), ordered and cut to the page
    ordered = select(tasks.c.task_id, late.label("late")).order_by(
        tasks.c.due_at.is_(None), tasks.c.due_at, tasks.c.task_id
    )
    if paged:
        ordered = ordered.offset(p.offset).limit(p.limit)
    page = ordered.subquery("page")
    total_count, late_count = _totals(p)
    # then, for the page's rows only: the document, its unit, who sent it, a token waiting
    earlier = aliased(Task)
    sent_by = (
        select(earlier.completed_by)
        .where(earlier.instance_id == Task.instance_id, earlier.state == "done")
        .where(col(earlier.completed_at) <= col(Task.created_at))
        .order_by(col(earlier.completed_at).desc(), col(earlier.id).desc())
        .limit(1)
        .correlate(Task)
        .scalar_subquery()
    )
    sender = aliased(User)
    author = aliased(User)
    on_token = exists().where(
        col(SignRequest.task_id) == Task.id, col(SignRequest.state) == "waiting"
    )
    columns: list[Any] = [
        Task.id,
        Task.step_id,
        Task.due_at,
        Task.created_at,
        WorkflowInstance.definition,
        WorkflowInstance.definition_digest,
        Document.id,
        Document.direction,
        Document.doc_type,
        Document.subject,
        Document.symbol,
        Document.sender_symbol,
        Document.sender,
        Document.urgency,
        Unit.name,
        sender.full_name,
        author.full_name,
        page.c.late,
        total_count.label("total"),
        late_count.label("total_late"),
        on_token,
        Document.handling_due_at,  # last: the totals above are read by position
    ]
    return (
        sql_select(*columns)
        .select_from(page)
        .join(Task, col(Task.id) == page.c.task_id)
        .join(WorkflowInstance, col(WorkflowInstance.id) == Task.instance_id)
        .join(Document, col(Document.id) == WorkflowInstance.document_id)
        .join(Unit, col(Unit.id) == Document.unit_id)
        .join(author, col(author.id) == Document.author_id)
        .outerjoin(sender, col(sender.id) == sent_by)
        .order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.id))
    )


@cache
def _count_statement() -> Any:
    total, late = _totals(_Params())
    return sql_select(total, late)


def _values(user: User, now: datetime) -> dict[str, Any]:
    return {"user_id": user.id, "role": user.role, "unit_id": user.unit_id, "now": now}


def _read(ws: Workspace, username: str, *, limit: int | None, offset: int) -> InboxPage:
    now = clock.now()
    with Session(read_only(ws.db)) as session:
        user = user_named(session, username)
        values = _values(user, now)
        if limit is not None:
            values.update(keep=offset + limit, page_offset=offset, page_limit=limit)
        rows = session.execute(_page_statement(limit is not None), values).all()
        definitions: dict[str, WorkflowDefinition] = {}
        entries = [_entry(ws, session, row, definitions) for row in rows]
        total, total_late = (int(rows[0][18]), int(rows[0][19] or 0)) if rows else (0, 0)
    if not rows and offset > 0:  # past the end: still say how many there are
        total, total_late = _counts(ws, username)
    return InboxPage(tuple(entries), total, total_late, offset, limit or len(entries))


def _counts(ws: Workspace, username: str) -> tuple[int, int]:
    now = clock.now()
    with Session(read_only(ws.db)) as session:
        user = user_named(session, username)
        found = session.execute(_count_statement(), _values(user, now)).one()
    return int(found[0]), int(found[1] or 0)


def _entry(
    ws: Workspace,
    session: Session,
    row: Sequence[Any],
    definitions: dict[str, WorkflowDefinition],
) -> InboxEntry:
    (
        task_id,
        step_id,
        due_at,
        created_at,
        definition_name,
        digest,
        document_id,
        direction,
        doc_type,
        subject,
        symbol,
        sender_symbol,
        sender_agency,
        urgency,
        unit,
        sender_name,
        author_name,
        late,
        _total,
        _total_late,
        waiting,
        handling_due_at,
    ) = row
    if digest not in definitions:
        instance = WorkflowInstance(
            definition=definition_name,
            definition_digest=digest,
            document_id=document_id,
            initiator_id=0,
        )
        definitions[digest] = ws.definition_for(instance, session)
    step = definitions[digest].step(step_id)
    if sender_name is None:
        sender_name = sender_agency if direction == "incoming" and sender_agency else author_name
    return InboxEntry(
        document_id=document_id,
        doc_type=doc_type,
        subject=subject,
        step=step.title + (f" ({WAITING_LABEL})" if waiting else ""),
        actions=tuple(a.name.value for a in step.actions),
        due_at=due_at,
        task_id=task_id,
        step_id=step_id,
        direction=direction,
        symbol=sender_symbol if direction == "incoming" else symbol,
        urgency=urgency,
        sender=sender_name or "",
        unit=unit or "",
        received_at=created_at,
        overdue=bool(late),
        waiting_on_token=bool(waiting),
        handling_due_at=handling_due_at,
    )
