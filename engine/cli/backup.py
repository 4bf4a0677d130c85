"""Backups: `vanthu backup --to DIR [--full] --as USER` and `vanthu restore FROM --into HOME`.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli.app import AsUser, app, workspace


@app.command("backup")
def backup(
    to: Annotated[Path, typer.Option("--to", help="Thư mục chứa các bộ sao lưu.")],
    as_user: AsUser,
    full: Annotated[
        bool, typer.Option("--full", help="Sao lưu toàn bộ (hằng tháng), không dựa bộ trước.")
    ] = False,
) -> None:
    """Sao lưu cơ sở dữ liệu, cấu hình, bộ khóa và kho lưu trữ (bộ mới có chữ ký số)."""
    from engine.automation.backup import make_backup

    made = make_backup(workspace(), as_user, to, full=full)
    kind = "toàn bộ" if made.full else "gia tăng"
    typer.echo(
        f"Đã sao lưu {kind}: bộ số {made.number} tại {made.directory} — {made.objects} đối tượng "
        f"trong kho, {made.new_objects} mới; nhật ký đến sự kiện #{made.audit_seq}."
    )
    for warning in made.warnings:
        typer.secho(f"Cảnh báo: {warning}", err=True, fg=typer.colors.YELLOW)
    typer.echo(f"Khôi phục: vanthu restore {made.directory.parent} --into THƯ_MỤC_MỚI")


@app.command("restore")
def restore(
    source: Annotated[Path, typer.Argument(help="Thư mục sao lưu (hoặc một bộ trong đó).")],
    into: Annotated[Path, typer.Option("--into", help="Thư mục cơ quan mới (trống).")],
    set_number: Annotated[
        int | None, typer.Option("--set", min=1, help="Bộ số mấy (mặc định: bộ mới nhất).")
    ] = None,
    database_url: Annotated[
        str, typer.Option(help="Cơ sở dữ liệu PostgreSQL trống (bản sao lưu PostgreSQL).")
    ] = "",
    store_url: Annotated[str, typer.Option(help="Kho trống (mặc định: thư mục store/).")] = "",
    trust: Annotated[
        list[Path] | None,
        typer.Option(help="Chứng thư gốc tin cậy để kiểm chữ ký của bản sao lưu (lặp lại được)."),
    ] = None,
) -> None:
    """Khôi phục một cơ quan từ bản sao lưu: kiểm chữ ký và mọi mã băm trước khi ghi."""
    from engine.automation.backup import read_roots, restore_backup
    from engine.core.text import vietnam_time

    done = restore_backup(
        source,
        into,
        number=set_number,
        database_url=database_url,
        store_url=store_url,
        trust_roots=read_roots(trust or []),
    )
    when = (
        vietnam_time(done.signed_at).strftime("%d/%m/%Y %H:%M:%S") if done.signed_at else "không rõ"
    )
    typer.echo(
        f"Đã khôi phục bộ sao lưu số {done.number} vào {done.home}: {done.objects} đối tượng "
        f"trong kho, nhật ký đến sự kiện #{done.audit_seq}."
    )
    where = "gốc trong chính bản sao lưu" if done.trust_from_backup else "gốc tin cậy --trust"
    typer.echo(f"Chữ ký của {done.signer}, dấu thời gian {when} (kiểm với {where}).")
    typer.echo(
        f"Tiếp theo: vanthu --home {done.home} audit verify; "
        f"vanthu --home {done.home} archive check --as <lưu trữ viên>"
    )
