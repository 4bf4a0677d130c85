"""The first incoming flow: received PDFs are verified on arrival, registered, assigned, handled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from active_pdfs import (
    PROGRAM,
    damaged_javascript,
    owner_password_only,
    password_protected,
    plain_pdf,
    truncated,
    with_attachment,
    with_javascript,
    with_launch_action,
)
from sqlmodel import Session, select

from engine.core.errors import InvalidInput, NotAllowed
from engine.core.models import Document
from engine.core.workspace import Workspace
from engine.incoming import IncomingRequest, receive_incoming
from engine.outgoing import add_attachment, create_outgoing
from engine.workflow import Upload, act
from engine.workflow.files import files_of_kind, latest_file
from storage import get_content
from tests_support import LETTER, archived_documents, issue_document, open_task_steps, refused

REQUEST = IncomingRequest(
    sender="ỦY BAN NHÂN DÂN HUYỆN MẪU",
    symbol="15/UBND-VP",
    doc_type="Công văn",
    subject="Về việc báo cáo công tác văn thư năm 2026",
)


def _received_pdf(ws: Workspace) -> bytes:
    doc = issue_document(ws)
    with Session(ws.db) as session:
        return get_content(ws.store, latest_file(session, doc, "issued").sha256)


def _receive(ws: Workspace, pdf: bytes) -> int:
    return receive_incoming(
        ws,
        "vanthu",
        Upload("01-QD-SNV.pdf", pdf),
        IncomingRequest(
            sender="SỞ NỘI VỤ",
            symbol="01/QĐ-SNV",
            doc_type="Quyết định",
            subject="Về việc bổ nhiệm",
        ),
    )


def _verdict(ws: Workspace, doc: int) -> str:
    with Session(ws.db) as session:
        document = session.get(Document, doc)
        assert document is not None and document.verification is not None
        return str(json.loads(document.verification)["verdict"])


def test_an_incoming_document_is_verified_registered_assigned_and_archived(
    make_agency: Callable[..., Workspace],
) -> None:
    ws = make_agency()
    doc = _receive(ws, _received_pdf(ws))
    assert _verdict(ws, doc) == "valid"
    assert open_task_steps(ws, doc) == ["register"]
    act(ws, doc, "vanthu", "register")
    # the leader must name the lead unit's head
    with refused("action.choose_required", InvalidInput, document_id=doc, role="head"):
        act(ws, doc, "giamdoc", "assign")
    act(ws, doc, "giamdoc", "assign", choose="truongphong")
    with refused("action.not_allowed", NotAllowed, user="phapche"):  # only the chosen head
        act(ws, doc, "phapche", "complete", comment="Xong")
    act(ws, doc, "truongphong", "forward", choose="chuyenvien")
    act(ws, doc, "chuyenvien", "complete", comment="Đã triển khai")
    with Session(ws.db) as session:
        document = session.get(Document, doc)
        assert document is not None and document.number == 1
    assert archived_documents(ws, "bo nhiem", direction="incoming") == [doc]


def test_a_tampered_pdf_is_received_with_an_invalid_verdict(
    make_agency: Callable[..., Workspace],
) -> None:
    ws = make_agency()
    pdf = bytearray(_received_pdf(ws))
    position = pdf.index(b"/Contents") - 200  # inside the signed byte range
    pdf[position] = ord("X") if pdf[position] != ord("X") else ord("Y")
    doc = _receive(ws, bytes(pdf))
    assert _verdict(ws, doc) != "valid"


def test_only_clerks_receive_and_only_pdfs(make_agency: Callable[..., Workspace]) -> None:
    ws = make_agency()
    request = IncomingRequest("UBND", "1/UBND", "Công văn", "Thử")
    with refused("incoming.not_pdf", InvalidInput, file="a.pdf"):
        receive_incoming(ws, "vanthu", Upload("a.pdf", b"PK\x03\x04"), request)
    pdf = Upload("a.pdf", b"%PDF-1.7")
    with refused("incoming.clerk_only", NotAllowed, user="chuyenvien", role="specialist"):
        receive_incoming(ws, "chuyenvien", pdf, request)
    with refused("incoming.fields_missing", InvalidInput):
        receive_incoming(ws, "vanthu", pdf, IncomingRequest("UBND", "1/UBND", "Công văn", " "))
    with refused("doctype.unknown", InvalidInput, doc_type="Sắc lệnh"):
        receive_incoming(ws, "vanthu", pdf, IncomingRequest("UBND", "1/UBND", "Sắc lệnh", "X"))


VANTHU = [sys.executable, "-m", "engine"]
REFUSED = [
    pytest.param(truncated, "incoming.pdf_unreadable", "không đọc được", id="cut short"),
    pytest.param(lambda: b"%PDF-1.7\n" + bytes(range(256)) * 40, "incoming.pdf_unreadable",
                 "không đọc được", id="garbage"),
    pytest.param(password_protected, "incoming.pdf_encrypted", "mật khẩu", id="password"),
    pytest.param(with_javascript, "incoming.active_content", "JavaScript", id="javascript"),
    pytest.param(damaged_javascript, "incoming.active_content", "JavaScript",
                 id="javascript in a damaged object"),
    pytest.param(with_launch_action, "incoming.active_content", "Launch", id="launch action"),
    pytest.param(lambda: with_attachment("setup.exe", PROGRAM), "incoming.active_content",
                 "setup.exe", id="embedded program"),
    pytest.param(lambda: with_attachment("bang-ke.pdf", PROGRAM), "incoming.active_content",
                 "bang-ke.pdf", id="program named like a PDF"),
]  # fmt: skip


@pytest.mark.parametrize(("make_pdf", "code", "named"), REFUSED)
def test_a_pdf_that_cannot_be_read_or_would_run_something_is_refused_and_nothing_stored(
    make_agency: Callable[..., Workspace],
    tmp_path: Path,
    make_pdf: Callable[[], bytes],
    code: str,
    named: str,
) -> None:
    ws = make_agency()
    path = tmp_path / "cong-van-den.pdf"
    path.write_bytes(make_pdf())
    with refused(code, InvalidInput, file=path.name):
        receive_incoming(ws, "vanthu", Upload(path.name, path.read_bytes()), REQUEST)
    answer = subprocess.run(
        [
            *VANTHU,
            *("--home", str(ws.settings.home), "incoming", "receive", str(path)),
            *("--as", "vanthu", "--from", REQUEST.sender, "--symbol", REQUEST.symbol),
            *("--type", REQUEST.doc_type, "--subject", REQUEST.subject),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "VANTHU_PKI_DIR": str(ws.settings.effective_pki_dir)},
    )
    assert answer.returncode == 2, answer.stderr
    [line] = answer.stderr.splitlines()  # one line, naming what was found
    assert line.startswith("Lỗi: ") and named in line and "Traceback" not in answer.stderr
    assert list(ws.store.list_keys()) == []  # nothing stored
    with Session(ws.db) as session:
        assert session.exec(select(Document)).all() == []


def test_ordinary_data_attachments_and_an_owner_password_are_accepted(
    make_agency: Callable[..., Workspace],
) -> None:
    ws = make_agency(steps_runner="worker")
    for pdf in (with_attachment("du-lieu.xml", b"<van-ban/>"), owner_password_only()):
        doc = receive_incoming(ws, "vanthu", Upload("den.pdf", pdf), REQUEST)
        assert open_task_steps(ws, doc) == []  # received: its checks wait for the worker


def test_an_attachment_that_would_run_something_is_refused(
    make_agency: Callable[..., Workspace], tmp_path: Path
) -> None:
    ws = make_agency()
    doc = create_outgoing(ws, "chuyenvien", LETTER)
    with refused("attachment.active_content", InvalidInput, file="phu-luc.pdf") as caught:
        add_attachment(ws, doc, "chuyenvien", Upload("phu-luc.pdf", with_javascript()))
    assert caught.value.fields()["found"] == ["javascript"]
    path = tmp_path / "phu-luc.pdf"
    path.write_bytes(with_launch_action())
    answer = subprocess.run(
        [
            *VANTHU,
            *("--home", str(ws.settings.home), "draft", "attach", str(doc), str(path)),
            *("--as", "chuyenvien"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "VANTHU_PKI_DIR": str(ws.settings.effective_pki_dir)},
    )
    assert answer.returncode == 2 and "Launch" in answer.stderr, answer.stderr
    assert len(answer.stderr.splitlines()) == 1
    with Session(ws.db) as session:
        assert files_of_kind(session, doc, "attachment") == []
    assert add_attachment(ws, doc, "chuyenvien", Upload("phu-luc.pdf", plain_pdf())) == 1


def test_the_command_warns_of_a_document_received_before_with_the_same_number_and_sender(
    make_agency: Callable[..., Workspace], tmp_path: Path
) -> None:
    ws = make_agency()
    first = receive_incoming(ws, "vanthu", Upload("den.pdf", plain_pdf()), REQUEST)
    path = tmp_path / "lai.pdf"
    path.write_bytes(plain_pdf())
    answer = subprocess.run(
        [
            *VANTHU,
            *("--home", str(ws.settings.home), "incoming", "receive", str(path)),
            *("--as", "vanthu", "--from", REQUEST.sender.lower(), "--symbol", "15 / UBND-VP"),
            *("--type", REQUEST.doc_type, "--subject", REQUEST.subject, "--urgency", "Khẩn"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "VANTHU_PKI_DIR": str(ws.settings.effective_pki_dir)},
    )
    assert answer.returncode == 0, answer.stderr
    warnings = [line for line in answer.stdout.splitlines() if "Cảnh báo: trùng" in line]
    assert len(warnings) == 1 and f"#{first}" in warnings[0]
    with Session(ws.db) as session:
        again = session.exec(select(Document).where(Document.id != first)).one()
    assert (again.sender_symbol, again.urgency) == ("15/UBND-VP", "Khẩn")
