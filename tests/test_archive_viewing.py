"""What the archive's web pages read from the engine: a record with its fixity and signature
state and history, a file of it for download (audited), the records past their retention, and
the search filter by the case file's unit. A record someone may not read does not exist for
them (NotFound), and the refusal is in the audit chain."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from engine.archive import case_files, viewing
from engine.archive.fixity import check_archive
from engine.archive.search import SearchQuery, search
from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import NotAllowed, NotFound
from engine.core.models import ArchiveRecord
from engine.core.workspace import Workspace
from tests_support import DECISION, LETTER, issue_document


def _record_id(ws: Workspace, document_id: int) -> str:
    with Session(ws.db) as session:
        record = session.exec(
            select(ArchiveRecord).where(ArchiveRecord.document_id == document_id)
        ).one()
        return record.record_id


def _events(ws: Workspace, name: str) -> list[dict[str, object]]:
    return [json.loads(e.detail) for e in audit.events(ws.db) if e.event == name]


@pytest.fixture
def issued(agency: Workspace) -> tuple[Workspace, str, str]:
    decision = _record_id(agency, issue_document(agency, DECISION))
    letter = _record_id(agency, issue_document(agency, LETTER))
    return agency, decision, letter


def test_a_record_page_has_metadata_signature_fixity_and_history(
    issued: tuple[Workspace, str, str],
) -> None:
    ws, decision, _ = issued
    view = viewing.record_view(ws, decision, "luutru")
    assert view.record.subject == DECISION.subject
    assert view.metadata["signature_report"]["verdict"] == "valid"
    assert {o.role for o in view.objects} >= {"pdf", "source"}
    assert view.fixity is None  # never checked yet
    assert {"signed", "archive_revision_written"} <= {e.event for e in view.history}

    check_archive(ws, record_id=decision, actor="luutru")
    checked = viewing.record_view(ws, decision, "luutru").fixity
    assert checked is not None and checked.ok and not checked.whole_archive

    clerk_view = viewing.record_view(ws, decision, "vanthu")
    assert clerk_view.history == ()  # the history is the keepers'
    assert [d["record"] for d in _events(ws, viewing.VIEWED)] == [decision] * 3


def test_a_download_is_the_archived_file_and_an_audited_retrieval(
    issued: tuple[Workspace, str, str],
) -> None:
    ws, decision, _ = issued
    found = viewing.download(ws, decision, "pdf", "vanthu")
    assert found.content.startswith(b"%PDF") and found.content_type == "application/pdf"
    [event] = _events(ws, "archive_retrieved")
    assert (event["record"], event["object"], event["role"]) == (decision, "pdf", "clerk")
    with pytest.raises(NotFound):
        viewing.download(ws, decision, "nothing-such", "vanthu")


def test_a_restricted_record_does_not_exist_for_those_not_entitled(
    issued: tuple[Workspace, str, str],
) -> None:
    ws, decision, letter = issued
    case_files.open_file(
        ws,
        "luutru",
        code="2026.TCCB.09",
        title="Hồ sơ mật",
        retention_class="Vĩnh viễn",
        access="restricted",
    )
    case_files.add_record(ws, "luutru", "2026.TCCB.09", decision)
    for who in ("vanthu", "chuyenvien"):
        with pytest.raises(NotFound):
            viewing.record_view(ws, decision, who)
        with pytest.raises(NotFound):
            viewing.download(ws, decision, "pdf", who)
    with pytest.raises(NotFound):  # a record nobody archived: the same answer
        viewing.record_view(ws, "SNV-1999-DI-X-0001", "vanthu")
    refused = _events(ws, "archive_refused")
    assert [(d["record"], d["reason"]) for d in refused] == [
        (decision, "restricted"),
        (decision, "restricted"),
        (decision, "role"),
        (decision, "role"),
    ]
    assert viewing.record_view(ws, decision, "luutru").record.record_id == decision
    assert viewing.record_view(ws, decision, "giamdoc").history == ()
    assert viewing.record_view(ws, letter, "vanthu").record.record_id == letter


def test_expired_records_are_listed_for_the_archivist_only(
    issued: tuple[Workspace, str, str],
) -> None:
    ws, _, letter = issued
    assert viewing.expired_records(ws, "luutru") == []
    with transaction(ws.db) as session:
        row = session.exec(select(ArchiveRecord).where(ArchiveRecord.record_id == letter)).one()
        row.retention_years, row.retain_until = 5, datetime.now(UTC) - timedelta(days=1)
        session.add(row)
    assert [r.record_id for r in viewing.expired_records(ws, "luutru")] == [letter]
    with pytest.raises(NotAllowed):
        viewing.expired_records(ws, "vanthu")


def test_search_filters_by_the_unit_of_the_case_file(
    issued: tuple[Workspace, str, str],
) -> None:
    ws, decision, letter = issued
    case_files.open_file(
        ws,
        "luutru",
        code="2026.VP.01",
        title="Hồ sơ văn phòng",
        retention_class="10",
        unit="VP",
    )
    case_files.add_record(ws, "luutru", "2026.VP.01", letter)
    found = search(ws, SearchQuery(unit_code="vp"), username="luutru")
    assert [h.record_id for h in found.hits] == [letter]
    assert search(ws, SearchQuery(unit_code="TCBC"), username="luutru").hits == ()
    assert decision in {h.record_id for h in search(ws, SearchQuery(), username="luutru").hits}
