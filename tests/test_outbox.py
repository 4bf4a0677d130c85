"""Automated steps: queued with the action, retried after a failure, never done twice."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from engine.core import audit
from engine.core.models import Document, OutboxItem, RegisterCounter
from engine.core.workspace import Plugins, Workspace
from engine.outgoing import create_outgoing
from engine.workflow import act, outbox
from tests_support import DECISION, open_task_steps


def _at_issue(ws: Workspace) -> int:
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    outbox.run_pending(ws)
    act(ws, doc, "phogiamdoc", "sign")
    return doc


def _items(ws: Workspace) -> dict[str, OutboxItem]:
    with Session(ws.db) as session:
        return {i.step_id: i for i in session.exec(select(OutboxItem)).all()}


def test_steps_wait_in_the_outbox_until_a_runner_takes_them(
    make_agency: Callable[..., Workspace],
    database_url: str,
) -> None:
    ws = make_agency(database_url, steps_runner="worker")
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    assert _items(ws)["convert"].state == "pending"
    assert open_task_steps(ws, doc) == []
    runs = outbox.run_pending(ws)
    assert [(r.step, r.ok) for r in runs] == [("convert", True)]
    assert open_task_steps(ws, doc) == ["sign"]


def test_a_failed_seal_is_retried_after_the_fix_and_numbers_once(
    make_agency: Callable[..., Workspace],
    demo_keys: Path,
    tmp_path: Path,
) -> None:
    pki = tmp_path / "pki"
    shutil.copytree(demo_keys, pki)
    passphrase = pki / "passphrase.txt"
    ws = make_agency(steps_runner="worker", pki_dir=pki)
    doc = _at_issue(ws)
    real = passphrase.read_bytes()
    passphrase.write_bytes(b"wrong passphrase")  # an administrator's mistake
    ws.caches.clear()
    act(ws, doc, "vanthu", "issue")
    runs = outbox.run_pending(ws)
    assert [(r.step, r.ok, r.code) for r in runs] == [
        ("number", True, None),
        ("seal", False, "signing.key.wrong_passphrase"),
    ]
    assert _items(ws)["seal"].state == "failed"  # a wrong key is not worth retrying by itself
    assert _items(ws)["seal"].last_error == runs[1].error  # the clerk reads why
    [failed] = [json.loads(e.detail) for e in audit.events(ws.db) if e.event == "step_failed"]
    assert failed["code"] == "signing.key.wrong_passphrase" and failed["will_retry"] is False
    passphrase.write_bytes(real)
    ws.caches.clear()
    outbox.retry_failed(ws, _items(ws)["seal"].id or 0)
    runs = outbox.run_pending(ws)
    assert [(r.step, r.ok) for r in runs] == [("seal", True), ("archive", True)]
    with Session(ws.db) as session:
        assert session.get(Document, doc).symbol == "01/QĐ-SNV"  # type: ignore[union-attr]
        assert session.exec(select(RegisterCounter)).one().last_number == 1


def test_a_worker_that_died_mid_step_is_replaced_after_its_lease(
    make_agency: Callable[..., Workspace],
    database_url: str,
) -> None:
    ws = make_agency(database_url, steps_runner="worker")
    doc = _at_issue(ws)
    act(ws, doc, "vanthu", "issue")
    claimed = outbox.claim(ws)  # this worker now "dies" without finishing
    assert claimed is not None and claimed.step_id == "number"
    assert outbox.run_pending(ws) == []  # the lease still holds
    later = datetime.now(UTC) + outbox.LEASE + timedelta(seconds=1)
    again = outbox.claim(ws, now=later)
    assert again is not None and again.id == claimed.id and again.attempts == 2
    assert outbox.execute(ws, again).ok
    outbox.run_pending(ws)
    with Session(ws.db) as session:
        assert session.get(Document, doc).symbol == "01/QĐ-SNV"  # type: ignore[union-attr]
        assert session.exec(select(RegisterCounter)).one().last_number == 1
    assert {s: i.state for s, i in _items(ws).items()} == {
        "convert": "done",
        "number": "done",
        "seal": "done",
        "archive": "done",
    }


def test_running_a_finished_item_again_changes_nothing(
    make_agency: Callable[..., Workspace],
) -> None:
    ws = make_agency(steps_runner="worker")
    doc = _at_issue(ws)
    act(ws, doc, "vanthu", "issue")
    outbox.run_pending(ws)
    number_item = _items(ws)["number"]
    run = outbox.execute(ws, number_item)  # a duplicate delivery of the same item
    assert run.ok and "skipped" in run.detail
    with Session(ws.db) as session:
        assert session.exec(select(RegisterCounter)).one().last_number == 1
        assert len(session.exec(select(OutboxItem)).all()) == 4


def explode(ws: Workspace, item: OutboxItem) -> None:
    """A step with a defect, plugged in for the test below."""
    raise ZeroDivisionError("a defect in a step")


def test_a_defect_in_a_step_is_logged_with_its_traceback_and_named_by_the_step_error(
    agency: Workspace,
) -> None:
    steps = {**agency.plugins.steps, "convert_to_pdf": "test_outbox:explode"}
    ws = dataclasses.replace(agency, plugins=Plugins(steps, agency.plugins.actions))
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    act(ws, doc, "chuyenvien", "submit")
    moved = act(ws, doc, "truongphong", "approve")
    [(title, error)] = moved.failed
    assert title == "Chuyển dự thảo sang PDF"
    assert "ZeroDivisionError" in error and "vanthu.log#" in error
    entry = error.rsplit("#", 1)[1]
    log = (ws.settings.home / "logs" / "vanthu.log").read_text(encoding="utf-8")
    assert f"[{entry}]" in log and "Traceback" in log and "a defect in a step" in log
    assert _items(ws)["convert"].state == "failed"  # a defect is not retried
