"""The transactional outbox: automated steps queued with the action, run and retried here.

A claimed item holds a lease (``available_at`` in the future): a worker that dies mid-step
leaves it "running" until the lease ends, then another run takes it. A step's database effects,
marking its item done and moving the instance on happen in one transaction, so a step either
completed once or not at all; steps are written so that running them again changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from engine.core import audit
from engine.core.db import is_postgres, transaction
from engine.core.errors import NotFound
from engine.core.logs import log_unexpected
from engine.core.models import OutboxItem, WorkflowInstance
from engine.core.workspace import Workspace
from engine.workflow.runtime import advance_after_automated
from vanthu import clock
from vanthu.errors import VanthuError

LEASE = timedelta(minutes=10)
STATES = {
    "pending": "chờ chạy",
    "running": "đang chạy",
    "done": "xong",
    "failed": "lỗi, chờ xử lý",
}
"""Each item's state in the words people use."""
MAX_BACKOFF = timedelta(minutes=30)


@dataclass(frozen=True)
class StepRun:
    """The outcome of running one outbox item once."""

    item_id: int
    step: str
    document_id: int
    ok: bool
    duration_ms: float
    detail: dict[str, Any]
    error: str | None = None
    code: str | None = None
    """The failure's stable code (``signing.key.passphrase``), for programs and tests."""


def _due(now: datetime) -> SelectOfScalar[OutboxItem]:
    return (
        select(OutboxItem)
        .where(col(OutboxItem.state).in_(["pending", "running"]))
        .where(OutboxItem.available_at <= now)
        .order_by(col(OutboxItem.id))
        .limit(1)
    )


def has_due(ws: Workspace) -> bool:
    """Whether any item is due now (a look, nothing claimed)."""
    with Session(ws.db) as session:
        return session.exec(_due(clock.now())).first() is not None


def claim(ws: Workspace, now: datetime | None = None) -> OutboxItem | None:
    """Take the oldest runnable item; SKIP LOCKED lets PostgreSQL workers claim in parallel."""
    now = now or clock.now()
    with transaction(ws.db) as session:
        query = _due(now)
        query = query.with_for_update(skip_locked=True) if is_postgres(ws.db) else query
        item = session.exec(query).first()
        if item is None:
            return None
        item.state, item.attempts, item.available_at = "running", item.attempts + 1, now + LEASE
        session.add(item)
        return item


def execute(ws: Workspace, item: OutboxItem) -> StepRun:
    """Run a claimed item: the step's outside work, then one transaction for its results."""
    assert item.id is not None
    started = time.perf_counter()
    try:
        finisher = ws.plugins.step(item.run)(ws, item)
        with transaction(ws.db) as session:
            current = session.get(OutboxItem, item.id, with_for_update=True)
            if current is None or current.state == "done":
                detail: dict[str, Any] = {"skipped": "đã hoàn thành trước đó"}
            else:
                detail = finisher(session)
                _complete(session, ws, current, detail, started)
    except Exception as exc:  # a step must never kill the worker; the item records why
        return _fail(ws, item, exc, started)
    return StepRun(item.id, item.step_id, item.document_id, True, _ms(started), detail)


def _complete(
    session: Session, ws: Workspace, item: OutboxItem, detail: dict[str, Any], started: float
) -> None:
    item.state, item.finished_at, item.last_error = "done", clock.now(), None
    item.duration_ms = _ms(started)
    session.add(item)
    audit.append(
        session,
        actor="system",
        event="step_done",
        document_id=item.document_id,
        step=item.step_id,
        detail={**detail, "attempt": item.attempts},
    )
    instance = session.get(WorkflowInstance, item.instance_id)
    assert instance is not None
    advance_after_automated(session, ws, instance, item.step_id)


def _fail(ws: Workspace, item: OutboxItem, exc: Exception, started: float) -> StepRun:
    if isinstance(exc, VanthuError):
        retryable, message, code = exc.retryable, str(exc), exc.code
    else:  # a defect, not a state of the world: its traceback goes to the agency's log
        entry = log_unexpected(
            ws.settings.home, exc, document_id=item.document_id, step=item.step_id
        )
        retryable, code = False, "internal.unexpected"
        message = f"lỗi không lường trước ({type(exc).__name__}), xem nhật ký {entry}"
    with transaction(ws.db) as session:
        current = session.get(OutboxItem, item.id, with_for_update=True)
        assert current is not None
        give_up = not retryable or current.attempts >= ws.settings.step_max_attempts
        current.state = "failed" if give_up else "pending"
        current.last_error = message
        backoff = min(timedelta(seconds=2**current.attempts), MAX_BACKOFF)
        current.available_at = clock.now() + backoff
        session.add(current)
        audit.append(
            session,
            actor="system",
            event="step_failed",
            document_id=current.document_id,
            step=current.step_id,
            detail={
                "error": message,
                "code": code,
                "attempt": current.attempts,
                "will_retry": not give_up,
            },
        )
    assert item.id is not None
    return StepRun(item.id, item.step_id, item.document_id, False, _ms(started), {}, message, code)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def run_pending(
    ws: Workspace,
    *,
    limit: int | None = None,
    on_run: Callable[[StepRun], None] | None = None,
) -> list[StepRun]:
    """Run what is due, in order, until nothing is left (or ``limit`` items ran)."""
    runs: list[StepRun] = []
    while limit is None or len(runs) < limit:
        item = claim(ws)
        if item is None:
            break
        run = execute(ws, item)
        runs.append(run)
        if on_run is not None:
            on_run(run)
    return runs


def retry_failed(ws: Workspace, item_id: int) -> None:
    """Put a failed item back in the queue once its cause is fixed."""
    with transaction(ws.db) as session:
        item = session.get(OutboxItem, item_id, with_for_update=True)
        if item is None or item.state != "failed":
            raise NotFound(
                f"không có bước tự động #{item_id} đang ở trạng thái lỗi",
                f"no failed automated step #{item_id}",
                code="step.not_failed",
                item_id=item_id,
            )
        item.state, item.attempts, item.available_at = "pending", 0, clock.now()
        session.add(item)
        audit.append(
            session,
            actor="system",
            event="step_requeued",
            document_id=item.document_id,
            step=item.step_id,
        )


def items(ws: Workspace, state: str | None = None) -> list[OutboxItem]:
    """The queue's items in order, all or those in ``state``."""
    with Session(ws.db) as session:
        query = select(OutboxItem).order_by(col(OutboxItem.id))
        if state:
            query = query.where(OutboxItem.state == state)
        return list(session.exec(query).all())
