"""`vanthu ltv refresh`: archived B-LTA records whose document timestamp nears expiry get a new
one, stored as a new revision of the record (the earlier stays), with an audit event."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pki_support import LAYOUT, one_page_pdf
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlmodel import Session, col, select

from engine.archive.ltv import refresh
from engine.automation import open_workspace
from engine.core.config import load_settings
from engine.core.db import transaction
from engine.core.errors import InvalidInput, NotAllowed
from engine.core.models import ArchiveRecord, AuditEvent
from engine.core.workspace import Workspace
from engine.signatures import keys
from signing import add_form_fields, archival_timestamp_expiry, certify, issue, verify_document
from signing.demo import draw_seal_image, draw_signature_image
from storage import NewObject, get_content, list_revisions, read_record, write_record
from tests_support import pin_of

RECORD = "SNV-2026-QD-00007"


def _vanthu(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        check=False,
    )


def _archive_one(ws: Workspace) -> bytes:
    """An issued document (seal at B-T), made B-LTA as the archive step keeps it."""
    with keys.signing_policy(ws, "B-T"):
        signed = certify(
            add_form_fields(one_page_pdf(), LAYOUT),
            keys.personal_key(ws, "giamdoc", pin_of(ws, "giamdoc")),
            draw_signature_image("Nguyễn Văn An"),
        )
        issued = issue(
            signed,
            number="07/QĐ-SNV",
            date_text="ngày 07 tháng 01 năm 2026",
            key=keys.agency_key(ws),
            seal_image=draw_seal_image("Sở Nội vụ", "Ủy ban nhân dân tỉnh Mẫu"),
        )
    archived = keys.archival(ws, issued)
    write_record(
        ws.store, RECORD, [NewObject("pdf", "07-QD-SNV.pdf", archived, "application/pdf")], {}
    )
    with transaction(ws.db) as session:
        session.add(
            ArchiveRecord(
                record_id=RECORD,
                doc_type="Quyết định",
                subject="Về việc thử nghiệm gia hạn dấu thời gian",
                search_text="thu nghiem",
                pdf_sha256=hashlib.sha256(archived).hexdigest(),
            )
        )
    return archived


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("ltv-agency")
    assert _vanthu(home, "init").returncode == 0
    setup = _vanthu(home, "setup-demo")
    assert setup.returncode == 0, setup.stderr
    return home


def _stamps(pdf: bytes) -> int:
    return len(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_timestamp_signatures)


def test_ltv_refresh_renews_what_nears_expiry_as_a_new_revision(home: Path) -> None:
    ws = open_workspace(load_settings(home))
    archived = _archive_one(ws)
    expiry = archival_timestamp_expiry(archived)
    assert expiry is not None and _stamps(archived) == 1

    not_yet = _vanthu(home, "ltv", "refresh", "--as", "luutru", "--within-days", "90", "--json")
    assert not_yet.returncode == 0, not_yet.stderr
    assert json.loads(not_yet.stdout)["not_due"] == 1
    assert read_record(ws.store, RECORD).revision == 1

    # the DEMO TSA certificate lasts years: a window past its expiry makes the record due
    done = _vanthu(home, "ltv", "refresh", "--as", "luutru", "--within-days", "3650")
    assert done.returncode == 0, done.stderr
    assert f"{RECORD}: đã gia hạn (phiên bản 2" in done.stdout
    assert "gia hạn 1" in done.stdout

    newest = read_record(ws.store, RECORD)
    assert newest.revision == 2 and newest.reason and "dấu thời gian" in newest.reason
    [pdf_ref] = [ref for ref in newest.objects if ref.role == "pdf"]
    renewed = get_content(ws.store, pdf_ref.sha256)
    assert renewed.startswith(archived) and _stamps(renewed) == 2
    assert verify_document(renewed, keys.trust_roots(ws)).verdict == "valid"
    first = list_revisions(ws.store, RECORD)[0]
    assert get_content(ws.store, first.objects[0].sha256) == archived  # earlier kept as is

    with Session(ws.db) as session:
        row = session.exec(select(ArchiveRecord).where(ArchiveRecord.record_id == RECORD)).one()
        events = session.exec(
            select(AuditEvent).where(col(AuditEvent.event) == "ltv_refreshed")
        ).all()
    assert row.pdf_sha256 == pdf_ref.sha256
    [event] = events
    detail = json.loads(event.detail)
    assert detail["record"] == RECORD and detail["revision"] == 2
    assert detail["previous_sha256"] == hashlib.sha256(archived).hexdigest()


def test_ltv_refresh_refuses_a_negative_window_and_a_clerk(home: Path) -> None:
    ws = open_workspace(load_settings(home))
    with pytest.raises(InvalidInput) as invalid:
        refresh(ws, -1, actor="luutru")
    assert invalid.value.code == "ltv.window_invalid"
    with pytest.raises(NotAllowed) as refused:
        refresh(ws, actor="vanthu")
    assert refused.value.code == "archive.keeper_only"
    for args, exit_code in (
        (["--as", "luutru", "--within-days", "-1"], 2),  # invalid input
        (["--as", "vanthu"], 4),  # forbidden: an archivist's command
    ):
        result = _vanthu(home, "ltv", "refresh", *args)
        assert result.returncode == exit_code, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Lỗi: "), result.stderr
        assert "Traceback" not in result.stderr
