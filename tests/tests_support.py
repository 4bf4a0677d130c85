"""Small factories shared by the engine tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from engine.archive import search
from engine.core.models import ArchiveRecord, Task, WorkflowInstance
from engine.core.workspace import Workspace
from engine.outgoing import DraftRequest, create_outgoing
from engine.signatures import keys
from engine.workflow import act
from signing.demo import load_demo_pki
from vanthu.errors import VanthuError

DECISION = DraftRequest(
    doc_type="Quyết định",
    subject="Về việc bổ nhiệm Phó Trưởng phòng Tổ chức, biên chế",
    signer="phogiamdoc",
    body=(
        "Căn cứ Luật Cán bộ, công chức;",
        "QUYẾT ĐỊNH:",
        "Điều 1. Bổ nhiệm bà Trần Thị Bình giữ chức vụ Phó Trưởng phòng.",
        "Điều 2. Quyết định có hiệu lực kể từ ngày ký./.",
    ),
    recipients=("Như Điều 2;",),
)
LETTER = DraftRequest(
    doc_type="Công văn",
    subject="Về việc đôn đốc báo cáo công tác văn thư",
    signer="giamdoc",
    body=("Kính gửi: các phòng thuộc Sở.", "Đề nghị gửi báo cáo trước ngày 15/12./."),
    recipients=("Như trên;",),
)


@contextmanager
def refused(
    code: str, error: type[VanthuError] = VanthuError, **fields: Any
) -> Iterator[pytest.ExceptionInfo[VanthuError]]:
    """Expect the body to be refused with ``code`` (an ``error``) and these ``fields``: tests
    compare what programs compare, never the wording of the message."""
    with pytest.raises(error) as caught:
        yield caught
    assert caught.value.code == code, f"{caught.value.code}: {caught.value}"
    found = caught.value.fields()
    for name, value in fields.items():
        assert found.get(name) == value, (name, found)


def open_task_steps(ws: Workspace, document_id: int) -> list[str]:
    with Session(ws.db) as session:
        instance = session.exec(
            select(WorkflowInstance).where(WorkflowInstance.document_id == document_id)
        ).one()
        return sorted(
            session.exec(
                select(Task.step_id)
                .where(Task.instance_id == instance.id, Task.state == "open")
                .order_by(col(Task.id))
            ).all()
        )


def archived_documents(ws: Workspace, text: str, **filters: object) -> list[int]:
    """The documents whose archive records the archivist finds with ``text`` and filters."""
    query = search.SearchQuery(text=text, **filters)  # type: ignore[arg-type]
    hits = search.search(ws, query, username="luutru").hits
    with Session(ws.db) as session:
        by_record = {
            r.record_id: r.document_id
            for r in session.exec(
                select(ArchiveRecord).where(
                    col(ArchiveRecord.record_id).in_([h.record_id for h in hits])
                )
            )
        }
    return [d for h in hits if (d := by_record[h.record_id]) is not None]


def pin_of(ws: Workspace, username: str) -> str:
    """The DEMO PIN of ``username``'s key, as the DEMO PKI generated it (DEMO-PINS.json)."""
    return keys.pki(ws).demo_pin(username)


def demo_pin(home: Path, username: str) -> str:
    """The DEMO PIN of ``username`` in the agency folder ``home`` (for tests of the command)."""
    return load_demo_pki(home / "pki").demo_pin(username)


def issue_document(ws: Workspace, request: DraftRequest = DECISION) -> int:
    """Drive one outgoing document from draft to archive with the inline runner."""
    doc = create_outgoing(ws, "chuyenvien", request)
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    act(ws, doc, request.signer, "sign", pin=pin_of(ws, request.signer))
    act(ws, doc, "vanthu", "issue")
    return doc


def pdfsig_lines(pdf: Path, root_pem: Path, nss_dir: Path) -> list[str]:
    """poppler's pdfsig, an independent validator, trusting only ``root_pem`` (NSS database)."""
    nss_dir.mkdir(parents=True, exist_ok=True)
    database = f"sql:{nss_dir}"
    subprocess.run(["certutil", "-N", "-d", database, "--empty-password"], check=True)
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            database,
            "-n",
            "vanthu-demo-root",
            "-t",
            "CT,C,C",
            "-i",
            str(root_pem),
        ],
        check=True,
    )
    result = subprocess.run(
        ["pdfsig", "-nssdir", database, str(pdf)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.splitlines()
