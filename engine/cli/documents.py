"""Commands for the people in a workflow: drafts, actions, the inbox, documents.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.app import (
    AsJson,
    AsUser,
    DocumentId,
    app,
    doc_app,
    draft_app,
    echo_json,
    workspace,
)
from engine.cli.files import read_upload, write_output
from engine.cli.identity import signer_pin

if TYPE_CHECKING:
    from engine.core.workspace import Workspace
    from engine.workflow.documents import DocumentView
    from engine.workflow.runtime import Move


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
    kinh_gui: Annotated[
        list[str] | None,
        typer.Option("--kinh-gui", help="Kính gửi (chỉ Công văn; lặp lại cho mỗi nơi)."),
    ] = None,
    secrecy: Annotated[
        str | None,
        typer.Option(help="Độ mật: Mật, Tối mật, Tuyệt mật (văn bản mật lấy số ở sổ riêng)."),
    ] = None,
) -> None:
    """Tạo dự thảo văn bản đi từ mẫu Nghị định 30 (hoặc tệp DOCX của mình)."""
    from engine.cli.files import read_paragraphs
    from engine.outgoing import DraftRequest, create_outgoing

    ws = workspace()
    limit = ws.settings.max_upload_bytes
    request = DraftRequest(
        doc_type=doc_type,
        subject=subject,
        signer=signer,
        body=read_paragraphs(body_file, "--body-file", limit) if body_file else (),
        recipients=tuple(recipient or ()),
        urgency=urgency,
        addressees=tuple(kinh_gui or ()),
        secrecy=secrecy,
    )
    upload = read_upload(docx, "--docx", limit) if docx else None
    document_id = create_outgoing(ws, as_user, request, upload)
    typer.echo(f"Đã tạo dự thảo văn bản #{document_id}")
    typer.echo(f"Trình duyệt: vanthu act {document_id} submit --as {as_user}")


@draft_app.command("upload")
def draft_upload(
    document_id: DocumentId,
    file: Path,
    as_user: AsUser,
    comment: Annotated[str | None, typer.Option(help="Ghi chú cho phiên bản.")] = None,
) -> None:
    """Tải lên phiên bản dự thảo mới (các phiên bản cũ được giữ lại)."""
    from engine.outgoing import upload_version

    ws = workspace()
    upload = read_upload(file, "FILE", ws.settings.max_upload_bytes)
    version = upload_version(ws, document_id, as_user, upload, comment)
    typer.echo(f"Văn bản #{document_id}: đã lưu dự thảo phiên bản {version}")


@draft_app.command("attach")
def draft_attach(document_id: DocumentId, file: Path, as_user: AsUser) -> None:
    """Đính kèm văn bản kèm theo (tệp PDF riêng); văn thư ký số tệp này khi ban hành."""
    from engine.outgoing import add_attachment

    ws = workspace()
    upload = read_upload(file, "FILE", ws.settings.max_upload_bytes)
    ordinal = add_attachment(ws, document_id, as_user, upload)
    typer.echo(f"Văn bản #{document_id}: đã đính kèm {file.name} (văn bản kèm theo số {ordinal})")


@app.command("act")
def act(
    document_id: DocumentId,
    action: Annotated[
        str, typer.Argument(help="submit, approve, return, consult, comment, sign, issue, …")
    ],
    as_user: AsUser,
    comment: Annotated[str | None, typer.Option(help="Ý kiến.")] = None,
    to: Annotated[str | None, typer.Option(help="Người được chọn cho bước sau.")] = None,
    due: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Hạn xử lý (YYYY-MM-DD): khi lãnh đạo giao (assign) hoặc gia hạn (extend).",
        ),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Lý do gia hạn (extend).")] = None,
) -> None:
    """Thực hiện thao tác trên văn bản (trình, duyệt, trả lại, xin ý kiến, ký, ban hành…).

    Khi ký, lệnh hỏi mã PIN khóa ký số của người ký (ẩn); chạy trong tập lệnh thì đọc biến môi
    trường VANTHU_PIN. 'extend' gia hạn việc đang chờ: --due và --reason (lãnh đạo cơ quan
    hoặc trưởng đơn vị của người xử lý).
    """
    from engine.onestop import refuse_outside_desk
    from engine.workflow import act as take_action

    ws = workspace()
    refuse_outside_desk(ws, document_id, as_user)  # a dossier moves with `vanthu onestop act`
    if action == "extend":
        _extend(ws, document_id, as_user, due, reason)
        return
    pin = None
    if action == "sign" and ws.settings.leader_signing == "server":
        pin = signer_pin(as_user)  # the leader's own key opens with their PIN only
    if action == "assign" or due is not None:
        from engine.workflow.deadlines import assign_with_due

        move = assign_with_due(
            ws,
            document_id,
            as_user,
            action,
            due=due.date() if due else None,
            comment=comment,
            choose=to,
        )
    else:
        move = take_action(ws, document_id, as_user, action, comment=comment, choose=to, pin=pin)
    _report_move(move, worker=ws.settings.steps_runner == "worker")
    if any("record_id" in r or "symbol" in r for r in move.results.values()):
        from engine.workflow.documents import file_location

        location = file_location(ws, document_id, "issued")
        if location:
            typer.echo(f"  Tệp ban hành: {location}")
            typer.echo(f"  Lấy ra: vanthu doc export {document_id} TEN-TEP.pdf --as {as_user}")


def _extend(
    ws: Workspace, document_id: int, as_user: str, due: datetime | None, reason: str | None
) -> None:
    from engine.core.errors import InvalidInput
    from engine.workflow.deadlines import extend

    if due is None:
        raise InvalidInput(
            "gia hạn cần hạn mới (--due YYYY-MM-DD)",
            "an extension needs the new deadline (--due YYYY-MM-DD)",
            code="deadline.due_required",
            document_id=document_id,
        )
    moment = extend(ws, document_id, as_user, due.date(), reason or "")
    typer.echo(f"Văn bản #{document_id}: đã gia hạn đến {moment:%d/%m/%Y}.")


def _report_move(move: Move, *, worker: bool) -> None:
    from engine.workflow.documents import ACTIONS

    done = ACTIONS.get(move.action, move.action)
    where = ", ".join(move.waiting) if move.waiting else "đã kết thúc quy trình"
    typer.echo(f"Văn bản #{move.document_id}: đã {done}. Đang ở: {where}.")
    for result in move.results.values():
        if "symbol" in result and result.get("symbol"):
            typer.echo(f"  Số, ký hiệu: {result['symbol']}")
        elif "number" in result and "register" in result:
            typer.echo(f"  Số đến: {result['number']} (sổ {result['register']})")
        if "record_id" in result:
            typer.echo(f"  Bản lưu: {result['record_id']}")
    for title, error in move.failed:
        typer.secho(f"  Bước '{title}' chưa xong: {error}", fg=typer.colors.RED)
    if move.queued and worker:
        typer.echo(f"  Chờ `vanthu worker` chạy: {', '.join(move.queued)}.")


@app.command("inbox")
def inbox(as_user: AsUser, as_json: AsJson = False) -> None:
    """Việc đang chờ người dùng xử lý."""
    from engine.core.text import vietnam_time
    from engine.workflow import inbox as read_inbox

    ws = workspace(migrate=False)
    entries = read_inbox(ws, as_user)
    if as_json:
        echo_json([e.__dict__ for e in entries])
        return
    _reminder_banner(ws, as_user)
    if not entries:
        typer.echo(f"{as_user}: không có việc chờ xử lý")
    for e in entries:
        due = f" — hạn {vietnam_time(e.due_at):%d/%m/%Y}" if e.due_at else ""
        if e.handling_due_at and e.handling_due_at != e.due_at:
            due += f" (hạn xử lý văn bản {vietnam_time(e.handling_due_at):%d/%m/%Y})"
        typer.echo(
            f"#{e.document_id} {e.doc_type}: {e.subject} [{e.step}: {'/'.join(e.actions)}]{due}"
        )


def _reminder_banner(ws: Workspace, as_user: str) -> None:
    from engine.workflow.reminders import recent_reminders
    from vanthu import clock

    for reminder in recent_reminders(ws, as_user, clock.now()):
        typer.secho(f"! {reminder.subject.removeprefix('[Vanthu] ')}", fg=typer.colors.YELLOW)


@doc_app.command("show")
def doc_show(document_id: DocumentId, as_user: AsUser, as_json: AsJson = False) -> None:
    """Thông tin, tệp, việc và lịch sử xử lý của một văn bản (người xem được ghi nhật ký)."""
    from engine.workflow.documents import document_view

    view = document_view(workspace(migrate=False), document_id, as_user)
    if as_json:
        echo_json(view.to_json())
        return
    _print_view(view)


def _print_view(view: DocumentView) -> None:
    from engine.core.text import vietnam_time
    from engine.signatures.labels import VERDICTS
    from engine.workflow.documents import DIRECTIONS, FILE_KINDS, TASK_STATES

    d = view.document

    def when(moment: object) -> str:
        return f"{vietnam_time(moment):%H:%M %d/%m/%Y}" if moment else "—"  # type: ignore[arg-type]

    typer.echo(f"Văn bản #{d.id} — {d.doc_type} ({DIRECTIONS.get(d.direction, d.direction)})")
    typer.echo(f"  Trích yếu: {d.subject}")
    if d.symbol:
        typer.echo(
            f"  Số, ký hiệu: {d.symbol}" + (f", ngày {when(d.issued_at)}" if d.issued_at else "")
        )
    if d.direction == "incoming":
        typer.echo(f"  Cơ quan gửi: {d.sender} — số, ký hiệu gốc: {d.sender_symbol}")
        if d.number:
            typer.echo(f"  Số đến: {d.number}")
    typer.echo(f"  Đơn vị: {view.unit}; người soạn/nhận: {view.author}")
    if view.signer:
        typer.echo(f"  Người ký: {view.signer}")
    state = view.state + (f", chờ: {', '.join(view.waiting_at)}" if view.waiting_at else "")
    typer.echo(f"  Quy trình: {view.definition} — {state}")
    if d.recalled_at is not None:
        typer.echo(f"  Thu hồi lúc {when(d.recalled_at)} — lý do: {d.recall_reason}")
    if view.verification:
        verdict = str(view.verification.get("verdict"))
        typer.echo(f"  Chữ ký số khi nhận: {VERDICTS.get(verdict, verdict)}")
    typer.echo("Tệp:")
    for f in view.files:
        kind = FILE_KINDS.get(f.kind, f.kind)
        typer.echo(f"  - {kind} (phiên bản {f.version}): {f.filename}")
    typer.echo("Việc:")
    for t in view.tasks:
        due = f", hạn {when(t.due_at)}" if t.due_at else ""
        typer.echo(f"  - {t.step_id}: {TASK_STATES.get(t.state, t.state)}{due}")
    typer.echo("Lịch sử:")
    for h in view.history:
        comment = f" — “{h.comment}”" if h.comment else ""
        typer.echo(f"  {when(h.at)}  {h.who}: {h.what}{comment}")


@doc_app.command("export")
def doc_export(
    document_id: DocumentId,
    out: Path,
    as_user: AsUser,
    kind: Annotated[
        str, typer.Option(help="draft, pdf, signed, issued, received, copy")
    ] = "issued",
) -> None:
    """Ghi tệp mới nhất của văn bản ra đĩa (người lấy được ghi nhật ký)."""
    from engine.workflow.documents import file_content

    write_output(out, b"", "OUT", check_only=True)
    _found, data = file_content(workspace(migrate=False), document_id, kind, as_user)
    write_output(out, data, "OUT")
    typer.echo(str(out))


@doc_app.command("copy")
def doc_copy(
    document_id: DocumentId,
    as_user: AsUser,
    out: Annotated[Path, typer.Option("--out", help="Tệp PDF bản sao điện tử sẽ ghi ra.")],
) -> None:
    """Tạo bản sao điện tử của văn bản đã ban hành (chữ ký số của cơ quan; chỉ văn thư)."""
    from engine.outgoing import make_copy

    write_output(out, b"", "--out", check_only=True)
    made = make_copy(workspace(), document_id, as_user)
    write_output(out, made.pdf, "--out")
    typer.echo(f"Đã tạo bản sao điện tử của văn bản {made.symbol}: {out}")
