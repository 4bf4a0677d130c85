"""Deadlines people set: the handling deadline (hạn xử lý) a leader gives when assigning an
incoming document, and extending a deadline (gia hạn) with a reason, audited.

A deadline given as a day means the end of that day in Vietnam (23:59:59): "hạn 10/12" is met
by work done at any time on 10/12.

Who may extend: a leader of the agency, or the head of the unit of the person (or unit) the
open task waits for; never a head their own task (their leader extends it). The extended
deadline replaces the task's and the document's: the on-time statistics of tasks and incoming
documents count against it, as agencies do (a one-stop dossier keeps its original one).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import Session

from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import Conflict, InvalidInput, NotAllowed
from engine.core.models import Document, Task, User
from engine.core.text import VIETNAM
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.workflow.actions import after_action, cancel_waiting
from engine.workflow.runtime import Move, claim_task, complete_task, instance_of, open_tasks
from vanthu import clock

ASSIGN_ACTION = "assign"
"""The leader's action that gives an incoming document its handling deadline."""

EXTENDERS = ("leader",)
"""Roles that may extend any deadline; a unit's head may extend those of their unit."""


def end_of_day(day: date) -> datetime:
    """The last second of ``day`` in Vietnam, aware."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=VIETNAM)


def assign_with_due(
    ws: Workspace,
    document_id: int,
    username: str,
    action: str,
    *,
    due: date | None,
    comment: str | None = None,
    choose: str | None = None,
) -> Move:
    """Take ``action`` and, for the leader's assignment of an incoming document, set its
    handling deadline: ``due`` (end of that day), else the handling step's own deadline
    (``deadline_days``). The tasks the action opened get the same deadline. One transaction."""
    if due is not None and action != ASSIGN_ACTION:
        raise InvalidInput(
            f"chỉ thao tác '{ASSIGN_ACTION}' nhận hạn xử lý (--due)",
            f"only the action '{ASSIGN_ACTION}' takes a handling deadline (--due)",
            code="deadline.due_unexpected",
            document_id=document_id,
            action=action,
        )
    moment = end_of_day(due) if due is not None else None
    if moment is not None and moment < clock.now():
        raise _in_the_past(document_id, due)
    with transaction(ws.db) as session:
        user = user_named(session, username)
        claim = claim_task(session, ws, document_id, user, action)
        cancel_waiting(session, claim.task, user, f"có thao tác '{action}' mới")
        chosen = user_named(session, choose) if choose else None
        move = complete_task(session, ws, claim, user, comment=comment, chosen=chosen)
        document = session.get(Document, document_id)
        assert document is not None
        if action == ASSIGN_ACTION and document.direction == "incoming":
            _set_handling_due(session, document, moment, username)
    return after_action(ws, move)


def _set_handling_due(
    session: Session, document: Document, moment: datetime | None, username: str
) -> None:
    instance = instance_of(session, document.id or 0)
    assert instance.id is not None
    opened = open_tasks(session, instance.id)
    for task in opened:
        if moment is not None:
            task.due_at = moment
            session.add(task)
    dues = [t.due_at for t in opened if t.due_at is not None]
    document.handling_due_at = moment if moment is not None else (min(dues) if dues else None)
    session.add(document)
    audit.append(
        session,
        actor=username,
        event="handling_due_set",
        document_id=document.id,
        detail={
            "due": _iso(document.handling_due_at),
            "given": moment is not None,
        },
    )


def extend(ws: Workspace, document_id: int, username: str, due: date, reason: str) -> datetime:
    """Move the deadline of the document's open tasks (and its handling deadline) to the end of
    ``due``; audited with the old and new deadlines and the reason. Returns the new deadline."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "gia hạn cần lý do (--reason)",
            "an extension needs a reason (--reason)",
            code="deadline.reason_required",
            document_id=document_id,
        )
    moment = end_of_day(due)
    if moment < clock.now():
        raise _in_the_past(document_id, due)
    with transaction(ws.db) as session:
        user = user_named(session, username)
        document = session.get(Document, document_id)
        instance = instance_of(session, document_id)
        assert document is not None and instance.id is not None
        tasks = [t for t in open_tasks(session, instance.id) if t.due_at is not None]
        if not tasks:
            raise Conflict(
                "văn bản không có việc nào đang chờ có hạn xử lý để gia hạn",
                "the document has no open task with a deadline to extend",
                code="deadline.nothing_to_extend",
                document_id=document_id,
            )
        for task in tasks:
            _check_may_extend(session, user, task, document_id)
        old = max(t.due_at for t in tasks if t.due_at is not None)
        if moment <= old:
            raise InvalidInput(
                f"hạn mới {due:%d/%m/%Y} phải sau hạn hiện tại {old.astimezone(VIETNAM):%d/%m/%Y}",
                f"the new deadline {due:%Y-%m-%d} must be after the current one "
                f"{old.astimezone(VIETNAM):%Y-%m-%d}",
                code="deadline.not_later",
                document_id=document_id,
            )
        old_handling = document.handling_due_at
        for task in tasks:
            task.due_at = moment
            session.add(task)
        if document.direction == "incoming":
            document.handling_due_at = moment
            session.add(document)
        audit.append(
            session,
            actor=username,
            event="deadline_extended",
            document_id=document_id,
            detail={
                "old_due": _iso(old),
                "new_due": _iso(moment),
                "old_handling_due": _iso(old_handling),
                "reason": reason,
                "tasks": [t.id for t in tasks],
            },
        )
    return moment


def _check_may_extend(session: Session, user: User, task: Task, document_id: int) -> None:
    if user.role in EXTENDERS:
        return
    owner_unit = task.unit_id
    if task.user_id is not None:
        owner = session.get(User, task.user_id)
        owner_unit = owner.unit_id if owner is not None else owner_unit
    own_task = task.user_id == user.id
    if user.role == "head" and not own_task and owner_unit == user.unit_id:
        return
    raise NotAllowed(
        f"{user.username} không được gia hạn: chỉ lãnh đạo cơ quan hoặc trưởng đơn vị của người "
        "xử lý",
        f"{user.username} may not extend: only the agency's leaders or the head of the handling "
        "person's unit",
        code="deadline.extend_not_allowed",
        document_id=document_id,
        user=user.username,
    )


def _in_the_past(document_id: int, due: date | None) -> InvalidInput:
    return InvalidInput(
        f"hạn {due:%d/%m/%Y} đã qua",
        f"the deadline {due:%Y-%m-%d} has passed",
        code="deadline.in_the_past",
        document_id=document_id,
    )


def _iso(moment: datetime | None) -> Any:
    return moment.astimezone(UTC).isoformat() if moment is not None else None
