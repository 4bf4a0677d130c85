"""Archive records: full metadata in the database and beside the objects, retention per class,
reindexing from the store alone, and logged, access-checked retrieval."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont
from sqlmodel import Session, col, select

from engine.archive import case_files as files
from engine.archive import records as archive
from engine.archive import retention, search
from engine.archive.reindex import reindex
from engine.automation import open_workspace
from engine.core import audit
from engine.core.config import load_settings
from engine.core.errors import ConfigError, InvalidInput, NotAllowed
from engine.core.models import ArchiveFile, ArchiveRecord
from engine.core.text import VIETNAM, vietnam_time
from engine.core.workspace import Workspace
from engine.incoming import IncomingRequest, receive_incoming
from engine.workflow import Upload, act
from engine.workflow.files import latest_file
from storage import content_key, get_content, read_record
from tests_support import DECISION, LETTER, issue_document


def _record(ws: Workspace, document_id: int) -> ArchiveRecord:
    with Session(ws.db) as session:
        return session.exec(
            select(ArchiveRecord).where(ArchiveRecord.document_id == document_id)
        ).one()


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _columns(record: ArchiveRecord) -> dict[str, Any]:
    """Every column the store rebuilds, times in UTC."""
    values = record.model_dump(exclude={"id", "document_id", "file_id", "disposed_at"})
    return {k: _aware(v) if isinstance(v, datetime) else v for k, v in values.items()}


def test_every_issued_document_is_a_record_whose_metadata_agrees_in_db_and_store(
    agency: Workspace,
) -> None:
    decision, letter = issue_document(agency), issue_document(agency, LETTER)
    for doc in (decision, letter):
        record = _record(agency, doc)
        manifest = read_record(agency.store, record.record_id)
        assert _columns(record) == {
            k: _aware(v) if isinstance(v, datetime) else v
            for k, v in archive.record_fields(manifest).items()
        }
        for ref in manifest.objects:  # every object is in the store under its SHA-256
            assert hashlib.sha256(get_content(agency.store, ref.sha256)).hexdigest() == ref.sha256

    record = _record(agency, decision)
    manifest = read_record(agency.store, record.record_id)
    meta = manifest.metadata
    assert record.record_id == meta["identifier"] == f"SNV-{record.issued_at.year}-DI-QD-0001"  # type: ignore[union-attr]
    assert (meta["agency"], meta["agency_code"]) == ("SỞ NỘI VỤ", "SNV")
    assert (meta["register"], meta["number"], meta["symbol"]) == (
        "Sổ đăng ký Quyết định",
        1,
        "01/QĐ-SNV",
    )
    assert (meta["doc_type"], meta["subject"]) == (DECISION.doc_type, DECISION.subject)
    assert (meta["signer"], meta["signer_title"]) == ("Phạm Minh Đức", "Phó Giám đốc")
    assert (meta["pages"], meta["language"], meta["access"]) == (1, "vi", "public")
    assert (meta["retention"], meta["retain_until"]) == ("Vĩnh viễn", None)
    assert meta["signature_verdict"] == "valid" and meta["file"] is None
    roles = [ref.role for ref in manifest.objects]
    assert roles == ["pdf", "source"]
    pdf = manifest.objects[0]
    assert pdf.sha256 == record.pdf_sha256 and pdf.content_type == "application/pdf"
    # permanent: the objects are locked as long as the store allows
    assert agency.store.retention(content_key(pdf.sha256)) == agency.store.max_retain_until
    report = meta["signature_report"]
    assert report["verdict"] == "valid"  # kept as PAdES B-LTA: leader, seal, document timestamp
    kept = [(s["type"], s["level"]) for s in report["signatures"]]
    assert kept == [("signature", "B-LTA"), ("signature", "B-LTA"), ("document_timestamp", None)]

    letter_record = _record(agency, letter)
    year = vietnam_time(letter_record.issued_at).year  # type: ignore[arg-type]
    assert letter_record.retention_years == 10
    assert _aware(letter_record.retain_until) == datetime(year + 11, 1, 1, tzinfo=VIETNAM)
    letter_pdf = read_record(agency.store, letter_record.record_id).objects[0]
    assert agency.store.retention(content_key(letter_pdf.sha256)) == datetime(
        year + 11, 1, 1, tzinfo=VIETNAM
    )
    with Session(agency.db) as session:
        assert "Trần Thị Bình" in (search.indexed_text(session, record.record_id) or "")


@pytest.mark.parametrize("years", [5, 10, 20, 30, 50, 70])
def test_retention_is_counted_from_the_end_of_the_year_the_matter_ends(years: int) -> None:
    until = retention.retain_until(years, 2026)
    assert until == datetime(2026 + years + 1, 1, 1, tzinfo=VIETNAM)
    assert vietnam_time(until).strftime("%d/%m/%Y %H:%M") == f"01/01/{2027 + years} 00:00"


def test_retention_classes_are_read_from_configuration(tmp_path: Path) -> None:
    assert retention.retain_until(None, 2026) is None
    assert retention.parse_class("Vĩnh viễn") is None
    assert retention.parse_class("vinh vien") is None
    assert retention.parse_class("20 năm") == 20 and retention.parse_class(70) == 70
    with pytest.raises(InvalidInput) as invalid:
        retention.parse_class("15")
    assert invalid.value.code == "retention.class_unknown"
    shipped = retention.load_schedule(retention.SHIPPED)
    assert shipped.years_for("Quyết định") is None and shipped.years_for("Giấy mời") == 5
    assert shipped.years_for("Loại lạ") == shipped.default == 10
    own = tmp_path / "thoi-han.yaml"
    own.write_text(
        "default: 20\nby_register: {VBDI: 50}\nby_doc_type: {Công văn: 5}\n", encoding="utf-8"
    )
    schedule = retention.load_schedule(own)
    assert schedule.years_for("Công văn", "VBDI") == 50  # the register wins
    assert schedule.years_for("Công văn", "KHAC") == 5 and schedule.years_for("Báo cáo") == 20
    own.write_text("default: 20\nby_doc_type:\n  Công văn: 15\n", encoding="utf-8")
    with pytest.raises(ConfigError) as wrong:
        retention.load_schedule(own)
    assert wrong.value.code == "retention.file_invalid"
    assert (wrong.value.file, wrong.value.line) == (str(own), 3)
    assert wrong.value.fields()["key"] == "by_doc_type.Công văn"
    own.write_text("default: 20\nnam: 5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as wrong:
        retention.load_schedule(own)
    assert wrong.value.code == "retention.file_invalid"
    assert (wrong.value.line, wrong.value.fields()["key"]) == (2, "nam")
    own.write_text("default: 20\nby_doc_type: [\n", encoding="utf-8")
    with pytest.raises(ConfigError) as wrong:
        retention.load_schedule(own)
    assert wrong.value.code == "retention.file_invalid" and wrong.value.line is not None
    with pytest.raises(ConfigError) as wrong:
        retention.load_schedule(tmp_path / "khong-co.yaml")
    assert wrong.value.code == "retention.file_unreadable"


def _restricting_agency(make_agency: Any, tmp_path: Path, database_url: str = "") -> Workspace:
    own = tmp_path / "danh-muc.yaml"
    own.write_text(
        "default: 10\nby_doc_type: {Quyết định: 5}\nrestricted_doc_types: [Quyết định]\n",
        encoding="utf-8",
    )
    ws: Workspace = make_agency(database_url, retention_file=own)
    return ws


def test_the_agency_list_sets_class_and_access_and_restricted_records_are_guarded(
    make_agency: Any, tmp_path: Path, database_url: str
) -> None:
    ws = _restricting_agency(make_agency, tmp_path, database_url)
    record = _record(ws, issue_document(ws))
    assert (record.retention_years, record.access) == (5, "restricted")
    with pytest.raises(NotAllowed) as refused:
        archive.retrieve(ws, record.record_id, "vanthu", tmp_path / "clerk")
    assert refused.value.code == "record.restricted"
    with pytest.raises(NotAllowed) as refused:
        archive.retrieve(ws, record.record_id, "chuyenvien", tmp_path / "specialist")
    assert refused.value.code == "archive.reader_only"
    got = archive.retrieve(ws, record.record_id, "luutru", tmp_path / "archivist")
    pdf = next(p for p in got.files if p.suffix == ".pdf" and "ocr" not in p.name)
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == record.pdf_sha256
    log = archive.retrieval_log(ws, record.record_id)
    assert [(e.actor, e.role, e.allowed) for e in log] == [
        ("vanthu", "clerk", False),
        ("chuyenvien", "specialist", False),
        ("luutru", "archivist", True),
    ]
    assert not (tmp_path / "clerk").exists()
    assert audit.verify_chain(ws.db).intact


def test_every_retrieval_is_logged_with_who_when_and_which(
    agency: Workspace, tmp_path: Path
) -> None:
    first, second = issue_document(agency), issue_document(agency, LETTER)
    a, b = _record(agency, first).record_id, _record(agency, second).record_id
    before = datetime.now(UTC)
    archive.retrieve(agency, a, "luutru", tmp_path / "1")
    archive.retrieve(agency, b, "giamdoc", tmp_path / "2")
    archive.retrieve(agency, a, "vanthu", tmp_path / "3")
    log = archive.retrieval_log(agency)
    assert [(e.actor, e.record_id) for e in log] == [("luutru", a), ("giamdoc", b), ("vanthu", a)]
    assert all(_aware(e.at) >= before and e.allowed for e in log)  # type: ignore[operator]
    assert [e.actor for e in archive.retrieval_log(agency, a)] == ["luutru", "vanthu"]
    assert audit.verify_chain(agency.db).intact


def _search_ids(ws: Workspace, text: str, **filters: Any) -> list[str]:
    results = search.run_search(ws.db, search.SearchQuery(text=text, **filters), restricted=True)
    return [hit.record_id for hit in results.hits]


def _rows(ws: Workspace) -> dict[str, dict[str, Any]]:
    with Session(ws.db) as session:
        codes = {f.id: f.code for f in session.exec(select(ArchiveFile)).all()}
        rows = session.exec(select(ArchiveRecord).order_by(col(ArchiveRecord.record_id))).all()
        return {r.record_id: {**_columns(r), "file": codes.get(r.file_id)} for r in rows}


def _files(ws: Workspace) -> list[dict[str, Any]]:
    with Session(ws.db) as session:
        found = session.exec(select(ArchiveFile).order_by(col(ArchiveFile.code))).all()
        return [
            {k: _aware(v) if isinstance(v, datetime) else v for k, v in f.model_dump().items()}
            for f in found
        ]


@pytest.mark.parametrize("store", ["folder", pytest.param("s3", marks=pytest.mark.s3)])
def test_reindex_from_the_store_alone_gives_the_same_rows_and_search_results(
    make_agency: Any, database_url: str, store: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store_url = request.getfixturevalue("s3_store_url") if store == "s3" else ""
    ws = make_agency("", store_url)
    decision, letter = issue_document(ws), issue_document(ws, LETTER)
    files.open_file(
        ws, "luutru", code="2026.TCBC.01", title="Hồ sơ bổ nhiệm", retention_class="Vĩnh viễn"
    )
    files.add_record(ws, "luutru", "2026.TCBC.01", _record(ws, decision).record_id)
    files.close_file(ws, "luutru", "2026.TCBC.01")
    files.open_file(ws, "luutru", code="2026.VP.02", title="Đôn đốc", retention_class="20")
    files.add_record(ws, "luutru", "2026.VP.02", _record(ws, letter).record_id)

    # a new, empty database on the same store: the store alone rebuilds it
    empty = open_workspace(
        load_settings(ws.settings.home, database_url=database_url, store_url=ws.settings.store_url)
    )
    with Session(empty.db) as session:
        assert session.exec(select(ArchiveRecord)).all() == []
    report = reindex(empty)
    assert (report.records, report.created, report.files) == (2, 2, 2)
    assert _rows(empty) == _rows(ws)
    assert [{**f, "id": None, "unit_id": None} for f in _files(empty)] == [
        {**f, "id": None, "unit_id": None} for f in _files(ws)
    ]
    for query, filters in (
        ("quyet dinh bo nhiem", {}),
        ("Về việc", {}),
        ("", {"file_code": "2026.VP.02"}),
        ("", {"permanent": True}),
        ("don doc bao cao", {"retention_years": 20}),
    ):
        found = _search_ids(empty, query, **filters)
        assert found == _search_ids(ws, query, **filters) and found, (query, filters)
    with Session(empty.db) as rebuilt, Session(ws.db) as original:
        for record_id in _rows(ws):
            text = search.indexed_text(rebuilt, record_id)
            assert text and text == search.indexed_text(original, record_id)
    again = reindex(empty)
    assert (again.records, again.created, again.updated, again.missing) == (2, 0, 0, ())
    assert _rows(empty) == _rows(ws)
    assert audit.verify_chain(empty.db).intact


def _received_and_handled(
    ws: Any, filename: str, pdf: bytes, symbol: str, doc_type: str, subject: str
) -> int:
    """A document from the district received, registered, assigned, handled: then archived."""
    request = IncomingRequest(
        sender="ỦY BAN NHÂN DÂN QUẬN BA ĐÌNH", symbol=symbol, doc_type=doc_type, subject=subject
    )
    doc = receive_incoming(ws, "vanthu", Upload(filename, pdf), request)
    act(ws, doc, "vanthu", "register")
    act(ws, doc, "giamdoc", "assign", choose="truongphong")
    act(ws, doc, "truongphong", "forward", choose="chuyenvien")
    act(ws, doc, "chuyenvien", "complete", comment="Xong")
    return doc


def test_an_incoming_document_is_archived_with_its_sender_and_signer(make_agency: Any) -> None:
    ws = make_agency()
    with Session(ws.db) as session:
        issued = latest_file(session, issue_document(ws), "issued")
    pdf = get_content(ws.store, issued.sha256)
    doc = _received_and_handled(
        ws, "01-QD-SNV.pdf", pdf, "01/QĐ-UBND", "Quyết định", "Về việc bổ nhiệm"
    )
    record = _record(ws, doc)
    meta = read_record(ws.store, record.record_id).metadata
    assert record.direction == "incoming" and record.record_id.endswith("-DEN-VBDEN-0001")
    assert record.agency_name == "ỦY BAN NHÂN DÂN QUẬN BA ĐÌNH" and record.symbol == "01/QĐ-UBND"
    assert meta["holder_code"] == "SNV" and meta["received_at"]
    assert record.signer is not None and "Phạm Minh Đức" in record.signer
    assert record.signature_verdict == "valid"


def _scan(lines: list[str]) -> bytes:
    """A one-page 'scan': the lines drawn on an image, saved as a PDF with no text layer."""
    page = Image.new("L", (1240, 1754), 255)  # A4 at 150 dpi
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(
        "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf", 40
    )
    for n, line in enumerate(lines):
        draw.text((120, 200 + 70 * n), line, fill=0, font=font)
    out = BytesIO()
    page.save(out, "PDF", resolution=150)
    return out.getvalue()


def test_a_received_scan_is_ocred_in_vietnamese_kept_beside_the_original_and_searchable(
    make_agency: Any, tmp_path: Path
) -> None:
    ws = make_agency()
    scan = _scan(["ỦY BAN NHÂN DÂN", "THÔNG BÁO", "Về việc tuyển dụng viên chức năm 2026"])
    doc = _received_and_handled(
        ws, "thong-bao.pdf", scan, "12/TB-UBND", "Thông báo", "Thông báo của Quận"
    )
    record = _record(ws, doc)
    manifest = read_record(ws.store, record.record_id)
    roles = {ref.role: ref for ref in manifest.objects}
    assert set(roles) == {"pdf", "ocr"} and roles["pdf"].sha256 == hashlib.sha256(scan).hexdigest()
    assert record.signature_verdict == "unsigned" and record.pages == 1
    found = _search_ids(ws, "tuyen dung vien chuc")
    assert found == [record.record_id]
    empty = open_workspace(
        load_settings(ws.settings.home, database_url=f"sqlite:///{tmp_path / 'rebuilt.db'}")
    )
    reindex(empty)
    assert _search_ids(empty, "tuyen dung vien chuc") == found
