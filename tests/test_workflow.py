"""The outgoing workflow up to the leader: who may act, return for revision, the parallel join.

These steps need no LibreOffice; the signing and issuing half is in test_outgoing_flow.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import yaml
from sqlmodel import Session, select

from engine.automation import open_workspace
from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import ConfigError, Conflict, InvalidInput, NotAllowed
from engine.core.models import DefinitionVersion, DocumentFile, Task, WorkflowInstance
from engine.core.workspace import Workspace
from engine.outgoing import DraftRequest, create_outgoing, render_request, upload_version
from engine.workflow import Upload, act, inbox
from tests_support import DECISION, open_task_steps, refused
from workflows import DEFINITIONS_DIR


def _submitted(ws: Workspace) -> int:
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    act(ws, doc, "chuyenvien", "submit")
    return doc


def test_a_draft_waits_in_the_authors_inbox_only(agency: Workspace) -> None:
    doc = create_outgoing(agency, "chuyenvien", DECISION)
    assert [e.document_id for e in inbox(agency, "chuyenvien")] == [doc]
    assert inbox(agency, "truongphong") == []
    with refused("action.not_allowed", NotAllowed, document_id=doc, user="truongphong"):
        act(agency, doc, "truongphong", "approve")


def test_only_the_head_of_the_drafting_unit_reviews(agency: Workspace) -> None:
    doc = _submitted(agency)
    for intruder, action in [
        ("phapche", "approve"),
        ("chuyenvien", "approve"),
        ("vanthu", "issue"),
    ]:
        with refused("action.not_allowed", NotAllowed, user=intruder, waiting_at=["review"]):
            act(agency, doc, intruder, action)
    with refused("action.unknown", InvalidInput, step="review", action="sign") as caught:
        act(agency, doc, "truongphong", "sign")
    assert "approve" in caught.value.fields()["allowed"]
    assert open_task_steps(agency, doc) == ["review"]


def test_only_specialists_draft_and_only_leaders_sign(agency: Workspace) -> None:
    with refused("draft.not_allowed", NotAllowed, user="vanthu", role="clerk"):
        create_outgoing(agency, "vanthu", DECISION)
    with refused("signer.not_leader", InvalidInput, user="truongphong", role="head"):
        create_outgoing(
            agency, "chuyenvien", DraftRequest("Quyết định", "X", "truongphong", ("a",))
        )
    with refused("doctype.unknown", InvalidInput, doc_type="Sắc lệnh"):
        create_outgoing(agency, "chuyenvien", DraftRequest("Sắc lệnh", "X", "giamdoc", ("a",)))
    with refused("draft.subject_missing", InvalidInput):
        create_outgoing(agency, "chuyenvien", DraftRequest("Quyết định", " ", "giamdoc", ("a",)))
    with refused("draft.body_missing", InvalidInput):
        create_outgoing(agency, "chuyenvien", DraftRequest("Quyết định", "X", "giamdoc"))


def test_return_needs_a_comment_and_keeps_every_version(agency: Workspace) -> None:
    doc = _submitted(agency)
    with refused("action.comment_required", InvalidInput, document_id=doc, step="review"):
        act(agency, doc, "truongphong", "return")
    act(agency, doc, "truongphong", "return", comment="Bổ sung căn cứ")
    assert open_task_steps(agency, doc) == ["draft"]
    with refused("draft.not_drafter", NotAllowed, document_id=doc, user="truongphong"):
        upload_version(agency, doc, "truongphong", render_request(agency, "chuyenvien", DECISION))
    version = upload_version(
        agency, doc, "chuyenvien", render_request(agency, "chuyenvien", DECISION), "v2"
    )
    assert version == 2
    with Session(agency.db) as session:
        drafts = session.exec(select(DocumentFile).where(DocumentFile.kind == "draft")).all()
    assert [d.version for d in drafts] == [1, 2]
    act(agency, doc, "chuyenvien", "submit")
    assert open_task_steps(agency, doc) == ["review"]


def test_consultation_waits_for_every_branch_then_returns_to_review(agency: Workspace) -> None:
    doc = _submitted(agency)
    act(agency, doc, "truongphong", "consult")
    assert open_task_steps(agency, doc) == ["consult_legal", "consult_office"]
    act(agency, doc, "phapche", "comment", comment="Đồng ý")
    assert open_task_steps(agency, doc) == ["consult_office"]
    with refused("action.not_allowed", NotAllowed, user="phapche"):  # a branch answers once
        act(agency, doc, "phapche", "comment", comment="Lại")
    act(agency, doc, "chanhvanphong", "comment", comment="Đồng ý")
    assert open_task_steps(agency, doc) == ["review"]


def test_every_action_is_in_the_audit_chain(agency: Workspace) -> None:
    doc = _submitted(agency)
    act(agency, doc, "truongphong", "return", comment="Sửa")
    with Session(agency.db) as session:
        tasks = session.exec(select(Task).where(Task.action != None)).all()  # noqa: E711
    assert [(t.step_id, t.action) for t in tasks] == [("draft", "submit"), ("review", "return")]
    assert audit.verify_chain(agency.db).intact


def _copy_of_the_workflows(tmp_path: Path) -> Path:
    folder = tmp_path / "workflows"
    shutil.copytree(DEFINITIONS_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return folder


def _add_office_review(folder: Path) -> None:
    """The administrator's edit: the office checks the form after the head of division."""
    definition = yaml.safe_load((folder / "outgoing.yaml").read_text(encoding="utf-8"))
    steps = definition["steps"]
    review = next(s for s in steps if s["id"] == "review")
    for action in review["actions"]:
        if action["name"] == "approve":
            action["to"] = "office_review"
    steps.insert(
        steps.index(review) + 1,
        {
            "id": "office_review",
            "title": "Chánh Văn phòng thẩm tra",
            "kind": "human",
            "actor": {"role": "head", "unit": "VP"},
            "actions": [
                {"name": "approve", "to": "convert"},
                {"name": "return", "to": "draft", "comment": "required"},
            ],
        },
    )
    definition["version"] += 1
    (folder / "outgoing.yaml").write_text(
        yaml.safe_dump(definition, allow_unicode=True), encoding="utf-8"
    )


def test_a_second_review_step_in_yaml_changes_the_flow(
    make_agency: Callable[..., Workspace],
    tmp_path: Path,
) -> None:
    folder = _copy_of_the_workflows(tmp_path)
    _add_office_review(folder)
    ws = make_agency(workflows_dir=folder, steps_runner="worker")
    doc = _submitted(ws)
    act(ws, doc, "truongphong", "approve")
    assert open_task_steps(ws, doc) == ["office_review"]
    act(ws, doc, "chanhvanphong", "return", comment="Thể thức chưa đúng")
    assert open_task_steps(ws, doc) == ["draft"]


def test_a_document_in_progress_stays_on_the_version_it_started_with(
    make_agency: Callable[..., Workspace], database_url: str, tmp_path: Path
) -> None:
    folder = _copy_of_the_workflows(tmp_path)
    ws = make_agency(database_url, workflows_dir=folder, steps_runner="worker")
    started_before = _submitted(ws)
    _add_office_review(folder)  # while that document waits for the head of division
    edited = open_workspace(ws.settings)  # what every command opened from now on reads
    started_after = _submitted(edited)

    act(edited, started_before, "truongphong", "approve")
    assert open_task_steps(edited, started_before) == []  # on to the conversion, as it was
    act(edited, started_after, "truongphong", "approve")
    assert open_task_steps(edited, started_after) == ["office_review"]
    with Session(edited.db) as session:
        kept = {v.digest: v for v in session.exec(select(DefinitionVersion)).all()}
        digests = [
            session.exec(
                select(WorkflowInstance.definition_digest).where(
                    WorkflowInstance.document_id == doc
                )
            ).one()
            for doc in (started_before, started_after)
        ]
    assert digests[0] != digests[1] and set(digests) == set(kept)
    assert [kept[d].version for d in digests] == [1, 2]
    assert "office_review" not in kept[digests[0]].yaml

    with transaction(edited.db) as session:  # someone rewrites the kept version in the database
        row = session.get(DefinitionVersion, digests[0])
        assert row is not None
        row.yaml = row.yaml.replace("title: Lãnh đạo ký duyệt", "title: Ai cũng ký")
        session.add(row)
    with refused("workflow.version_altered", ConfigError, document_id=started_before):
        act(open_workspace(ws.settings), started_before, "phogiamdoc", "sign")


def test_an_own_docx_without_the_decree_30_signer_block_is_refused_at_upload(
    agency: Workspace, tmp_path: Path
) -> None:
    import io

    from docx import Document as Docx

    own = Docx()
    own.add_paragraph("Số: /QĐ-SNV")
    own.add_paragraph("Nội dung tự soạn, không có khối chữ ký.")
    buffer = io.BytesIO()
    own.save(buffer)
    upload = Upload("tu-soan.docx", buffer.getvalue())
    with refused(
        "draft.layout_missing", InvalidInput, file="tu-soan.docx", cause="layout.date_missing"
    ):
        create_outgoing(agency, "chuyenvien", DECISION, upload)
    with Session(agency.db) as session:
        assert session.exec(select(DocumentFile)).all() == []  # nothing half-stored


def test_a_document_at_an_automated_step_or_unknown_is_refused(
    make_agency: Callable[..., Workspace],
) -> None:
    ws = make_agency(steps_runner="worker")
    doc = _submitted(ws)
    act(ws, doc, "truongphong", "approve")  # on to the conversion, queued for the worker
    with refused("document.not_waiting", Conflict, document_id=doc) as caught:
        act(ws, doc, "phogiamdoc", "sign")
    assert caught.value.kind == "conflict"
    with refused("document.not_found", document_id=doc + 100):
        act(ws, doc + 100, "chuyenvien", "submit")
