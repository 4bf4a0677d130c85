"""`vanthu archive search`: finding archived records."""

from __future__ import annotations

from typing import Annotated

import typer

from engine import archive
from engine.cli import archive_app, echo_json, workspace


@archive_app.command("search")
def archive_search(
    query: str,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    limit: int = 20,
) -> None:
    """Tìm bản lưu (không dấu cũng được: 'quyet dinh')."""
    records = archive.search(workspace(), query, limit=limit)
    if as_json:
        echo_json([r.model_dump(exclude={"search_text", "id"}) for r in records])
        return
    for r in records:
        typer.echo(f"{r.record_id}  {r.symbol or ''}  {r.doc_type}: {r.subject}")
    if not records:
        typer.echo("Không tìm thấy bản lưu nào")
