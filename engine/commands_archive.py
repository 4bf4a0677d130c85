"""The archivist's commands: retrieving archived records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine import archive
from engine.cli import AsUser, archive_app, workspace


@archive_app.command("get")
def archive_get(
    record_id: str,
    as_user: AsUser,
    out: Annotated[Path, typer.Option(help="Thư mục ghi ra.")] = Path("."),
) -> None:
    """Lấy bản lưu ra thư mục (kiểm tra SHA-256 từng tệp)."""
    retrieved = archive.retrieve(workspace(), record_id, as_user, out)
    for path in retrieved.files:
        typer.echo(str(path))
