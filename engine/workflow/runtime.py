"""The workflow runtime: instances move through a definition, one transaction per action.

Human steps become tasks in inboxes; automated steps become outbox items; a parallel step opens
one task per branch and moves on when its join is satisfied. Every move leaves an audit event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, func, select

from engine.core import audit
from engine.core.calendar import add_working_days
from engine.core.definitions import (
    UNIT_INITIATOR,
    Action,
    PersonRule,
    Step,
    StepKind,
    WorkflowDefinition,
)
from engine.core.errors import (
    ConfigError,
    Conflict,
    EngineError,
    InvalidInput,
    NotAllowed,
    NotFound,
)
from engine.core.models import (
    DefinitionVersion,
    Document,
    OutboxItem,
    Task,
    Unit,
    User,
    WorkflowInstance,
)
from engine.core.workspace import Workspace
from engine.workflow.recall import refuse_if_recalled
from vanthu import clock
from vanthu.errors import VanthuError


@dataclass(frozen=True)
class Move:
    """What an action did, for the caller to report."""

    document_id: int
    step: str
    """The step the action was taken at."""
    action: str
    now_at: tuple[str, ...]
    """Steps the instance waits at afterwards (tasks or queued automated steps)."""
    results: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """What the automated steps run right after it produced, by step (a number, a record)."""
    waiting: tuple[str, ...] = ()
    """The titles of the steps in ``now_at``, for people."""
    queued: tuple[str, ...] = ()
    """Titles of automated steps waiting for ``vanthu worker``."""
    failed: tuple[tuple[str, str], ...] = ()
    """Automated steps that failed just now: (title, error)."""


def start_instance(
    session: Session,
    ws: Workspace,
    definition: WorkflowDefinition,
    document: Document,
    initiator: User,
) -> WorkflowInstance:
    assert document.id is not None and initiator.id is not None
    instance = WorkflowInstance(
        definition=definition.name,
        definition_digest=definition.digest,
        document_id=document.id,
        initiator_id=initiator.id,
    )
    session.add(instance)
    session.flush()
    keep_definition(session, definition)
    audit.append(
        session,
        actor=initiator.username,
        event="instance_started",
        document_id=document.id,
        detail={"definition": definition.name, "digest": definition.digest},
    )
    enter_step(session, ws, instance, definition.start, chosen_user_id=None)
    return instance


def keep_definition(session: Session, definition: WorkflowDefinition) -> None:
    """Keep the definition's YAML by its digest (once), so the instances started on it keep
    running on it after the file changes."""
    if session.get(DefinitionVersion, definition.digest) is not None:
        return
    values = {
        "digest": definition.digest,
        "name": definition.name,
        "version": definition.version,
        "source": definition.source,
        "yaml": definition.text,
        "recorded_at": clock.now(),
    }
    # lazy: the dialects' insert helpers cost ~30 ms at start-up; only a new instance needs them
    from sqlalchemy.dialects.postgresql import insert as postgres_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    table = DefinitionVersion.__table__  # type: ignore[attr-defined]
    insert = postgres_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # two instances starting at once on a new version: the second insert changes nothing
    session.execute(insert(table).values(**values).on_conflict_do_nothing())


def enter_step(
    session: Session,
    ws: Workspace,
    instance: WorkflowInstance,
    step_id: str,
    *,
    chosen_user_id: int | None,
) -> None:
    definition = ws.definition_for(instance, session)
    step = definition.step(step_id)
    if step.kind is StepKind.HUMAN:
        session.add(_task_for(session, ws, instance, step, chosen_user_id, parallel_step=None))
    elif step.kind is StepKind.PARALLEL:
        for branch in step.branches:
            branch_step = definition.step(branch)
            session.add(
                _task_for(session, ws, instance, branch_step, chosen_user_id, parallel_step=step.id)
            )
    elif step.kind is StepKind.AUTOMATED:
        assert step.run is not None and instance.id is not None
        visits = session.exec(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.instance_id == instance.id, OutboxItem.step_id == step.id)
        ).one()
        session.add(
            OutboxItem(
                key=f"{instance.id}:{step.id}:{visits + 1}",
                instance_id=instance.id,
                document_id=instance.document_id,
                step_id=step.id,
                run=step.run,
            )
        )
    else:
        instance.status = "done"
        instance.finished_at = clock.now()
        session.add(instance)
    session.flush()
    audit.append(
        session,
        actor="system",
        event="step_entered",
        document_id=instance.document_id,
        step=step_id,
    )


def _task_for(
    session: Session,
    ws: Workspace,
    instance: WorkflowInstance,
    step: Step,
    chosen_user_id: int | None,
    *,
    parallel_step: str | None,
) -> Task:
    assert step.actor is not None and instance.id is not None
    actor = step.actor
    user_id: int | None = None
    if actor.person is PersonRule.INITIATOR:
        user_id = instance.initiator_id
    elif actor.person is PersonRule.CHOSEN:
        if chosen_user_id is None:
            raise EngineError(
                f"bước '{step.title}' cần một người được chọn ở bước trước",
                f"the step '{step.title}' needs a person chosen at the step before",
                code="workflow.chosen_missing",
                document_id=instance.document_id,
                step=step.id,
            )
        user_id = chosen_user_id
    due = None
    if step.deadline_days:
        due = add_working_days(clock.now(), step.deadline_days, ws.holidays)
    return Task(
        instance_id=instance.id,
        step_id=step.id,
        parallel_step=parallel_step,
        role=actor.role.value,
        unit_id=_resolve_unit(session, instance, actor.unit),
        user_id=user_id,
        due_at=due,
    )


def _resolve_unit(session: Session, instance: WorkflowInstance, unit: str | None) -> int | None:
    if unit is None:
        return None
    initiator = session.get(User, instance.initiator_id)
    assert initiator is not None
    if unit == UNIT_INITIATOR:
        return initiator.unit_id
    own_unit = session.get(Unit, initiator.unit_id)
    assert own_unit is not None
    found = session.exec(
        select(Unit).where(Unit.agency_id == own_unit.agency_id, Unit.code == unit)
    ).first()
    if found is None or found.id is None:
        raise ConfigError(
            f"quy trình cần đơn vị '{unit}' nhưng cơ quan chưa có đơn vị này",
            f"the workflow needs the unit '{unit}' but the agency has no such unit",
            code="workflow.unit_missing",
            document_id=instance.document_id,
            unit=unit,
        )
    return found.id


def may_take(task: Task, user: User) -> bool:
    """Whether ``user`` is the task's actor: the named person, or the role (in the unit)."""
    if not user.active:
        return False
    if task.user_id is not None:
        return task.user_id == user.id
    return task.role == user.role and (task.unit_id is None or task.unit_id == user.unit_id)


def open_tasks(session: Session, instance_id: int) -> list[Task]:
    return list(
        session.exec(
            select(Task)
            .where(Task.instance_id == instance_id, Task.state == "open")
            .order_by(col(Task.id))
            .with_for_update()
        ).all()
    )


def instance_of(session: Session, document_id: int) -> WorkflowInstance:
    instance = session.exec(
        select(WorkflowInstance).where(WorkflowInstance.document_id == document_id)
    ).first()
    if instance is None:
        raise NotFound(
            "không có văn bản này",
            "no such document",
            code="document.not_found",
            document_id=document_id,
        )
    return instance


@dataclass(frozen=True)
class Claim:
    """A task the acting user may take, with the definition's step and chosen action."""

    task: Task
    step: Step
    action: Action


def claim_task(session: Session, ws: Workspace, document_id: int, user: User, action: str) -> Claim:
    """Find the open task on which ``user`` may take ``action``, or say precisely why not."""
    refuse_if_recalled(session, document_id)  # frozen by its sender: nobody acts on it
    instance = instance_of(session, document_id)
    assert instance.id is not None
    definition = ws.definition_for(instance, session)
    tasks = open_tasks(session, instance.id)
    if not tasks:
        raise Conflict(
            "văn bản không chờ ai xử lý lúc này (đang ở bước tự động hoặc đã kết thúc)",
            "the document is not waiting for anyone now (it is at an automated step or finished)",
            code="document.not_waiting",
            document_id=document_id,
        )
    mine = [task for task in tasks if may_take(task, user)]
    if not mine:
        waiting = ", ".join(f"'{definition.step(t.step_id).title}' ({t.role})" for t in tasks)
        raise NotAllowed(
            f"{user.username} ({user.role}) không được xử lý văn bản này; đang chờ: {waiting}",
            f"{user.username} ({user.role}) may not handle this document; waiting for: {waiting}",
            code="action.not_allowed",
            document_id=document_id,
            user=user.username,
            role=user.role,
            waiting_at=[t.step_id for t in tasks],
        )
    for task in mine:
        step = definition.step(task.step_id)
        for candidate in step.actions:
            if candidate.name.value == action:
                return Claim(task=task, step=step, action=candidate)
    allowed = sorted({a.name.value for t in mine for a in definition.step(t.step_id).actions})
    title = definition.step(mine[0].step_id).title
    raise InvalidInput(
        f"không thể '{action}' ở bước '{title}'; được phép: {', '.join(allowed)}",
        f"cannot '{action}' at the step '{title}'; allowed: {', '.join(allowed)}",
        code="action.unknown",
        document_id=document_id,
        step=mine[0].step_id,
        action=action,
        allowed=allowed,
    )


def complete_task(
    session: Session,
    ws: Workspace,
    claim: Claim,
    user: User,
    *,
    comment: str | None,
    chosen: User | None,
) -> Move:
    """Record the action on the task and move the instance on, in the caller's transaction."""
    task, step, action = claim.task, claim.step, claim.action
    instance = session.get(WorkflowInstance, task.instance_id)
    assert instance is not None and instance.id is not None
    comment = (comment or "").strip() or None
    if action.comment_required and comment is None:
        raise InvalidInput(
            f"thao tác '{action.name.value}' cần ý kiến (--comment)",
            f"the action '{action.name.value}' needs a comment (--comment)",
            code="action.comment_required",
            document_id=instance.document_id,
            step=step.id,
            action=action.name.value,
        )
    chosen_id = _check_chosen(action, chosen, instance.document_id, step.id)
    task.state, task.action, task.comment = "done", action.name.value, comment
    task.completed_at, task.completed_by, task.chosen_user_id = (
        clock.now(),
        user.id,
        chosen_id,
    )
    session.add(task)
    audit.append(
        session,
        actor=user.username,
        event="action",
        document_id=instance.document_id,
        step=step.id,
        detail={"action": action.name.value, "comment": comment, "chosen": chosen_id},
    )
    if action.report is not None:
        report = ws.plugins.hook("report_status")
        if report is not None:  # the exchange tells the sending agency, in this transaction
            report(session, ws, instance.document_id, action.report, comment, user.username)
    if task.parallel_step is not None:
        _after_branch(session, ws, instance, task.parallel_step)
    else:
        assert action.to is not None
        enter_step(session, ws, instance, action.to, chosen_user_id=chosen_id)
    return Move(instance.document_id, step.id, action.name.value, waiting_at(session, instance.id))


def _check_chosen(action: Action, chosen: User | None, document_id: int, step: str) -> int | None:
    if action.choose is None:
        if chosen is not None:
            raise InvalidInput(
                f"thao tác '{action.name.value}' không chọn người (bỏ --to)",
                f"the action '{action.name.value}' chooses nobody (leave out --to)",
                code="action.choose_unexpected",
                document_id=document_id,
                step=step,
                action=action.name.value,
            )
        return None
    if chosen is None or chosen.role != action.choose.value:
        role = action.choose.value
        raise InvalidInput(
            f"thao tác '{action.name.value}' cần chọn một người có vai trò {role} (--to USERNAME)",
            f"the action '{action.name.value}' needs a person of the role {role} (--to USERNAME)",
            code="action.choose_required",
            document_id=document_id,
            step=step,
            action=action.name.value,
            role=role,
        )
    return chosen.id


def _after_branch(
    session: Session, ws: Workspace, instance: WorkflowInstance, parallel: str
) -> None:
    assert instance.id is not None
    step = ws.definition_for(instance, session).step(parallel)
    siblings = [t for t in open_tasks(session, instance.id) if t.parallel_step == parallel]
    if siblings and step.join == "all":
        return
    for sibling in siblings:  # join "any": the first answer is enough
        sibling.state = "cancelled"
        session.add(sibling)
    audit.append(
        session, actor="system", event="joined", document_id=instance.document_id, step=parallel
    )
    assert step.next is not None
    enter_step(session, ws, instance, step.next, chosen_user_id=None)


def advance_after_automated(
    session: Session, ws: Workspace, instance: WorkflowInstance, step_id: str
) -> None:
    step = ws.definition_for(instance, session).step(step_id)
    if step.next is None:
        raise EngineError(
            "bước tự động không có bước tiếp theo",
            "the automated step has no next step",
            code="workflow.next_missing",
            document_id=instance.document_id,
            step=step_id,
        )
    enter_step(session, ws, instance, step.next, chosen_user_id=None)


def waiting_at(session: Session, instance_id: int) -> tuple[str, ...]:
    """Where the instance is: open tasks, queued automated steps, and failed ones (a failed step
    is where the document stopped, until it is retried)."""
    tasks = session.exec(
        select(Task.step_id).where(Task.instance_id == instance_id, Task.state == "open")
    ).all()
    items = session.exec(
        select(OutboxItem.step_id).where(
            OutboxItem.instance_id == instance_id,
            col(OutboxItem.state).in_(["pending", "running", "failed"]),
        )
    ).all()
    return tuple(sorted({*tasks, *items}))


def return_after_failure(
    session: Session, ws: Workspace, instance: WorkflowInstance, step_id: str
) -> str | None:
    """When the automated step ``step_id`` has an ``on_failure`` step, enter it (a person takes
    the document back) and return its id; None when the definition says nothing, or cannot be
    read (the failure is still recorded: the item stays failed, for an administrator)."""
    try:
        step = ws.definition_for(instance, session).step(step_id)
    except (VanthuError, LookupError):
        return None
    if step.on_failure is None:
        return None
    enter_step(session, ws, instance, step.on_failure, chosen_user_id=None)
    return step.on_failure
