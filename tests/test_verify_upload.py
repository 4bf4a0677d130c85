"""``verify_upload``: the public verify page's check of an uploaded PDF, in the engine. A signed
document is judged like ``vanthu verify`` judges it; what is not a readable PDF is refused by
code; nothing is written (no audit event, no store object)."""

from __future__ import annotations

import pytest
from active_pdfs import plain_pdf
from fixtures_db import WorkspaceFactory
from sqlmodel import Session

from engine.core import audit
from engine.core.errors import InvalidInput
from engine.core.workspace import Workspace
from engine.signatures.verification import verify_upload
from engine.workflow.files import latest_file
from storage import get_content
from tests_support import issue_document, refused


@pytest.fixture
def small_agency(make_agency: WorkspaceFactory) -> Workspace:
    """Uploads limited to 200 kB (an issued decision is about 130 kB)."""
    return make_agency(max_upload_bytes=200_000)


def test_a_signed_document_is_judged_and_nothing_is_written(small_agency: Workspace) -> None:
    ws = small_agency
    document_id = issue_document(ws)
    with Session(ws.db) as session:
        pdf = get_content(ws.store, latest_file(session, document_id, "issued").sha256)
    events, objects = len(audit.events(ws.db)), set(ws.store.list_keys())

    report = verify_upload(ws, pdf)
    assert report.verdict == "valid" and len(report.signatures) == 2
    assert report.trust_lists == ("agency",)
    assert verify_upload(ws, plain_pdf()).verdict == "unsigned"
    assert (len(audit.events(ws.db)), set(ws.store.list_keys())) == (events, objects)

    with refused("verify.too_large", InvalidInput, max_bytes=200_000):
        verify_upload(ws, pdf + b"\0" * 200_000)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "verify.empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "verify.not_pdf"),
        (b"PK\x03\x04" + b"\0" * 2000 + b"%PDF-1.7", "verify.not_pdf"),  # header too far in
        (b"%PDF-1.7\n" + bytes(range(256)) * 40, "verify.unreadable"),
    ],
    ids=["empty", "png", "zip", "garbage"],
)
def test_what_is_not_a_readable_pdf_is_refused_by_code(
    make_agency: WorkspaceFactory, data: bytes, code: str
) -> None:
    with refused(code, InvalidInput):
        verify_upload(make_agency(), data)
