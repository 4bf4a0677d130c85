"""Deadlines: make-up Saturdays count as working days, the leader's handling deadline on an
incoming document, extending a deadline (who may, a reason, audited)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from active_pdfs import plain_pdf
from sqlmodel import Session, select

from engine.core.calendar import VIETNAM_TIME, add_working_days, load_holidays
from engine.core.errors import ConfigError, InvalidInput, NotAllowed
from engine.core.models import AuditEvent, Document, Task
from engine.core.workspace import Workspace
from engine.incoming import IncomingRequest, receive_incoming
from engine.workflow import Upload, act, inbox
from engine.workflow.deadlines import assign_with_due, end_of_day, extend
from tests_support import refused
from vanthu.clock import ManualClock

MONDAY_9 = datetime(2026, 12, 7, 9, 0, tzinfo=VIETNAM_TIME)


def test_make_up_saturdays_are_working_days() -> None:
    holidays = load_holidays()
    friday = datetime(2026, 1, 9, 10, 0, tzinfo=VIETNAM_TIME)
    assert add_working_days(friday, 1, holidays) == datetime(
        2026, 1, 10, 10, 0, tzinfo=VIETNAM_TIME
    )
    before_national_day = datetime(2026, 8, 21, 10, 0, tzinfo=VIETNAM_TIME)
    assert add_working_days(before_national_day, 1, holidays).date() == date(2026, 8, 22)
    # an ordinary Saturday is still a day off: Friday 16/01 plus one is Monday 19/01
    assert add_working_days(friday + timedelta(days=7), 1, holidays).date() == date(2026, 1, 19)


def test_the_holiday_file_without_make_up_days_still_loads_and_a_wrong_one_is_refused(
    tmp_path: Path,
) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("2026:\n  - 2026-01-01\n", encoding="utf-8")
    assert load_holidays(old).working_saturdays == frozenset()
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("2026:\n  - 2026-01-01\nworking_saturdays:\n  2026: [2026-01-09]\n", "utf-8")
    with refused("holidays.saturday_invalid", ConfigError, year=2026):
        load_holidays(wrong)
    both = tmp_path / "both.yaml"
    both.write_text("2026:\n  - 2026-01-10\nworking_saturdays:\n  2026: [2026-01-10]\n", "utf-8")
    with refused("holidays.saturday_conflict", ConfigError):
        load_holidays(both)


def receive(ws: Workspace, subject: str = "Về việc báo cáo công tác văn thư") -> int:
    doc = receive_incoming(
        ws,
        "vanthu",
        Upload("cv.pdf", plain_pdf()),
        IncomingRequest("ỦY BAN NHÂN DÂN HUYỆN MẪU", "15/UBND-VP", "Công văn", subject),
    )
    act(ws, doc, "vanthu", "register")
    return doc


def _document(ws: Workspace, doc: int) -> Document:
    with Session(ws.db) as session:
        found = session.get(Document, doc)
        assert found is not None
        return found


def _open_dues(ws: Workspace, doc: int) -> list[datetime | None]:
    with Session(ws.db) as session:
        tasks = session.exec(select(Task).where(Task.state == "open")).all()
        return [t.due_at for t in tasks if t.instance_id == _instance(session, doc)]


def _instance(session: Session, doc: int) -> int:
    from engine.core.models import WorkflowInstance

    found = session.exec(
        select(WorkflowInstance.id).where(WorkflowInstance.document_id == doc)
    ).one()
    assert found is not None
    return found


def test_the_leader_gives_a_handling_deadline_shown_in_the_inbox(
    make_agency: Callable[..., Workspace], clock: ManualClock
) -> None:
    ws = make_agency()
    clock.set(MONDAY_9)
    doc = receive(ws)
    with refused("deadline.in_the_past", InvalidInput):
        assign_with_due(ws, doc, "giamdoc", "assign", due=date(2026, 12, 6), choose="truongphong")
    assign_with_due(ws, doc, "giamdoc", "assign", due=date(2026, 12, 10), choose="truongphong")
    due = end_of_day(date(2026, 12, 10))
    assert _document(ws, doc).handling_due_at == due
    assert _open_dues(ws, doc) == [due]
    [entry] = [e for e in inbox(ws, "truongphong") if e.document_id == doc]
    assert entry.handling_due_at == due and entry.due_at == due and not entry.overdue
    clock.set(datetime(2026, 12, 11, 8, 0, tzinfo=VIETNAM_TIME))
    [entry] = [e for e in inbox(ws, "truongphong") if e.document_id == doc]
    assert entry.overdue


def test_without_a_date_the_handling_deadline_is_the_steps_five_working_days(
    make_agency: Callable[..., Workspace], clock: ManualClock
) -> None:
    ws = make_agency()
    clock.set(datetime(2026, 8, 20, 9, 0, tzinfo=VIETNAM_TIME))  # Thursday before 2/9
    doc = receive(ws)
    assign_with_due(ws, doc, "giamdoc", "assign", due=None, choose="truongphong")
    # Fri 21, Sat 22 (made up), Mon 24, Tue 25, Wed 26 (the assign: 5 working days, the
    # register step's clock reads the same moment)
    expected = datetime(2026, 8, 26, 9, 0, tzinfo=VIETNAM_TIME)
    found = _document(ws, doc).handling_due_at
    assert found is not None and abs(found - expected) < timedelta(minutes=1)  # the clock runs


def _extensions(ws: Workspace, doc: int) -> list[dict[str, object]]:
    with Session(ws.db) as session:
        events = session.exec(
            select(AuditEvent).where(
                AuditEvent.document_id == doc, AuditEvent.event == "deadline_extended"
            )
        ).all()
        return [{"actor": e.actor, **json.loads(e.detail)} for e in events]


def test_extending_needs_a_reason_the_right_person_and_is_audited(
    make_agency: Callable[..., Workspace], clock: ManualClock
) -> None:
    ws = make_agency()
    clock.set(MONDAY_9)
    doc = receive(ws)
    assign_with_due(ws, doc, "giamdoc", "assign", due=date(2026, 12, 10), choose="truongphong")
    with refused("deadline.reason_required", InvalidInput):
        extend(ws, doc, "giamdoc", date(2026, 12, 15), "  ")
    with refused("deadline.extend_not_allowed", NotAllowed, user="truongphong"):
        extend(ws, doc, "truongphong", date(2026, 12, 15), "Chờ số liệu")  # own task
    act(ws, doc, "truongphong", "forward", choose="chuyenvien")
    with refused("deadline.extend_not_allowed", NotAllowed, user="phapche"):  # another unit
        extend(ws, doc, "phapche", date(2026, 12, 15), "Chờ số liệu")
    with refused("deadline.extend_not_allowed", NotAllowed, user="chuyenvien"):
        extend(ws, doc, "chuyenvien", date(2026, 12, 15), "Chờ số liệu")
    specialist_due = _open_dues(ws, doc)[0]
    assert specialist_due is not None
    with refused("deadline.not_later", InvalidInput):
        extend(ws, doc, "truongphong", date(2026, 12, 8), "Sớm hơn")
    new = extend(ws, doc, "truongphong", date(2026, 12, 18), "Chờ số liệu của các huyện")
    assert new == end_of_day(date(2026, 12, 18))
    assert _open_dues(ws, doc) == [new]
    assert _document(ws, doc).handling_due_at == new
    [audited] = _extensions(ws, doc)
    assert audited["actor"] == "truongphong"
    assert audited["reason"] == "Chờ số liệu của các huyện"
    assert datetime.fromisoformat(str(audited["old_due"])) == specialist_due
    assert datetime.fromisoformat(str(audited["new_due"])) == new
    old_handling = datetime.fromisoformat(str(audited["old_handling_due"]))
    assert old_handling == end_of_day(date(2026, 12, 10))
    extend(ws, doc, "giamdoc", date(2026, 12, 21), "Lãnh đạo đồng ý")  # a leader may too
    assert [e["actor"] for e in _extensions(ws, doc)] == ["truongphong", "giamdoc"]


def test_the_command_line_extends_and_says_why_not_without_a_reason(
    make_agency: Callable[..., Workspace],
) -> None:
    import os
    import subprocess
    import sys

    ws = make_agency()
    doc = receive(ws)
    due = (datetime.now(VIETNAM_TIME) + timedelta(days=20)).date()
    home = str(ws.settings.home)

    def vanthu(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "engine", "--home", home, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={
                **os.environ,
                "VANTHU_STEPS_RUNNER": "inline",
                "VANTHU_PKI_DIR": str(ws.settings.effective_pki_dir),
            },
            check=False,
        )

    assigned = vanthu(
        "act", str(doc), "assign", "--to", "truongphong", "--due", f"{due}", "--as", "giamdoc"
    )
    assert assigned.returncode == 0, assigned.stderr
    later = due + timedelta(days=3)
    no_reason = vanthu("act", str(doc), "extend", "--due", f"{later}", "--as", "giamdoc")
    assert no_reason.returncode != 0
    assert "lý do" in no_reason.stderr and "Traceback" not in no_reason.stderr
    done = vanthu(
        "act",
        str(doc),
        "extend",
        "--due",
        f"{later}",
        "--reason",
        "Chờ ý kiến",
        "--as",
        "giamdoc",
    )
    assert done.returncode == 0, done.stderr
    assert f"{later:%d/%m/%Y}" in done.stdout
    shown = vanthu("inbox", "--as", "truongphong")
    assert f"hạn {later:%d/%m/%Y}" in shown.stdout
    assert _document(ws, doc).handling_due_at == end_of_day(later)
