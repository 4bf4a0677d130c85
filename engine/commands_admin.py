"""Commands for clerks and administrators: setup, steps, audit."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session, col, select

from engine import audit, outbox
from engine.cli import (
    app,
    audit_app,
    settings,
    steps_app,
    workspace,
)
from engine.config import load_settings, write_settings_file
from engine.models import AuditEvent, OutboxItem
from engine.text import vietnam_time


@app.command("init")
def init(
    database_url: Annotated[str, typer.Option(help="Mặc định: SQLite trong thư mục.")] = "",
    store_url: Annotated[str, typer.Option(help="Mặc định: thư mục store/.")] = "",
) -> None:
    """Tạo thư mục cơ quan: tệp cấu hình, cơ sở dữ liệu (migrations), kho lưu trữ."""
    home = settings().home
    home.mkdir(parents=True, exist_ok=True)
    values = {k: v for k, v in {"database_url": database_url, "store_url": store_url}.items() if v}
    if not (home / "vanthu.toml").exists():
        write_settings_file(home, values)
    workspace()
    typer.echo(f"Đã khởi tạo {home}")


@app.command("setup-demo")
def setup_demo() -> None:
    """Tạo cơ quan mẫu (DEMO): đơn vị, người dùng, sổ đăng ký, khóa và chứng thư DEMO."""
    from engine.agency import setup_demo_agency

    setup_demo_agency(workspace())
    typer.echo("Đã tạo cơ quan mẫu SNV (DEMO)")


@app.command("demo")
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Thư mục cơ quan mẫu.")] = Path(
        "demo-agency"
    ),
) -> None:
    """Chạy trọn một văn bản đi: dự thảo → duyệt → ký → cấp số, đóng dấu → lưu trữ."""
    from engine.demo import run_demo

    run_demo(load_settings(directory.resolve()), echo=typer.echo)


@app.command("db-upgrade")
def db_upgrade() -> None:
    """Nâng cấp lược đồ cơ sở dữ liệu lên bản mới nhất."""
    workspace()
    typer.echo("Cơ sở dữ liệu đã ở phiên bản mới nhất")


@steps_app.command("list")
def steps_list(state: Annotated[str | None, typer.Option()] = None) -> None:
    """Các bước tự động trong hàng đợi."""
    ws = workspace()
    with Session(ws.db) as session:
        query = select(OutboxItem).order_by(col(OutboxItem.id))
        if state:
            query = query.where(OutboxItem.state == state)
        for item in session.exec(query):
            error = f" — {item.last_error}" if item.last_error else ""
            typer.echo(
                f"#{item.id} văn bản #{item.document_id} {item.step_id} ({item.run}): "
                f"{item.state}, lần {item.attempts}{error}"
            )


@steps_app.command("run")
def steps_run() -> None:
    """Chạy ngay các bước tự động đến hạn (trong tiến trình này)."""
    for run in outbox.run_pending(workspace()):
        status = "xong" if run.ok else f"lỗi: {run.error}"
        typer.echo(f"#{run.item_id} {run.step} (văn bản #{run.document_id}): {status}")


@steps_app.command("retry")
def steps_retry(item_id: int) -> None:
    """Đưa một bước tự động bị lỗi trở lại hàng đợi."""
    outbox.retry_failed(workspace(), item_id)
    typer.echo(f"Bước #{item_id} đã vào lại hàng đợi")


@app.command("worker")
def worker(
    once: Annotated[bool, typer.Option(help="Dừng khi hàng đợi trống.")] = False,
    poll: Annotated[float, typer.Option(help="Giây giữa hai lần kiểm tra.")] = 2.0,
) -> None:
    """Chạy các bước tự động qua Prefect (flow vanthu-outbox)."""
    from engine.flows import run_worker

    for run in run_worker(settings(), once=once, poll_seconds=poll):
        status = "xong" if run["ok"] else f"lỗi: {run['error']}"
        typer.echo(f"#{run['item_id']} {run['step']} (văn bản #{run['document_id']}): {status}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Kiểm tra toàn bộ chuỗi băm của nhật ký."""
    report = audit.verify_chain(workspace().db)
    if report.intact:
        typer.echo(f"Nhật ký nguyên vẹn: {report.events} sự kiện")
        return
    for problem in report.problems:
        typer.secho(problem, err=True, fg=typer.colors.RED)
    raise typer.Exit(1)


@audit_app.command("log")
def audit_log(document: Annotated[int | None, typer.Option()] = None) -> None:
    """Các sự kiện của nhật ký (của một văn bản)."""
    ws = workspace()
    with Session(ws.db) as session:
        query = select(AuditEvent).order_by(col(AuditEvent.seq))
        if document is not None:
            query = query.where(AuditEvent.document_id == document)
        for event in session.exec(query):
            when = vietnam_time(event.at).strftime("%d/%m/%Y %H:%M:%S")
            typer.echo(
                f"#{event.seq} {when} {event.actor} {event.event} {event.step or ''} {event.detail}"
            )


@app.command("workflows-check")
def workflows_check(directory: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Kiểm tra các định nghĩa quy trình (YAML)."""
    from engine.definitions import load_definitions
    from engine.steps import STEP_FUNCTIONS

    found = load_definitions(
        directory or settings().effective_workflows_dir, automated_steps=STEP_FUNCTIONS
    )
    for definition in found.values():
        typer.echo(f"{definition.source}: '{definition.name}' hợp lệ, {len(definition.steps)} bước")


@app.command("doctor")
def doctor() -> None:
    """Kiểm tra cơ sở dữ liệu, kho lưu trữ, khóa và LibreOffice trước khi chạy."""
    cfg = settings()
    failures = 0

    def check(label: str, ok: bool, detail: str) -> None:
        nonlocal failures
        failures += not ok
        mark = (
            typer.style("OK ", fg=typer.colors.GREEN)
            if ok
            else typer.style("LỖI", fg=typer.colors.RED)
        )
        typer.echo(f"[{mark}] {label}: {detail}")

    try:
        ws = workspace()
        check("cơ sở dữ liệu", True, ws.db.url.render_as_string(hide_password=True))
        ws.store.put("health/doctor", b"ok")
        check("kho lưu trữ", ws.store.get("health/doctor") == b"ok", ws.store.url)
        from engine.keys import trust_roots

        check("khóa và chứng thư", bool(trust_roots(ws)), str(cfg.effective_pki_dir))
    except Exception as exc:  # doctor reports every failure instead of stopping at the first
        check("cấu hình", False, str(exc))
    soffice = shutil.which(cfg.soffice)
    check("LibreOffice", soffice is not None, soffice or f"không tìm thấy '{cfg.soffice}'")
    check("pdftotext (poppler-utils)", shutil.which("pdftotext") is not None, "cần cho bố cục")
    if failures:
        raise typer.Exit(1)
