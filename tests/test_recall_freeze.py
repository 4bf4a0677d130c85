"""Decree 30 Appendix VI, 11: the sender recalls (thu hồi) an issued outgoing document and its own
copy is frozen: no action, new version, update, replacement or second recall; its page, `vanthu
doc show`, `vanthu exchange status` and the outgoing register say "Thu hồi"; the freeze is
audited, and it holds when the recipient refuses to give its copy back."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fixtures_exchange import Network
from fixtures_web import password_of
from sqlmodel import Session, select

from engine.core import accounts
from engine.core.models import AuditEvent, Document
from engine.exchange import answer, exchange_status, pending_requests, recall, replace, update
from engine.http import create_app
from engine.outgoing.drafting import upload_version
from engine.workflow import Upload, act
from engine.workflow.registers import RegisterFilters, register_rows
from tests_support import LETTER, issue_document, refused

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "engine", "--home", str(home), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_a_recalled_document_is_frozen_even_when_the_recipient_refuses(network: Network) -> None:
    snv, stc = network["SNV"], network["STC"]
    addressed = (f"{stc.name.title()} <{stc.organ_id}>;", "Lưu: VT.")
    doc = issue_document(snv.ws, dataclasses.replace(LETTER, recipients=addressed))
    with Session(snv.ws.db) as session:
        symbol = session.get(Document, doc).symbol  # type: ignore[union-attr]
    assert recall(snv.ws, doc, "vanthu", "Ban hành nhầm nơi nhận") == [stc.organ_id]

    # the recipient's clerk refuses: the sender's freeze stays (it is the sender's own act)
    (request,) = [r for r in pending_requests(stc.ws) if r.reason == "Ban hành nhầm nơi nhận"]
    answer(stc.ws, request.id, "vanthu", agree=False, reason="Đã giao xử lý")
    (seen,) = exchange_status(snv.ws, doc)
    assert [e.code for e in seen.statuses] == ["01", "13", "16"]

    for attempt in (
        lambda: act(snv.ws, doc, "vanthu", "issue"),
        lambda: upload_version(snv.ws, doc, "chuyenvien", Upload("v2.docx", b"PK")),
        lambda: update(snv.ws, doc, "vanthu", "Đính chính"),
        lambda: replace(snv.ws, doc, doc, "vanthu", "Thay thế"),
        lambda: recall(snv.ws, doc, "vanthu", "Lần nữa"),
    ):
        with refused("document.recalled", reason="Ban hành nhầm nơi nhận"):
            attempt()

    with Session(snv.ws.db) as session:
        events = session.exec(
            select(AuditEvent).where(
                AuditEvent.document_id == doc, AuditEvent.event == "document_recalled"
            )
        ).all()
    assert [(e.actor, json.loads(e.detail)) for e in events] == [
        ("vanthu", {"reason": "Ban hành nhầm nơi nhận"})
    ]

    home = snv.ws.settings.home
    shown = run(home, "doc", "show", str(doc), "--as", "vanthu")
    assert shown.returncode == 0, shown.stderr
    assert "Thu hồi lúc" in shown.stdout and "Ban hành nhầm nơi nhận" in shown.stdout
    assert "thu hồi văn bản" in shown.stdout  # the history line
    status = run(home, "exchange", "status", str(doc))
    assert status.returncode == 0 and status.stdout.startswith("Thu hồi lúc")
    again = run(home, "exchange", "update", str(doc), "--as", "vanthu")
    assert again.returncode == 5 and "thu hồi" in again.stderr and again.stderr.count("\n") == 1

    page = register_rows(snv.ws, "vanthu", "outgoing", RegisterFilters(text=symbol))
    (line,) = [r for r in page.rows if r.cells["number_symbol"] == symbol]
    assert line.cells["note"].startswith("Thu hồi ")

    accounts.set_password(snv.ws, "vanthu", "vanthu", password_of("vanthu"))
    with TestClient(create_app(snv.ws)) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        login = {"username": "vanthu", "password": password_of("vanthu"), "csrf_token": token[1]}
        client.post("/login", data=login)
        body = client.get(f"/documents/{doc}").text
    assert '<span class="badge badge-overdue">Thu hồi</span>' in body
    assert "Văn bản đã bị thu hồi lúc" in body and "Ban hành nhầm nơi nhận" in body
