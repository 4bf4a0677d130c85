"""Backups that restore: numbered, signed sets, incremental in the store's objects; a restore
checks the signature and every hash before it writes, and the agency it rebuilds passes its own
audit and archive checks with every record present."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fixtures_db import PG_ADMIN_URL, postgres_available
from fixtures_s3 import S3Server
from sqlmodel import Session, col, select

from engine.archive import case_files as files
from engine.automation import open_workspace
from engine.core.agency import create_demo_agency
from engine.core.config import load_settings, write_settings_file
from engine.core.models import ArchiveFile, ArchiveRecord, AuditEvent, Document
from engine.core.workspace import Workspace
from engine.signatures import anchors
from tests_support import LETTER, issue_document

CODE = "2026.TCBC.07"


def _vanthu(home: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    where = ["--home", str(home)] if home is not None else []
    return subprocess.run(
        [sys.executable, "-m", "engine", *where, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ},
        check=False,
    )


def _ok(home: Path | None, *args: str) -> str:
    done = _vanthu(home, *args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Lỗi: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A second fresh PostgreSQL database, for the restore to fill."""
    if not postgres_available():
        pytest.skip(f"PostgreSQL không trả lời ({PG_ADMIN_URL}): bỏ qua phần chạy trên PostgreSQL")
    name = f"vanthu_r_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _home(tmp_path: Path, demo_keys: Path, database_url: str) -> Path:
    """A demo agency the `vanthu` command opens, on ``database_url``, with a folder store."""
    home = tmp_path / "agency"
    home.mkdir()
    values = {"pki_dir": str(demo_keys)}
    if not database_url.startswith("sqlite"):
        values["database_url"] = database_url
    write_settings_file(home, values)
    ws = open_workspace(load_settings(home))
    create_demo_agency(ws)
    ws.db.dispose()
    return home


def _manifest(backups: Path, number: int) -> dict:  # type: ignore[type-arg]
    return json.loads((backups / f"set-{number:04d}" / "manifest.json").read_bytes())


def _store_entries(manifest: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {e["name"]: e for e in manifest["entries"] if e["area"] == "store"}


def _blobs(backups: Path, number: int) -> set[str]:
    return {p.name for p in (backups / f"set-{number:04d}" / "blobs").rglob("*") if p.is_file()}


def _contents(ws: Workspace) -> tuple[list[str], int, list[tuple[str, str]]]:
    """What must survive: the archive records, the documents, the case files and their state."""
    with Session(ws.db) as session:
        records = sorted(session.exec(select(ArchiveRecord.record_id)).all())
        documents = len(session.exec(select(Document.id)).all())
        case_files = sorted(
            (f.code, f.state)
            for f in session.exec(select(ArchiveFile).order_by(col(ArchiveFile.id)))
        )
    return records, documents, case_files


@pytest.mark.parametrize(
    "engine_name", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_backup_change_backup_again_and_restore_the_latest(
    engine_name: str, tmp_path: Path, demo_keys: Path, request: pytest.FixtureRequest
) -> None:
    database_url = (
        f"sqlite:///{tmp_path / 'vanthu.db'}"
        if engine_name == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    restore_into = "" if engine_name == "sqlite" else str(request.getfixturevalue("empty_postgres"))
    home = _home(tmp_path, demo_keys, database_url)
    backups = tmp_path / "sao-luu"
    ws = open_workspace(load_settings(home))
    decision = issue_document(ws)
    _ok(home, "audit", "verify")  # an anchor in the store, to travel with the backup

    first = _ok(home, "backup", "--to", str(backups), "--as", "luutru")
    assert first.startswith(f"Đã sao lưu toàn bộ: bộ số 1 tại {backups / 'set-0001'}")
    assert oct((backups / "set-0001").stat().st_mode & 0o777) == "0o700"  # it holds the keys

    # Things change: a new document issued, a case file compiled and closed.
    letter = issue_document(ws, LETTER)
    with Session(ws.db) as session:
        record_ids = [
            r.record_id
            for r in session.exec(
                select(ArchiveRecord).where(col(ArchiveRecord.document_id).in_([decision, letter]))
            )
        ]
    files.open_file(ws, "luutru", code=CODE, title="Hồ sơ bổ nhiệm cán bộ", retention_class="20")
    for record_id in record_ids:
        files.add_record(ws, "luutru", CODE, record_id)
    files.close_file(ws, "luutru", CODE)
    _ok(home, "audit", "verify")
    second = _ok(home, "backup", "--to", str(backups), "--as", "luutru")
    assert second.startswith("Đã sao lưu gia tăng: bộ số 2")

    # The second set holds only what the first lacks; the manifest still lists everything.
    one, two = _manifest(backups, 1), _manifest(backups, 2)
    before, after = _store_entries(one), _store_entries(two)
    assert set(before) < set(after)
    for key, entry in after.items():
        unchanged = key in before and before[key]["sha256"] == entry["sha256"]
        assert entry["set"] == (1 if unchanged else 2), key
    assert any(e["set"] == 2 for e in after.values())
    assert _blobs(backups, 1).isdisjoint(_blobs(backups, 2))
    held_by_two = {e["sha256"] for e in two["entries"] if e["set"] == 2}
    assert _blobs(backups, 2) == held_by_two
    assert two["previous"]["set"] == 1 and two["full"] is False
    assert "database_url" not in two["settings"] and "store_url" not in two["settings"]
    # The manifest's signature, checked by OpenSSL against the DEMO root, not by our code.
    verified = subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER",
         "-in", str(backups / "set-0002" / "manifest.p7s"),
         "-content", str(backups / "set-0002" / "manifest.json"),
         "-CAfile", str(demo_keys / "root.pem"), "-purpose", "any", "-out", os.devnull],
        capture_output=True, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    with Session(ws.db) as session:
        made = session.exec(select(AuditEvent).where(AuditEvent.event == "backup_made")).all()
    assert [(e.actor, json.loads(e.detail)["set"]) for e in made] == [("luutru", 1), ("luutru", 2)]

    expected = _contents(ws)
    ws.db.dispose()
    restored = tmp_path / "khoi-phuc"
    args = ["restore", str(backups), "--into", str(restored)]
    said = _ok(None, *args, *(["--database-url", restore_into] if restore_into else []))
    assert said.startswith(f"Đã khôi phục bộ sao lưu số 2 vào {restored}")
    audit_verified = _ok(restored, "audit", "verify")
    assert "Nhật ký nguyên vẹn" in audit_verified and "khớp 2/2 mốc neo" in audit_verified
    checked = json.loads(_ok(restored, "archive", "check", "--as", "luutru", "--json"))
    assert checked["ok"] is True and checked["records"] == 2 and checked["problems"] == []
    again = open_workspace(load_settings(restored))
    assert _contents(again) == expected
    assert expected[2] == [(CODE, "closed")] and len(expected[0]) == 2
    assert again.settings.effective_pki_dir == restored / "pki"
    got = _ok(
        restored, "archive", "get", record_ids[0], "--as", "luutru", "--out", str(tmp_path / "o")
    )
    assert any(line.endswith(".pdf") for line in got.splitlines())
    again.db.dispose()


def test_a_tampered_backup_is_refused_naming_the_object(tmp_path: Path, demo_keys: Path) -> None:
    home = _home(tmp_path, demo_keys, "sqlite")
    ws = open_workspace(load_settings(home))
    issue_document(ws, LETTER)
    ws.db.dispose()
    backups = tmp_path / "sao-luu"
    _ok(home, "backup", "--to", str(backups), "--as", "luutru")

    refused = _vanthu(home, "backup", "--to", str(backups), "--as", "vanthu")  # a clerk
    assert refused.returncode == 4
    _one_error_line(refused)

    manifest = _manifest(backups, 1)
    pdfs = [
        e for e in manifest["entries"]
        if e["area"] == "store" and e["name"].startswith("objects/sha256/")
    ]  # fmt: skip
    victim = pdfs[0]
    blob = backups / "set-0001" / "blobs" / victim["sha256"][:2] / victim["sha256"]
    original = blob.read_bytes()
    data = bytearray(original)
    data[len(data) // 2] ^= 0x01  # one bit of one object
    blob.write_bytes(bytes(data))

    restored = tmp_path / "khoi-phuc"
    tampered = _vanthu(None, "restore", str(backups), "--into", str(restored))
    assert tampered.returncode == 1
    line = _one_error_line(tampered)
    assert victim["name"] in line and "không khớp mã SHA-256" in line
    assert not restored.exists()  # nothing written

    blob.write_bytes(original)  # the object back; now one word of the manifest changes
    manifest_path = backups / "set-0001" / "manifest.json"
    changed = manifest_path.read_bytes().replace(b'"luutru"', b'"giamdoc"')
    manifest_path.write_bytes(changed)
    forged = _vanthu(None, "restore", str(backups), "--into", str(restored))
    assert forged.returncode == 1 and "chữ ký" in _one_error_line(forged)
    assert not restored.exists()


def test_restore_refuses_a_folder_that_is_not_empty(tmp_path: Path, demo_keys: Path) -> None:
    home = _home(tmp_path, demo_keys, "sqlite")
    backups = tmp_path / "sao-luu"
    _ok(home, "backup", "--to", str(backups), "--as", "luutru")
    occupied = tmp_path / "dang-dung"
    occupied.mkdir()
    (occupied / "ghi-chu.txt").write_text("đừng xóa", encoding="utf-8")
    refused = _vanthu(None, "restore", str(backups), "--into", str(occupied))
    assert refused.returncode == 5  # the state does not allow it
    assert "không trống" in _one_error_line(refused)
    assert [p.name for p in occupied.iterdir()] == ["ghi-chu.txt"]
    missing = _vanthu(None, "restore", str(tmp_path / "khong-co"), "--into", str(tmp_path / "x"))
    assert missing.returncode == 3
    _one_error_line(missing)


@pytest.mark.s3
def test_an_agency_on_s3_restores_into_an_empty_bucket(
    tmp_path: Path, demo_keys: Path, s3_server: S3Server
) -> None:
    home = tmp_path / "agency"
    home.mkdir()
    original_bucket = s3_server.fresh_url()
    write_settings_file(home, {"pki_dir": str(demo_keys), "store_url": original_bucket})
    ws = open_workspace(load_settings(home))
    create_demo_agency(ws)
    issue_document(ws, LETTER)
    expected = _contents(ws)
    ws.db.dispose()
    backups = tmp_path / "sao-luu"
    _ok(home, "backup", "--to", str(backups), "--as", "luutru")
    retained = [e for e in _store_entries(_manifest(backups, 1)).values() if e.get("retain_until")]
    assert retained  # the archived objects' retention travels with them

    restored = tmp_path / "khoi-phuc"
    occupied = _vanthu(
        None, "restore", str(backups), "--into", str(restored), "--store-url", original_bucket
    )
    assert occupied.returncode == 5 and "không trống" in _one_error_line(occupied)
    bucket = s3_server.fresh_url()
    _ok(None, "restore", str(backups), "--into", str(restored), "--store-url", bucket)
    _ok(restored, "audit", "verify")
    checked = json.loads(_ok(restored, "archive", "check", "--as", "luutru", "--json"))
    assert checked["ok"] is True and checked["records"] == 1
    again = open_workspace(load_settings(restored))
    assert _contents(again) == expected
    key = retained[0]["name"]
    assert again.store.retention(key) is not None  # still locked in the new bucket
    again.db.dispose()


def test_a_full_backup_stands_alone(tmp_path: Path, demo_keys: Path) -> None:
    home = _home(tmp_path, demo_keys, "sqlite")
    backups = tmp_path / "sao-luu"
    _ok(home, "backup", "--to", str(backups), "--as", "luutru")
    _ok(home, "backup", "--to", str(backups), "--as", "luutru")
    # An anchor of events the copied database will not hold (made while the backup runs):
    later = anchors.anchor_key(10_000)
    ws = open_workspace(load_settings(home))
    ws.store.create(later, b"{}")
    ws.db.dispose()
    said = _ok(home, "backup", "--to", str(backups), "--full", "--as", "luutru")
    assert said.startswith("Đã sao lưu toàn bộ: bộ số 3")
    three = _manifest(backups, 3)
    assert three["full"] is True and {e["set"] for e in three["entries"]} == {3}
    for number in (1, 2):  # the monthly set needs no daily one
        for path in sorted((backups / f"set-{number:04d}").rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        (backups / f"set-{number:04d}").rmdir()
    restored = tmp_path / "khoi-phuc"
    said = _ok(None, "restore", str(backups / "set-0003"), "--into", str(restored))
    assert said.startswith(f"Đã khôi phục bộ sao lưu số 3 vào {restored}")
    assert later not in _store_entries(three)
    assert "Nhật ký nguyên vẹn" in _ok(restored, "audit", "verify")
