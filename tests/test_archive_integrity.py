"""Records that cannot be swapped: an archived record is never replaced by an import, a revision
put into the store past the engine is named, a delete marker that hides a locked object on S3
is named and removed, the database is held against the records, and neither a refused import
nor an interrupted archiving step leaves locked objects behind."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from fixtures_db import WorkspaceFactory
from fixtures_s3 import flip_byte
from pdf_support import text_pdf
from sqlmodel import Session, select
from test_cli import _new_agency, vanthu
from test_disposal import one_error_line

from engine.archive import case_files as files
from engine.archive import records, transfer
from engine.archive.fixity import ProblemKind, check_archive
from engine.archive.reindex import reindex
from engine.archive.search import index_record
from engine.automation import open_workspace
from engine.core.config import load_settings
from engine.core.db import transaction
from engine.core.errors import Conflict
from engine.core.models import ArchiveFile, ArchiveRecord, AuditEvent, Document, Register
from engine.core.workspace import Workspace
from engine.outgoing import create_outgoing
from engine.workflow import act, outbox
from storage import (
    NewObject,
    ObjectNotFound,
    ObjectStore,
    PackageRejected,
    StorageError,
    content_key,
    export_package,
    list_revisions,
    open_store,
    put_content,
    read_record,
    write_record,
)
from tests_support import DECISION, pin_of

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SIGNER = "Phạm Minh Đức"


def pdf_of(text: str) -> bytes:
    """A real one-page PDF (reindexing reads its text) saying ``text`` (ASCII)."""
    return text_pdf([[(80, 600, text.encode("ascii"))]])


def indexed(
    ws: Workspace,
    record_id: str,
    *,
    file_code: str | None = None,
    pdf: bytes | None = None,
    retain_until: datetime | None = None,
    doc_type: str = "Công văn",
) -> ArchiveRecord:
    """A record as the engine archives one: objects and manifest in the store, its row and
    full text in the database built from the manifest (``records.record_fields``)."""
    last = record_id.rsplit("-", 1)[-1]
    metadata = {
        "identifier": record_id,
        "doc_type": doc_type,
        "subject": f"Về việc lưu trữ bản {record_id}",
        "number": int(last) if last.isdigit() else None,
        "symbol": "SNV-VP",
        "signer": SIGNER,
        "access": "public",
        "file": file_code,
    }
    objects = [
        NewObject("pdf", f"{record_id}.pdf", pdf or pdf_of(f"Cong van {record_id}"), PDF),
        NewObject("source", f"{record_id}.docx", f"PK nguồn {record_id}".encode(), DOCX),
    ]
    manifest = write_record(ws.store, record_id, objects, metadata, retain_until=retain_until)
    with transaction(ws.db) as session:
        file_id = None
        if file_code is not None:
            archive_file = session.exec(
                select(ArchiveFile).where(ArchiveFile.code == file_code)
            ).first()
            if archive_file is None:
                archive_file = ArchiveFile(
                    code=file_code, title="Hồ sơ công văn", opened_by="luutru"
                )
                session.add(archive_file)
                session.flush()
            file_id = archive_file.id
        row = ArchiveRecord(**records.record_fields(manifest), file_id=file_id)
        session.add(row)
        session.flush()
        index_record(session, row, f"Nội dung toàn văn của {record_id}")
    return row


def _keys(store: ObjectStore) -> list[str]:
    return sorted(store.list_keys())


def _row(ws: Workspace, record_id: str) -> ArchiveRecord | None:
    with Session(ws.db) as session:
        return session.exec(
            select(ArchiveRecord).where(ArchiveRecord.record_id == record_id)
        ).first()


def _package(
    tmp_path: Path,
    name: str,
    code: str,
    build: dict[str, list[NewObject] | dict[str, object] | ObjectStore],
) -> Path:
    """A transfer package made by another archive (a folder store of its own) holding the
    records ``build`` names: record id → its objects; → metadata alone, for a record that is
    not a document; → a store, to copy that store's record as it is (manifest and objects)."""
    source = open_store((tmp_path / f"nguon-{name}").as_uri())
    for record_id, spec in build.items():
        if isinstance(spec, dict):
            note = [NewObject("json", "ghi-chu.json", b"{}", "application/json")]
            write_record(source, record_id, note, spec)
        elif isinstance(spec, list):
            metadata = {
                "identifier": record_id,
                "doc_type": "Công văn",
                "subject": f"Về việc lưu trữ bản {record_id}",
                "number": int(record_id.rsplit("-", 1)[-1]),
                "symbol": "SNV-VP",
                "signer": SIGNER,
                "access": "public",
                "file": code,
            }
            write_record(source, record_id, spec, metadata)
        else:
            key = f"records/{record_id}.json"
            for ref in read_record(spec, record_id).objects:
                put_content(source, spec.get(content_key(ref.sha256)), ref.content_type)
            source.create(key, spec.get(key), "application/json")
    return export_package(
        source,
        package_id=f"ho-so-{name}",
        file_metadata={"code": code, "title": f"Hồ sơ {code}", "retention_years": 10},
        record_ids=list(build),
        out=tmp_path / f"{name}.zip",
    )


# --- 1. an archived record is never replaced ---------------------------------------------------


def test_an_import_whose_record_differs_is_refused_by_name_and_stores_nothing(
    make_agency: WorkspaceFactory, database_url: str, tmp_path: Path
) -> None:
    ws = make_agency(database_url)
    indexed(ws, "SNV-2025-DI-CV-0001", file_code="2025.VP.01")
    before = _keys(ws.store)
    swapped = [
        NewObject("pdf", "SNV-2025-DI-CV-0001.pdf", pdf_of("Ban da bi thay"), PDF),
        NewObject("source", "SNV-2025-DI-CV-0001.docx", b"PK nguon SNV-2025-DI-CV-0001", DOCX),
    ]
    new = [NewObject("pdf", "SNV-2025-DI-CV-0002.pdf", pdf_of("Ban moi"), PDF)]
    package = _package(
        tmp_path,
        "thay",
        "2025.VP.01",
        {"SNV-2025-DI-CV-0001": swapped, "SNV-2025-DI-CV-0002": new},
    )
    with transaction(ws.db) as session:  # the file was closed here: an import may add to it
        archive_file = session.exec(select(ArchiveFile)).one()
        archive_file.state = "closed"
        session.add(archive_file)

    with pytest.raises(StorageError) as refused:
        transfer.import_file(ws, package, "luutru")
    error = refused.value
    assert (error.code, error.kind.value) == ("storage.package.record_differs", "conflict")
    assert error.fields()["records"] == ["SNV-2025-DI-CV-0001"]
    assert error.fields()["objects"] == [
        "pdf 'SNV-2025-DI-CV-0001.pdf'",
        "source 'SNV-2025-DI-CV-0001.docx'",
    ]
    assert "bản lưu SNV-2025-DI-CV-0001 phiên bản 1" in str(error)
    assert "tệp pdf 'SNV-2025-DI-CV-0001.pdf'" in str(error)
    assert "never replaced" in error.english
    assert _keys(ws.store) == before  # nothing of the package: not the new record either
    assert _row(ws, "SNV-2025-DI-CV-0002") is None


def test_a_revision_dropped_into_the_store_by_hand_is_named_by_archive_check(
    tmp_path: Path,
) -> None:
    home = _new_agency(tmp_path / "agency")
    ws = open_workspace(load_settings(home))
    record_id = "SNV-2025-DI-CV-0003"
    indexed(ws, record_id, retain_until=ws.store.max_retain_until)
    files.open_file(ws, "luutru", code="2025.VP.03", title="Hồ sơ công văn", retention_class="10")
    files.add_record(ws, "luutru", "2025.VP.03", record_id)  # revision 2, through the engine
    assert vanthu(home, "archive", "check", "--as", "luutru").returncode == 0

    # Someone with the store's keys adds a revision that swaps the signed original.
    engine_revision = read_record(ws.store, record_id)
    assert engine_revision.revision == 2
    forged_pdf = b"%PDF-1.7 ban gia mao\n"
    sha = put_content(ws.store, forged_pdf, PDF, retain_until=ws.store.max_retain_until)
    objects = list(engine_revision.objects)
    objects[0] = type(objects[0])("pdf", objects[0].name, sha, len(forged_pdf), PDF)
    forged = type(engine_revision)(
        record_id,
        engine_revision.created_at,
        tuple(objects),
        engine_revision.metadata,
        revision=3,
        revised_at=engine_revision.revised_at,
        reason="Đưa vào hồ sơ 2025.VP.03",
        retain_until=engine_revision.retain_until,
    )
    ws.store.create(f"revisions/{record_id}/000003.json", forged.to_json(), "application/json")
    assert read_record(ws.store, record_id).objects[0].sha256 == sha  # what a reader now gets

    checked = vanthu(home, "archive", "check", "--as", "luutru")
    assert checked.returncode == 1, checked.stderr
    [line] = [ln for ln in checked.stdout.splitlines() if ln.startswith("LỖI:")]
    assert f"bản lưu {record_id}: phiên bản 3 (revisions/{record_id}/000003.json)" in line
    assert "không do Vanthu ghi" in line
    report = json.loads(vanthu(home, "archive", "check", "--as", "luutru", "--json").stdout)
    assert [(p["record_id"], p["kind"], p["key"]) for p in report["problems"]] == [
        (record_id, "unaudited_revision", f"revisions/{record_id}/000003.json")
    ]


# --- 2. a delete marker hides, it does not remove ----------------------------------------------


@pytest.mark.s3
def test_a_delete_marker_over_a_locked_record_is_named_hidden_and_repaired(
    tmp_path: Path, s3_store_url: str
) -> None:
    home = tmp_path / "agency"
    assert vanthu(home, "init", "--store-url", s3_store_url).returncode == 0
    assert vanthu(home, "setup-demo").returncode == 0
    ws = open_workspace(load_settings(home))
    record_id = "SNV-2025-DI-CV-0004"
    original = b"%PDF-1.7 ban goc co khoa\n"
    indexed(ws, record_id, pdf=original, retain_until=ws.store.max_retain_until)
    hidden_manifest = "SNV-2025-DI-CV-0005"
    indexed(ws, hidden_manifest, retain_until=ws.store.max_retain_until)
    pdf_key = content_key(read_record(ws.store, record_id).objects[0].sha256)
    client, bucket = ws.store.client, ws.store.bucket  # type: ignore[attr-defined]
    flip_byte(ws.store, pdf_key)  # a newer version written past the store (the lock allows it)
    client.remove_object(bucket, pdf_key)  # a DELETE without a version: a delete marker
    client.remove_object(bucket, f"records/{hidden_manifest}.json")

    with pytest.raises(ObjectNotFound):
        ws.store.get(pdf_key)  # a plain read fails
    # Reads ask for the version archived: neither the marker nor the newer version matters.
    got = records.retrieve(ws, record_id, "luutru", tmp_path / "ban-luu")
    assert got.files[0].read_bytes() == original

    found = check_archive(ws, actor="luutru")
    hidden = {(p.record_id, p.kind, p.key) for p in found.problems}
    assert hidden == {
        (record_id, ProblemKind.HIDDEN, pdf_key),
        (hidden_manifest, ProblemKind.HIDDEN, f"records/{hidden_manifest}.json"),
    }
    assert all("dấu xóa" in p.message for p in found.problems)

    repaired = vanthu(home, "archive", "check", "--repair", "--as", "luutru")
    assert repaired.stdout.count("ĐÃ SỬA (gỡ dấu xóa)") == 2, repaired.stdout
    assert f"records/{hidden_manifest}.json" in repaired.stdout
    # The newer version written past the store is what a plain read now sees: still named.
    assert repaired.returncode == 1
    [left] = [ln for ln in repaired.stdout.splitlines() if ln.startswith("LỖI:")]
    assert record_id in left and "đã bị thay đổi" in left
    assert read_record(ws.store, hidden_manifest).record_id == hidden_manifest
    with Session(ws.db) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.event == "archive_unhidden")
        ).all()
    assert sorted(json.loads(e.detail)["key"] for e in events) == sorted(
        [pdf_key, f"records/{hidden_manifest}.json"]
    )
    assert all(e.actor == "luutru" and json.loads(e.detail)["delete_markers"] for e in events)


# --- 3. the database against the records ---------------------------------------------------------


def test_archive_check_names_every_field_where_the_database_differs(
    make_agency: WorkspaceFactory, database_url: str
) -> None:
    ws = make_agency(database_url)
    indexed(ws, "SNV-2025-DI-CV-0006", file_code="2025.VP.06")
    indexed(ws, "SNV-2025-DI-CV-0007")
    assert check_archive(ws).ok
    with transaction(ws.db) as session:
        row = session.exec(
            select(ArchiveRecord).where(ArchiveRecord.record_id == "SNV-2025-DI-CV-0006")
        ).one()
        row.number, row.symbol, row.subject = 99, "SNV-KHAC", "Về việc khác hẳn"
        row.signer, row.access, row.file_id = "Người Khác", "restricted", None
        session.add(row)

    report = check_archive(ws)
    differs = [p for p in report.problems if p.kind is ProblemKind.DATABASE_DIFFERS]
    assert len(differs) == len(report.problems) == 6
    assert {p.record_id for p in differs} == {"SNV-2025-DI-CV-0006"}
    assert [p.field for p in differs] == ["number", "symbol", "subject", "signer", "access", "file"]
    by_field = {p.field: p.message for p in differs}
    assert "trích yếu 'Về việc khác hẳn'" in by_field["subject"]
    assert "'Về việc lưu trữ bản SNV-2025-DI-CV-0006'" in by_field["subject"]
    assert "hồ sơ (trống)" in by_field["file"] and "'2025.VP.06'" in by_field["file"]
    assert "chế độ sử dụng 'restricted'" in by_field["access"]


# --- 4. nothing left behind --------------------------------------------------------------------


def test_a_refused_import_leaves_nothing_for_reindex(
    make_agency: WorkspaceFactory, database_url: str, tmp_path: Path
) -> None:
    ws = make_agency(database_url)
    indexed(ws, "SNV-2025-DI-CV-0008", file_code="2025.VP.08")
    before = _keys(ws.store)
    new = [NewObject("pdf", "SNV-2025-DI-CV-0009.pdf", pdf_of("Ban moi"), PDF)]
    # The very same record, but held here by another case file, beside a new one.
    other_file = _package(
        tmp_path,
        "khac",
        "2025.VP.09",
        {"SNV-2025-DI-CV-0008": ws.store, "SNV-2025-DI-CV-0009": new},
    )
    with pytest.raises(Conflict) as held:
        transfer.import_file(ws, other_file, "luutru")
    assert held.value.code == "transfer.record_in_other_file"
    # A record that is not a document (no type, no subject), beside a new one.
    not_document = _package(
        tmp_path,
        "la",
        "2025.VP.10",
        {"SNV-2025-DI-CV-0009": new, "SNV-2025-GHI-CHU-0001": {"ghi_chu": "không phải văn bản"}},
    )
    with pytest.raises(PackageRejected) as unusable:
        transfer.import_file(ws, not_document, "luutru")
    assert unusable.value.code == "transfer.package_invalid"

    assert _keys(ws.store) == before
    rebuilt = reindex(ws, actor="luutru")
    assert (rebuilt.records, rebuilt.created) == (1, 0)
    assert _row(ws, "SNV-2025-DI-CV-0009") is None
    with Session(ws.db) as session:
        assert [f.code for f in session.exec(select(ArchiveFile)).all()] == ["2025.VP.08"]


def _store_root(ws: Workspace) -> Path:
    return Path(unquote(urlsplit(ws.store.url).path))


def _issued_up_to_the_archive_step(ws: Workspace) -> tuple[int, str]:
    """A decision numbered and sealed, its archive step queued (worker runner); returns the
    document and the record id it will be archived under."""
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    outbox.run_pending(ws)  # the conversion to PDF
    act(ws, doc, DECISION.signer, "sign", pin=pin_of(ws, DECISION.signer))
    act(ws, doc, "vanthu", "issue")
    [number, seal, deliver] = outbox.run_pending(ws, limit=3)  # deliver: no exchange peers
    assert number.ok and seal.ok and deliver.ok, (number.error, seal.error, deliver.error)
    with Session(ws.db) as session:
        document = session.get(Document, doc)
        assert document is not None and document.register_id is not None
        register = session.get(Register, document.register_id)
        assert register is not None
        return doc, f"SNV-{document.year}-DI-{register.code}-{document.number:04d}"


def test_an_archiving_step_stopped_before_its_manifest_is_finished_with_the_same_objects(
    make_agency: WorkspaceFactory,
) -> None:
    ws = make_agency(steps_runner="worker")
    _, record_id = _issued_up_to_the_archive_step(ws)

    # The manifest cannot be written (a folder stands where it goes): the step stops after
    # its objects went to the store, locked.
    blocker = _store_root(ws) / "records" / f"{record_id}.json"
    blocker.mkdir(parents=True)
    [stopped] = outbox.run_pending(ws)
    assert not stopped.ok and stopped.step == "archive"
    assert _row(ws, record_id) is None
    pending = json.loads(ws.store.get(f"pending/{record_id}.json"))
    written = [o["sha256"] for o in pending["objects"]]
    for sha in written:
        assert ws.store.retention(content_key(sha)) is not None  # locked, unreferenced
    orphans = [p for p in check_archive(ws).problems if p.kind is ProblemKind.ORPHAN]
    assert {p.key for p in orphans} >= {content_key(written[0])}  # the archival PDF
    assert all(p.record_id == record_id and "dừng giữa chừng" in p.message for p in orphans)

    blocker.rmdir()
    outbox.retry_failed(ws, stopped.item_id)
    [finished] = outbox.run_pending(ws)
    assert finished.ok, finished.error
    manifest = read_record(ws.store, record_id)
    assert [ref.sha256 for ref in manifest.objects] == written  # the same objects, reused
    assert not ws.store.exists(f"pending/{record_id}.json")
    row = _row(ws, record_id)
    assert row is not None and row.pdf_sha256 == written[0]
    assert check_archive(ws).ok  # no orphan left, and the manifest is the audited one
    assert len(list_revisions(ws.store, record_id)) == 1


def test_a_locked_object_no_record_names_is_an_orphan(make_agency: WorkspaceFactory) -> None:
    ws = make_agency()
    indexed(ws, "SNV-2025-DI-CV-0011", retain_until=ws.store.max_retain_until)
    stray = put_content(
        ws.store, b"%PDF-1.7 khong ai dung\n", PDF, retain_until=ws.store.max_retain_until
    )
    put_content(ws.store, b"%PDF-1.7 tep tam, khong khoa\n", PDF)  # unlocked: not an orphan
    [orphan] = check_archive(ws).problems
    assert (orphan.kind, orphan.record_id, orphan.key) == (
        ProblemKind.ORPHAN,
        None,
        content_key(stray),
    )
    assert "không bản lưu nào dùng đến" in orphan.message and "31/12/9999" in orphan.message
    # A single record's check does not walk the whole store.
    assert check_archive(ws, record_id="SNV-2025-DI-CV-0011").ok


def test_archive_check_repair_is_for_archivists(tmp_path: Path) -> None:
    home = _new_agency(tmp_path / "agency")
    refused = vanthu(home, "archive", "check", "--repair", "--as", "vanthu")
    assert refused.returncode == 4  # forbidden: removing a delete marker is an archivist's work
    one_error_line(refused)


def test_a_pending_note_planted_in_the_store_is_not_taken_up(make_agency: WorkspaceFactory) -> None:
    """The note of an interrupted write lies unlocked in the store: one that is not this
    document's record as the step makes it is ignored, and what it names stays an orphan."""
    ws = make_agency(steps_runner="worker")
    doc, record_id = _issued_up_to_the_archive_step(ws)
    planted = pdf_of("Ban gia mao cho vao kho")
    sha = put_content(ws.store, planted, PDF, retain_until=ws.store.max_retain_until)
    note = {
        "record_id": record_id,
        "created_at": "2026-01-01T00:00:00+00:00",
        "objects": [
            {
                "role": "pdf",
                "name": "gia.pdf",
                "sha256": sha,
                "size": len(planted),
                "content_type": PDF,
            }
        ],
        "metadata": {"identifier": record_id, "doc_type": "Quyết định", "subject": "Giả mạo"},
        "revision": 1,
    }
    ws.store.put(f"pending/{record_id}.json", json.dumps(note).encode(), "application/json")

    [archived] = outbox.run_pending(ws)
    assert archived.ok, archived.error
    manifest = read_record(ws.store, record_id)
    assert manifest.objects[0].sha256 != sha
    assert (
        manifest.metadata["subject"] == DECISION.subject and manifest.metadata["document_id"] == doc
    )
    [orphan] = check_archive(ws).problems
    assert (orphan.kind, orphan.key) == (ProblemKind.ORPHAN, content_key(sha))
