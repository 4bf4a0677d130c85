"""Transfer: a closed case file leaves as an E-ARK CSIP package and comes back whole; a package
changed on the way is refused with the reason, and nothing of it enters the archive."""

from __future__ import annotations

import json
import shutil
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session, select

from engine.archive import case_files as files
from engine.archive import transfer
from engine.archive.search import indexed_text
from engine.automation import open_workspace
from engine.core.agency import create_demo_agency
from engine.core.config import load_settings
from engine.core.errors import Conflict, NotAllowed, NotFound
from engine.core.models import ArchiveFile, ArchiveRecord, AuditEvent
from engine.core.workspace import Workspace
from storage import PackageRejected, content_key, read_record
from tests_support import Ran, issue_document

FILE_CODE = "2026.TCBC.01"


@dataclass(frozen=True)
class Source:
    """An agency that issued one decision, filed it and closed the file; and its package."""

    ws: Workspace
    record_id: str
    package: Path


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory, demo_keys: Path) -> Source:
    home = tmp_path_factory.mktemp("source-agency")
    ws = open_workspace(load_settings(home, pki_dir=demo_keys, steps_runner="inline"))
    create_demo_agency(ws)
    doc = issue_document(ws)
    with Session(ws.db) as session:
        record = session.exec(select(ArchiveRecord).where(ArchiveRecord.document_id == doc)).one()
    files.open_file(
        ws,
        "luutru",
        code=FILE_CODE,
        title="Hồ sơ bổ nhiệm Phó Trưởng phòng Tổ chức, biên chế năm 2026",
        retention_class="20",
        keywords="bổ nhiệm, cán bộ",
    )
    files.add_record(ws, "luutru", FILE_CODE, record.record_id)
    with pytest.raises(Conflict) as conflict:
        transfer.export_file(ws, FILE_CODE, home / "early.zip", "luutru")
    assert conflict.value.code == "transfer.file_not_closed"
    with pytest.raises(NotFound) as missing:
        transfer.export_file(ws, "KHONG.CO", home / "x.zip", "luutru")
    assert missing.value.code == "case_file.not_found"
    files.close_file(ws, "luutru", FILE_CODE)
    exported = transfer.export_file(ws, FILE_CODE, home / "goi.zip", "luutru")
    assert exported.records == (record.record_id,)
    return Source(ws, record.record_id, exported.path)


@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.s3)])
def store_url(request: pytest.FixtureRequest) -> str:
    return "" if request.param == "folder" else str(request.getfixturevalue("s3_store_url"))


def test_the_package_carries_the_files_metadata_and_verifies(source: Source) -> None:
    assert transfer.verify(source.package) == []
    with zipfile.ZipFile(source.package) as archive:
        names = archive.namelist()
        [meta] = [n for n in names if n.endswith("metadata/descriptive/ho-so.json")]
        metadata = json.loads(archive.read(meta))
    assert any(n.endswith("/METS.xml") for n in names)
    assert metadata["code"] == FILE_CODE and metadata["retention_years"] == 20
    assert metadata["documents"] == 1 and metadata["records"] == [source.record_id]
    assert metadata["keywords"] == "bổ nhiệm, cán bộ" and metadata["language"] == "vi"
    assert metadata["start_date"] and metadata["end_date"] and metadata["pages"] >= 1
    with Session(source.ws.db) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.event == "archive_file_exported")
        ).all()
    assert [json.loads(e.detail)["file"] for e in events] == [FILE_CODE]


def test_round_trip_into_another_archive(source: Source, make_agency, database_url, store_url):  # type: ignore[no-untyped-def]
    target = make_agency(database_url, store_url)
    imported = transfer.import_file(target, source.package, "luutru")
    assert imported.file_code == FILE_CODE
    assert imported.new_records == (source.record_id,)

    original = read_record(source.ws.store, source.record_id)
    copy = read_record(target.store, source.record_id)
    assert copy == original
    for ref in copy.objects:
        assert target.store.get(content_key(ref.sha256)) == source.ws.store.get(
            content_key(ref.sha256)
        )
    with Session(target.db) as session:
        archive_file = session.exec(select(ArchiveFile)).one()
        record = session.exec(select(ArchiveRecord)).one()
        assert (archive_file.code, archive_file.state) == (FILE_CODE, "closed")
        assert archive_file.retention_years == 20
        assert record.file_id == archive_file.id and record.document_id is None
        assert record.pdf_sha256 == original.objects[0].sha256
        assert indexed_text(session, source.record_id)  # searchable at once

    again = transfer.import_file(target, source.package, "luutru")
    assert again.new_records == () and again.records == (source.record_id,)
    with Session(target.db) as session:
        assert len(session.exec(select(ArchiveRecord)).all()) == 1
        events = session.exec(
            select(AuditEvent).where(AuditEvent.event == "archive_file_imported")
        ).all()
    assert len(events) == 2


def _tampered(package: Path, out: Path, suffix: str) -> str:
    """A copy of ``package`` with one byte of the first file whose name ends with ``suffix``
    changed; returns that file's name inside the zip."""
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(out, "w") as target:
        changed = next(n for n in source.namelist() if n.endswith(suffix))
        for info in source.infolist():
            data = source.read(info)
            if info.filename == changed:
                data = data[:100] + bytes([data[100] ^ 0x01]) + data[101:]
            target.writestr(info, data)
    return changed


def test_a_tampered_package_is_refused_with_the_reason(source: Source, make_agency, tmp_path):  # type: ignore[no-untyped-def]
    bad = tmp_path / "goi-bi-sua.zip"
    changed = _tampered(source.package, bad, ".pdf")
    problems = transfer.verify(bad)
    assert problems and any(Path(changed).name in p for p in problems)

    target = make_agency()
    with pytest.raises(PackageRejected) as refused:
        transfer.import_file(target, bad, "luutru")
    assert refused.value.code == "storage.package.checksum"  # storage's verification says why
    assert any(Path(changed).name in p for p in refused.value.problems)
    assert list(target.store.list_keys("records/")) == []
    with Session(target.db) as session:
        assert session.exec(select(ArchiveRecord)).all() == []
        assert session.exec(select(ArchiveFile)).all() == []

    with pytest.raises(PackageRejected) as missing:
        transfer.import_file(target, tmp_path / "khong-co.zip", "luutru")
    assert missing.value.code == "transfer.package_missing"
    without_metadata = tmp_path / "khong-ho-so.zip"
    with zipfile.ZipFile(without_metadata, "w") as archive:
        archive.writestr("goi/METS.xml", "<mets/>")
    with pytest.raises(PackageRejected) as unusable:
        transfer._file_metadata(without_metadata)
    assert unusable.value.code == "transfer.package_invalid"

    with pytest.raises(NotAllowed) as forbidden:
        transfer.import_file(target, source.package, "vanthu")
    assert forbidden.value.code == "transfer.archivist_only"


def test_transfer_through_the_command_line(
    source: Source, tmp_path: Path, vanthu_cli: Callable[..., Ran]
) -> None:
    home = tmp_path / f"agency-{uuid.uuid4().hex[:6]}"
    assert vanthu_cli(home, "init").returncode == 0
    assert vanthu_cli(home, "setup-demo").returncode == 0  # keys of its own: another agency
    package = tmp_path / "goi.zip"
    shutil.copy(source.package, package)

    verified = vanthu_cli(home, "archive", "verify-package", str(package))
    assert verified.returncode == 0 and "hợp lệ" in verified.stdout
    imported = vanthu_cli(home, "archive", "import", str(package), "--as", "luutru")
    assert imported.returncode == 0, imported.stderr
    assert f"Đã nhập hồ sơ {FILE_CODE}: 1 bản lưu mới" in imported.stdout
    again = vanthu_cli(home, "archive", "import", str(package), "--as", "luutru")
    assert "0 bản lưu mới; 1 bản lưu đã có từ trước" in again.stdout

    out = tmp_path / "xuat-lai.zip"
    exported = vanthu_cli(home, "archive", "export", FILE_CODE, "--out", str(out), "--as", "luutru")
    assert exported.returncode == 0, exported.stderr
    assert transfer.verify(out) == []

    bad = tmp_path / "bi-sua.zip"
    changed = _tampered(package, bad, ".pdf")
    checked = vanthu_cli(home, "archive", "verify-package", str(bad))
    assert checked.returncode == 1 and Path(changed).name in checked.stdout
    refused = vanthu_cli(home, "archive", "import", str(bad), "--as", "luutru")
    assert refused.returncode == 2  # the package is invalid input
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Lỗi: "), refused.stderr
    assert "Traceback" not in refused.stderr and Path(changed).name in refused.stderr
    clerk = vanthu_cli(home, "archive", "export", FILE_CODE, "--out", str(out), "--as", "vanthu")
    assert clerk.returncode == 4  # forbidden: an archivist's command
