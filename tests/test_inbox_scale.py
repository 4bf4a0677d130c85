"""The inbox at scale: one statement for a page of 10 000 open tasks, answered by the open-task
indexes; each line says who sent it, from which unit, how urgent, and whether it is overdue."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from active_pdfs import plain_pdf
from sqlalchemy import event, insert
from sqlmodel import Session, select

from engine.core.errors import InvalidInput
from engine.core.models import Document, Task, Unit, User, WorkflowInstance
from engine.core.workspace import Workspace
from engine.incoming import IncomingRequest, receive_incoming
from engine.outgoing import DraftRequest, create_outgoing
from engine.workflow import Upload, act, inbox
from engine.workflow.inbox import inbox_counts, inbox_page
from engine.workflow.runtime import may_take
from tests_support import DECISION, refused
from vanthu import clock as vanthu_clock
from vanthu.clock import ManualClock

ROLES = ("specialist", "head", "leader", "clerk", "archivist")


def _people(ws: Workspace) -> dict[str, User]:
    with Session(ws.db) as session:
        return {u.username: u for u in session.exec(select(User)).all()}


def _seed(ws: Workspace, open_for_clerks: int, *, mixed: int = 0, seed: int = 7) -> None:
    """``open_for_clerks`` documents waiting at the clerk's step, each after two done tasks;
    and ``mixed`` more whose open task is for a random person, or role in a random unit.
    Rows go in with one executemany each: 10 000 documents through the workflow would take
    minutes and test nothing more here."""
    chance = random.Random(seed)
    people = _people(ws)
    with Session(ws.db) as session:
        units = [u.id for u in session.exec(select(Unit)).all()]
    digest = ws.definition("outgoing").digest
    author, head = people["chuyenvien"], people["truongphong"]
    now = vanthu_clock.now()
    documents, instances, tasks = [], [], []
    for n in range(1, open_for_clerks + mixed + 1):
        documents.append(
            {
                "id": n,
                "agency_id": 1,
                "direction": "outgoing",
                "doc_type": "Quyết định",
                "subject": f"Về việc thử nghiệm số {n}",
                "unit_id": author.unit_id,
                "author_id": author.id,
                "recipients": "",
                "urgency": "Hỏa tốc" if n % 97 == 0 else None,
                "created_at": now,
            }
        )
        instances.append(
            {
                "id": n,
                "definition": "outgoing",
                "definition_digest": digest,
                "document_id": n,
                "initiator_id": author.id,
                "status": "active",
                "started_at": now,
            }
        )
        for back in (3, 2):
            tasks.append(_task(n, "review", "head", author.unit_id, None, "done", now, back))
            tasks[-1].update(completed_by=head.id, action="approve")
        if n <= open_for_clerks:
            task = _task(n, "issue", "clerk", None, None, "open", now, 1)
        else:
            person = chance.choice([None, chance.choice(list(people.values())).id])
            unit = chance.choice([None, *units]) if person is None else None
            task = _task(n, "review", chance.choice(ROLES), unit, person, "open", now, 1)
        task["due_at"] = now + timedelta(days=(n % 20) - 5, minutes=n % 60)
        tasks.append(task)
    with ws.db.begin() as connection:
        for table, rows in ((Document, documents), (WorkflowInstance, instances), (Task, tasks)):
            connection.execute(insert(table.__table__), rows)  # type: ignore[attr-defined]
        if ws.db.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE task")


def _task(
    instance: int,
    step: str,
    role: str,
    unit: int | None,
    user: int | None,
    state: str,
    now: Any,
    days_ago: int,
) -> dict[str, Any]:
    return {
        "instance_id": instance,
        "step_id": step,
        "role": role,
        "unit_id": unit,
        "user_id": user,
        "state": state,
        "due_at": None,
        "created_at": now - timedelta(days=days_ago),
        "completed_at": now - timedelta(days=days_ago - 1) if state == "done" else None,
        "completed_by": None,
        "action": None,
    }


@contextmanager
def _statements(ws: Workspace) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(statement)

    event.listen(ws.db, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(ws.db, "before_cursor_execute", record)


def _plan(ws: Workspace, statement: str, parameters: Any) -> str:
    prefix = "EXPLAIN QUERY PLAN " if ws.db.dialect.name == "sqlite" else "EXPLAIN "
    with ws.db.connect() as connection:
        rows = connection.exec_driver_sql(prefix + statement, parameters).all()
    return "\n".join(str(row[-1]) for row in rows)


def test_a_page_of_ten_thousand_open_tasks_is_one_statement_on_the_open_task_indexes(
    agency: Workspace,
) -> None:
    _seed(agency, 10_000)
    captured: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM task" in statement:
            captured.append((statement, parameters))

    with _statements(agency) as seen:
        event.listen(agency.db, "before_cursor_execute", keep)
        try:
            page = inbox_page(agency, "vanthu", limit=50)
        finally:
            event.remove(agency.db, "before_cursor_execute", keep)
    assert page.total == 10_000 and len(page.entries) == 50
    assert len(seen) == 2  # the person, then the page with its totals
    [(statement, parameters)] = captured
    plan = _plan(agency, statement, parameters)
    assert "ix_task_open_person" in plan and "ix_task_open_role" in plan, plan
    assert "ix_task_state" not in plan, plan  # never every open task of everyone
    # the first page: earliest deadline first, the overdue ones at the top
    due = [e.due_at for e in page.entries]
    assert due == sorted(due)  # type: ignore[type-var]
    assert page.entries[0].overdue and page.overdue == sum(
        1 for e in inbox(agency, "vanthu") if e.overdue
    )


def test_the_inbox_holds_exactly_the_tasks_the_person_may_take(agency: Workspace) -> None:
    _seed(agency, 40, mixed=400)
    people = _people(agency)
    with Session(agency.db) as session:
        open_tasks = session.exec(select(Task).where(Task.state == "open")).all()
    for username, user in people.items():
        expected = {t.id for t in open_tasks if may_take(t, user)}
        seen: list[int] = []
        offset = 0
        while True:
            page = inbox_page(agency, username, limit=37, offset=offset)
            seen += [e.task_id for e in page.entries]
            assert page.total == len(expected), username
            if not page.entries:
                break
            offset += 37
        assert sorted(seen) == sorted(expected), username  # every one, once, across the pages
        assert {e.task_id for e in inbox(agency, username)} == expected
    with refused("inbox.limit_invalid", InvalidInput, limit=0):
        inbox_page(agency, "vanthu", limit=0)
    with refused("inbox.offset_invalid", InvalidInput, offset=-1):
        inbox_page(agency, "vanthu", offset=-1)


def test_each_line_says_who_sent_it_from_which_unit_how_urgent_and_when_it_is_late(
    make_agency: Callable[..., Workspace], clock: ManualClock
) -> None:
    ws = make_agency()
    urgent = DraftRequest(**{**DECISION.__dict__, "urgency": "Hỏa tốc"})
    doc = create_outgoing(ws, "chuyenvien", urgent)
    [draft] = inbox(ws, "chuyenvien")
    assert draft.sender == "Trần Thị Bình"  # nobody sent it: its author's own draft
    act(ws, doc, "chuyenvien", "submit")
    [review] = inbox(ws, "truongphong")
    assert (review.document_id, review.sender, review.unit) == (
        doc,
        "Trần Thị Bình",
        "Phòng Tổ chức, biên chế",
    )
    assert review.urgency == "Hỏa tốc" and review.step_id == "review"
    assert not review.overdue and inbox_counts(ws, "truongphong") == (1, 0)
    clock.advance(days=10)  # two working days at most, whatever the holidays
    [late] = inbox(ws, "truongphong")
    assert late.overdue and inbox_counts(ws, "truongphong") == (1, 1)
    act(ws, doc, "truongphong", "return", comment="Bổ sung căn cứ")
    [back] = inbox(ws, "chuyenvien")
    assert back.sender == "Lê Thị Cúc" and not back.overdue  # the head sent it back, just now

    received = receive_incoming(
        ws,
        "vanthu",
        Upload("cong-van.pdf", plain_pdf()),
        IncomingRequest("ỦY BAN NHÂN DÂN HUYỆN MẪU", "15/UBND-VP", "Công văn", "Về việc báo cáo"),
    )
    [register] = [e for e in inbox(ws, "vanthu") if e.document_id == received]
    assert register.sender == "ỦY BAN NHÂN DÂN HUYỆN MẪU" and register.symbol == "15/UBND-VP"
    assert register.direction == "incoming" and register.unit == "Văn phòng Sở"
