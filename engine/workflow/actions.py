"""Acting on a document: the person's action checked, recorded and the instance moved on.

An ordinary action is one transaction. An action that needs outside work first (the leader's
signature: keys, a timestamp, the store) is handled by what the journey plugged in for it
(``ws.plugins.action``), which does that work before its own recording transaction. With the
inline runner the automated steps the action queued run right after it.
"""

from __future__ import annotations

import dataclasses

from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.definitions import WorkflowDefinition
from engine.core.errors import EngineError
from engine.core.models import OutboxItem, SignRequest, Task, User
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.workflow import outbox
from engine.workflow.outbox import StepRun
from engine.workflow.runtime import Move, claim_task, complete_task, instance_of, waiting_at
from vanthu import clock
from vanthu.errors import Kind


def act(
    ws: Workspace,
    document_id: int,
    username: str,
    action: str,
    *,
    comment: str | None = None,
    choose: str | None = None,
    pin: str | None = None,
) -> Move:
    """Take ``action`` on the document as ``username``; ``pin`` is the signer's own PIN, which
    the ``sign`` action needs for a server-held key (other actions never read it)."""
    handler = ws.plugins.action(action)
    if handler is not None:
        move: Move = handler(ws, document_id, username, comment=comment, pin=pin)
        return after_action(ws, move)
    with transaction(ws.db) as session:
        user = user_named(session, username)
        claim = claim_task(session, ws, document_id, user, action)
        cancel_waiting(session, claim.task, user, f"có thao tác '{action}' mới")
        chosen = user_named(session, choose) if choose else None
        move = complete_task(session, ws, claim, user, comment=comment, chosen=chosen)
    return after_action(ws, move)


def after_action(ws: Workspace, move: Move) -> Move:
    """Run the steps the action queued (inline runner) and say where the document is now: at
    its open tasks, its queued steps and its failed ones (never "finished" with a failed step
    behind it). A step that failed and handed the document back to a person (its definition's
    ``on_failure``) is an error for the person acting: what they asked for did not happen."""
    runs = []
    if ws.settings.steps_runner == "inline":
        with audit.channel("system"):  # automated work in process, whichever face asked
            runs = outbox.run_pending(ws)
    with Session(ws.db) as session:
        instance = instance_of(session, move.document_id)
        assert instance.id is not None
        now_at = waiting_at(session, instance.id)
        queued = session.exec(
            select(OutboxItem.step_id).where(
                OutboxItem.instance_id == instance.id,
                col(OutboxItem.state).in_(["pending", "running"]),
            )
        ).all()
        definition = ws.definition_for(instance, session)
    mine = [run for run in runs if run.document_id == move.document_id]
    for run in mine:
        if run.returned_to is not None:
            raise _handed_back(run, definition, move.document_id)
    return dataclasses.replace(
        move,
        now_at=now_at,
        waiting=tuple(definition.step(s).title for s in now_at),
        queued=tuple(definition.step(s).title for s in queued),
        results={run.step: run.detail for run in mine if run.ok},
        failed=tuple((definition.step(r.step).title, r.error or "") for r in mine if not r.ok),
    )


def _handed_back(run: StepRun, definition: WorkflowDefinition, document_id: int) -> EngineError:
    title, back = definition.step(run.step).title, definition.step(run.returned_to or "").title
    kind = run.kind or Kind.FAILED
    return EngineError(
        f"bước '{title}' không thành công: {run.error}; văn bản trở lại bước '{back}' để làm lại",
        f"the step '{title}' failed: {run.error_en}; the document is back at the step '{back}' to "
        "be done again",
        code="step.returned",
        kind=kind,
        retryable=kind is Kind.UNAVAILABLE,
        document_id=document_id,
        step=run.step,
        returned_to=run.returned_to,
        cause=run.code,
    )


def cancel_waiting(session: Session, task: Task, user: User, reason: str) -> None:
    """Cancel the signature requests still waiting on ``task``: the leader acted otherwise
    (returned it, or asks to sign again)."""
    for request in session.exec(
        select(SignRequest).where(SignRequest.task_id == task.id, SignRequest.state == "waiting")
    ).all():
        end_sign_request(session, request, "cancelled", user.username, reason)


def end_sign_request(
    session: Session, request: SignRequest, state: str, actor: str, reason: str
) -> None:
    """A signature request that will not complete: ``cancelled`` or ``failed``, audited."""
    request.state, request.finished_at, request.error = state, clock.now(), reason
    session.add(request)
    audit.append(
        session,
        actor=actor,
        event=f"sign_request_{state}",
        document_id=request.document_id,
        detail={"request_id": request.id, "reason": reason},
    )
