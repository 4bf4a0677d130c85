"""Saved searches and exported results (Decree 30 Appendix VI, 9): saved, run again, shared with
the unit, renamed and deleted by their owner only, on SQLite and PostgreSQL; a restricted record
never reaches someone who may not see it, through a shared search or an export; Excel and CSV
files read back with their Vietnamese intact; the command line and the web page."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fixtures_db import WorkspaceFactory
from fixtures_web import password_of
from openpyxl import load_workbook

from engine.archive.saved_searches import (
    delete_search,
    list_searches,
    rename_search,
    run_saved,
    save_search,
    share_search,
)
from engine.archive.search import SearchQuery, SearchResults, index_record
from engine.archive.search_export import export_results
from engine.core import accounts, audit
from engine.core.db import transaction
from engine.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.core.models import ArchiveRecord
from engine.core.text import fold
from engine.core.workspace import Workspace
from engine.http import create_app

RECORDS = [
    # record_id, symbol, subject, body, access
    (
        "S1",
        "05/QĐ-SNV",
        "Quyết định bổ nhiệm Trưởng phòng Tổ chức cán bộ",
        "Điều 1. Bổ nhiệm ông Lê Văn Tám.",
        "public",
    ),
    (
        "S2",
        "07/QĐ-SNV",
        "Quyết định bổ nhiệm Phó Chánh Văn phòng",
        "Điều 1. Bổ nhiệm bà Đặng Thu Hà.",
        "public",
    ),
    (
        "S3",
        "03/BC-SNV",
        "Báo cáo bổ nhiệm cán bộ diện quản lý",
        "Danh sách dự kiến bổ nhiệm.",
        "restricted",
    ),
    ("S4", "09/TB-SNV", "Thông báo lịch họp giao ban tháng Năm", "Họp giao ban.", "public"),
]


@pytest.fixture
def ws(database_url: str, make_agency: WorkspaceFactory) -> Workspace:
    return _seeded(make_agency(database_url))


def _ids(results: SearchResults) -> list[str]:
    return [h.record_id for h in results.hits]


def test_saved_shared_run_renamed_and_deleted_by_its_owner_only(ws: Workspace) -> None:
    # the archivist (unit VP) saves "bổ nhiệm": private at first
    saved = save_search(ws, "luutru", "  Bổ nhiệm  cán bộ ", SearchQuery(text="bổ nhiệm", limit=3))
    assert (saved.name, saved.shared, saved.query.text) == ("Bổ nhiệm cán bộ", False, "bổ nhiệm")
    assert [v.name for v in list_searches(ws, "luutru")] == ["Bổ nhiệm cán bộ"]
    assert list_searches(ws, "vanthu") == []  # same unit, not shared: not seen
    with pytest.raises(NotFound):
        run_saved(ws, "vanthu", "Bổ nhiệm cán bộ")
    view, results = run_saved(ws, "luutru", "Bổ nhiệm cán bộ")
    assert view.id == saved.id and sorted(_ids(results)) == ["S1", "S2", "S3"]

    # shared with the unit: the clerk of VP runs it and sees only what a clerk may see
    share_search(ws, "luutru", f"#{saved.id}", True)
    (seen,) = list_searches(ws, "vanthu")
    assert (seen.name, seen.mine, seen.owner) == ("Bổ nhiệm cán bộ", False, "luutru")
    _, for_clerk = run_saved(ws, "vanthu", "Bổ nhiệm cán bộ")
    assert sorted(_ids(for_clerk)) == ["S1", "S2"]  # the restricted S3 stays hidden
    assert list_searches(ws, "chuyenvien") == []  # another unit (TCBC)

    # only the owner changes it
    with pytest.raises(NotAllowed):
        delete_search(ws, "vanthu", "Bổ nhiệm cán bộ")
    with pytest.raises(NotAllowed):
        rename_search(ws, "vanthu", "Bổ nhiệm cán bộ", "Của tôi")
    save_search(ws, "luutru", "Giao ban", SearchQuery(text="giao ban"))
    with pytest.raises(Conflict):
        rename_search(ws, "luutru", "Giao ban", "Bổ nhiệm cán bộ")
    with pytest.raises(Conflict):
        save_search(ws, "luutru", "Giao ban", SearchQuery(text="họp"))
    renamed = rename_search(ws, "luutru", "Bổ nhiệm cán bộ", "Bổ nhiệm 2026")
    assert renamed.id == saved.id
    assert delete_search(ws, "luutru", "Bổ nhiệm 2026") == "Bổ nhiệm 2026"
    assert [v.name for v in list_searches(ws, "luutru")] == ["Giao ban"]
    assert list_searches(ws, "vanthu") == []

    # bad input says which part is wrong, and nothing is saved
    for name, query, code in (
        (" ", SearchQuery(text="x"), "saved_search.name_invalid"),
        ("Trống", SearchQuery(limit=5), "saved_search.empty"),
        ("Sai loại", SearchQuery(doc_type="Nghị quyết xyz"), "search.doc_type_unknown"),
    ):
        with pytest.raises(InvalidInput) as refused:
            save_search(ws, "luutru", name, query)
        assert refused.value.code == code
    assert len(list_searches(ws, "luutru")) == 1

    events = [e.event for e in audit.events(ws.db) if e.event.startswith("search_")]
    assert events == [
        "search_saved",
        "search_shared",
        "search_saved",
        "search_renamed",
        "search_deleted",
    ]


def test_results_exported_to_excel_and_csv_hold_only_what_the_reader_may_see(
    ws: Workspace,
) -> None:
    query = SearchQuery(text="bo nhiem")
    book = export_results(ws, query, "luutru", "xlsx", name="Bổ nhiệm")
    assert book.rows == 3 and not book.truncated and book.filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "KẾT QUẢ TRA CỨU TÀI LIỆU LƯU TRỮ"
    assert values[1][0] == "Tìm kiếm đã lưu: Bổ nhiệm"
    header = values.index(next(r for r in values if r[0] == "STT"))
    assert values[header][:6] == (
        "STT",
        "Mã bản lưu",
        "Loại văn bản",
        "Số, ký hiệu",
        "Ngày ban hành",
        "Trích yếu",
    )
    rows = values[header + 1 :]
    assert sorted(r[1] for r in rows) == ["S1", "S2", "S3"]
    s3 = next(r for r in rows if r[1] == "S3")
    assert s3[5] == "Báo cáo bổ nhiệm cán bộ diện quản lý" and s3[11] == "Hạn chế sử dụng"
    assert next(r for r in rows if r[1] == "S1")[4] == "01/03/2026"

    plain = export_results(ws, query, "vanthu", "csv")
    assert plain.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    lines = list(csv.reader(io.StringIO(plain.content.decode("utf-8-sig"))))
    assert lines[0][:2] == ["STT", "Mã bản lưu"]
    assert sorted(line[1] for line in lines[1:]) == ["S1", "S2"]  # no restricted record
    assert "Quyết định bổ nhiệm Phó Chánh Văn phòng" in {line[5] for line in lines[1:]}

    with pytest.raises(InvalidInput):
        export_results(ws, query, "vanthu", "pdf")

    # a subject that looks like a formula stays text in both files
    _add(ws, "S5", '=HYPERLINK("http://x.example";"bấm") về giao ban', "public")
    formula = SearchQuery(text="hyperlink")
    sheet = load_workbook(io.BytesIO(export_results(ws, formula, "vanthu", "xlsx").content)).active
    assert sheet is not None
    cell = next(c for c in sheet["F"] if str(c.value).startswith("=HYPERLINK"))
    assert cell.data_type == "s"
    text = export_results(ws, formula, "vanthu", "csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    exported = [json.loads(e.detail) for e in audit.events(ws.db) if e.event == "search_exported"]
    assert [(e["form"], e["rows"]) for e in exported] == [
        ("xlsx", 3),
        ("csv", 2),
        ("xlsx", 1),
        ("csv", 1),
    ]


def test_the_commands(make_agency: WorkspaceFactory, tmp_path: Path) -> None:
    test_ws = _seeded(make_agency())
    env = {
        **os.environ,
        "VANTHU_DATABASE_URL": test_ws.settings.effective_database_url,
        "VANTHU_PKI_DIR": str(test_ws.settings.pki_dir),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "engine", "--home", str(test_ws.settings.home), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)

    saved = run(
        "archive", "search", "bổ nhiệm", "--type", "QĐ", "--save", "QĐ bổ nhiệm", "--share",
        "--as", "luutru",
    )  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    assert "Đã lưu tìm kiếm" in saved.stdout and "Tìm thấy 2 bản lưu" in saved.stdout
    listed = run("archive", "searches", "--json", "--as", "vanthu")
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)
    assert (entry["name"], entry["owner"], entry["shared"]) == ("QĐ bổ nhiệm", "luutru", True)
    assert entry["query"] == {"doc_type": "QĐ", "text": "bổ nhiệm"}

    out = tmp_path / "ket-qua.xlsx"
    again = run("archive", "search", "--saved", "QĐ bổ nhiệm", "--xlsx", str(out), "--as", "vanthu")
    assert again.returncode == 0, again.stderr
    assert "Tìm kiếm đã lưu «QĐ bổ nhiệm»" in again.stdout and "05/QĐ-SNV" in again.stdout
    sheet = load_workbook(out).active
    assert sheet is not None
    assert "Quyết định bổ nhiệm Phó Chánh Văn phòng" in [c.value for c in sheet["F"]]

    refused = run("archive", "searches", "delete", "QĐ bổ nhiệm", "--as", "vanthu")
    assert refused.returncode == 4 and refused.stderr.count("\n") == 1
    deleted = run("archive", "searches", "delete", "QĐ bổ nhiệm", "--as", "luutru")
    assert deleted.returncode == 0 and "Đã xóa" in deleted.stdout
    assert "Chưa có tìm kiếm" in run("archive", "searches", "--as", "luutru").stdout


def _seeded(workspace: Workspace) -> Workspace:
    for rid, _, subject, body, access in RECORDS:
        _add(workspace, rid, subject, body, access)
    return workspace


def _add(ws: Workspace, rid: str, subject: str, body: str, access: str = "public") -> None:
    """An archived outgoing record, indexed; its type is the subject's first two words."""
    n = int(rid[1:])
    with transaction(ws.db) as session:
        record = ArchiveRecord(
            record_id=rid,
            direction="outgoing",
            agency_code="SNV",
            agency_name="Sở Nội vụ",
            number=n,
            symbol=next((r[1] for r in RECORDS if r[0] == rid), None),
            doc_type=" ".join(subject.split(" ")[:2]),
            subject=subject,
            issued_at=datetime(2026, 3, n, 3, tzinfo=UTC),
            pages=1,
            retention_years=None if n < 3 else 10,
            access=access,
            pdf_sha256="0" * 64,
            search_text=fold(subject),
        )
        session.add(record)
        session.flush()
        index_record(session, record, body)


def test_the_search_page_saves_runs_exports_and_deletes(
    database_url: str, make_agency: WorkspaceFactory
) -> None:
    ws = _seeded(make_agency(database_url, insecure_cookies=True))  # http in the test client
    accounts.set_password(ws, "luutru", "luutru", password_of("luutru"))
    with TestClient(create_app(ws)) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        client.post(
            "/login",
            data={"username": "luutru", "password": password_of("luutru"), "csrf_token": token[1]},
        )
        page = client.get("/archive/search", params={"q": "bổ nhiệm", "type": "Quyết định"})
        assert page.status_code == 200 and "Lưu tìm kiếm" in page.text
        assert 'href="/archive/search.xlsx?q=' in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        fields = {"q": "bổ nhiệm", "type": "Quyết định", "name": "Bổ nhiệm trên web"}
        done = client.post("/archive/searches", data={**fields, "csrf_token": csrf[1]})
        assert done.status_code == 200 and "Đã lưu tìm kiếm «Bổ nhiệm trên web»" in done.text
        assert "Tìm kiếm đã lưu: <strong>Bổ nhiệm trên web</strong>" in done.text
        assert "Tìm thấy <strong>2</strong> bản lưu" in done.text
        (number,) = re.findall(r'href="/archive/search\?saved=(\d+)"', done.text)

        sheet = client.get("/archive/search.csv", params={"saved": number})
        assert sheet.status_code == 200 and "attachment" in sheet.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig"))))
        assert sorted(r[1] for r in rows[1:]) == ["S1", "S2"]

        gone = client.post(f"/archive/searches/{number}/delete", data={"csrf_token": csrf[1]})
        assert "Đã xóa tìm kiếm «Bổ nhiệm trên web»" in gone.text
        assert f"saved={number}" not in gone.text
