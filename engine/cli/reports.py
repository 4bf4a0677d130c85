"""Reports for leaders, unit heads and clerks: the on-time statistics (thống kê đúng hạn).

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.app import AsJson, AsUser, echo_json, report_app, workspace
from engine.cli.files import write_output


@report_app.command("on-time")
def on_time(
    as_user: AsUser,
    start: Annotated[
        datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="Từ ngày (YYYY-MM-DD).")
    ],
    end: Annotated[
        datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Đến ngày (YYYY-MM-DD).")
    ],
    unit: Annotated[str | None, typer.Option(help="Đơn vị (mã hoặc tên).")] = None,
    as_json: AsJson = False,
    xlsx: Annotated[Path | None, typer.Option(help="Ghi bảng Excel vào tệp này.")] = None,
    pdf: Annotated[Path | None, typer.Option(help="Ghi bản PDF vào tệp này.")] = None,
) -> None:
    """Thống kê giải quyết đúng hạn theo đơn vị, người xử lý (văn bản tiếp nhận trong kỳ)."""
    from engine.workflow.ontime import on_time_report, percent, report_pdf, report_xlsx

    ws = workspace()
    report = on_time_report(ws, as_user, start.date(), end.date(), unit)
    if xlsx is not None:
        write_output(xlsx, report_xlsx(report), "--xlsx")
        typer.echo(f"Đã ghi {xlsx}", err=as_json)
    if pdf is not None:
        write_output(pdf, report_pdf(ws, report), "--pdf")
        typer.echo(f"Đã ghi {pdf}", err=as_json)
    if as_json:
        echo_json(report.to_json())
        return
    if xlsx is not None or pdf is not None:
        return
    typer.echo(
        f"Thống kê đúng hạn {start:%d/%m/%Y}–{end:%d/%m/%Y}"
        + (f", {report.unit}" if report.unit else "")
    )
    for row in [*report.rows, report.total]:
        name = f"  {row.person}" if row.person else row.unit
        typer.echo(
            f"{name}: {row.received} việc — trước hạn {row.ahead}, đúng hạn {row.on_time}, "
            f"quá hạn {row.late}, còn hạn {row.open_in_time}, đang quá hạn {row.overdue}; "
            f"tỷ lệ {percent(row.rate)}"
        )
