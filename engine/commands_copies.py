"""Commands for attachments in their own files and for electronic copies (bản sao điện tử)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine import copies
from engine.cli import AsUser, doc_app, draft_app, workspace
from engine.commands import _read_upload
from engine.errors import InvalidInput


@draft_app.command("attach")
def draft_attach(document_id: int, file: Path, as_user: AsUser) -> None:
    """Đính kèm văn bản kèm theo (tệp PDF riêng); văn thư ký số tệp này khi ban hành."""
    ws = workspace()
    upload = _read_upload(file, ws.settings.max_upload_bytes)
    ordinal = copies.add_attachment(ws, document_id, as_user, upload)
    typer.echo(f"Văn bản #{document_id}: đã đính kèm {file.name} (văn bản kèm theo số {ordinal})")


@doc_app.command("copy")
def doc_copy(
    document_id: int,
    as_user: AsUser,
    out: Annotated[Path, typer.Option("--out", help="Tệp PDF bản sao điện tử sẽ ghi ra.")],
) -> None:
    """Tạo bản sao điện tử của văn bản đã ban hành (chữ ký số của cơ quan; chỉ văn thư)."""
    if out.exists() and out.is_dir():
        raise InvalidInput(f"{out}: là thư mục, cần đường dẫn tệp PDF")
    made = copies.make_copy(workspace(), document_id, as_user)
    try:
        out.write_bytes(made.pdf)
    except OSError as exc:
        raise InvalidInput(f"{out}: không ghi được tệp ({exc.strerror})") from exc
    typer.echo(f"Đã tạo bản sao điện tử của văn bản {made.symbol}: {out}")
