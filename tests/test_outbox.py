"""Automated steps: queued with the action, retried after a failure, never done twice."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from engine.core import audit
from engine.core.models import Document, OutboxItem, RegisterCounter
from engine.core.workspace import Plugins, Workspace
from engine.outgoing import create_outgoing
from engine.workflow import act, outbox
from tests_support import DECISION, open_task_steps, pin_of, refused


def _at_issue(ws: Workspace) -> int:
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    outbox.run_pending(ws)
    act(ws, doc, "phogiamdoc", "sign", pin=pin_of(ws, "phogiamdoc"))
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


def test_a_seal_key_that_cannot_open_is_found_before_numbering_and_the_clerk_issues_again(
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
    # checked before a number is taken: a wrong key is not worth retrying by itself, so the
    # document goes back to the clerk at once, with no number spent
    assert [(r.step, r.ok, r.code, r.returned_to) for r in runs] == [
        ("number", False, "signing.key.wrong_passphrase", "issue")
    ]
    assert _items(ws)["number"].state == "returned"
    assert _items(ws)["number"].last_error == runs[0].error  # the clerk reads why
    [failed] = [json.loads(e.detail) for e in audit.events(ws.db) if e.event == "step_failed"]
    assert failed["code"] == "signing.key.wrong_passphrase" and failed["will_retry"] is False
    assert failed["returned_to"] == "issue"
    assert open_task_steps(ws, doc) == ["issue"]
    with Session(ws.db) as session:
        assert session.get(Document, doc).number is None  # type: ignore[union-attr]
    with refused("step.not_failed"):  # the clerk's task is the way back, not a retry
        outbox.retry_failed(ws, _items(ws)["number"].id or 0)
    passphrase.write_bytes(real)
    ws.caches.clear()
    act(ws, doc, "vanthu", "issue")
    runs = outbox.run_pending(ws)
    assert [(r.step, r.ok) for r in runs] == [
        ("number", True),
        ("seal", True),
        ("deliver", True),
        ("archive", True),
    ]
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
        "deliver": "done",
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
        assert len(session.exec(select(OutboxItem)).all()) == 5  # convert … deliver, archive


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
    # the document is at the failed step, not "finished" with a failed step behind it
    assert moved.now_at == ("convert",) and moved.waiting == (title,)
    assert "ZeroDivisionError" in error and "vanthu.log#" in error
    entry = error.rsplit("#", 1)[1]
    log = (ws.settings.home / "logs" / "vanthu.log").read_text(encoding="utf-8")
    assert f"[{entry}]" in log and "Traceback" in log and "a defect in a step" in log
    assert _items(ws)["convert"].state == "failed"  # a defect is not retried


DIE_AFTER_CLAIMING = """\
import os
from engine.automation import open_workspace
from engine.core.config import load_settings
from engine.workflow import outbox
item = outbox.claim(open_workspace(load_settings()))
print(item.id if item else 0, flush=True)
os._exit(0)  # the worker dies mid-step: no failure recorded, nothing finished
"""


def _vanthu(ws: Workspace, *args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command line, or a Python program, on the agency ``ws`` (same settings)."""
    env = {
        **os.environ,
        "VANTHU_HOME": str(ws.settings.home),
        "VANTHU_PKI_DIR": str(ws.settings.effective_pki_dir),
        "VANTHU_STEPS_RUNNER": ws.settings.steps_runner,
        "VANTHU_DATABASE_URL": ws.settings.effective_database_url,
    }
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "engine", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, env=env
    )


def test_a_worker_that_died_is_replaced_at_once_by_steps_recover(
    make_agency: Callable[..., Workspace], database_url: str
) -> None:
    ws = make_agency(database_url, steps_runner="worker")
    doc = _at_issue(ws)
    act(ws, doc, "vanthu", "issue")
    died = _vanthu(ws, code=DIE_AFTER_CLAIMING)
    assert died.returncode == 0, died.stderr
    claimed = int(died.stdout)
    assert _items(ws)["number"].id == claimed and _items(ws)["number"].state == "running"
    assert _items(ws)["number"].claimed_pid not in (None, os.getpid())
    assert outbox.run_pending(ws) == []  # its lease still holds

    recovered = _vanthu(ws, "steps", "recover")
    assert recovered.returncode == 0, recovered.stderr
    assert f"#{claimed} number (văn bản #{doc}) đã vào lại hàng đợi" in recovered.stdout
    runs = outbox.run_pending(ws)  # no waiting for the lease
    assert [(r.step, r.ok) for r in runs] == [
        ("number", True),
        ("seal", True),
        ("deliver", True),
        ("archive", True),
    ]
    with Session(ws.db) as session:
        assert session.get(Document, doc).symbol == "01/QĐ-SNV"  # type: ignore[union-attr]
        assert session.exec(select(RegisterCounter)).one().last_number == 1
    [event] = [e for e in audit.events(ws.db) if e.event == "step_recovered"]
    assert (event.actor, json.loads(event.detail)["forced"]) == ("system", False)


def test_a_live_worker_keeps_its_step_unless_an_administrator_forces_it_back(
    make_agency: Callable[..., Workspace],
) -> None:
    ws = make_agency(steps_runner="worker")
    doc = _at_issue(ws)
    act(ws, doc, "vanthu", "issue")
    claimed = outbox.claim(ws)  # this process: alive
    assert claimed is not None and claimed.id is not None
    assert outbox.recover(ws) == []
    item = str(claimed.id)
    unnamed = _vanthu(ws, "steps", "recover", "--force", item)
    assert unnamed.returncode == 2 and unnamed.stderr.count("\n") == 1, unnamed.stderr
    clerk = _vanthu(ws, "steps", "recover", "--force", item, "--as", "vanthu")
    assert clerk.returncode == 4 and "quản trị viên" in clerk.stderr, clerk.stderr
    # quantri: the demo agency's administrator
    forced = _vanthu(ws, "steps", "recover", "--force", item, "--as", "quantri")
    assert forced.returncode == 0, forced.stderr
    assert _items(ws)["number"].state == "pending"
    [event] = [e for e in audit.events(ws.db) if e.event == "step_recovered"]
    assert (event.actor, json.loads(event.detail)["forced"]) == ("quantri", True)
    again = _vanthu(ws, "steps", "recover", "--force", item, "--as", "quantri")
    assert again.returncode == 3 and "không có bước tự động" in again.stderr
    assert next((r.step, r.ok) for r in outbox.run_pending(ws)) == ("number", True)
