"""The first incoming flow: received PDFs are verified on arrival, registered, assigned, handled."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session

from engine.core.errors import InvalidInput, NotAllowed
from engine.core.models import Document
from engine.core.workspace import Workspace
from engine.incoming import IncomingRequest, receive_incoming
from engine.workflow import Upload, act
from engine.workflow.files import latest_file
from storage import get_content
from tests_support import archived_documents, issue_document, open_task_steps


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
    make_agency,  # type: ignore[no-untyped-def]
) -> None:
    ws = make_agency()
    doc = _receive(ws, _received_pdf(ws))
    assert _verdict(ws, doc) == "valid"
    assert open_task_steps(ws, doc) == ["register"]
    act(ws, doc, "vanthu", "register")
    with pytest.raises(InvalidInput, match="head"):  # the leader must name the lead unit's head
        act(ws, doc, "giamdoc", "assign")
    act(ws, doc, "giamdoc", "assign", choose="truongphong")
    with pytest.raises(NotAllowed):  # only the chosen head handles it
        act(ws, doc, "phapche", "complete", comment="Xong")
    act(ws, doc, "truongphong", "forward", choose="chuyenvien")
    act(ws, doc, "chuyenvien", "complete", comment="Đã triển khai")
    with Session(ws.db) as session:
        document = session.get(Document, doc)
        assert document is not None and document.number == 1
    assert archived_documents(ws, "bo nhiem", direction="incoming") == [doc]


def test_a_tampered_pdf_is_received_with_an_invalid_verdict(make_agency) -> None:  # type: ignore[no-untyped-def]
    ws = make_agency()
    pdf = bytearray(_received_pdf(ws))
    position = pdf.index(b"/Contents") - 200  # inside the signed byte range
    pdf[position] = ord("X") if pdf[position] != ord("X") else ord("Y")
    doc = _receive(ws, bytes(pdf))
    assert _verdict(ws, doc) != "valid"


def test_only_clerks_receive_and_only_pdfs(make_agency) -> None:  # type: ignore[no-untyped-def]
    ws = make_agency()
    request = IncomingRequest("UBND", "1/UBND", "Công văn", "Thử")
    with pytest.raises(InvalidInput, match="PDF"):
        receive_incoming(ws, "vanthu", Upload("a.pdf", b"PK\x03\x04"), request)
    with pytest.raises(NotAllowed):
        pdf = Upload("a.pdf", b"%PDF-1.7")
        receive_incoming(ws, "chuyenvien", pdf, request)
