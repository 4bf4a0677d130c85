"""Deadline reminders: each person's morning digest (tasks due today and overdue), a warning a
few hours before a task is due, and an escalation to the unit's head when it is overdue (once
per task per day).

Each reminder is a row of ``reminder`` under a unique key before it is sent, so a run that
repeats (the schedule fires again, two servers) sends nothing twice; one that failed to send is
tried again on the next run. It goes by e-mail when the agency has a mail server
(``smtp_host``) and the person an address, and is shown in the person's inbox either way.
``now`` is a parameter: the schedules pass the clock's, tests a moment of their choosing.
"""

from __future__ import annotations

import os
import re
import smtplib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.calendar import is_working_day
from engine.core.config import Settings
from engine.core.db import transaction
from engine.core.errors import InvalidInput
from engine.core.models import Document, Reminder, Task, Unit, User, WorkflowInstance
from engine.core.text import VIETNAM
from engine.core.users import admin_in, user_named
from engine.core.workspace import Workspace
from engine.workflow.runtime import may_take

KINDS = ("digest", "warning", "escalation")

RECENT = timedelta(days=1)
"""The inbox shows the reminders of the last day."""


@dataclass(frozen=True)
class Sent:
    """One reminder of a run."""

    kind: str
    username: str
    subject: str
    state: str
    """sent | failed | no_email"""


@dataclass(frozen=True)
class _Open:
    task: Task
    document_id: int
    doc_type: str
    subject: str


def send_reminders(ws: Workspace, now: datetime, kinds: tuple[str, ...] = KINDS) -> list[Sent]:
    """Everything due at ``now``: the digest (on working days), warnings, escalations."""
    sent: list[Sent] = []
    if "digest" in kinds:
        sent += morning_digest(ws, now)
    if "warning" in kinds:
        sent += warnings(ws, now)
    if "escalation" in kinds:
        sent += escalations(ws, now)
    return sent


def morning_digest(ws: Workspace, now: datetime) -> list[Sent]:
    """To each person with tasks due today or overdue, one digest a (working) day."""
    today = now.astimezone(VIETNAM).date()
    if not is_working_day(today, ws.holidays):
        return []
    end_of_today = datetime.combine(today + timedelta(days=1), datetime.min.time(), VIETNAM)
    tasks = _open_tasks(ws, due_before=end_of_today)
    users = _active_users(ws)
    per_user: dict[int, list[_Open]] = defaultdict(list)
    for user in users:
        for item in tasks:
            if may_take(item.task, user):
                per_user[user.id or 0].append(item)
    sent = []
    for user in users:
        mine = per_user.get(user.id or 0)
        if not mine:
            continue
        late = [i for i in mine if i.task.due_at is not None and i.task.due_at < now]
        lines = [f"Kính gửi {user.title} {user.full_name},", ""]
        lines.append(
            f"Ngày {today:%d/%m/%Y}, đồng chí có {len(mine)} việc đến hạn hoặc quá hạn "
            f"({len(late)} việc đã quá hạn):"
        )
        lines += [_line(i, now) for i in mine]
        lines += ["", "Xem và xử lý trong Hộp việc của Vanthu."]
        subject = f"[Vanthu] Việc đến hạn ngày {today:%d/%m/%Y}: {len(mine)} việc"
        sent += _record_and_send(
            ws, f"digest:{user.id}:{today}", "digest", user, None, subject, lines, now
        )
    return sent


def warnings(ws: Workspace, now: datetime) -> list[Sent]:
    """To the person (or everyone of the role) a task waits for, once, in the last
    ``reminder_warn_hours`` before it is due."""
    soon = now + timedelta(hours=ws.settings.reminder_warn_hours)
    tasks = [i for i in _open_tasks(ws, due_before=soon) if i.task.due_at and i.task.due_at > now]
    users = _active_users(ws)
    sent = []
    for item in tasks:
        assert item.task.due_at is not None
        due = item.task.due_at.astimezone(VIETNAM)
        for user in _takers(users, item.task):
            subject = f"[Vanthu] Sắp đến hạn: {item.doc_type} #{item.document_id}"
            lines = [
                f"Kính gửi {user.title} {user.full_name},",
                "",
                f"Việc sau sẽ hết hạn lúc {due:%H:%M ngày %d/%m/%Y}:",
                _line(item, now),
            ]
            key = f"warning:{item.task.id}:{user.id}"
            sent += _record_and_send(ws, key, "warning", user, item.task, subject, lines, now)
    return sent


def escalations(ws: Workspace, now: datetime) -> list[Sent]:
    """To the head of the unit of the person an overdue task waits for (the leaders when that
    person is the head), once per task per day."""
    today = now.astimezone(VIETNAM).date()
    users = _active_users(ws)
    sent = []
    for item in _open_tasks(ws, due_before=now):
        waiting = _takers(users, item.task)
        takers = ", ".join(u.full_name for u in waiting) or item.task.role
        for head in _heads_for(ws, item.task, waiting):
            subject = f"[Vanthu] Quá hạn: {item.doc_type} #{item.document_id} ({takers})"
            lines = [
                f"Kính gửi {head.title} {head.full_name},",
                "",
                f"Việc sau đã quá hạn, đang chờ {takers}:",
                _line(item, now),
                "",
                "Đồng chí đôn đốc xử lý hoặc gia hạn (có lý do) nếu cần.",
            ]
            key = f"escalation:{item.task.id}:{head.id}:{today}"
            sent += _record_and_send(ws, key, "escalation", head, item.task, subject, lines, now)
    return sent


def recent_reminders(ws: Workspace, username: str, now: datetime) -> list[Reminder]:
    """The person's reminders of the last day, newest first: the inbox's banner."""
    with Session(ws.db) as session:
        user = user_named(session, username)
        return list(
            session.exec(
                select(Reminder)
                .where(Reminder.user_id == user.id, col(Reminder.created_at) > now - RECENT)
                .order_by(col(Reminder.created_at).desc(), col(Reminder.id).desc())
                .limit(5)
            ).all()
        )


# --- who and what ------------------------------------------------------------------------------


def _open_tasks(ws: Workspace, *, due_before: datetime) -> list[_Open]:
    with Session(ws.db) as session:
        rows = session.exec(
            select(Task, Document)
            .join(WorkflowInstance, col(WorkflowInstance.id) == Task.instance_id)
            .join(Document, col(Document.id) == WorkflowInstance.document_id)
            .where(
                Task.state == "open",
                col(Task.due_at).is_not(None),
                col(Task.due_at) < due_before,
            )
            .order_by(col(Task.due_at), col(Task.id))
        ).all()
    return [_Open(task, doc.id or 0, doc.doc_type, doc.subject) for task, doc in rows]


def _active_users(ws: Workspace) -> list[User]:
    """Everyone who may be reminded, read once per run."""
    with Session(ws.db) as session:
        return list(session.exec(select(User).where(col(User.active)).order_by(col(User.id))))


def _takers(users: list[User], task: Task) -> list[User]:
    return [user for user in users if may_take(task, user)]


def _heads_for(ws: Workspace, task: Task, takers: list[User]) -> list[User]:
    unit_id = takers[0].unit_id if task.user_id is not None and takers else task.unit_id
    taker_ids = {u.id for u in takers}
    with Session(ws.db) as session:
        heads: list[User] = []
        if unit_id is not None:
            heads = [
                u
                for u in session.exec(
                    select(User).where(
                        col(User.active), User.role == "head", User.unit_id == unit_id
                    )
                ).all()
                if u.id not in taker_ids
            ]
        if heads:
            return heads
        unit = session.get(Unit, unit_id) if unit_id is not None else None
        leaders = select(User).where(col(User.active), User.role == "leader")
        if unit is not None:
            leaders = leaders.join(Unit, col(Unit.id) == User.unit_id).where(
                Unit.agency_id == unit.agency_id
            )
        return [
            u for u in session.exec(leaders.order_by(col(User.id))).all() if u.id not in taker_ids
        ]


def _line(item: _Open, now: datetime) -> str:
    assert item.task.due_at is not None
    due = item.task.due_at.astimezone(VIETNAM)
    late = " — QUÁ HẠN" if item.task.due_at < now else ""
    return (
        f"  • #{item.document_id} {item.doc_type}: {item.subject} (hạn {due:%H:%M %d/%m/%Y}){late}"
    )


# --- recording and sending ---------------------------------------------------------------------


def _record_and_send(
    ws: Workspace,
    key: str,
    kind: str,
    user: User,
    task: Task | None,
    subject: str,
    lines: list[str],
    now: datetime,
) -> list[Sent]:
    """Claim ``key`` (a row), send, record the outcome. Nothing when already sent."""
    body = "\n".join(lines) + "\n"
    with Session(ws.db) as session:
        existing = session.exec(select(Reminder).where(Reminder.key == key)).first()
    if existing is not None and existing.state != "failed":
        return []
    if existing is None:
        try:
            with transaction(ws.db) as session:
                row = Reminder(
                    key=key,
                    kind=kind,
                    user_id=user.id or 0,
                    task_id=task.id if task else None,
                    subject=subject,
                    body=body,
                    created_at=now,
                )
                session.add(row)
        except IntegrityError:  # another run claimed it first
            return []
    state, error = "no_email", None
    if ws.settings.smtp_host and user.email:
        try:
            send_mail(ws.settings, user, subject, body)
            state = "sent"
        except (OSError, smtplib.SMTPException) as exc:
            state, error = "failed", f"{type(exc).__name__}: {exc}"
    with transaction(ws.db) as session:
        row = session.exec(select(Reminder).where(Reminder.key == key)).one()
        row.state, row.error = state, error
        row.sent_at = now if state == "sent" else None
        session.add(row)
    return [Sent(kind, user.username, subject, state)]


def send_mail(settings: Settings, user: User, subject: str, body: str) -> None:
    """One plain-text UTF-8 message through the agency's mail server (STARTTLS and login when
    configured; VANTHU_SMTP_USER / VANTHU_SMTP_PASSWORD from the environment)."""
    message = EmailMessage()
    message["Subject"] = subject  # encoded (RFC 2047) by the policy: UTF-8 with diacritics
    message["From"] = settings.smtp_from
    message["To"] = formataddr((user.full_name, user.email or ""))
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="vanthu")
    message.set_content(body, charset="utf-8")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        login = os.environ.get("VANTHU_SMTP_USER")
        if login:
            smtp.login(login, os.environ.get("VANTHU_SMTP_PASSWORD", ""))
        smtp.send_message(message)


def set_email(ws: Workspace, actor: str, username: str, email: str) -> str:
    """Set where ``username``'s reminders go (themselves, or an administrator); empty clears.
    Audited."""
    address = email.strip()
    if address and not _EMAIL.fullmatch(address):
        raise InvalidInput(
            f"địa chỉ thư điện tử không hợp lệ: '{address}'",
            f"not a valid e-mail address: '{address}'",
            code="user.email_invalid",
            field="email",
        )
    with transaction(ws.db) as session:
        if actor != username:
            admin_in(session, actor, "đặt địa chỉ thư của người khác", "set another's e-mail")
        user = user_named(session, username)
        user.email = address or None
        session.add(user)
        audit.append(
            session,
            actor=actor,
            event="user_email_set",
            detail={"user": username, "email": address},
        )
    return address


_EMAIL = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]+")
