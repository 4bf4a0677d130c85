"""`vanthu worker` runs the queued automated steps through a Prefect flow."""

from __future__ import annotations

from sqlmodel import Session, select

from engine.automation.worker import run_worker
from engine.core.models import OutboxItem
from engine.outgoing import create_outgoing
from engine.workflow import act
from tests_support import DECISION, open_task_steps


def test_the_prefect_worker_drains_the_outbox(make_agency) -> None:  # type: ignore[no-untyped-def]
    ws = make_agency(steps_runner="worker")
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    runs = run_worker(ws, once=True, poll_seconds=0.1)
    assert [(r["step"], r["ok"]) for r in runs] == [("convert", True)]
    with Session(ws.db) as session:
        assert {i.state for i in session.exec(select(OutboxItem))} == {"done"}
    assert open_task_steps(ws, doc) == ["sign"]
