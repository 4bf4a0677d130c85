"""The exchange between agencies on localhost: SNV (PostgreSQL + SeaweedFS) sends a Quyết định
and a Công văn to STC and STP (SQLite + folder stores); statuses come back as the recipients'
workflows move; a peer down at first gets its document later; forged, foreign and replayed
envelopes are refused; recall and replacement both ways; an update agreed and refused."""

from __future__ import annotations

import dataclasses
import html
import json
import re
import socket
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from fixtures_exchange import Network, Office
from fixtures_web import password_of
from sqlmodel import Session, col, select

from engine.core.models import AuditEvent, Document, ExchangeMessage, ExchangePeer
from engine.core.workspace import Workspace
from engine.exchange import (
    HttpTransport,
    Organ,
    build_document,
    build_status,
    deliver_pending,
    exchange_status,
    list_peers,
    remove_peer,
    status_message,
)
from engine.exchange.delivery import envelope_for
from engine.http import create_app
from engine.outgoing import DraftRequest
from engine.signatures import keys
from engine.workflow import act
from storage import get_content
from tests_support import DECISION, LETTER, Ran, issue_document, open_task_steps, run_vanthu
from vanthu import clock
from vanthu.errors import VanthuError

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


def to_both(request: DraftRequest, network: Network) -> DraftRequest:
    """The request addressed to STC (by name and organ id) and STP (by organ id)."""
    lines = (
        f"{network['STC'].name.title()} <{network['STC'].organ_id}>;",
        f"{network['STP'].organ_id};",
        "Lưu: VT, TCBC.",
    )
    return dataclasses.replace(request, recipients=lines)


def arrivals(office_ws: Workspace, symbol: str) -> list[Document]:
    with Session(office_ws.db) as session:
        return list(
            session.exec(
                select(Document)
                .where(Document.direction == "incoming", Document.sender_symbol == symbol)
                .order_by(col(Document.id))
            ).all()
        )


def codes(network: Network, document_id: int, organ_id: str) -> list[str]:
    for recipient in exchange_status(network["SNV"].ws, document_id):
        if recipient.organ_id == organ_id:
            return [event.code for event in recipient.statuses]
    raise AssertionError(f"{organ_id} is not a recipient of #{document_id}")


def state_of(network: Network, document_id: int, organ_id: str) -> str:
    found = [r for r in exchange_status(network["SNV"].ws, document_id) if r.organ_id == organ_id]
    assert found, organ_id
    return found[0].state


def symbol_of(ws: Workspace, document_id: int) -> str:
    with Session(ws.db) as session:
        document = session.get(Document, document_id)
        assert document is not None and document.symbol
        return document.symbol


def test_decision_reaches_both_recipients_and_the_status_cycle_comes_back(
    network: Network,
) -> None:
    snv, stc = network["SNV"], network["STC"]
    doc = issue_document(snv.ws, to_both(DECISION, network))
    symbol = symbol_of(snv.ws, doc)

    # STC was up: the envelope arrived during the issue, registered at once, 01 came back
    (arrived,) = arrivals(stc.ws, symbol)
    assert arrived.sender == snv.name and arrived.doc_type == "Quyết định"
    assert arrived.subject == DECISION.subject and arrived.id is not None
    assert open_task_steps(stc.ws, arrived.id) == ["register"]
    assert json.loads(arrived.verification or "{}")["verdict"] == "valid"  # checked on arrival
    assert state_of(network, doc, stc.organ_id) == "sent"
    assert codes(network, doc, stc.organ_id) == ["01"]

    # STP is down: the delivery waits, and nothing reached it
    assert state_of(network, doc, network["STP"].organ_id) == "pending"
    assert arrivals(network["STP"].ws, symbol) == []

    # the recipient's workflow reports each step
    act(stc.ws, arrived.id, "vanthu", "register")
    act(stc.ws, arrived.id, "giamdoc", "assign", choose="truongphong")
    act(stc.ws, arrived.id, "truongphong", "forward", choose="chuyenvien")
    act(stc.ws, arrived.id, "chuyenvien", "complete", comment="Đã thực hiện")
    assert codes(network, doc, stc.organ_id) == ["01", "03", "04", "05", "06"]

    # STP comes back: the next delivery round (its backoff passed) gets the document there
    stp = network.start("STP")
    later = clock.now() + timedelta(hours=1)
    delivered = deliver_pending(snv.ws, now=later)
    assert [(d.peer, d.delivered) for d in delivered] == [(stp.organ_id, True)]
    (at_stp,) = arrivals(stp.ws, symbol)
    assert codes(network, doc, stp.organ_id) == ["01"]

    # STP's clerk refuses it, with the reason: 02 reaches the sender with it
    assert at_stp.id is not None
    act(stp.ws, at_stp.id, "vanthu", "reject", comment="Gửi nhầm cơ quan")
    assert open_task_steps(stp.ws, at_stp.id) == []
    status = {r.organ_id: r for r in exchange_status(snv.ws, doc)}[stp.organ_id]
    assert [(e.code, e.reason) for e in status.statuses] == [
        ("01", ""),
        ("02", "Gửi nhầm cơ quan"),
    ]


def test_a_classified_document_is_never_sent_over_the_exchange(network: Network) -> None:
    snv = network["SNV"]
    secret = dataclasses.replace(to_both(LETTER, network), secrecy="Mật")
    doc = issue_document(snv.ws, secret)
    assert arrivals(network["STC"].ws, symbol_of(snv.ws, doc)) == []
    assert exchange_status(snv.ws, doc) == []
    with Session(snv.ws.db) as session:
        (withheld,) = session.exec(
            select(AuditEvent).where(
                AuditEvent.document_id == doc, AuditEvent.event == "exchange_withheld"
            )
        ).all()
    assert json.loads(withheld.detail) == {
        "secrecy": "Mật",
        "peers": [network["STC"].organ_id, network["STP"].organ_id],
    }


def test_letter_to_two_recipients_and_duplicates_change_nothing(network: Network) -> None:
    snv, stc, stp = network["SNV"], network["STC"], network.start("STP")
    doc = issue_document(snv.ws, to_both(LETTER, network))
    symbol = symbol_of(snv.ws, doc)
    for office in (stc, stp):
        (arrived,) = arrivals(office.ws, symbol)
        assert arrived.doc_type == "Công văn"
        assert codes(network, doc, office.organ_id) == ["01"]

    # the same envelope again (a sender that lost the answer): refused as a replay, counted as
    # delivered by the sender, nothing new at the recipient
    with Session(snv.ws.db) as session:
        sent = session.exec(
            select(ExchangeMessage).where(
                ExchangeMessage.document_id == doc,
                ExchangeMessage.direction == "out",
                ExchangeMessage.kind == "document",
                ExchangeMessage.peer == stc.organ_id,
            )
        ).one()
    envelope = get_content(snv.ws.store, sent.sha256)
    answer = httpx.post(stc.url + "/exchange/edxml", content=envelope)
    assert answer.status_code == 409
    assert answer.json() == {**answer.json(), "ok": False, "code": "exchange.replayed"}
    assert len(arrivals(stc.ws, symbol)) == 1

    # the same document in a new envelope (a new message id): its DocumentId is known, refused
    # the same way, and the sender's transport counts it as delivered
    with Session(snv.ws.db) as session:
        document = session.get(Document, doc)
        peer = session.exec(select(ExchangePeer).where(ExchangePeer.organ_id == stc.organ_id)).one()
        assert document is not None
        again = envelope_for(session, snv.ws, document, [peer], business="new")
    assert again.message_id != sent.message_id and again.document_id == sent.edxml_document_id
    receipt = HttpTransport().send(peer, build_document(again, keys.agency_key(snv.ws)))
    assert (receipt.delivered, receipt.status, receipt.code) == (
        True,
        409,
        "exchange.duplicate_document",
    )
    assert len(arrivals(stc.ws, symbol)) == 1


def test_forged_foreign_and_tampered_envelopes_are_refused(network: Network) -> None:
    snv, stc = network["SNV"], network["STC"]
    with Session(snv.ws.db) as session:
        sent = session.exec(
            select(ExchangeMessage)
            .where(ExchangeMessage.direction == "out", ExchangeMessage.kind == "document")
            .order_by(col(ExchangeMessage.id))
        ).first()
    assert sent is not None, "the tests above sent documents"
    original = get_content(snv.ws.store, sent.sha256)
    with Session(stc.ws.db) as session:
        before = len(session.exec(select(Document)).all())
        events_before = len(session.exec(select(AuditEvent)).all())

    # tampered: one letter of the subject changed after signing
    tampered = original.replace("Về việc".encode(), b"Ve viec", 1)
    assert tampered != original
    answer = httpx.post(stc.url + "/exchange/edxml", content=tampered)
    assert answer.status_code == 422 and answer.json()["code"] == "exchange.signature_invalid"

    # unknown sender: STP signed it, but STC has not added STP as a peer
    with Session(network["STP"].ws.db) as session:
        from_stp = session.exec(
            select(ExchangeMessage).where(ExchangeMessage.direction == "out")
        ).first()
    assert from_stp is not None
    foreign = get_content(network["STP"].ws.store, from_stp.sha256)
    answer = httpx.post(stc.url + "/exchange/edxml", content=foreign)
    assert answer.status_code == 403 and answer.json()["code"] == "exchange.sender_unknown"

    # a known sender's name, another agency's key: STP signs a status claiming to be SNV
    forged = status_message(
        Organ(snv.organ_id, snv.name), Organ(stc.organ_id, stc.name), sent.edxml_document_id, "06"
    )
    answer = httpx.post(
        stc.url + "/exchange/edxml",
        content=build_status(forged, keys.agency_key(network["STP"].ws)),
    )
    assert answer.status_code == 403 and answer.json()["code"] == "exchange.signer_not_pinned"

    # larger than the limit: refused on the declared length, before the body is read
    with socket.create_connection(("127.0.0.1", stc.port), timeout=10) as raw:
        raw.sendall(
            b"POST /exchange/edxml HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: 999999999999\r\n\r\n"
        )
        assert raw.recv(200).startswith(b"HTTP/1.1 413")

    # not XML at all: one line, no traceback
    answer = httpx.post(stc.url + "/exchange/edxml", content=b"%PDF-1.7 not an envelope")
    assert answer.status_code == 422 and answer.json()["ok"] is False
    assert "Traceback" not in answer.text

    with Session(stc.ws.db) as session:
        assert len(session.exec(select(Document)).all()) == before
        assert len(session.exec(select(AuditEvent)).all()) == events_before


def to(request: DraftRequest, *lines: str) -> DraftRequest:
    return dataclasses.replace(request, recipients=(*lines, "Lưu: VT."))


def instance_status(ws: Workspace, document_id: int) -> str:
    from engine.core.models import WorkflowInstance

    with Session(ws.db) as session:
        instance = session.exec(
            select(WorkflowInstance).where(WorkflowInstance.document_id == document_id)
        ).one()
        return instance.status


def test_recall_agreed_one_way_and_refused_the_other(network: Network) -> None:
    from engine.exchange import answer, pending_requests, recall

    snv, stc = network["SNV"], network["STC"]
    # SNV takes a letter back from STC, which agrees: the arrival is withdrawn, history kept
    doc = issue_document(snv.ws, to(LETTER, stc.organ_id))
    (arrived,) = arrivals(stc.ws, symbol_of(snv.ws, doc))
    assert arrived.id is not None
    assert recall(snv.ws, doc, "vanthu", "Ban hành nhầm") == [stc.organ_id]
    (request,) = [r for r in pending_requests(stc.ws) if r.document_id == arrived.id]
    assert (request.kind, request.reason) == ("recall", "Ban hành nhầm")
    assert answer(stc.ws, request.id, "vanthu", agree=True) is None
    assert open_task_steps(stc.ws, arrived.id) == []
    assert instance_status(stc.ws, arrived.id) == "withdrawn"
    assert [r.id for r in pending_requests(stc.ws)] == [
        r.id for r in pending_requests(stc.ws) if r.document_id != arrived.id
    ]
    assert codes(network, doc, stc.organ_id) == ["01", "13", "15"]

    # the other way: STC (SQLite) sends to SNV (PostgreSQL), asks it back, SNV refuses
    back = issue_document(stc.ws, to(DECISION, "Sở Nội vụ;"))
    (at_snv,) = arrivals(snv.ws, symbol_of(stc.ws, back))
    assert at_snv.id is not None and at_snv.sender == stc.name
    recall(stc.ws, back, "vanthu", "Cần sửa căn cứ")
    (request,) = [r for r in pending_requests(snv.ws) if r.document_id == at_snv.id]
    answer(snv.ws, request.id, "vanthu", agree=False, reason="Đã trình lãnh đạo")
    assert open_task_steps(snv.ws, at_snv.id) == ["register"]
    (seen,) = exchange_status(stc.ws, back)
    assert [(e.code, e.reason) for e in seen.statuses] == [
        ("01", ""),
        ("13", "Cần sửa căn cứ"),
        ("16", "Đã trình lãnh đạo"),
    ]


def test_replacement_agreed_registers_the_new_document_and_ends_the_old(
    network: Network,
) -> None:
    from engine.exchange import answer, pending_requests, replace

    snv, stc = network["SNV"], network["STC"]
    old = issue_document(snv.ws, to(DECISION, stc.organ_id))
    (arrived,) = arrivals(stc.ws, symbol_of(snv.ws, old))
    assert arrived.id is not None
    act(stc.ws, arrived.id, "vanthu", "register")
    new = issue_document(snv.ws, to(DECISION, "Như Điều 3;"))
    assert exchange_status(snv.ws, new) == []  # its own recipients are not peers
    assert replace(snv.ws, old, new, "vanthu", "Sai tên người được bổ nhiệm") == [stc.organ_id]
    assert arrivals(stc.ws, symbol_of(snv.ws, new)) == []  # waits for the clerk's answer

    (request,) = [r for r in pending_requests(stc.ws) if r.document_id == arrived.id]
    assert request.kind == "replacement"
    replacement = answer(stc.ws, request.id, "vanthu", agree=True)
    (registered,) = arrivals(stc.ws, symbol_of(snv.ws, new))
    assert replacement is not None and registered.id == replacement
    assert open_task_steps(stc.ws, replacement) == ["register"]
    assert open_task_steps(stc.ws, arrived.id) == []
    assert instance_status(stc.ws, arrived.id) == "replaced"
    assert codes(network, old, stc.organ_id) == ["01", "03", "15"]
    (sent,) = exchange_status(snv.ws, new)
    assert (sent.business, sent.state, [e.code for e in sent.statuses]) == (
        "replacement",
        "sent",
        ["01"],
    )


def test_replacement_the_other_way_from_sqlite_to_postgresql(network: Network) -> None:
    from engine.exchange import answer, pending_requests, replace

    snv, stc = network["SNV"], network["STC"]
    old = issue_document(stc.ws, to(LETTER, "Sở Nội vụ;"))
    (arrived,) = arrivals(snv.ws, symbol_of(stc.ws, old))
    assert arrived.id is not None and arrived.sender == stc.name
    new = issue_document(stc.ws, to(LETTER, "Như trên;"))
    assert replace(stc.ws, old, new, "vanthu", "Sai số liệu") == [snv.organ_id]
    assert arrivals(snv.ws, symbol_of(stc.ws, new)) == []

    (request,) = [r for r in pending_requests(snv.ws) if r.document_id == arrived.id]
    assert (request.kind, request.sender, request.reason) == (
        "replacement",
        stc.organ_id,
        "Sai số liệu",
    )
    replacement = answer(snv.ws, request.id, "vanthu", agree=True)
    (registered,) = arrivals(snv.ws, symbol_of(stc.ws, new))
    assert replacement is not None and registered.id == replacement
    assert open_task_steps(snv.ws, replacement) == ["register"]
    assert instance_status(snv.ws, arrived.id) == "replaced"
    (seen,) = exchange_status(stc.ws, old)
    assert [e.code for e in seen.statuses] == ["01", "15"]


def received_files(ws: Workspace, document_id: int) -> list[tuple[int, str]]:
    from engine.core.models import DocumentFile

    with Session(ws.db) as session:
        return [
            (f.version, f.sha256)
            for f in session.exec(
                select(DocumentFile)
                .where(DocumentFile.document_id == document_id, DocumentFile.kind == "received")
                .order_by(col(DocumentFile.id))
            ).all()
        ]


def sender_fixes(ws: Workspace, document_id: int, subject: str, pdf_from: int | None) -> str:
    """The sender corrects its issued document: a new subject and maybe a new issued PDF (the
    issued PDF of document ``pdf_from``); the SHA-256 of the issued PDF."""
    from engine.core.models import DocumentFile

    with Session(ws.db) as session:
        document = session.get(Document, document_id)
        assert document is not None
        document.subject = subject
        session.add(document)
        if pdf_from is not None:
            corrected = session.exec(
                select(DocumentFile).where(
                    DocumentFile.document_id == pdf_from, DocumentFile.kind == "issued"
                )
            ).first()
            assert corrected is not None
            session.add(
                DocumentFile(
                    document_id=document_id,
                    kind="issued",
                    version=99,
                    sha256=corrected.sha256,
                    size=corrected.size,
                    filename="ban-dinh-chinh.pdf",
                )
            )
        session.commit()
        newest = session.exec(
            select(DocumentFile)
            .where(DocumentFile.document_id == document_id, DocumentFile.kind == "issued")
            .order_by(col(DocumentFile.id).desc())
        ).first()
        assert newest is not None
        return newest.sha256


def test_update_agreed_gives_a_new_version_and_refused_changes_nothing(
    network: Network,
) -> None:
    from engine.exchange import answer, pending_requests, update

    snv, stc = network["SNV"], network["STC"]
    doc = issue_document(snv.ws, to(LETTER, stc.organ_id))
    other = issue_document(snv.ws, to(LETTER, "Như trên;"))
    (arrived,) = arrivals(stc.ws, symbol_of(snv.ws, doc))
    assert arrived.id is not None
    act(stc.ws, arrived.id, "vanthu", "register")
    (first_file,) = received_files(stc.ws, arrived.id)

    # the sender fixed the subject and issued a corrected PDF; it sends the update
    sha = sender_fixes(snv.ws, doc, "Về việc điều chỉnh lịch họp giao ban", pdf_from=other)
    assert sha != first_file[1]
    assert update(snv.ws, doc, "vanthu", "Đính chính trích yếu") == [stc.organ_id]
    (request,) = [r for r in pending_requests(stc.ws) if r.document_id == arrived.id]
    assert (request.kind, request.reason) == ("update", "Đính chính trích yếu")
    assert arrivals(stc.ws, symbol_of(snv.ws, doc))[0].subject == LETTER.subject  # not yet

    assert answer(stc.ws, request.id, "vanthu", agree=True) is None
    (updated,) = arrivals(stc.ws, symbol_of(snv.ws, doc))
    assert updated.id == arrived.id
    assert updated.subject == "Về việc điều chỉnh lịch họp giao ban"
    assert received_files(stc.ws, arrived.id) == [first_file, (2, sha)]
    assert open_task_steps(stc.ws, arrived.id) == ["assign"]  # its handling goes on
    with Session(stc.ws.db) as session:
        (event,) = session.exec(
            select(AuditEvent).where(
                AuditEvent.document_id == arrived.id, AuditEvent.event == "exchange_updated"
            )
        ).all()
    changed = json.loads(event.detail)["changed"]
    assert sorted(changed) == ["file", "subject"]
    assert changed["subject"] == [
        LETTER.subject,
        "Về việc điều chỉnh lịch họp giao ban",
    ]
    assert [r.business for r in exchange_status(snv.ws, doc)] == ["new", "update"]
    assert [[e.code for e in r.statuses] for r in exchange_status(snv.ws, doc)] == [
        ["01", "03"],
        ["01", "15"],
    ]

    # a second update, refused with the reason: nothing changes at the recipient
    sender_fixes(snv.ws, doc, "Về việc hủy lịch họp", pdf_from=None)
    update(snv.ws, doc, "vanthu")
    (request,) = [r for r in pending_requests(stc.ws) if r.document_id == arrived.id]
    answer(stc.ws, request.id, "vanthu", agree=False, reason="Đã xử lý theo bản trước")
    (same,) = arrivals(stc.ws, symbol_of(snv.ws, doc))
    assert same.subject == "Về việc điều chỉnh lịch họp giao ban"
    assert received_files(stc.ws, arrived.id) == [first_file, (2, sha)]
    last = exchange_status(snv.ws, doc)[-1]
    assert (last.business, [(e.code, e.reason) for e in last.statuses]) == (
        "update",
        [("01", ""), ("16", "Đã xử lý theo bản trước")],
    )
    assert [r for r in pending_requests(stc.ws) if r.document_id == arrived.id] == []


def run(home: Path, *args: str) -> Ran:
    """`vanthu --home HOME ARGS…`, run in this process (the agencies' keys are the session's)."""
    return run_vanthu(home, *args)


def test_the_commands_for_peers_identity_and_status(network: Network, tmp_path: Path) -> None:
    snv, stc = network["SNV"], network["STC"]
    home = stc.ws.settings.home
    pem = tmp_path / "stc.pem"
    shown = run(home, "exchange", "identity", "--out", str(pem))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"{stc.organ_id}  {stc.name}")
    assert pem.read_text().count("BEGIN CERTIFICATE") >= 2  # the certificate and its chain

    listed = json.loads(run(home, "exchange", "peer", "list", "--json").stdout)
    assert [p["organ_id"] for p in listed] == [snv.organ_id]

    add = ["exchange", "peer", "add", "000.00.09.H26", "--name", "Sở Thử", "--url"]
    add += ["http://127.0.0.1:9", "--certificate", str(pem)]
    refused = run(home, *add, "--as", "vanthu")
    assert refused.returncode == 4 and refused.stderr.count("\n") == 1  # one line, no traceback
    bad = run(home, *[a if a != "000.00.09.H26" else "H26" for a in add], "--as", "quantri")
    assert bad.returncode == 2, bad.stderr
    assert run(home, *add, "--as", "quantri").returncode == 0
    assert [p.organ_id for p in list_peers(stc.ws)] == [snv.organ_id, "000.00.09.H26"]
    removed = run(home, "exchange", "peer", "remove", "000.00.09.H26", "--as", "quantri")
    assert removed.returncode == 0, removed.stderr
    assert [p.organ_id for p in list_peers(stc.ws)] == [snv.organ_id]
    with pytest.raises(VanthuError) as again:  # gone: a second removal names it
        remove_peer(stc.ws, "quantri", "000.00.09.H26")
    assert again.value.code == "exchange.peer_not_found"

    with Session(snv.ws.db) as session:
        first = session.exec(
            select(ExchangeMessage.document_id)
            .where(ExchangeMessage.direction == "out", ExchangeMessage.peer == stc.organ_id)
            .order_by(col(ExchangeMessage.id))
        ).first()
    assert first is not None
    status = run(snv.ws.settings.home, "exchange", "status", str(first), "--json")
    assert status.returncode == 0, status.stderr
    at_stc = [r for r in json.loads(status.stdout) if r["organ_id"] == stc.organ_id]
    assert at_stc[0]["state"] == "sent"
    assert [s["code"] for s in at_stc[0]["statuses"]] == ["01", "03", "04", "05", "06"]


def test_incoming_yaml_says_which_action_reports_which_status() -> None:
    from engine.automation.registry import PLUGINS
    from engine.core.definitions import parse_definition
    from workflows import DEFINITIONS_DIR

    text = (DEFINITIONS_DIR / "incoming.yaml").read_text(encoding="utf-8")
    steps = PLUGINS.steps.keys()
    incoming = parse_definition(text.encode(), "incoming.yaml", automated_steps=steps)
    reports = {
        (step.id, action.name.value): action.report
        for step in incoming.steps.values()
        for action in step.actions
        if action.report
    }
    assert reports == {
        ("register", "register"): "03",
        ("register", "reject"): "02",
        ("assign", "assign"): "04",
        ("handle", "forward"): "05",
        ("handle", "complete"): "06",
        ("handle_specialist", "complete"): "06",
    }
    wrong = text.replace('report: "04"', 'report: "07"')
    with pytest.raises(VanthuError) as caught:
        parse_definition(wrong.encode(), "incoming.yaml", automated_steps=steps)
    assert caught.value.code == "workflow.definition.unknown_report"
    assert caught.value.fields().get("line") == text[: text.index('report: "04"')].count("\n") + 1


def test_the_commands_for_recall_update_requests_and_answer(network: Network) -> None:
    from engine.exchange import answer, pending_requests

    snv, stc = network["SNV"], network["STC"]
    snv_home, stc_home = snv.ws.settings.home, stc.ws.settings.home
    doc = issue_document(snv.ws, to(LETTER, stc.organ_id))
    (arrived,) = arrivals(stc.ws, symbol_of(snv.ws, doc))

    # the sender sends an update from the command line; the recipient's clerk agrees
    sent = run(snv_home, "exchange", "update", str(doc), "--reason", "Đính chính", "--as", "vanthu")
    assert sent.returncode == 0, sent.stderr
    (asked_first,) = [r for r in pending_requests(stc.ws) if r.document_id == arrived.id]
    assert asked_first.kind == "update"
    answer(stc.ws, asked_first.id, "vanthu", agree=True)
    assert [[e.code for e in r.statuses] for r in exchange_status(snv.ws, doc)][-1] == ["01", "15"]

    no_reason = run(snv_home, "exchange", "recall", str(doc), "--reason", " ", "--as", "vanthu")
    assert no_reason.returncode == 2 and no_reason.stderr.count("\n") == 1
    asked = run(snv_home, "exchange", "recall", str(doc), "--reason", "Gửi nhầm", "--as", "vanthu")
    assert asked.returncode == 0, asked.stderr
    assert stc.organ_id in asked.stdout

    listed = run(stc_home, "exchange", "requests", "--json")
    assert listed.returncode == 0, listed.stderr
    (request,) = [r for r in json.loads(listed.stdout) if r["document_id"] == arrived.id]
    assert (request["kind"], request["sender"], request["reason"]) == (
        "recall",
        snv.organ_id,
        "Gửi nhầm",
    )
    shown = run(stc_home, "exchange", "requests")
    assert f"#{request['id']}  đề nghị lấy lại văn bản #{arrived.id}" in shown.stdout

    number = str(request["id"])
    bare = run(stc_home, "exchange", "answer", number, "refuse", "--as", "vanthu")
    assert bare.returncode == 2 and "--reason" in bare.stderr
    refused = run(
        stc_home, "exchange", "answer", number, "refuse", "--reason", "Đã vào sổ", "--as", "vanthu"
    )
    assert refused.returncode == 0, refused.stderr
    again = run(stc_home, "exchange", "answer", number, "agree", "--as", "vanthu")
    assert again.returncode == 3 and again.stderr.count("\n") == 1  # answered: no longer waiting
    seen = exchange_status(snv.ws, doc)[-1]  # the statuses after the update's envelope
    assert [(e.code, e.reason) for e in seen.statuses] == [
        ("01", ""),
        ("15", ""),
        ("13", "Gửi nhầm"),
        ("16", "Đã vào sổ"),
    ]
    # recalled: the sender's copy is frozen, though the recipient refused to give its copy back
    frozen = run(snv_home, "exchange", "update", str(doc), "--as", "vanthu")
    assert frozen.returncode == 5 and "thu hồi" in frozen.stderr


def signed_in(client: TestClient, username: str) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    done = client.post(
        "/login",
        data={"username": username, "password": password_of(username), "csrf_token": token[1]},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


def csrf_of(page: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    return token[1]


def test_the_web_office_shows_the_exchange_and_the_clerk_answers(network: Network) -> None:
    from engine.core import accounts
    from engine.exchange import recall, update

    snv, stc = network["SNV"], network["STC"]
    for office, username in ((snv, "vanthu"), (stc, "vanthu"), (stc, "giamdoc")):
        accounts.set_password(office.ws, username, username, password_of(username))
    doc = issue_document(snv.ws, to(LETTER, stc.organ_id))
    (arrived,) = arrivals(stc.ws, symbol_of(snv.ws, doc))
    assert arrived.id is not None
    act(stc.ws, arrived.id, "vanthu", "register")

    with TestClient(create_app(stc.ws)) as client:
        signed_in(client, "vanthu")
        # the arrival's page names its sender's organ id and DocumentId
        page = client.get(f"/documents/{arrived.id}").text
        section = page[page.index('id="h-lien-thong"') :]
        assert snv.organ_id in section
        with Session(stc.ws.db) as session:
            edxml_id = session.exec(
                select(ExchangeMessage.edxml_document_id).where(
                    ExchangeMessage.document_id == arrived.id
                )
            ).first()
        assert edxml_id and html.escape(edxml_id) in section

        # an update, agreed with one click
        update(snv.ws, doc, "vanthu", "Bổ sung nơi nhận")
        updated = client.get("/exchange/requests").text
        (request,) = re.findall(r'action="/exchange/requests/(\d+)/agree"', updated)
        agreed = client.post(
            f"/exchange/requests/{request}/agree", data={"csrf_token": csrf_of(updated)}
        )
        assert "Đã đồng ý đề nghị" in agreed.text

        # then the sender recalls it (its copy frozen); the clerk refuses
        recall(snv.ws, doc, "vanthu", "Gửi nhầm phụ lục")
        listing = client.get("/exchange/requests")
        assert listing.status_code == 200 and 'href="/exchange/requests"' in listing.text
        (request,) = [
            r for r in re.findall(r'action="/exchange/requests/(\d+)/refuse"', listing.text)
        ]
        assert "Gửi nhầm phụ lục" in listing.text and html.escape(LETTER.subject) in listing.text
        token = csrf_of(listing.text)
        refuse = f"/exchange/requests/{request}/refuse"

        forged = client.post(refuse, data={"reason": "X"}, follow_redirects=False)
        assert forged.status_code == 403  # no CSRF token: nothing answered
        blank = client.post(refuse, data={"reason": "  ", "csrf_token": token})
        assert "cần lý do" in blank.text  # refused without a reason, the request still waits
        assert f'action="/exchange/requests/{request}/agree"' in blank.text
        done = client.post(refuse, data={"reason": "Đã giao xử lý", "csrf_token": token})
        assert done.status_code == 200 and "Đã từ chối đề nghị" in done.text
        assert "Không có đề nghị nào đang chờ" in done.text or request not in re.findall(
            r'action="/exchange/requests/(\d+)/refuse"', done.text
        )

    with TestClient(create_app(stc.ws)) as client:  # a leader: not the clerk's page
        signed_in(client, "giamdoc")
        assert client.get("/exchange/requests").status_code == 403
        assert 'href="/exchange/requests"' not in client.get("/inbox").text

    with Session(stc.ws.db) as session:
        answered = session.exec(
            select(AuditEvent).where(
                AuditEvent.document_id == arrived.id,
                AuditEvent.event == "exchange_request_answered",
            )
        ).all()
    assert [(e.actor, e.channel, json.loads(e.detail)["agreed"]) for e in answered] == [
        ("vanthu", "web", True),
        ("vanthu", "web", False),
    ]

    # the sender's page: per recipient, what was sent and every status with its reason
    with TestClient(create_app(snv.ws)) as client:
        signed_in(client, "vanthu")
        page = client.get(f"/documents/{doc}").text
    section = page[page.index('id="h-lien-thong"') :]
    section = section[: section.index("</section>")]
    assert html.escape(stc.name) in section or stc.name in section
    for code in ("01", "03", "13", "16", "15"):
        assert f"<strong>{code}</strong>" in section, code
    assert "Lý do: Đã giao xử lý" in section and "Cập nhật: Đã gửi" in section
    assert "Văn bản đã bị thu hồi lúc" in page  # the sender's copy stays frozen
    shot = web_screenshot(snv, f"/documents/{doc}", "exchange-document")
    assert shot.stat().st_size > 10_000


def web_screenshot(office: Office, path: str, name: str) -> Path:
    """The page in Chromium, with the section in view, as test-output/screens/<name>.png. Its
    own Playwright, opened and closed here: left open, it breaks later signing in the module."""
    from fixtures_web import CHROMIUM, CHROMIUM_ARGS, DESKTOP, login, screenshot
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                base_url=office.url, viewport=DESKTOP, locale="vi-VN", timezone_id="Asia/Bangkok"
            )
            page = context.new_page()
            login(page, "vanthu")
            page.goto(path)
            page.get_by_role("heading", name="Liên thông").scroll_into_view_if_needed()
            return screenshot(page, name)
        finally:
            browser.close()
