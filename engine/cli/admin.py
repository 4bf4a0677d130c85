"""Commands for administrators: the agency folder, the queue of automated steps, the audit log,
the workflow definitions, and `doctor`.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli.app import (
    AsJson,
    app,
    audit_app,
    echo_json,
    settings,
    steps_app,
    workspace,
)


@app.command("init")
def init(
    database_url: Annotated[str, typer.Option(help="Mặc định: SQLite trong thư mục.")] = "",
    store_url: Annotated[str, typer.Option(help="Mặc định: thư mục store/.")] = "",
) -> None:
    """Tạo thư mục cơ quan: tệp cấu hình, cơ sở dữ liệu (migrations), kho lưu trữ."""
    from engine.core.config import create_home

    home = create_home(settings().home, database_url=database_url, store_url=store_url)
    workspace()
    typer.echo(f"Đã khởi tạo {home}")
    typer.echo("Tạo cơ quan mẫu: vanthu setup-demo")


@app.command("setup-demo")
def setup_demo() -> None:
    """Tạo cơ quan mẫu (DEMO): đơn vị, người dùng, sổ đăng ký, khóa và chứng thư DEMO."""
    from engine.cli.users import password_lines
    from engine.signatures.demo import setup_demo_agency

    passwords = setup_demo_agency(workspace())
    typer.echo("Đã tạo cơ quan mẫu SNV (DEMO)")
    for line in password_lines(passwords):
        typer.echo(line)
    typer.echo("Người dùng: vanthu inbox --as chuyenvien (xem README: `vanthu draft new`)")


@app.command("demo")
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Thư mục cơ quan mẫu.")] = Path(
        "demo-agency"
    ),
) -> None:
    """Chạy trọn hai văn bản đi: dự thảo → duyệt → ký → cấp số, đóng dấu → lưu trữ."""
    from engine.cli.demo import run_demo
    from engine.core.config import load_settings
    from engine.core.logs import log_to_file

    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    log_to_file(directory)
    run_demo(load_settings(directory), echo=typer.echo)


@app.command("db-upgrade")
def db_upgrade() -> None:
    """Nâng cấp lược đồ cơ sở dữ liệu lên bản mới nhất."""
    workspace()
    typer.echo("Cơ sở dữ liệu đã ở phiên bản mới nhất")


@steps_app.command("list")
def steps_list(
    state: Annotated[str | None, typer.Option(help="pending, running, done, failed.")] = None,
) -> None:
    """Các bước tự động trong hàng đợi."""
    from engine.workflow.outbox import STATES, items

    for item in items(workspace(migrate=False), state):
        error = f" — {item.last_error}" if item.last_error else ""
        typer.echo(
            f"#{item.id} văn bản #{item.document_id} {item.step_id} ({item.run}): "
            f"{STATES.get(item.state, item.state)}, lần {item.attempts}{error}"
        )


@steps_app.command("run")
def steps_run() -> None:
    """Chạy ngay các bước tự động đến hạn (trong tiến trình này)."""
    from engine.workflow.outbox import run_pending

    runs = run_pending(workspace())
    for run in runs:
        status = "xong" if run.ok else f"lỗi: {run.error}"
        typer.echo(f"#{run.item_id} {run.step} (văn bản #{run.document_id}): {status}")
    if not runs:
        typer.echo("Không có bước tự động nào đến hạn.")


@steps_app.command("retry")
def steps_retry(item_id: Annotated[int, typer.Argument(min=1, max=2**63 - 1)]) -> None:
    """Đưa một bước tự động bị lỗi trở lại hàng đợi."""
    from engine.workflow.outbox import retry_failed

    retry_failed(workspace(), item_id)
    typer.echo(f"Bước #{item_id} đã vào lại hàng đợi")


@steps_app.command("recover")
def steps_recover(
    force: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=2**63 - 1,
            help="Trả lại bước đang chạy này dù tiến trình của nó còn hay mất (quản trị viên).",
        ),
    ] = None,
    as_user: Annotated[
        str | None, typer.Option("--as", help="Người thực hiện (cần với --force).")
    ] = None,
) -> None:
    """Trả lại hàng đợi các bước đang chạy mà tiến trình chạy chúng đã mất, không chờ hết hạn."""
    from engine.workflow.outbox import recover

    handed = recover(workspace(), force=force, username=as_user)
    for item in handed:
        where = f"{item.host}, tiến trình {item.pid}" if item.pid else "không rõ tiến trình"
        typer.echo(
            f"#{item.item_id} {item.step} (văn bản #{item.document_id}) đã vào lại hàng đợi "
            f"({where})"
        )
    if not handed:
        typer.echo("Không có bước nào bị bỏ dở: mọi bước đang chạy đều còn tiến trình của nó.")
    else:
        typer.echo("Chạy tiếp: vanthu steps run (hoặc vanthu worker)")


@app.command("worker")
def worker(
    once: Annotated[bool, typer.Option(help="Dừng khi hàng đợi trống.")] = False,
    poll: Annotated[float, typer.Option(min=0.1, help="Giây giữa hai lần kiểm tra.")] = 2.0,
    prefect_api: Annotated[
        str | None,
        typer.Option(
            "--prefect-api",
            help="Máy chủ Prefect nhận báo cáo các lần chạy (http://MÁY:4200/api); mặc định "
            "prefect_api_url trong cấu hình, không có thì Prefect chạy nhúng trong thư mục.",
        ),
    ] = None,
) -> None:
    """Chạy các bước tự động qua Prefect (flow vanthu-outbox); chạy được nhiều worker trên
    nhiều máy cùng một CSDL PostgreSQL."""
    from engine.automation.worker import run_worker

    def show(runs: list[dict[str, object]]) -> None:
        for run in runs:
            status = "xong" if run["ok"] else f"lỗi: {run['error']}"
            typer.echo(f"#{run['item_id']} {run['step']} (văn bản #{run['document_id']}): {status}")

    runs = run_worker(
        workspace(),
        once=once,
        poll_seconds=poll,
        prefect_api=prefect_api,
        notice=lambda message: typer.secho(message, err=True, fg=typer.colors.YELLOW),
        on_runs=show,
    )
    if once and not runs:
        typer.echo("Hàng đợi trống: không có bước tự động nào đến hạn.")


@app.command("prefect-server")
def prefect_server(
    host: Annotated[str, typer.Option(help="Địa chỉ lắng nghe (0.0.0.0: mọi máy).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Cổng.")] = 4200,
    database_url: Annotated[
        str,
        typer.Option(
            help="CSDL riêng của Prefect: postgresql://NGƯỜI-DÙNG@MÁY/CSDL; mặc định SQLite "
            "trong thư mục cơ quan (prefect/)."
        ),
    ] = "",
) -> None:
    """Chạy máy chủ Prefect (giao diện và API) cho các `vanthu worker` báo cáo lên."""
    import os
    import sys

    from engine.automation.prefect_server import prefect_server as server_of

    server = server_of(settings(), host=host, port=port, database_url=database_url)
    typer.echo(f"Máy chủ Prefect: {server.ui_url} (CSDL {server.database})")
    typer.echo(f'Cho các worker: prefect_api_url = "{server.api_url}" trong vanthu.toml')
    sys.stdout.flush()
    os.execve(server.command[0], server.command, server.environment)  # Prefect in our place


@audit_app.command("verify")
def audit_verify() -> None:
    """Kiểm tra toàn bộ chuỗi băm của nhật ký và đối chiếu các mốc neo; neo đầu chuỗi."""
    from engine.signatures.anchors import verify_audit

    report = verify_audit(workspace(migrate=False))
    if not report.intact:
        for problem in report.problems:
            typer.secho(problem, err=True, fg=typer.colors.RED)
        raise typer.Exit(1)
    typer.echo(
        f"Nhật ký nguyên vẹn: {report.chain.events} sự kiện, "
        f"khớp {report.anchors.matched}/{report.anchors.anchors} mốc neo"
    )
    if report.anchor_error is not None:
        raise report.anchor_error
    if report.anchored is not None:
        anchored = report.anchored
        typer.echo(f"Đã neo đầu chuỗi #{anchored.seq} (ký số, dấu thời gian): {anchored.key}")


@audit_app.command("log")
def audit_log(
    document: Annotated[int | None, typer.Option(help="Chỉ sự kiện của văn bản này.")] = None,
    as_json: AsJson = False,
) -> None:
    """Các sự kiện của nhật ký (của một văn bản): ai, qua kênh nào (cli, api, web, worker,
    system; với dòng lệnh: người dùng hệ điều hành), làm gì, khi nào."""
    from engine.core.audit import events
    from engine.core.text import vietnam_time

    found = events(workspace(migrate=False).db, document)
    if as_json:
        echo_json([e.model_dump() for e in found])
        return
    for event in found:
        when = vietnam_time(event.at).strftime("%d/%m/%Y %H:%M:%S")
        channel = event.channel or "?"  # "?": written before channels were recorded
        if event.os_user:
            channel += f":{event.os_user}"
        typer.echo(
            f"#{event.seq} {when} {event.actor} [{channel}] {event.event} {event.step or ''}"
            f" {event.detail}"
        )


@app.command("workflows-check")
def workflows_check(directory: Annotated[Path | None, typer.Argument()] = None) -> None:
    """Kiểm tra các định nghĩa quy trình (YAML)."""
    from engine.automation.registry import check_definitions

    found = check_definitions(directory or settings().effective_workflows_dir)
    for definition in found:
        typer.echo(f"{definition.source}: '{definition.name}' hợp lệ, {len(definition.steps)} bước")


@app.command("doctor")
def doctor() -> None:
    """Kiểm tra cơ sở dữ liệu, kho lưu trữ, khóa, LibreOffice và quyền truy cập tệp của cơ quan."""
    from engine.automation.health import checks

    failures = 0
    for check in checks(settings()):
        failures += not check.ok and not check.warning
        if check.ok:
            mark = typer.style("OK ", fg=typer.colors.GREEN)
        elif check.warning:  # worth fixing, nothing fails because of it
            mark = typer.style("CẢNH BÁO", fg=typer.colors.YELLOW)
        else:
            mark = typer.style("LỖI", fg=typer.colors.RED)
        typer.echo(f"[{mark}] {check.part}: {check.detail}")
    if failures:
        raise typer.Exit(1)
