"""What a person may do on a document now: the actions of the open tasks they may take, as the
workflow definition names them (the document page offers these and no others)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.definitions import WorkflowDefinition
from engine.core.models import DocumentFile, SignRequest, Task, User
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.workflow.documents import READ_REFUSED, may_read, read_refused
from engine.workflow.files import find_document
from engine.workflow.runtime import instance_of, may_take


@dataclass(frozen=True)
class Offer:
    """One action the person may take."""

    action: str
    """submit, approve, return, consult, sign, issue, …"""
    step: str
    """The step's title."""
    comment_required: bool
    choose_role: str | None
    """The action names a person of this role for the next step."""
    candidates: tuple[tuple[str, str], ...]
    """(username, full name) of the people who may be chosen."""
    leads_to: tuple[str, ...] = ()
    """Titles of the steps the action opens (a consultation's parallel branches, each)."""


@dataclass(frozen=True)
class Offers:
    actions: tuple[Offer, ...]
    waiting_on_token: bool
    """A signature of the person's task is out on their token (``vanthu sign-agent``)."""


def offers(ws: Workspace, document_id: int, username: str) -> Offers:
    """The actions ``username`` may take on the document now (none when it waits for others)."""
    with Session(ws.db) as session:
        user = user_named(session, username)
        instance = instance_of(session, document_id)
        definition = ws.definition_for(instance, session)
        tasks = session.exec(
            select(Task)
            .where(Task.instance_id == instance.id, Task.state == "open")
            .order_by(col(Task.id))
        ).all()
        found: dict[str, Offer] = {}
        for task in (t for t in tasks if may_take(t, user)):
            step = definition.step(task.step_id)
            for action in step.actions:
                role = action.choose.value if action.choose else None
                found.setdefault(
                    action.name.value,
                    Offer(
                        action=action.name.value,
                        step=step.title,
                        comment_required=action.comment_required,
                        choose_role=role,
                        candidates=_people(session, role) if role else (),
                        leads_to=_leads_to(definition, action.to),
                    ),
                )
        mine = [t.id for t in tasks if may_take(t, user)]
        waiting = bool(mine) and (
            session.exec(
                select(SignRequest.id).where(
                    col(SignRequest.task_id).in_(mine), SignRequest.state == "waiting"
                )
            ).first()
            is not None
        )
    return Offers(tuple(found.values()), waiting)


def _leads_to(definition: WorkflowDefinition, to: str | None) -> tuple[str, ...]:
    if to is None:
        return ()
    step = definition.step(to)
    return tuple(definition.step(b).title for b in step.branches) or (step.title,)


def _people(session: Session, role: str) -> tuple[tuple[str, str], ...]:
    people = session.exec(
        select(User).where(User.role == role, User.active == True).order_by(col(User.full_name))  # noqa: E712
    ).all()
    return tuple((p.username, p.full_name) for p in people)


def state_token(ws: Workspace, document_id: int, username: str) -> str:
    """A short text that changes whenever the document moves: its status, its open tasks, its
    waiting signatures, its files. For pages that poll; only for who may read the document
    (a refusal is audited, a poll is not)."""
    with transaction(ws.db) as session:
        user = user_named(session, username)
        decision = may_read(session, user, find_document(session, document_id))
        if not decision.allowed:
            audit.append(
                session,
                actor=username,
                event=READ_REFUSED,
                document_id=document_id,
                detail={"what": "state", "reason": decision.reason, "role": user.role},
            )
    if not decision.allowed:
        raise read_refused(username, user.role, document_id, restricted=decision.restricted)
    with Session(ws.db) as session:
        instance = instance_of(session, document_id)
        tasks = session.exec(
            select(Task.id).where(Task.instance_id == instance.id, Task.state == "open")
        ).all()
        requests = session.exec(
            select(SignRequest.id, SignRequest.state).where(SignRequest.document_id == document_id)
        ).all()
        files = session.exec(
            select(func.count()).where(col(DocumentFile.document_id) == document_id)
        ).one()
    seen = f"{instance.status}|{sorted(t or 0 for t in tasks)}|{sorted(map(str, requests))}|{files}"
    return hashlib.sha256(seen.encode("utf-8")).hexdigest()[:16]
