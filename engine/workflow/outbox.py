"""The transactional outbox: automated steps queued with the action, run and retried here.

A claimed item holds a lease (``available_at`` in the future, ``step_lease_seconds``) and names
the machine and process that claimed it; the worker renews the lease while the step runs. A worker
that dies mid-step (killed, its machine gone) stops renewing: its item stays "running" until the
lease ends, then any worker on any machine takes it; :func:`recover` hands it back at once when
that process is gone from this machine. A step's database effects (a register number included),
marking its item done and moving the instance on happen in one transaction, so a step either
completed once or not at all; steps are written so that running them again changes nothing.

A step that fails for good (or at once with the inline runner, where nobody else would retry it)
returns the document to its definition's ``on_failure`` step, a person's, when it names one.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from engine.core import audit
from engine.core.config import Settings
from engine.core.db import is_postgres, transaction
from engine.core.errors import InvalidInput, NotAllowed, NotFound
from engine.core.logs import log_unexpected
from engine.core.models import OutboxItem, User, WorkflowInstance
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.workflow.runtime import advance_after_automated, return_after_failure
from vanthu import clock
from vanthu.errors import Kind, VanthuError

LEASE = timedelta(seconds=Settings.model_fields["step_lease_seconds"].default)
"""The default lease (``step_lease_seconds``)."""
STATES = {
    "pending": "chờ chạy",
    "running": "đang chạy",
    "done": "xong",
    "failed": "lỗi, chờ xử lý",
    "returned": "lỗi, đã trả văn bản về người xử lý",
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
    kind: Kind | None = None
    """The failure's kind (``failed``, ``unavailable``...)."""
    error_en: str | None = None
    """The failure in English."""
    will_retry: bool = False
    """The item waits to be run again by itself (a retryable failure)."""
    returned_to: str | None = None
    """The human step the document went back to (the definition's ``on_failure``)."""
    cpu_ms: float | None = None
    """CPU time of the running thread for the step (not the helpers it calls: LibreOffice, the
    database), for the benchmarks."""


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
        item.state, item.attempts = "running", item.attempts + 1
        item.available_at = now + lease(ws)
        item.claimed_host, item.claimed_pid = socket.gethostname(), os.getpid()
        session.add(item)
        return item


def lease(ws: Workspace) -> timedelta:
    """How long a claim holds before another worker may take the item."""
    return timedelta(seconds=ws.settings.step_lease_seconds)


class _LeaseKeeper:
    """Renews a claimed item's lease every third of it while its step runs, from a thread of
    its own, so a step may outlast the lease; a step shorter than a third never touches the
    database here. Renews only the claim it was given (same attempt, still running)."""

    def __init__(self, ws: Workspace, item: OutboxItem) -> None:
        self._ws, self._item, self._stop = ws, item, threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{item.id}", daemon=True)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        period = lease(self._ws).total_seconds() / 3
        while not self._stop.wait(period):
            try:
                with transaction(self._ws.db) as session:
                    current = session.get(OutboxItem, self._item.id, with_for_update=True)
                    if (
                        current is None
                        or current.state != "running"
                        or current.attempts != self._item.attempts
                    ):
                        return  # finished, or taken over by another worker: nothing to hold
                    current.available_at = clock.now() + lease(self._ws)
                    session.add(current)
            except Exception as exc:  # the database away for a moment: try again next period
                log_unexpected(self._ws.settings.home, exc, step=self._item.step_id)


def execute(ws: Workspace, item: OutboxItem) -> StepRun:
    """Run a claimed item: the step's outside work, then one transaction for its results."""
    assert item.id is not None
    started, cpu = time.perf_counter(), time.thread_time()
    try:
        with _LeaseKeeper(ws, item):
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
    cpu_ms = round((time.thread_time() - cpu) * 1000, 1)
    return StepRun(
        item.id, item.step_id, item.document_id, True, _ms(started), detail, cpu_ms=cpu_ms
    )


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
        retryable, message, code, kind = exc.retryable, str(exc), exc.code, exc.kind
        message_en = exc.english
    else:  # a defect, not a state of the world: its traceback goes to the agency's log
        entry = log_unexpected(
            ws.settings.home, exc, document_id=item.document_id, step=item.step_id
        )
        retryable, code, kind = False, "internal.unexpected", Kind.FAILED
        message = f"lỗi không lường trước ({type(exc).__name__}), xem nhật ký {entry}"
        message_en = f"unexpected error ({type(exc).__name__}), see the log {entry}"
    with transaction(ws.db) as session:
        current = session.get(OutboxItem, item.id, with_for_update=True)
        assert current is not None and item.id is not None
        if current.state == "done":  # a second delivery: the first one completed it
            detail: dict[str, Any] = {"skipped": "đã hoàn thành trước đó"}
            return StepRun(item.id, item.step_id, item.document_id, True, _ms(started), detail)
        give_up = not retryable or current.attempts >= ws.settings.step_max_attempts
        returned_to = None
        if give_up or ws.settings.steps_runner == "inline":  # inline: nobody else retries it
            instance = session.get(WorkflowInstance, current.instance_id)
            assert instance is not None
            returned_to = return_after_failure(session, ws, instance, current.step_id)
        will_retry = not give_up and returned_to is None
        current.state = "returned" if returned_to else "pending" if will_retry else "failed"
        current.last_error = message
        backoff = min(timedelta(seconds=2**current.attempts), MAX_BACKOFF)
        current.available_at = clock.now() + backoff
        current.finished_at = clock.now() if returned_to else None
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
                "will_retry": will_retry,
                "returned_to": returned_to,
            },
        )
    assert item.id is not None
    return StepRun(
        item.id,
        item.step_id,
        item.document_id,
        False,
        _ms(started),
        {},
        message,
        code,
        kind=kind,
        error_en=message_en,
        will_retry=will_retry,
        returned_to=returned_to,
    )


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
    after = ws.plugins.hook("after_steps")
    if after is not None:  # what the steps queued for other agencies goes out now
        after(ws)
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


@dataclass(frozen=True)
class Recovered:
    """An item handed back to the queue by :func:`recover`."""

    item_id: int
    document_id: int
    step: str
    host: str | None
    pid: int | None


ADMIN = "admin"


def recover(
    ws: Workspace, *, force: int | None = None, username: str | None = None
) -> list[Recovered]:
    """Hand back to the queue the running items whose worker died, without waiting for the
    lease: those claimed on this machine by a process that no longer exists. With ``force``,
    that one running item whatever its worker (an administrator's decision, audited with their
    name: a worker on another machine that is gone for good)."""
    here = socket.gethostname()
    with transaction(ws.db) as session:
        if force is not None:
            admin = _administrator(session, username, force)
            item = session.get(OutboxItem, force, with_for_update=True)
            if item is None or item.state != "running":
                raise NotFound(
                    f"không có bước tự động #{force} đang chạy",
                    f"no running automated step #{force}",
                    code="step.not_running",
                    item_id=force,
                )
            return [_hand_back(session, item, admin.username, forced=True)]
        query = select(OutboxItem).where(OutboxItem.state == "running").order_by(col(OutboxItem.id))
        query = query.with_for_update(skip_locked=True) if is_postgres(ws.db) else query
        dead = [
            item
            for item in session.exec(query).all()
            if item.claimed_host == here and item.claimed_pid and not _alive(item.claimed_pid)
        ]
        return [_hand_back(session, item, "system", forced=False) for item in dead]


def release_own(ws: Workspace) -> list[Recovered]:
    """Hand back to the queue the items this process claimed and no longer runs (a worker whose
    flow was cut short, or that is stopping): the next worker takes them without waiting for
    their lease. Only for a process that runs one step at a time, between two steps."""
    here, me = socket.gethostname(), os.getpid()
    with transaction(ws.db) as session:
        query = (
            select(OutboxItem)
            .where(OutboxItem.state == "running")
            .where(OutboxItem.claimed_host == here)
            .where(OutboxItem.claimed_pid == me)
            .order_by(col(OutboxItem.id))
        )
        query = query.with_for_update(skip_locked=True) if is_postgres(ws.db) else query
        mine = session.exec(query).all()
        return [_hand_back(session, item, "system", forced=False) for item in mine]


def _administrator(session: Session, username: str | None, item_id: int) -> User:
    if username is None:
        raise InvalidInput(
            "trả lại bước đang chạy bằng --force cần người thực hiện (--as), là quản trị viên",
            "handing back a running step with --force needs the person acting (--as), an "
            "administrator",
            code="step.recover_needs_user",
            item_id=item_id,
        )
    user = user_named(session, username)
    if user.role != ADMIN:
        raise NotAllowed(
            f"{username} ({user.role}) không được trả lại bước đang chạy: chỉ quản trị viên",
            f"{username} ({user.role}) may not hand back a running step: administrators only",
            code="step.recover_admin_only",
            item_id=item_id,
            user=username,
            role=user.role,
        )
    return user


def _alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (ours, or another user's)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _hand_back(session: Session, item: OutboxItem, actor: str, *, forced: bool) -> Recovered:
    assert item.id is not None
    host, pid = item.claimed_host, item.claimed_pid
    item.state, item.available_at = "pending", clock.now()
    session.add(item)
    audit.append(
        session,
        actor=actor,
        event="step_recovered",
        document_id=item.document_id,
        step=item.step_id,
        detail={"item_id": item.id, "host": host, "pid": pid, "forced": forced},
    )
    return Recovered(item.id, item.document_id, item.step_id, host, pid)
