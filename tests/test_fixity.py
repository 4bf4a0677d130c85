"""Fixity: every object re-hashed, every signature re-verified, damage named by record and
object."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_s3 import flip_byte
from sqlmodel import Session, select
from test_archive_integrity import indexed
from test_disposal import one_error_line

from engine.archive.fixity import ProblemKind, check_archive
from engine.automation import open_workspace
from engine.core.config import load_settings
from engine.core.db import transaction
from engine.core.errors import Conflict, NotAllowed, NotFound
from engine.core.models import ArchiveRecord, AuditEvent
from engine.core.workspace import Workspace
from storage import content_key, read_record
from tests_support import Ran, cli_agency, issue_document


def checked_events(ws: Workspace) -> list[dict[str, object]]:
    with Session(ws.db) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.event == "archive_checked"))
        return [json.loads(e.detail) for e in events]


@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.s3)])
def store_url(request: pytest.FixtureRequest) -> str:
    return "" if request.param == "folder" else str(request.getfixturevalue("s3_store_url"))


def test_a_flipped_byte_is_named_by_record_and_object(make_agency, store_url):  # type: ignore[no-untyped-def]
    ws = make_agency(store_url=store_url)
    indexed(ws, "SNV-2024-DI-VBDI-0001")
    indexed(ws, "SNV-2024-DI-VBDI-0002")
    clean = check_archive(ws)
    assert clean.ok and clean.records == 2 and clean.objects == 4

    damaged = read_record(ws.store, "SNV-2024-DI-VBDI-0002").objects[1]
    flip_byte(ws.store, content_key(damaged.sha256), offset=3)
    report = check_archive(ws)
    [problem] = report.problems
    assert problem.record_id == "SNV-2024-DI-VBDI-0002"
    assert problem.kind is ProblemKind.CHANGED_OBJECT
    assert problem.object is not None and damaged.name in problem.object
    assert "SNV-2024-DI-VBDI-0002" in problem.message and "đã bị thay đổi" in problem.message
    assert [e["problem_count"] for e in checked_events(ws)] == [0, 1]
    assert checked_events(ws)[-1]["problems"] == [problem.message]


def test_a_missing_object_and_a_missing_record_are_named(make_agency, database_url):  # type: ignore[no-untyped-def]
    ws = make_agency(database_url)
    indexed(ws, "THIEU-TEP")
    indexed(ws, "THIEU-MO-TA")
    pdf = read_record(ws.store, "THIEU-TEP").objects[0]
    ws.store.delete(content_key(pdf.sha256))
    ws.store.delete("records/THIEU-MO-TA.json")

    report = check_archive(ws)
    found = {(p.record_id, p.kind) for p in report.problems}
    assert found == {
        ("THIEU-TEP", ProblemKind.MISSING_OBJECT),
        ("THIEU-MO-TA", ProblemKind.MISSING_RECORD),
    }
    missing = next(p for p in report.problems if p.kind is ProblemKind.MISSING_OBJECT)
    assert "THIEU-TEP.pdf" in missing.message and "bị thiếu" in missing.message

    only = check_archive(ws, record_id="THIEU-TEP")
    assert only.records == 1 and [p.record_id for p in only.problems] == ["THIEU-TEP"]
    with pytest.raises(NotFound) as unknown:
        check_archive(ws, record_id="KHONG-CO")
    assert unknown.value.code == "record.not_found"
    with transaction(ws.db) as session:
        row = session.exec(select(ArchiveRecord).where(ArchiveRecord.record_id == "THIEU-TEP"))
        record = row.one()
        record.disposed_at = record.archived_at
        session.add(record)
    with pytest.raises(Conflict) as gone:
        check_archive(ws, record_id="THIEU-TEP")
    assert gone.value.code == "record.disposed"
    with pytest.raises(NotAllowed) as refused:
        check_archive(ws, actor="chuyenvien")
    assert refused.value.code == "archive.keeper_only"


def test_signatures_are_verified_again_and_a_changed_pdf_is_caught(make_agency, demo_pki):  # type: ignore[no-untyped-def]
    ws = make_agency()
    doc = issue_document(ws)
    with Session(ws.db) as session:
        record = session.exec(select(ArchiveRecord).where(ArchiveRecord.document_id == doc)).one()
    report = check_archive(ws)
    assert report.ok and report.signatures == 1 and record.signature_verdict == "valid"

    # The same archive seen by a deployment that trusts another root: the seal no longer verifies.
    other = open_workspace(ws.settings.model_copy(update={"trust_roots": [demo_pki.root_cert]}))
    [untrusted] = check_archive(other).problems
    assert untrusted.kind is ProblemKind.SIGNATURE and untrusted.record_id == record.record_id
    assert "lúc lưu: valid, nay: indeterminate" in untrusted.message

    flip_byte(ws.store, content_key(record.pdf_sha256), offset=200)
    [problem] = check_archive(ws).problems
    assert problem.record_id == record.record_id and problem.kind is ProblemKind.CHANGED_OBJECT


def test_archive_check_command_exits_non_zero_and_names_the_record(
    tmp_path: Path, demo_keys: Path, vanthu_cli: Callable[..., Ran]
) -> None:
    home = cli_agency(tmp_path / "agency", demo_keys)
    ws = open_workspace(load_settings(home))
    indexed(ws, "SNV-2024-DI-VBDI-0009")

    refused = vanthu_cli(home, "archive", "check", "--as", "chuyenvien")
    assert refused.returncode == 4, refused.stderr  # forbidden: an archivist's command
    one_error_line(refused)
    clean = vanthu_cli(home, "archive", "check", "--as", "luutru")
    assert clean.returncode == 0, clean.stderr
    assert "Kho lưu trữ toàn vẹn" in clean.stdout

    pdf = read_record(ws.store, "SNV-2024-DI-VBDI-0009").objects[0]
    flip_byte(ws.store, content_key(pdf.sha256))
    damaged = vanthu_cli(home, "archive", "check", "--as", "luutru")
    assert damaged.returncode == 1
    assert "LỖI: bản lưu SNV-2024-DI-VBDI-0009: tệp pdf 'SNV-2024-DI-VBDI-0009.pdf'" in (
        damaged.stdout
    )
    as_json = json.loads(vanthu_cli(home, "archive", "check", "--as", "luutru", "--json").stdout)
    assert as_json["ok"] is False
    assert as_json["problems"][0]["record_id"] == "SNV-2024-DI-VBDI-0009"
    unknown = vanthu_cli(home, "archive", "check", "--as", "luutru", "--record", "KHONG-CO")
    assert unknown.returncode == 3  # not found
    one_error_line(unknown)
