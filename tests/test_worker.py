"""`vanthu worker` runs the queued automated steps through a Prefect flow."""

from __future__ import annotations

from sqlmodel import Session, select

from engine import documents
from engine.flows import run_worker
from engine.models import OutboxItem
from tests_support import DECISION, open_task_steps


def test_the_prefect_worker_drains_the_outbox(make_agency) -> None:  # type: ignore[no-untyped-def]
    ws = make_agency(steps_runner="worker")
    doc = documents.create_outgoing(ws, "chuyenvien", DECISION)
    documents.act(ws, doc, "chuyenvien", "submit")
    documents.act(ws, doc, "truongphong", "approve")
    runs = run_worker(ws.settings, once=True, poll_seconds=0.1)
    assert [(r["step"], r["ok"]) for r in runs] == [("convert", True)]
    with Session(ws.db) as session:
        assert {i.state for i in session.exec(select(OutboxItem))} == {"done"}
    assert open_task_steps(ws, doc) == ["sign"]
