"""Disposal of expired records: proposal, review, approval, then the objects leave the store and
a disposal record (biên bản hủy) stays for ever. Nothing else removes a record."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from engine.archive import disposal
from engine.archive.search import index_record, indexed_text
from engine.automation import open_workspace
from engine.core.audit import verify_chain
from engine.core.config import load_settings
from engine.core.db import transaction
from engine.core.errors import Conflict, NotAllowed
from engine.core.models import (
    ArchiveFile,
    ArchiveRecord,
    AuditEvent,
    Disposal,
    DocumentFile,
    OutboxItem,
)
from engine.core.text import fold
from engine.core.workspace import Workspace
from engine.outgoing import create_outgoing
from engine.workflow import act, outbox
from storage import (
    NewObject,
    RetentionError,
    content_key,
    read_record,
    write_record,
)
from tests_support import LETTER, Ran, cli_agency, open_task_steps
from vanthu.clock import ManualClock

PDF = "application/pdf"


def archived(
    ws: Workspace,
    record_id: str,
    *,
    retain_until: datetime | None,
    retention_years: int | None = 5,
    file_code: str = "2020.VP.01",
    closed: bool = True,
    pdf: bytes | None = None,
    object_retention: bool = True,
    document_id: int | None = None,
) -> ArchiveRecord:
    """An archived record in a case file: objects in the store (with retention), rows indexed."""
    pdf = pdf or f"%PDF-1.7 bản lưu {record_id}\n".encode()
    source = f"nguồn DOCX của {record_id}".encode()
    store_until = (retain_until or ws.store.max_retain_until) if object_retention else None
    manifest = write_record(
        ws.store,
        record_id,
        [
            NewObject("pdf", f"{record_id}.pdf", pdf, PDF),
            NewObject("source", f"{record_id}.docx", source, "application/octet-stream"),
        ],
        {"identifier": record_id, "subject": f"Công văn lưu trữ {record_id}"},
        retain_until=store_until,
    )
    with transaction(ws.db) as session:
        file = session.exec(select(ArchiveFile).where(ArchiveFile.code == file_code)).first()
        if file is None:
            file = ArchiveFile(
                code=file_code,
                title="Hồ sơ công văn năm 2020",
                retention_years=retention_years,
                opened_by="luutru",
            )
        file.state = "closed" if closed else "open"
        session.add(file)
        session.flush()
        record = ArchiveRecord(
            record_id=record_id,
            document_id=document_id,
            agency_code="SNV",
            doc_type="Công văn",
            subject=f"Về việc lưu trữ {record_id}",
            retention_years=retention_years,
            retain_until=retain_until,
            file_id=file.id,
            pdf_sha256=manifest.objects[0].sha256,
            search_text=fold(record_id),
        )
        session.add(record)
        session.flush()
        index_record(session, record, f"Nội dung toàn văn của {record_id}")
    return record


def tomorrow(clock: ManualClock) -> datetime:
    """A retention date still ahead when the record is written (S3 refuses past dates)."""
    return clock() + timedelta(days=1)


def expire(clock: ManualClock, until: datetime) -> None:
    """Move Vanthu's clock (engine and folder store alike) past ``until``: no waiting."""
    clock.set(until + timedelta(days=1))


def one_error_line(result: Ran) -> None:
    """A refusal on the command line: one line on standard error, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Lỗi: "), result.stderr
    assert "Traceback" not in result.stderr


def approve(ws: Workspace, number: int) -> None:
    act(ws, number, "chanhvanphong", "approve")
    act(ws, number, "giamdoc", "approve")


def object_keys(ws: Workspace, record_id: str) -> list[str]:
    return [content_key(ref.sha256) for ref in read_record(ws.store, record_id).objects]


def disposal_events(ws: Workspace) -> list[AuditEvent]:
    with Session(ws.db) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.event == "records_disposed")))


def _dispose_one_expired(ws: Workspace, clock: ManualClock) -> None:
    until = tomorrow(clock)
    archived(ws, "SNV-2020-DI-VBDI-0001", retain_until=until)
    archived(
        ws,
        "SNV-2020-DI-VBDI-0002",
        retain_until=ws.store.max_retain_until,
        retention_years=None,
        file_code="2020.VP.02",
    )
    keys = object_keys(ws, "SNV-2020-DI-VBDI-0001")
    kept = object_keys(ws, "SNV-2020-DI-VBDI-0002")
    expire(clock, until)

    number = disposal.propose(
        ws, "luutru", ["SNV-2020-DI-VBDI-0001"], "Hết thời hạn bảo quản 5 năm"
    )
    assert open_task_steps(ws, number) == ["review"]
    act(ws, number, "chanhvanphong", "approve")
    assert open_task_steps(ws, number) == ["decide"]
    assert all(ws.store.exists(key) for key in keys)  # nothing leaves before the last approval
    act(ws, number, "giamdoc", "approve", comment="Đồng ý hủy")

    assert not any(ws.store.exists(key) for key in keys)
    assert not ws.store.exists("records/SNV-2020-DI-VBDI-0001.json")
    assert all(ws.store.exists(key) for key in kept)
    with Session(ws.db) as session:
        gone = session.exec(
            select(ArchiveRecord).where(ArchiveRecord.record_id == "SNV-2020-DI-VBDI-0001")
        ).one()
        assert gone.disposed_at is not None  # the row stays, marked
        assert indexed_text(session, "SNV-2020-DI-VBDI-0001") is None
        assert indexed_text(session, "SNV-2020-DI-VBDI-0002") is not None
        row = session.exec(select(Disposal)).one()
    assert row.state == "disposed" and row.record_id is not None

    # The disposal record: in the store for ever, the same bytes in the database.
    view = disposal.show_disposal(ws, number)
    record = view.disposal_record
    assert record is not None and view.record_id == row.record_id
    [entry] = record["records"]
    assert entry["identifier"] == "SNV-2020-DI-VBDI-0001"
    assert entry["pdf_sha256"] == gone.pdf_sha256 and entry["retention_years"] == 5
    assert set(entry["deleted_objects"]) == set(keys)
    assert record["proposal"]["proposed_by"]["full_name"] == "Bùi Văn Khoa"
    assert [(a["by"]["username"], a["action"]) for a in record["approvals"]] == [
        ("chanhvanphong", "approve"),
        ("giamdoc", "approve"),
    ]
    stored = read_record(ws.store, row.record_id)
    assert stored.retain_until == ws.store.max_retain_until
    body_key = content_key(stored.objects[0].sha256)
    assert json.loads(ws.store.get(body_key)) == record
    with pytest.raises(RetentionError):
        ws.store.delete(body_key)
    with pytest.raises(RetentionError):
        ws.store.delete(f"records/{row.record_id}.json")

    [event] = disposal_events(ws)
    assert json.loads(event.detail)["records"] == ["SNV-2020-DI-VBDI-0001"]
    assert verify_chain(ws.db).intact


def test_an_expired_record_is_disposed_after_review_and_approval(  # type: ignore[no-untyped-def]
    make_agency, database_url, clock
):
    _dispose_one_expired(make_agency(database_url), clock)


@pytest.mark.s3
def test_seaweedfs_refuses_by_its_own_clock_and_nothing_is_marked(  # type: ignore[no-untyped-def]
    make_agency, s3_store_url, clock
):
    """Vanthu's clock is past the retention date, the S3 server's is not (and is not waited
    for): the server refuses the deletion, the step names its date, nothing is disposed."""
    ws = make_agency(store_url=s3_store_url, steps_runner="worker")
    until = tomorrow(clock)
    archived(ws, "HET-HAN", retain_until=until)
    keys = object_keys(ws, "HET-HAN")
    expire(clock, until)
    number = disposal.propose(ws, "luutru", ["HET-HAN"], "Hết thời hạn bảo quản")
    approve(ws, number)
    item = outbox.claim(ws)
    assert item is not None and item.run == "dispose_records"
    with pytest.raises(Conflict) as refused:
        disposal.dispose_records(ws, item)
    assert refused.value.code == "disposal.under_retention"
    stored = ws.store.retention(keys[0])  # the server's date, to the second
    assert stored is not None and timedelta(0) <= stored - until < timedelta(seconds=1)
    assert refused.value.fields()["until"] == stored and stored.isoformat() in str(refused.value)
    assert all(ws.store.exists(key) for key in keys)
    assert disposal.show_disposal(ws, number).state == "proposed"
    assert disposal_events(ws) == []


def test_an_unexpired_permanent_or_open_file_record_cannot_even_be_proposed(  # type: ignore[no-untyped-def]
    make_agency, clock
):
    ws = make_agency()
    archived(ws, "CON-HAN", retain_until=clock() + timedelta(days=400))
    archived(ws, "VINH-VIEN", retain_until=None, retention_years=None, file_code="2020.VP.02")
    until = tomorrow(clock)
    archived(ws, "HO-SO-MO", retain_until=until, file_code="2026.VP.09", closed=False)
    expire(clock, until)

    cases = {
        "CON-HAN": "disposal.not_expired",
        "VINH-VIEN": "disposal.permanent",
        "HO-SO-MO": "disposal.file_open",
    }
    for record_id, code in cases.items():
        with pytest.raises(Conflict) as refused:
            disposal.propose(ws, "luutru", [record_id], "Hết hạn")
        assert refused.value.code == code
        assert refused.value.fields()["problems"] == [{"record_id": record_id, "code": code}]
    with pytest.raises(Conflict) as refused:
        disposal.propose(ws, "luutru", list(cases), "Hết hạn")
    assert refused.value.code == "disposal.refused"  # reasons differ: each one in problems
    assert [p["code"] for p in refused.value.fields()["problems"]] == list(cases.values())
    with pytest.raises(NotAllowed) as forbidden:
        disposal.propose(ws, "chuyenvien", ["HO-SO-MO"], "Hết hạn")
    assert forbidden.value.code == "disposal.proposer_only"
    assert disposal.list_disposals(ws) == []


@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.s3)])
def store_url(request: pytest.FixtureRequest) -> str:
    """The agency's default folder store, then a SeaweedFS bucket."""
    return "" if request.param == "folder" else str(request.getfixturevalue("s3_store_url"))


def test_the_store_refuses_to_delete_an_unexpired_object_even_when_asked_directly(  # type: ignore[no-untyped-def]
    make_agency, store_url, clock
):
    ws = make_agency(store_url=store_url)
    record = archived(ws, "CON-HAN", retain_until=clock() + timedelta(days=400))
    for key in object_keys(ws, "CON-HAN"):
        with pytest.raises(RetentionError) as refused:
            ws.store.delete(key)
        assert refused.value.key == key
        assert ws.store.exists(key)

    # Even if the database were wrong (retention already over), the step fails and marks nothing.
    with transaction(ws.db) as session:
        row = session.get(ArchiveRecord, record.id)
        assert row is not None
        row.retain_until = clock() - timedelta(days=1)
        session.add(row)
    number = disposal.propose(ws, "luutru", ["CON-HAN"], "Hết thời hạn bảo quản")
    approve(ws, number)
    with Session(ws.db) as session:
        item = session.exec(select(OutboxItem).where(OutboxItem.run == "dispose_records")).one()
        assert item.state == "failed" and "CON-HAN" in (item.last_error or "")
        row = session.get(ArchiveRecord, record.id)
        assert row is not None and row.disposed_at is None
    assert all(ws.store.exists(key) for key in object_keys(ws, "CON-HAN"))
    assert disposal_events(ws) == []


def test_a_returned_proposal_goes_back_to_the_archivist_with_the_comment(make_agency, clock):  # type: ignore[no-untyped-def]
    ws = make_agency()
    until = tomorrow(clock)
    archived(ws, "HET-HAN", retain_until=until)
    expire(clock, until)
    number = disposal.propose(ws, "luutru", ["HET-HAN"], "Hết thời hạn bảo quản")
    with pytest.raises(Conflict) as pending:
        disposal.propose(ws, "luutru", ["HET-HAN"], "Lần nữa")
    assert pending.value.code == "disposal.pending"
    act(ws, number, "chanhvanphong", "approve")
    act(ws, number, "giamdoc", "return", comment="Bổ sung ý kiến hội đồng")
    assert open_task_steps(ws, number) == ["revise"]
    assert ws.store.exists(object_keys(ws, "HET-HAN")[0])
    act(ws, number, "luutru", "submit")
    approve(ws, number)
    view = disposal.show_disposal(ws, number)
    assert view.state == "disposed" and view.waiting_at == ()
    assert view.disposal_record is not None
    comments = [a["comment"] for a in view.disposal_record["approvals"]]
    assert "Bổ sung ý kiến hội đồng" in comments


def test_content_another_record_still_holds_is_kept(make_agency, clock):  # type: ignore[no-untyped-def]
    ws = make_agency()
    shared = b"%PDF-1.7 the same attachment in two records\n"
    until = tomorrow(clock)
    archived(ws, "HET-HAN", retain_until=until, pdf=shared)
    archived(
        ws,
        "CON-HAN",
        retain_until=clock() + timedelta(days=400),
        pdf=shared,
        file_code="2020.VP.02",
    )
    expire(clock, until)
    number = disposal.propose(ws, "luutru", ["HET-HAN"], "Hết thời hạn bảo quản")
    approve(ws, number)
    assert ws.store.exists(content_key(read_record(ws.store, "CON-HAN").objects[0].sha256))
    view = disposal.show_disposal(ws, number)
    assert view.disposal_record is not None
    [entry] = view.disposal_record["records"]
    assert entry["kept_objects"] == [
        content_key(read_record(ws.store, "CON-HAN").objects[0].sha256)
    ]


def test_the_documents_working_copies_leave_with_its_record(make_agency, clock):  # type: ignore[no-untyped-def]
    """Drafts kept with the document (every version) hold the same text: they go too."""
    ws = make_agency()
    doc = create_outgoing(ws, "chuyenvien", LETTER)
    with Session(ws.db) as session:
        drafts = session.exec(select(DocumentFile).where(DocumentFile.document_id == doc)).all()
    assert drafts and all(ws.store.exists(content_key(f.sha256)) for f in drafts)
    until = tomorrow(clock)
    archived(ws, "CO-BAN-NHAP", retain_until=until, document_id=doc)
    expire(clock, until)
    number = disposal.propose(ws, "luutru", ["CO-BAN-NHAP"], "Hết thời hạn bảo quản")
    approve(ws, number)
    assert not any(ws.store.exists(content_key(f.sha256)) for f in drafts)
    view = disposal.show_disposal(ws, number)
    assert view.disposal_record is not None
    deleted = view.disposal_record["records"][0]["deleted_objects"]
    assert {content_key(f.sha256) for f in drafts} <= set(deleted)


def test_a_disposal_interrupted_after_deleting_completes_once_on_retry(make_agency, clock):  # type: ignore[no-untyped-def]
    ws = make_agency(steps_runner="worker")  # automated steps wait in the outbox
    until = tomorrow(clock)
    archived(ws, "HET-HAN", retain_until=until)
    keys = object_keys(ws, "HET-HAN")
    expire(clock, until)
    number = disposal.propose(ws, "luutru", ["HET-HAN"], "Hết thời hạn bảo quản")
    approve(ws, number)
    item = outbox.claim(ws)
    assert item is not None and item.run == "dispose_records"
    disposal.dispose_records(ws, item)  # the outside work, then the process dies: no finisher
    assert not any(ws.store.exists(key) for key in keys)
    assert disposal.show_disposal(ws, number).state == "proposed"

    retried = outbox.execute(ws, item)  # what a worker does once the lease has run out
    assert retried.ok, retried.error
    view = disposal.show_disposal(ws, number)
    assert view.state == "disposed" and view.disposal_record is not None
    assert set(view.disposal_record["records"][0]["deleted_objects"]) == set(keys)
    assert len(list(ws.store.list_keys("records/"))) == 1  # the one biên bản, nothing else
    assert [json.loads(e.detail)["records"] for e in disposal_events(ws)] == [["HET-HAN"]]


def test_dispose_through_the_command_line(
    tmp_path: Path, demo_keys: Path, vanthu_cli: Callable[..., Ran]
) -> None:
    home = cli_agency(tmp_path / "agency", demo_keys)
    ws = open_workspace(load_settings(home))
    # The command runs on the system clock: a retention that ended yesterday (the folder
    # store takes a past date) instead of a clock moved here.
    archived(ws, "SNV-2020-DI-VBDI-0007", retain_until=datetime.now(UTC) - timedelta(days=1))

    proposed = vanthu_cli(
        home,
        "archive",
        "dispose",
        "propose",
        "SNV-2020-DI-VBDI-0007",
        "--reason",
        "Hết thời hạn bảo quản",
        "--as",
        "luutru",
    )
    assert proposed.returncode == 0, proposed.stderr
    number = proposed.stdout.split("#", 1)[1].split()[0]
    assert "đang chờ: review" in proposed.stdout
    for user in ("chanhvanphong", "giamdoc"):
        acted = vanthu_cli(home, "act", number, "approve", "--as", user)
        assert acted.returncode == 0, acted.stderr
    listed = vanthu_cli(home, "archive", "dispose", "list")
    assert f"#{number} " in listed.stdout and "đã hủy" in listed.stdout
    shown = json.loads(vanthu_cli(home, "archive", "dispose", "show", number).stdout)
    assert shown["state"] == "disposed"
    assert shown["disposal_record"]["records"][0]["identifier"] == "SNV-2020-DI-VBDI-0007"

    refused = vanthu_cli(
        home,
        "archive",
        "dispose",
        "propose",
        "SNV-2020-DI-VBDI-0007",
        "--reason",
        "Lại",
        "--as",
        "luutru",
    )
    assert refused.returncode == 5  # already disposed: a conflict
    one_error_line(refused)
    direct = vanthu_cli(home, "archive", "get", "SNV-2020-DI-VBDI-0007", "--as", "luutru")
    assert direct.returncode == 5
    one_error_line(direct)
    clerk = vanthu_cli(
        home, "archive", "dispose", "propose", "X", "--reason", "Y", "--as", "vanthu"
    )
    assert clerk.returncode == 4  # forbidden: an archivist's command
    one_error_line(clerk)
