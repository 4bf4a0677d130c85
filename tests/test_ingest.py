"""Bulk ingest (`vanthu archive ingest DIR`): a folder of PDFs and a CSV becomes archive records
that are searchable and pass the fixity check, on SQLite + folder store and PostgreSQL + S3;
an interrupted run resumes without duplicates; bad rows are refused with their file and line."""

from __future__ import annotations

import csv
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fixtures_db import WorkspaceFactory
from fpdf import FPDF
from pdf_support import LAYOUT
from pki_support import one_page_pdf
from sqlalchemy import text as sql_text
from sqlmodel import Session, col, func, select

from engine.archive import search
from engine.archive.fixity import check_archive
from engine.archive.ingest import ingest_folder
from engine.core.audit import verify_chain
from engine.core.errors import Conflict
from engine.core.models import ArchiveRecord, AuditEvent
from engine.core.workspace import Workspace
from engine.signatures import keys
from signing import add_form_fields, certify
from signing.demo import draw_signature_image
from storage import (
    ObjectExists,
    ObjectStore,
    ObjectWrite,
    StorageError,
    content_key,
    read_record,
)
from tests_support import pin_of

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
HEADER = [
    "Tên tệp",
    "Số, ký hiệu",
    "Loại văn bản",
    "Ngày văn bản",
    "Cơ quan ban hành",
    "Mã cơ quan",
    "Trích yếu",
    "Người ký",
    "Thời hạn bảo quản",
    "Chế độ sử dụng",
]
COUNT = 50


def _pdf(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_font("DejaVu", fname=FONT)
    pdf.add_page()
    pdf.set_font("DejaVu", size=12)
    pdf.multi_cell(0, 7, text)
    return bytes(pdf.output())


def _row(n: int) -> list[str]:
    return [
        f"vb-{n:03d}.pdf",
        f"{n}/QĐ-UBND",
        "Quyết định",
        f"{(n % 28) + 1:02d}/03/2019",
        "Ủy ban nhân dân tỉnh",
        "UBND",
        f"Về việc phê duyệt đề án số {n} chuyển đổi số",
        "Nguyễn Văn An",
        "Vĩnh viễn" if n % 2 else "10 năm",
        "công khai",
    ]


def make_folder(folder: Path, count: int = COUNT, extra: list[list[str]] | None = None) -> Path:
    """``count`` one-page PDFs (each with its own word 'mãsố<n>') and their CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in range(1, count + 1):
        row = _row(n)
        (folder / row[0]).write_bytes(_pdf(f"{row[6]}\nNội dung riêng: mãsố{n} thửnghiệm"))
        rows.append(row)
    with (folder / "danh-muc.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows + (extra or []))
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("ingest") / "kho-cu")


def _count(ws: Workspace) -> int:
    with Session(ws.db) as session:
        return session.exec(select(func.count()).select_from(ArchiveRecord)).one()


def _found(ws: Workspace, text: str) -> list[str]:
    hits = search.search(ws, search.SearchQuery(text=text), username="luutru").hits
    return [h.subject for h in hits]


def _check_ingested(ws: Workspace, report_ingested: int) -> None:
    assert report_ingested == COUNT
    assert _count(ws) == COUNT
    assert _found(ws, "mãsố17") == ["Về việc phê duyệt đề án số 17 chuyển đổi số"]
    assert len(_found(ws, "chuyen doi so")) == 20  # a page of hits, diacritics folded
    fixity = check_archive(ws, actor="luutru")
    assert fixity.ok, fixity.problems
    assert fixity.records == COUNT
    assert verify_chain(ws.db).intact
    with Session(ws.db) as session:
        record = session.exec(select(ArchiveRecord).where(ArchiveRecord.number == 17)).one()
        written = session.exec(
            select(AuditEvent).where(col(AuditEvent.detail).contains(record.record_id))
        ).all()
    assert record.symbol == "17/QĐ-UBND" and record.doc_type == "Quyết định"
    assert record.retention_years is None and record.pages == 1
    assert record.issued_at is not None and record.issued_at.replace(tzinfo=None) == datetime(
        2019, 3, 17, 17
    )  # 18/03/2019 in Vietnam time, kept in UTC
    assert [e.event for e in written] == ["archive_revision_written"]


def test_folder_is_ingested_searchable_and_fixed_on_sqlite_and_folder_store(
    make_agency: WorkspaceFactory, folder: Path
) -> None:
    ws = make_agency()
    report = ingest_folder(ws, folder, actor="luutru", workers=2)
    assert report.refused == () and report.skipped == 0
    _check_ingested(ws, report.ingested)


@pytest.mark.postgres
@pytest.mark.s3
def test_folder_is_ingested_on_postgresql_and_s3(
    make_agency: WorkspaceFactory, postgres_url: str, s3_store_url: str, folder: Path
) -> None:
    ws = make_agency(postgres_url, s3_store_url)
    with ws.db.begin() as connection:  # an archive that already holds a few thousand records
        connection.execute(sql_text("ALTER SEQUENCE archive_record_id_seq RESTART WITH 4001"))
    report = ingest_folder(ws, folder, actor="luutru", workers=2)
    assert report.refused == ()
    _check_ingested(ws, report.ingested)
    with ws.db.connect() as connection:
        entries = connection.execute(sql_text("SELECT record_pk, tokens FROM archive_text")).all()
    # each entry is read by the span of its own key (a wrong span hides it from search)
    assert min(pk for pk, _ in entries) == 4001
    assert all(t.endswith(f" zr{pk // search.RECENCY_SPAN}") for pk, t in entries)


class FailingAfter:
    """The real folder store, cut off after ``writes`` successful creates (a full disk, a lost
    connection): what an interrupted run leaves behind is real."""

    def __init__(self, store: ObjectStore, writes: int) -> None:
        self._store, self._left = store, writes
        self._lock = threading.Lock()  # batches are written by two threads at once

    def create(self, key: str, data: bytes, *args: Any, **kwargs: Any) -> str | None:
        with self._lock:
            if self._left <= 0:
                raise StorageError("kho ngừng nhận", "the store stopped taking writes", key=key)
            self._left -= 1
        return self._store.create(key, data, *args, **kwargs)

    def create_many(self, writes: Sequence[ObjectWrite]) -> list[str | ObjectExists | None]:
        with self._lock:
            allowed = list(writes[: max(self._left, 0)])
            self._left -= len(allowed)
        done = self._store.create_many(allowed) if allowed else []
        if len(allowed) < len(writes):
            key = writes[len(allowed)].key
            raise StorageError("kho ngừng nhận", "the store stopped taking writes", key=key)
        return done

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_interrupted_run_resumes_with_every_record_once(
    make_agency: WorkspaceFactory, folder: Path
) -> None:
    ws = make_agency()
    real = ws.store
    # two creates a record (its PDF, then its manifest): the store stops after 27 and a half
    # records, with later batches in flight, some records in the store alone
    object.__setattr__(ws, "store", FailingAfter(real, 55))
    with pytest.raises(StorageError):
        ingest_folder(ws, folder, actor="luutru", workers=2, batch=10)
    object.__setattr__(ws, "store", real)
    first = _count(ws)
    assert 0 < first < COUNT  # the first batch committed, the rest not
    with pytest.raises(Conflict) as refused:  # run again by mistake: nothing written twice
        ingest_folder(ws, folder, actor="luutru", workers=2, batch=10)
    assert refused.value.code == "ingest.already_started"
    report = ingest_folder(ws, folder, actor="luutru", workers=2, batch=10, resume=True)
    assert report.skipped == first and report.ingested == COUNT - first
    _check_ingested(ws, COUNT)
    again = ingest_folder(ws, folder, actor="luutru", workers=2, resume=True)
    assert (again.ingested, again.skipped) == (0, COUNT)


KILLED_RUN = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from engine.automation import open_workspace
    from engine.archive.ingest import ingest_folder
    from engine.core.config import load_settings

    home, database, store, pki, folder = sys.argv[1:]
    settings = load_settings(
        Path(home), database_url=database, store_url=store, pki_dir=Path(pki),
        steps_runner="inline",
    )
    def report(state):
        print(state.done, flush=True)
    ingest_folder(open_workspace(settings), Path(folder), actor="luutru", workers=2, batch=5,
                  progress=report)
    """
)


def _stored_objects_match_their_hash(store: ObjectStore) -> int:
    keys = list(store.list_keys("objects/sha256/"))
    for key in keys:
        assert key == content_key(hashlib.sha256(store.get(key)).hexdigest())
    return len(keys)


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux's /proc)."""
    listed = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in listed.split()]


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting to be reaped has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_run_killed_mid_batch_resumes_with_every_record_once(
    make_agency: WorkspaceFactory, folder: Path
) -> None:
    """SIGKILL (a power cut, the OOM killer) while batches are being written and committed:
    a rerun with --resume finds what was committed, takes up what reached the store alone,
    and ends with every row a record exactly once and every stored object whole."""
    ws = make_agency()
    settings = ws.settings
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(settings.home), settings.database_url,
         settings.store_url, str(settings.pki_dir), str(folder)],
        stdout=subprocess.PIPE, text=True, env=os.environ.copy(),
    )  # fmt: skip
    assert child.stdout is not None
    for line in child.stdout:  # two batches of five committed, later ones in flight
        if int(line) >= 10:
            break
    pool = _children(child.pid)
    assert pool, "the run's worker processes are listed"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    child.stdout.close()
    deadline = time.monotonic() + 15  # its workers end too, none left waiting for work
    while any(_alive(pid) for pid in pool):
        assert time.monotonic() < deadline, f"worker processes left running: {pool}"
        time.sleep(0.2)
    first = _count(ws)
    assert 10 <= first < COUNT
    report = ingest_folder(ws, folder, actor="luutru", workers=2, batch=5, resume=True)
    assert report.refused == ()
    assert (report.skipped, report.ingested) == (first, COUNT - first)
    _check_ingested(ws, COUNT)
    with Session(ws.db) as session:
        ids = session.exec(select(ArchiveRecord.record_id)).all()
        written = session.exec(
            select(func.count()).where(AuditEvent.event == "archive_revision_written")
        ).one()
    assert len(set(ids)) == COUNT and written == COUNT
    assert _stored_objects_match_their_hash(ws.store) == COUNT


def test_signed_pdfs_are_verified_and_their_verdict_kept(
    make_agency: WorkspaceFactory, tmp_path: Path
) -> None:
    ws = make_agency()
    with keys.signing_policy(ws):
        signed = certify(
            add_form_fields(one_page_pdf(), LAYOUT),
            keys.personal_key(ws, "giamdoc", pin_of(ws, "giamdoc")),
            draw_signature_image("Nguyễn Văn An"),
        )
    source = make_folder(tmp_path / "da-ky", count=3)
    (source / "vb-002.pdf").write_bytes(signed)
    report = ingest_folder(ws, source, actor="luutru", workers=2)
    assert (report.ingested, report.refused) == (3, ())
    with Session(ws.db) as session:
        verdicts = dict(
            session.exec(select(ArchiveRecord.number, ArchiveRecord.signature_verdict)).all()
        )
        two = session.exec(select(ArchiveRecord).where(ArchiveRecord.number == 2)).one()
    assert verdicts[1] == verdicts[3] == "unsigned"
    assert verdicts[2] not in ("unsigned", "signed")  # the verifier's verdict, not a placeholder
    kept = read_record(ws.store, two.record_id)
    assert kept.metadata["signature_verdict"] == verdicts[2]
    assert kept.metadata["signature_report"]
    assert check_archive(ws, actor="luutru").ok


VANTHU = [sys.executable, "-m", "engine"]


def vanthu(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VANTHU, "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
        check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("ingest-cli")
    assert vanthu(home, "init").returncode == 0
    assert vanthu(home, "setup-demo").returncode == 0
    yield home


def test_bad_rows_are_refused_with_file_and_line_and_the_others_ingested(
    home: Path, tmp_path: Path
) -> None:
    bad_date = _row(90)
    bad_date[3] = "31/02/2019"
    missing = _row(91)
    missing[0] = "khong-co.pdf"
    duplicate = _row(3)
    source = make_folder(tmp_path / "loi", count=5, extra=[bad_date, missing, duplicate])
    (source / "vb-090.pdf").write_bytes(_pdf("ngày sai"))
    done = vanthu(home, "archive", "ingest", str(source), "--as", "luutru")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert "TỪ CHỐI: danh-muc.csv dòng 7 (vb-090.pdf): ngày '31/02/2019' không hợp lệ" in lines[0]
    assert lines[1] == (
        "TỪ CHỐI: danh-muc.csv dòng 8 (khong-co.pdf): không có tệp khong-co.pdf trong thư mục"
    )
    assert lines[2].startswith("TỪ CHỐI: danh-muc.csv dòng 9 (vb-003.pdf): trùng dòng danh-muc")
    assert "danh-muc.csv:4" in lines[2]
    assert lines[3].startswith("Đã nhập 5 bản lưu, bỏ qua 0 bản đã có, từ chối 3 dòng")
    assert "5/8" in done.stderr or "8/8" in done.stderr  # the progress line
    again = vanthu(home, "archive", "ingest", str(source), "--as", "luutru", "--resume")
    assert again.returncode == 1
    assert "Đã nhập 0 bản lưu, bỏ qua 5 bản đã có, từ chối 3 dòng" in again.stdout


def test_clean_folder_exits_zero_and_clerks_may_not_ingest(home: Path, tmp_path: Path) -> None:
    source = make_folder(tmp_path / "sach", count=3)
    refused = vanthu(home, "archive", "ingest", str(source), "--as", "vanthu")
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr and "lưu trữ viên" in refused.stderr + refused.stdout
    done = vanthu(home, "archive", "ingest", str(source), "--as", "luutru", "--json")
    assert done.returncode == 0, done.stderr
    assert '"ingested": 3' in done.stdout
    unknown = source / "danh-muc.csv"
    unknown.write_text("Tên tệp,Màu bìa\nvb-001.pdf,xanh\n", encoding="utf-8")
    bad = vanthu(home, "archive", "ingest", str(source), "--as", "luutru")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "danh-muc.csv dòng 1: không biết cột 'Màu bìa'" in bad.stderr + bad.stdout


def test_json_beside_each_pdf_is_read_like_a_csv_row(
    make_agency: WorkspaceFactory, tmp_path: Path
) -> None:
    source = tmp_path / "json"
    source.mkdir()
    (source / "a.pdf").write_bytes(_pdf("Công văn về an toàn thông tin mạng"))
    (source / "a.json").write_text(
        '{"Loại văn bản": "cong van", "Trích yếu": "V/v bảo đảm an toàn thông tin mạng",'
        ' "Số, ký hiệu": "45/STTTT-BCVT", "Ngày văn bản": "2021-07-09", "Đi/đến": "đến",'
        ' "Chế độ sử dụng": "hạn chế", "Thời hạn bảo quản": "20 năm"}',
        encoding="utf-8",
    )
    (source / "b.pdf").write_bytes(_pdf("không có siêu dữ liệu"))
    ws = make_agency()
    report = ingest_folder(ws, source, actor="luutru", workers=1)
    assert report.ingested == 1
    assert [str(r) for r in report.refused] == [
        "b.json (b.pdf): thiếu tệp siêu dữ liệu b.json bên cạnh b.pdf"
    ]
    with Session(ws.db) as session:
        record = session.exec(select(ArchiveRecord)).one()
    assert (record.doc_type, record.number, record.direction) == ("Công văn", 45, "incoming")
    assert (record.access, record.retention_years) == ("restricted", 20)
    assert record.record_id.startswith("LT-2021-NK-")


def test_a_page_with_fewer_than_three_letters_or_digits_is_read_as_a_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.archive import ingest
    from engine.archive.extraction import ExtractedText

    def full_text(data: bytes) -> ExtractedText:  # the archiving path (pdftotext, OCR)
        return ExtractedText("chữ nhận dạng", 1, b"%PDF-ocr")

    monkeypatch.setattr(ingest.records, "full_text", full_text)
    for name, text, scan in (
        ("a.pdf", "A1 .", True),
        ("b.pdf", "A1b", False),
        ("c.pdf", "-", True),
    ):
        path = tmp_path / name
        path.write_bytes(_pdf(text))
        read = ingest.read_pdf(str(path))
        assert not isinstance(read, str), read
        assert (read.ocr_pdf is not None, read.text) == (scan, "chữ nhận dạng" if scan else text)
        assert read.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
