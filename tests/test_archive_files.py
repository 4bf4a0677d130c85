"""Case files (hồ sơ): opened, filled and closed by an archivist; a closed file never changes;
the file is written to the records' metadata in the store and its retention locks them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from engine.archive import case_files as files
from engine.archive import records as archive
from engine.archive import search
from engine.automation import open_workspace
from engine.core import audit
from engine.core.config import load_settings
from engine.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.core.models import ArchiveRecord, AuditEvent
from engine.core.text import VIETNAM, vietnam_time
from engine.core.workspace import Workspace
from storage import content_key, list_revisions, read_record
from tests_support import LETTER, Ran, cli_agency, issue_document

CODE = "2026.TCBC.01"


def _record(ws: Workspace, document_id: int) -> ArchiveRecord:
    with Session(ws.db) as session:
        return session.exec(
            select(ArchiveRecord).where(ArchiveRecord.document_id == document_id)
        ).one()


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _open(ws: Workspace, code: str = CODE, **options: Any) -> None:
    values: dict[str, Any] = {"title": "Hồ sơ bổ nhiệm cán bộ năm 2026", "retention_class": "20"}
    files.open_file(ws, "luutru", code=code, **{**values, **options})


def test_an_archivist_opens_fills_and_closes_a_file_that_then_never_changes(
    agency: Workspace,
) -> None:
    decision, letter = issue_document(agency), issue_document(agency, LETTER)
    d, c = _record(agency, decision), _record(agency, letter)
    year = vietnam_time(c.issued_at).year  # type: ignore[arg-type]
    with pytest.raises(NotAllowed) as refused:
        files.open_file(agency, "vanthu", code=CODE, title="X", retention_class="20")
    assert refused.value.code == "case_file.archivist_only"
    with pytest.raises(InvalidInput) as invalid:
        files.open_file(agency, "luutru", code="../x", title="X", retention_class="20")
    assert invalid.value.code == "case_file.code_invalid"
    with pytest.raises(InvalidInput) as invalid:
        files.open_file(agency, "luutru", code=CODE, title="X", retention_class="15")
    assert invalid.value.code == "retention.class_unknown"
    with pytest.raises(NotFound) as missing:
        _open(agency, unit="KHONG-CO")
    assert missing.value.code == "unit.not_found"
    _open(agency, unit="TCBC", keywords="bổ nhiệm, cán bộ")
    with pytest.raises(Conflict) as conflict:
        _open(agency)
    assert conflict.value.code == "case_file.exists"

    files.add_record(agency, "luutru", CODE, c.record_id)
    raised = _record(agency, letter)  # the letter's 10 years become the file's 20
    until = datetime(year + 21, 1, 1, tzinfo=VIETNAM)
    assert (raised.retention_years, _aware(raised.retain_until)) == (20, until)
    latest = read_record(agency.store, c.record_id)
    assert latest.revision == 2 and latest.reason == f"Đưa vào hồ sơ {CODE}"
    assert latest.metadata["file"] == CODE and latest.metadata["retention"] == "20 năm"
    assert read_record(agency.store, c.record_id, revision=1).metadata["file"] is None
    for ref in latest.objects:  # the lock on every object follows
        assert agency.store.retention(content_key(ref.sha256)) == until
    files.add_record(agency, "luutru", CODE, d.record_id)
    assert _record(agency, decision).retention_years is None  # Vĩnh viễn stays Vĩnh viễn
    with pytest.raises(Conflict) as conflict:
        files.add_record(agency, "luutru", CODE, d.record_id)
    assert conflict.value.code == "case_file.record_already_in"
    _open(agency, code="2026.VP.01")
    with pytest.raises(Conflict) as conflict:
        files.add_record(agency, "luutru", "2026.VP.01", d.record_id)
    assert conflict.value.code == "case_file.record_in_other_file"
    with pytest.raises(NotFound) as missing:
        files.remove_record(agency, "luutru", "2026.VP.01", d.record_id)
    assert missing.value.code == "case_file.record_not_in_file"
    files.remove_record(agency, "luutru", CODE, d.record_id)
    assert read_record(agency.store, d.record_id).metadata["file"] is None
    files.add_record(agency, "luutru", CODE, d.record_id)
    with Session(agency.db) as session:  # the search index knows the file
        hits = search.run_search(agency.db, search.SearchQuery(file_code=CODE), restricted=True)
        assert {h.record_id for h in hits.hits} == {c.record_id, d.record_id}
        assert _record(agency, letter).file_id is not None and session

    catalogue = files.catalogue(agency, CODE, "luutru")
    assert [r.record_id for r in catalogue.records] == [d.record_id, c.record_id]  # by date
    snap = catalogue.snapshot
    assert (snap["documents"], snap["pages"], snap["unit_code"]) == (2, 2, "TCBC")
    assert snap["start_date"] == snap["end_date"] == vietnam_time(c.issued_at).date().isoformat()  # type: ignore[arg-type]
    assert snap["keywords"] == "bổ nhiệm, cán bộ"

    with pytest.raises(NotAllowed) as refused:
        files.close_file(agency, "chuyenvien", CODE)
    assert refused.value.code == "case_file.archivist_only"
    files.close_file(agency, "luutru", CODE)
    for attempt in (
        lambda: files.add_record(agency, "luutru", CODE, c.record_id),
        lambda: files.remove_record(agency, "luutru", CODE, c.record_id),
        lambda: files.close_file(agency, "luutru", CODE),
    ):
        with pytest.raises(Conflict) as conflict:
            attempt()
        assert conflict.value.code == "case_file.closed"
        assert conflict.value.fields()["file_code"] == CODE
    with pytest.raises(Conflict) as conflict:
        files.close_file(agency, "luutru", "2026.VP.01")
    assert conflict.value.code == "case_file.empty"
    with pytest.raises(NotFound) as missing:
        files.add_record(agency, "luutru", "KHONG.CO", c.record_id)
    assert missing.value.code == "case_file.not_found"
    assert missing.value.fields()["file_code"] == "KHONG.CO"

    stored = {s["code"]: s for s in files.stored_files(agency.store)}
    assert stored[CODE]["state"] == "closed" and stored[CODE]["closed_by"] == "luutru"
    assert stored[CODE]["records"] == [d.record_id, c.record_id]
    assert [(f.code, f.state, f.documents) for f in files.list_files(agency)] == [
        (CODE, "closed", 2),
        ("2026.VP.01", "open", 0),
    ]
    with Session(agency.db) as session:
        events = [e.event for e in session.exec(select(AuditEvent)).all()]
    assert events.count("archive_file_opened") == 2 and "archive_file_closed" in events
    assert events.count("archive_file_record_added") == 3
    assert events.count("archive_file_record_removed") == 1
    assert audit.verify_chain(agency.db).intact


@pytest.mark.s3
def test_closing_counts_retention_from_the_matter_end_on_the_s3_store(
    make_agency: Any, s3_store_url: str
) -> None:
    ws = make_agency(store_url=s3_store_url)
    c = _record(ws, issue_document(ws, LETTER))
    year = vietnam_time(c.issued_at).year  # type: ignore[arg-type]
    _open(ws, retention_class="30")
    files.add_record(ws, "luutru", CODE, c.record_id)
    files.close_file(ws, "luutru", CODE)
    until = datetime(year + 31, 1, 1, tzinfo=VIETNAM)
    assert _aware(_record(ws, c.document_id).retain_until) == until  # type: ignore[arg-type]
    for manifest in list_revisions(ws.store, c.record_id):
        for ref in manifest.objects:
            assert ws.store.retention(content_key(ref.sha256)) == until
    with pytest.raises(Conflict) as conflict:
        files.remove_record(ws, "luutru", CODE, c.record_id)
    assert conflict.value.code == "case_file.closed"


def test_a_restricted_file_restricts_its_records(agency: Workspace, tmp_path: Path) -> None:
    record = _record(agency, issue_document(agency, LETTER))
    assert record.access == "public"
    archive.retrieve(agency, record.record_id, "vanthu", tmp_path / "before")
    _open(agency, access="restricted")
    files.add_record(agency, "luutru", CODE, record.record_id)
    with pytest.raises(NotAllowed) as refused:
        archive.retrieve(agency, record.record_id, "vanthu", tmp_path / "clerk")
    assert refused.value.code == "record.restricted"
    with pytest.raises(NotAllowed) as refused:
        archive.retrieve(agency, record.record_id, "chuyenvien", tmp_path / "specialist")
    assert refused.value.code == "archive.reader_only"
    archive.retrieve(agency, record.record_id, "luutru", tmp_path / "archivist")
    query = search.SearchQuery(text="don doc bao cao")
    assert search.run_search(agency.db, query, restricted=False).hits == ()
    assert len(search.run_search(agency.db, query, restricted=True).hits) == 1
    assert [(e.actor, e.allowed) for e in archive.retrieval_log(agency, record.record_id)] == [
        ("vanthu", True),
        ("vanthu", False),
        ("chuyenvien", False),
        ("luutru", True),
    ]


def _one_error_line(result: Ran) -> None:
    """The refusal is one line on standard error, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Lỗi: "), result.stderr
    assert "Traceback" not in result.stderr


def test_the_archive_commands(
    tmp_path: Path, demo_keys: Path, vanthu_cli: Callable[..., Ran]
) -> None:
    home = cli_agency(tmp_path / "agency", demo_keys)
    ws = open_workspace(load_settings(home))
    record_id = _record(ws, issue_document(ws, LETTER)).record_id
    ws.db.dispose()

    opened = vanthu_cli(
        home, "archive", "file", "open", CODE, "--title", "Đôn đốc báo cáo", "--retention",
        "Vĩnh viễn", "--unit", "VP", "--as", "luutru",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.strip() == f"Đã mở hồ sơ {CODE}: Đôn đốc báo cáo"
    refused = vanthu_cli(home, "archive", "file", "add", CODE, record_id, "--as", "vanthu")
    assert refused.returncode == 4  # forbidden
    _one_error_line(refused)
    added = vanthu_cli(home, "archive", "file", "add", CODE, record_id, "--as", "luutru")
    assert added.stdout.strip() == f"Đã đưa {record_id} vào hồ sơ {CODE}."
    assert vanthu_cli(home, "archive", "file", "close", CODE, "--as", "luutru").returncode == 0
    again = vanthu_cli(home, "archive", "file", "add", CODE, record_id, "--as", "luutru")
    assert again.returncode == 5  # the file is closed: a conflict
    _one_error_line(again)
    listed = vanthu_cli(home, "archive", "file", "list")
    assert listed.stdout.strip() == f"{CODE}  Đôn đốc báo cáo  (đã đóng, Vĩnh viễn, 1 văn bản)"
    shown = vanthu_cli(home, "archive", "file", "show", CODE, "--as", "luutru")
    assert shown.stdout.startswith(f"HỒ SƠ {CODE}: Đôn đốc báo cáo\nĐơn vị: Văn phòng Sở")
    assert "Số văn bản: 1  ·  Số trang: 1" in shown.stdout
    assert "  1. 01/SNV-TCBC" in shown.stdout and record_id in shown.stdout
    shown_json = vanthu_cli(home, "archive", "file", "show", CODE, "--json", "--as", "luutru")
    as_json = json.loads(shown_json.stdout)
    assert as_json["entries"][0]["record_id"] == record_id and as_json["state"] == "closed"

    got = vanthu_cli(
        home, "archive", "get", record_id, "--as", "luutru", "--out", str(tmp_path / "o")
    )
    assert got.returncode == 0 and (tmp_path / "o" / "01-SNV-TCBC.pdf").exists()
    log = vanthu_cli(home, "archive", "log", record_id, "--as", "luutru")
    assert log.stdout.strip().endswith(f"luutru (archivist)  đã lấy  {record_id}")
    logged = json.loads(vanthu_cli(home, "archive", "log", "--json", "--as", "luutru").stdout)
    assert logged[0]["actor"] == "luutru"

    reindexed = vanthu_cli(home, "archive", "reindex", "--as", "luutru")
    assert reindexed.returncode == 0, reindexed.stderr
    assert reindexed.stdout.strip() == (
        "Đã dựng lại chỉ mục từ kho: 1 bản lưu (0 mới, 0 cập nhật), 1 hồ sơ."
    )
