"""The first incoming flow: received PDFs are verified on arrival, registered, assigned, handled."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlmodel import Session

from engine.core.errors import InvalidInput, NotAllowed
from engine.core.models import Document
from engine.core.workspace import Workspace
from engine.incoming import IncomingRequest, receive_incoming
from engine.workflow import Upload, act
from engine.workflow.files import latest_file
from storage import get_content
from tests_support import archived_documents, issue_document, open_task_steps, refused


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
