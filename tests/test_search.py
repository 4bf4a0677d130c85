"""Finding archived records: Vietnamese folding, exact forms first, filters, highlights, access,
the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from fixtures_db import WorkspaceFactory
from sqlmodel import select

from engine.archive.search import SearchQuery, index_record, remove_from_index, search
from engine.core.db import transaction
from engine.core.errors import InvalidInput, NotFound
from engine.core.models import ArchiveFile, ArchiveRecord, ArchiveText
from engine.core.text import fold
from engine.core.workspace import Workspace


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=3, tzinfo=UTC)


CORPUS = [
    # record_id, type, number, symbol, subject, body, issued, signer, retention, access, direction
    (
        "R1",
        "Quyết định",
        5,
        "05/QĐ-SNV",
        "Quyết định bổ nhiệm Trưởng phòng Tổ chức cán bộ",
        "Điều 1. Bổ nhiệm ông Lê Văn Tám giữ chức Trưởng phòng Tổ chức cán bộ.\n"
        "Điều 2. Quyết định có hiệu lực kể từ ngày ký./.",
        "2026-03-05",
        "Nguyễn Văn An",
        None,
        "public",
        "outgoing",
    ),
    (
        "R2",
        "Công văn",
        17,
        "17/SNV-VP",
        "Về việc góp ý dự thảo quy chế",
        "Đề nghị các phòng góp ý. Bản in lỗi chính tả ghi bồ nhiềm thay cho đúng chữ.",
        "2026-04-01",
        "Phạm Minh Đức",
        10,
        "public",
        "outgoing",
    ),
    (
        "R3",
        "Thông báo",
        9,
        "09/TB-SNV",
        "Thông báo kết quả họp giao ban",
        "Thong bao ket qua bo nhiem can bo (ban go khong dau).",
        "2026-05-01",
        "Nguyễn Văn An",
        20,
        "public",
        "outgoing",
    ),
    (
        "R4",
        "Báo cáo",
        3,
        "03/BC-SNV",
        "Báo cáo về bổ nhiệm cán bộ diện quản lý",
        "Nội dung mật: danh sách cán bộ dự kiến bổ nhiệm.",
        "2026-02-01",
        "Nguyễn Văn An",
        None,
        "restricted",
        "outgoing",
    ),
    (
        "R5",
        "Kế hoạch",
        12,
        "12/KH-UBND",
        "Kế hoạch đào tạo, bồi dưỡng công chức năm 2026",
        "Ủy ban nhân dân tỉnh ban hành kế hoạch đào tạo cho đội ngũ công chức.",
        "2026-01-10",
        "Trần Quốc Đạt",
        5,
        "public",
        "incoming",
    ),
]


def _seed(ws: Workspace) -> None:
    with transaction(ws.db) as session:
        case_file = ArchiveFile(
            code="2026.TCCB.01", title="Hồ sơ bổ nhiệm cán bộ năm 2026", opened_by="luutru"
        )
        session.add(case_file)
        session.flush()
        for rid, kind, number, symbol, subject, body, day, signer, keep, access, way in CORPUS:
            agency = "UBND" if way == "incoming" else "SNV"
            record = ArchiveRecord(
                record_id=rid,
                direction=way,
                agency_code=agency,
                agency_name="Ủy ban nhân dân tỉnh" if agency == "UBND" else "Sở Nội vụ",
                number=number,
                symbol=symbol,
                doc_type=kind,
                subject=subject,
                signer=signer,
                issued_at=_at(day),
                pages=1,
                retention_years=keep,
                access=access,
                file_id=case_file.id if rid in ("R1", "R4") else None,
                pdf_sha256="0" * 64,
                search_text=fold(subject),
            )
            session.add(record)
            session.flush()
            index_record(session, record, body)


@pytest.fixture
def ws(database_url: str, make_agency: WorkspaceFactory) -> Workspace:
    workspace = make_agency(database_url)
    _seed(workspace)
    return workspace


def _ids(ws: Workspace, text: str = "", username: str = "luutru", **filters: object) -> list[str]:
    query = SearchQuery(text=text, **filters)  # type: ignore[arg-type]
    return [hit.record_id for hit in search(ws, query, username=username).hits]


def test_same_order_on_both_databases_exact_forms_first(ws: Workspace) -> None:
    # Exact "bổ nhiệm" in the subject (R4 archived after R1), then the records with only the
    # folded forms "bo nhiem" (R3) and "bồ nhiềm" (R2), latest archived first. The same list is
    # expected on SQLite and PostgreSQL.
    assert _ids(ws, "bổ nhiệm") == ["R4", "R1", "R3", "R2"]


def test_a_query_without_diacritics_finds_text_with_them(ws: Workspace) -> None:
    assert _ids(ws, "quyet dinh bo nhiem") == ["R1"]
    assert _ids(ws, "bo nhiem") == ["R4", "R1", "R3", "R2"]
    # "d" finds "đ": "dao tao" is "đào tạo", "dat" is the signer "Đạt".
    assert _ids(ws, "dao tao") == ["R5"]
    assert _ids(ws, "DAT") == ["R5"]


def test_exact_form_beats_a_near_form(ws: Workspace) -> None:
    # "bồ nhiềm" typed exactly puts R2 (which has that form) ahead of the records with "bổ nhiệm".
    hits = _ids(ws, "bồ nhiềm")
    assert hits[0] == "R2"
    assert set(hits) == {"R1", "R2", "R3", "R4"}


def test_restricted_records_are_hidden_from_a_specialist(ws: Workspace) -> None:
    assert "R4" in _ids(ws, "bổ nhiệm", username="luutru")
    assert "R4" in _ids(ws, "bổ nhiệm", username="giamdoc")
    assert _ids(ws, "bổ nhiệm", username="chuyenvien") == ["R1", "R3", "R2"]
    assert _ids(ws, "bổ nhiệm", username="vanthu") == ["R1", "R3", "R2"]
    results = search(ws, SearchQuery(text="mật"), username="chuyenvien")
    assert results.total == 0 and results.hits == ()


def test_each_filter(ws: Workspace) -> None:
    assert _ids(ws, doc_type="QĐ") == ["R1"]
    assert _ids(ws, doc_type="cong van") == ["R2"]
    assert _ids(ws, number=9) == ["R3"]
    assert _ids(ws, symbol="qđ-snv") == ["R1"]
    assert _ids(ws, date_from=date(2026, 3, 5), date_to=date(2026, 4, 1)) == ["R2", "R1"]
    assert _ids(ws, date_to=date(2026, 2, 1)) == ["R5", "R4"]
    assert _ids(ws, agency_code="ubnd") == ["R5"]
    assert _ids(ws, signer="pham minh duc") == ["R2"]
    assert _ids(ws, signer="Nguyễn Văn An") == ["R4", "R3", "R1"]
    assert _ids(ws, file_code="2026.TCCB.01") == ["R4", "R1"]
    assert _ids(ws, retention_years=10) == ["R2"]
    assert _ids(ws, permanent=True) == ["R4", "R1"]
    assert _ids(ws, direction="incoming") == ["R5"]
    # Text and filters together, and paging.
    assert _ids(ws, "bo nhiem", retention_years=20) == ["R3"]
    assert _ids(ws, "bo nhiem", limit=2, offset=1) == ["R1", "R3"]
    total = search(ws, SearchQuery(text="bo nhiem", limit=1), username="luutru").total
    assert total == 4


def test_a_large_total_is_counted_up_to_a_cap(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("engine.archive.search.COUNT_CAP", 2)
    results = search(ws, SearchQuery(text="bo nhiem", limit=1), username="luutru")
    assert (results.total, results.total_exact) == (2, False)
    assert [h.record_id for h in results.hits] == ["R4"]
    everything = search(ws, SearchQuery(text="bo nhiem", limit=10), username="luutru")
    assert (everything.total, everything.total_exact) == (4, True)


def test_the_same_results_when_too_few_of_the_window_pass(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL checks the filters on a window of the newest matches and asks the join when
    # too few pass; a window one record too small makes the hidden R4 fill it.
    pages = [_ids(ws, "bo nhiem", username="chuyenvien", limit=1, offset=k) for k in range(3)]
    monkeypatch.setattr("engine.archive.search.WINDOW_SLACK", -1)
    small = [_ids(ws, "bo nhiem", username="chuyenvien", limit=1, offset=k) for k in range(3)]
    assert small == pages == [["R1"], ["R3"], ["R2"]]
    results = search(ws, SearchQuery(text="bo nhiem", limit=1), username="chuyenvien")
    assert (results.total, results.total_exact) == (3, True)


def test_a_date_range_across_years_uses_the_month_of_issue(ws: Workspace) -> None:
    assert _ids(ws, date_from=date(2025, 12, 1), date_to=date(2026, 1, 31)) == ["R5"]
    assert _ids(ws, "ke hoach", date_from=date(2026, 1, 11)) == []
    assert _ids(ws, "ke hoach", date_from=date(2026, 1, 10), date_to=date(2026, 1, 10)) == ["R5"]
    assert _ids(ws, date_from=date(1990, 1, 1), date_to=date(2070, 1, 1)) == [
        "R5",
        "R4",
        "R3",
        "R2",
        "R1",
    ]


def test_highlighted_subject_and_snippet(ws: Workspace) -> None:
    hit = search(ws, SearchQuery(text="bo nhiem", doc_type="QĐ"), username="luutru").hits[0]
    assert hit.record_id == "R1"
    # Every word that folds to a query word is marked: "bộ" is "bo" too.
    assert hit.subject_text() == "Quyết định «bổ» «nhiệm» Trưởng phòng Tổ chức cán «bộ»"
    assert "«Bổ» «nhiệm» ông Lê Văn Tám" in hit.snippet_text()
    data = hit.to_json()
    assert data["subject_html"] == (
        "Quyết định <mark>bổ</mark> <mark>nhiệm</mark> Trưởng phòng Tổ chức cán <mark>bộ</mark>"
    )
    assert "<mark>Bổ</mark> <mark>nhiệm</mark>" in data["snippet_html"]
    assert data["issued_date"] == "2026-03-05"
    # Typed with diacritics, only that form (or a bare "bo") is marked, not "bộ"; a record found
    # through another form ("bồ nhiềm") still shows where.
    exact = search(ws, SearchQuery(text="bổ nhiệm"), username="luutru").hits
    marked = {h.record_id: (h.subject_text(), h.snippet_text()) for h in exact}
    assert marked["R1"][0] == "Quyết định «bổ» «nhiệm» Trưởng phòng Tổ chức cán bộ"
    assert "can «bo» (ban go" in marked["R3"][1]
    assert "ghi «bồ» «nhiềm» thay" in marked["R2"][1]


def test_reindexing_replaces_and_removal_forgets(ws: Workspace) -> None:
    with transaction(ws.db) as session:
        record = session.exec(select(ArchiveRecord).where(ArchiveRecord.record_id == "R2")).one()
        index_record(session, record, "Nội dung mới về phê duyệt dự toán.")
    assert _ids(ws, "phe duyet du toan") == ["R2"]
    assert "R2" not in _ids(ws, "bo nhiem")
    with transaction(ws.db) as session:
        remove_from_index(session, "R2")
        assert session.exec(select(ArchiveText)).all()
    assert _ids(ws, "phe duyet") == []


def test_bad_queries_are_one_clear_sentence(ws: Workspace) -> None:
    bad = {
        "search.doc_type_unknown": SearchQuery(doc_type="Nghị định thư"),
        "search.query_invalid": SearchQuery(text="…!?"),
        "search.date_invalid": SearchQuery(date_from=date(2026, 5, 1), date_to=date(2026, 1, 1)),
        "search.direction_invalid": SearchQuery(direction="sideways"),
        "search.limit_invalid": SearchQuery(limit=0),
        "search.offset_invalid": SearchQuery(offset=-1),
        "search.window_exceeded": SearchQuery(offset=10**6),
        "search.retention_invalid": SearchQuery(retention_years=0),
    }
    for code, query in bad.items():
        with pytest.raises(InvalidInput) as invalid:
            search(ws, query, username="luutru")
        assert invalid.value.code == code
    with pytest.raises(NotFound):
        search(ws, SearchQuery(text="bo nhiem"), username="khongco")


def test_cli_json_and_terminal_output(ws: Workspace) -> None:
    home = ws.settings.home
    base = [sys.executable, "-m", "engine", "--home", str(home), "archive", "search"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env_url = {
            "VANTHU_DATABASE_URL": ws.settings.effective_database_url,
            "VANTHU_PKI_DIR": str(ws.settings.pki_dir),
        }
        return subprocess.run(
            [*base, *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, **env_url},
        )

    done = run("bo nhiem", "--json", "--as", "chuyenvien")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["total"] == 3 and data["total_exact"] is True
    assert [h["record_id"] for h in data["results"]] == ["R1", "R3", "R2"]
    first = data["results"][0]
    assert first["symbol"] == "05/QĐ-SNV" and first["retention"] == "Vĩnh viễn"
    assert "<mark>bổ</mark>" in first["subject_html"]

    shown = run("bổ nhiệm", "--type", "QĐ", "--as", "luutru")
    assert shown.returncode == 0, shown.stderr
    assert "05/QĐ-SNV" in shown.stdout and "«bổ» «nhiệm»" in shown.stdout
    assert "Tìm thấy 1 bản lưu" in shown.stdout

    bad = run("x", "--from", "31/02/2026", "--as", "luutru")
    assert bad.returncode == 2  # invalid input
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Lỗi: "), bad.stderr
    assert "Traceback" not in bad.stderr


def test_records_keep_their_order_when_the_query_changes_case(ws: Workspace) -> None:
    base = SearchQuery(text="BỔ NHIỆM")
    upper = [h.record_id for h in search(ws, base, username="luutru").hits]
    lower = [
        h.record_id for h in search(ws, replace(base, text="bổ nhiệm"), username="luutru").hits
    ]
    assert upper == lower
