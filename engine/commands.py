"""Commands for the people in a workflow: draft, act, inbox, documents, incoming."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session, col, select

from engine import documents
from engine.cli import AsUser, app, doc_app, draft_app, echo_json, incoming_app, workspace
from engine.errors import InvalidInput, NotFound
from engine.models import Document, DocumentFile, Task, WorkflowInstance
from engine.text import vietnam_time
from storage import get_content


def _read_upload(path: Path, max_bytes: int) -> documents.Upload:
    if not path.is_file():
        raise InvalidInput(f"{path}: không có tệp này")
    if path.stat().st_size > max_bytes:
        raise InvalidInput(f"{path}: tệp lớn hơn giới hạn {max_bytes // (1024 * 1024)} MB")
    return documents.Upload(path.name, path.read_bytes())


@draft_app.command("new")
def draft_new(
    as_user: AsUser,
    doc_type: Annotated[str, typer.Option("--type", help="Tên loại: 'Quyết định', 'Công văn'…")],
    subject: Annotated[str, typer.Option(help="Trích yếu.")],
    signer: Annotated[str, typer.Option(help="Lãnh đạo sẽ ký (tên đăng nhập).")],
    body_file: Annotated[Path | None, typer.Option(help="Nội dung: mỗi đoạn một dòng.")] = None,
    recipient: Annotated[list[str] | None, typer.Option(help="Nơi nhận (lặp lại).")] = None,
    docx: Annotated[Path | None, typer.Option(help="Tệp DOCX tự soạn thay cho mẫu.")] = None,
    urgency: Annotated[str | None, typer.Option(help="Khẩn, Thượng khẩn, Hỏa tốc.")] = None,
) -> None:
    """Tạo dự thảo văn bản đi từ mẫu Nghị định 30 (hoặc tệp DOCX của mình)."""
    ws = workspace()
    body: tuple[str, ...] = ()
    if body_file is not None:
        if not body_file.is_file():
            raise InvalidInput(f"{body_file}: không có tệp này")
        body = tuple(
            line.strip()
            for line in body_file.read_text(encoding="utf-8").splitlines()
            if line.strip()
        )
    upload = _read_upload(docx, ws.settings.max_upload_bytes) if docx else None
    request = documents.DraftRequest(
        doc_type=doc_type,
        subject=subject,
        signer=signer,
        body=body,
        recipients=tuple(recipient or ()),
        urgency=urgency,
    )
    document_id = documents.create_outgoing(ws, as_user, request, upload)
    typer.echo(f"Đã tạo dự thảo văn bản #{document_id}")


@draft_app.command("upload")
def draft_upload(
    document_id: int,
    file: Path,
    as_user: AsUser,
    comment: Annotated[str | None, typer.Option(help="Ghi chú cho phiên bản.")] = None,
) -> None:
    """Tải lên phiên bản dự thảo mới (các phiên bản cũ được giữ lại)."""
    ws = workspace()
    version = documents.upload_version(
        ws, document_id, as_user, _read_upload(file, ws.settings.max_upload_bytes), comment
    )
    typer.echo(f"Văn bản #{document_id}: đã lưu dự thảo phiên bản {version}")


@app.command("act")
def act(
    document_id: int,
    action: str,
    as_user: AsUser,
    comment: Annotated[str | None, typer.Option(help="Ý kiến.")] = None,
    to: Annotated[str | None, typer.Option(help="Người được chọn cho bước sau.")] = None,
) -> None:
    """Thực hiện thao tác (submit, approve, return, consult, comment, sign, issue, …)."""
    move = documents.act(workspace(), document_id, as_user, action, comment=comment, choose=to)
    waiting = ", ".join(move.now_at) or "kết thúc"
    typer.echo(f"Văn bản #{document_id}: {as_user} {action} ở '{move.step}' → đang ở: {waiting}")


@app.command("inbox")
def inbox(as_user: AsUser, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Việc đang chờ người dùng xử lý."""
    entries = documents.inbox(workspace(), as_user)
    if as_json:
        echo_json([e.__dict__ for e in entries])
        return
    if not entries:
        typer.echo(f"{as_user}: không có việc chờ xử lý")
    for e in entries:
        due = f" — hạn {vietnam_time(e.due_at):%d/%m/%Y}" if e.due_at else ""
        typer.echo(
            f"#{e.document_id} {e.doc_type}: {e.subject} [{e.step}: {'/'.join(e.actions)}]{due}"
        )


@doc_app.command("show")
def doc_show(document_id: int) -> None:
    """Thông tin, tệp và lịch sử xử lý của một văn bản."""
    ws = workspace()
    with Session(ws.db) as session:
        document = session.get(Document, document_id)
        if document is None:
            raise NotFound(f"không có văn bản #{document_id}")
        instance = session.exec(
            select(WorkflowInstance).where(WorkflowInstance.document_id == document_id)
        ).one()
        files = session.exec(
            select(DocumentFile).where(DocumentFile.document_id == document_id)
        ).all()
        tasks = session.exec(
            select(Task).where(Task.instance_id == instance.id).order_by(col(Task.id))
        ).all()
    echo_json(
        {
            "document": document.model_dump(),
            "workflow": {"definition": instance.definition, "status": instance.status},
            "files": [
                f.model_dump(include={"kind", "version", "sha256", "filename", "comment"})
                for f in files
            ],
            "tasks": [
                t.model_dump(include={"step_id", "state", "role", "action", "comment", "due_at"})
                for t in tasks
            ],
        }
    )


@doc_app.command("export")
def doc_export(
    document_id: int,
    out: Path,
    kind: Annotated[str, typer.Option(help="draft, pdf, signed, issued, received")] = "issued",
) -> None:
    """Ghi tệp mới nhất của văn bản ra đĩa."""
    ws = workspace()
    with Session(ws.db) as session:
        found = documents.latest_file(session, document_id, kind)
    out.write_bytes(get_content(ws.store, found.sha256))
    typer.echo(str(out))


@incoming_app.command("receive")
def incoming_receive(
    file: Path,
    as_user: AsUser,
    sender: Annotated[str, typer.Option("--from", help="Cơ quan ban hành.")],
    symbol: Annotated[str, typer.Option(help="Số, ký hiệu của văn bản đến.")],
    doc_type: Annotated[str, typer.Option("--type")],
    subject: Annotated[str, typer.Option()],
) -> None:
    """Tiếp nhận văn bản đến (PDF); chữ ký số được kiểm tra ngay khi nhận."""
    ws = workspace()
    document_id = documents.receive_incoming(
        ws,
        as_user,
        _read_upload(file, ws.settings.max_upload_bytes),
        documents.IncomingRequest(sender=sender, symbol=symbol, doc_type=doc_type, subject=subject),
    )
    typer.echo(f"Đã tiếp nhận văn bản đến #{document_id}")
