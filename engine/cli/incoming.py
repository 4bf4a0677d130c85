"""The clerk's commands for incoming documents (văn bản đến).

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli.app import AsUser, incoming_app, workspace
from engine.cli.files import read_upload


@incoming_app.command("receive")
def incoming_receive(
    file: Path,
    as_user: AsUser,
    sender: Annotated[str, typer.Option("--from", help="Cơ quan ban hành.")],
    symbol: Annotated[str, typer.Option(help="Số, ký hiệu của văn bản đến.")],
    doc_type: Annotated[str, typer.Option("--type", help="Tên loại văn bản.")],
    subject: Annotated[str, typer.Option(help="Trích yếu.")],
    urgency: Annotated[
        str | None, typer.Option(help="Độ khẩn: Khẩn, Thượng khẩn hoặc Hỏa tốc.")
    ] = None,
    secrecy: Annotated[
        str | None,
        typer.Option(help="Độ mật: Mật, Tối mật, Tuyệt mật (vào sổ văn bản đến mật)."),
    ] = None,
) -> None:
    """Tiếp nhận văn bản đến (PDF); chữ ký số được kiểm tra ngay khi nhận."""
    from engine.incoming import IncomingRequest, duplicates_of, receive_incoming
    from engine.signatures.labels import VERDICTS
    from engine.workflow import inbox
    from engine.workflow.documents import document_view

    ws = workspace()
    upload = read_upload(file, "FILE", ws.settings.max_upload_bytes)
    request = IncomingRequest(sender, symbol, doc_type, subject, urgency, secrecy)
    document_id = receive_incoming(ws, as_user, upload, request)
    view = document_view(ws, document_id, as_user)
    typer.echo(f"Đã tiếp nhận văn bản đến #{document_id}: {symbol} của {sender}")
    for earlier in duplicates_of(ws, document_id):
        typer.echo(
            f"  Cảnh báo: trùng số, ký hiệu và cơ quan gửi với văn bản #{earlier.document_id}"
            f" tiếp nhận trước đây{f' (số đến {earlier.number})' if earlier.number else ''}"
        )
    if view.document.number is not None:
        typer.echo(f"  Số đến: {view.document.number}")
    if view.verification is not None:
        verdict = str(view.verification.get("verdict"))
        typer.echo(f"  Chữ ký số: {VERDICTS.get(verdict, verdict)}")
        for reason in view.verification.get("reasons") or []:
            typer.echo(f"    - {reason}")
    if ws.settings.steps_runner == "worker" and view.document.number is None:
        typer.echo("  Kiểm tra chữ ký và vào sổ chờ `vanthu worker` chạy.")
    if view.waiting_at:
        typer.echo(f"  Đang ở: {', '.join(view.waiting_at)}")
    for entry in inbox(ws, as_user):
        if entry.document_id == document_id:
            for action in entry.actions:
                typer.echo(f"  Tiếp theo: vanthu act {document_id} {action} --as {as_user}")
