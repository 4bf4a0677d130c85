"""Deadline reminders go out once each, by e-mail to a real local SMTP server, and show in the
inbox: the morning digest, the warning before the due time, the escalation to the unit head."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Iterator
from datetime import date, datetime
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from test_deadlines import receive

from engine.core.calendar import VIETNAM_TIME
from engine.core.errors import InvalidInput, NotAllowed
from engine.core.workspace import Workspace
from engine.workflow import act
from engine.workflow.deadlines import assign_with_due
from engine.workflow.reminders import recent_reminders, send_reminders, set_email
from signing._pki import free_port
from tests_support import refused
from vanthu.clock import ManualClock


class Mailbox:
    """What the SMTP server received: one parsed message per recipient."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        for _ in envelope.rcpt_tos:
            self.raw.append(content)
            parsed = email.message_from_bytes(content, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            self.messages.append(parsed)
        return "250 OK"

    def take(self) -> list[tuple[str, str, str]]:
        """(to, subject, body) of what arrived since the last take."""
        found = [(str(m["To"]), str(m["Subject"]), m.get_content()) for m in self.messages]
        self.messages.clear()
        return found


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=VIETNAM_TIME)


def test_digest_warning_and_escalation_each_go_once(
    make_agency: Callable[..., Workspace],
    clock: ManualClock,
    smtp: tuple[Mailbox, int],
) -> None:
    box, port = smtp
    box.take()
    ws = make_agency(smtp_host="127.0.0.1", smtp_port=port, smtp_from="vanthu@so-noi-vu.test")
    set_email(ws, "quantri", "chuyenvien", "binh.tt@so-noi-vu.test")
    set_email(ws, "truongphong", "truongphong", "cuc.lt@so-noi-vu.test")  # their own
    with refused("user.email_invalid", InvalidInput):
        set_email(ws, "quantri", "giamdoc", "không phải địa chỉ")
    with refused("account.admin_required", NotAllowed):
        set_email(ws, "chuyenvien", "giamdoc", "an@so-noi-vu.test")
    clock.set(at(7, 9))  # Monday
    doc = receive(ws, "Về việc rà soát hồ sơ công chức")
    assign_with_due(ws, doc, "giamdoc", "assign", due=date(2026, 12, 18), choose="truongphong")
    act(ws, doc, "truongphong", "forward", choose="chuyenvien")  # due Monday 14/12 09:00

    assert send_reminders(ws, at(11, 7, 30)) == []  # Friday: nothing due yet
    assert box.take() == []

    # Monday 14/12 07:30: the digest, and the warning (due within 4 hours)
    sent = send_reminders(ws, at(14, 7, 30))
    assert sorted((s.kind, s.username, s.state) for s in sent) == [
        ("digest", "chuyenvien", "sent"),
        ("warning", "chuyenvien", "sent"),
    ]
    mails = box.take()
    assert {m[0] for m in mails} == {"Trần Thị Bình <binh.tt@so-noi-vu.test>"}
    digest = next(m for m in mails if "Việc đến hạn" in m[1])
    assert digest[1] == "[Vanthu] Việc đến hạn ngày 14/12/2026: 1 việc"
    assert "Về việc rà soát hồ sơ công chức" in digest[2] and "hạn 09:00 14/12/2026" in digest[2]
    warning = next(m for m in mails if "Sắp đến hạn" in m[1])
    assert "sẽ hết hạn lúc 09:00 ngày 14/12/2026" in warning[2]
    assert all(b"=?utf-8?" in raw for raw in box.raw)  # the subject is encoded (RFC 2047)
    box.raw.clear()
    assert send_reminders(ws, at(14, 7, 45)) == [] and box.take() == []  # once each

    # 10:00: overdue, the head of the specialist's unit hears of it, once that day
    sent = send_reminders(ws, at(14, 10))
    assert [(s.kind, s.username) for s in sent] == [("escalation", "truongphong")]
    [(to, subject, body)] = box.take()
    assert to == "Lê Thị Cúc <cuc.lt@so-noi-vu.test>"
    assert subject == f"[Vanthu] Quá hạn: Công văn #{doc} (Trần Thị Bình)"
    assert "đã quá hạn, đang chờ Trần Thị Bình" in body and "QUÁ HẠN" in body
    assert send_reminders(ws, at(14, 16)) == [] and box.take() == []

    # the next morning: a new digest (overdue) and a new escalation
    sent = send_reminders(ws, at(15, 7, 30))
    assert sorted((s.kind, s.username) for s in sent) == [
        ("digest", "chuyenvien"),
        ("escalation", "truongphong"),
    ]
    assert len(box.take()) == 2

    # and the inbox shows them
    shown = recent_reminders(ws, "chuyenvien", at(15, 8))
    assert [r.kind for r in shown] == ["digest"]
    assert shown[0].subject.startswith("[Vanthu] Việc đến hạn ngày 15/12/2026")


def test_without_a_mail_server_or_address_reminders_still_reach_the_inbox(
    make_agency: Callable[..., Workspace], clock: ManualClock
) -> None:
    ws = make_agency()
    clock.set(at(7, 9))
    doc = receive(ws)
    assign_with_due(ws, doc, "giamdoc", "assign", due=date(2026, 12, 8), choose="truongphong")
    sent = send_reminders(ws, at(8, 7, 30))
    assert [(s.kind, s.username, s.state) for s in sent] == [("digest", "truongphong", "no_email")]
    # Saturday 12/12 is no working day: no digest; the overdue task escalates to the leaders
    # (the head handles it himself)
    sent = send_reminders(ws, at(12, 7, 30))
    assert sorted((s.kind, s.username) for s in sent) == [
        ("escalation", "giamdoc"),
        ("escalation", "phogiamdoc"),
    ]
    assert [r.kind for r in recent_reminders(ws, "giamdoc", at(12, 8))] == ["escalation"]


def test_a_mail_that_could_not_go_is_sent_on_the_next_run(
    make_agency: Callable[..., Workspace],
    clock: ManualClock,
    smtp: tuple[Mailbox, int],
) -> None:
    box, port = smtp
    box.take()
    closed = free_port()  # nothing listens there
    ws = make_agency(smtp_host="127.0.0.1", smtp_port=closed)
    set_email(ws, "quantri", "truongphong", "cuc.lt@so-noi-vu.test")
    clock.set(at(7, 9))
    doc = receive(ws)
    assign_with_due(ws, doc, "giamdoc", "assign", due=date(2026, 12, 8), choose="truongphong")
    [failed] = send_reminders(ws, at(8, 7, 30), ("digest",))
    assert failed.state == "failed"
    ws.settings.smtp_port = port
    [again] = send_reminders(ws, at(8, 8), ("digest",))
    assert again.state == "sent"
    assert [m[1] for m in box.take()] == ["[Vanthu] Việc đến hạn ngày 08/12/2026: 1 việc"]
    assert send_reminders(ws, at(8, 9), ("digest",)) == []


def test_the_schedules_send_the_digest_in_the_morning_and_watch_every_quarter_hour() -> None:
    from engine.automation import schedules

    by_flow = {s.flow_name: s for s in schedules.SCHEDULES}
    digest, watch = by_flow["vanthu-morning-digest"], by_flow["vanthu-deadline-watch"]
    friday_evening = at(11, 18)
    assert schedules.next_run(digest, friday_evening) == at(12, 7, 30)  # Saturday: may be made up
    assert schedules.next_run(watch, at(11, 18, 1)) == at(11, 18, 15)
