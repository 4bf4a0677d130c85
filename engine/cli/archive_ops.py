"""The archivist's long-term commands: disposal, fixity check, transfer packages, schedules.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from engine.cli.app import (
    AsJson,
    AsUser,
    archive_app,
    dispose_app,
    echo_json,
    schedules_app,
    settings,
    workspace,
)

if TYPE_CHECKING:
    from engine.archive.disposal import DisposalView


# --- Disposal -----------------------------------------------------------------------------------


@dispose_app.command("propose")
def dispose_propose(
    records: Annotated[list[str], typer.Argument(help="Mã các bản lưu đề nghị hủy.")],
    as_user: AsUser,
    reason: Annotated[str, typer.Option(help="Lý do hủy (hết thời hạn bảo quản…).")],
) -> None:
    """Lập tờ trình hủy tài liệu hết thời hạn bảo quản (chỉ tài liệu của hồ sơ đã đóng)."""
    from engine.archive import disposal

    ws = workspace()
    number = disposal.propose(ws, as_user, records, reason)
    view = disposal.show_disposal(ws, number)
    typer.echo(
        f"Đã lập tờ trình hủy #{number} ({len(view.records)} bản lưu); đang chờ: "
        f"{', '.join(view.waiting_at)}. Duyệt bằng `vanthu act {number} approve --as …`."
    )


@dispose_app.command("list")
def dispose_list(as_json: AsJson = False) -> None:
    """Các tờ trình hủy, mới nhất trước."""
    from engine.archive import disposal
    from engine.core.text import vietnam_time

    views = disposal.list_disposals(workspace())
    if as_json:
        echo_json([_view_json(v, full=False) for v in views])
        return
    if not views:
        typer.echo("Chưa có tờ trình hủy tài liệu nào.")
    for v in views:
        state = (
            f"đã hủy {vietnam_time(v.disposed_at):%d/%m/%Y %H:%M}, biên bản {v.record_id}"
            if v.disposed_at
            else f"đang chờ: {', '.join(v.waiting_at) or '—'}"
        )
        typer.echo(
            f"#{v.number} {vietnam_time(v.proposed_at):%d/%m/%Y} {v.proposed_by}: "
            f"{len(v.records)} bản lưu — {v.reason} [{state}]"
        )


@dispose_app.command("show")
def dispose_show(number: int) -> None:
    """Tờ trình hủy: danh mục bản lưu, trạng thái và biên bản hủy (JSON)."""
    from engine.archive import disposal

    echo_json(_view_json(disposal.show_disposal(workspace(), number), full=True))


def _view_json(view: DisposalView, *, full: bool) -> dict[str, object]:
    from engine.core.text import vietnam_time

    data: dict[str, object] = {
        "number": view.number,
        "state": view.state,
        "reason": view.reason,
        "proposed_by": view.proposed_by,
        "proposed_at": vietnam_time(view.proposed_at).isoformat(),
        "records": list(view.records),
        "waiting_at": list(view.waiting_at),
        "disposed_at": vietnam_time(view.disposed_at).isoformat() if view.disposed_at else None,
        "disposal_record_id": view.record_id,
    }
    if full:
        data["disposal_record"] = view.disposal_record
    return data


# --- Fixity -------------------------------------------------------------------------------------


@archive_app.command("check")
def archive_check(
    as_user: AsUser,
    record: Annotated[str | None, typer.Option(help="Chỉ kiểm tra một bản lưu.")] = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Gỡ dấu xóa (delete marker) đang che tệp bị khóa trên S3 (có ghi nhật ký).",
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Băm lại mọi tệp, kiểm tra lại chữ ký số, đối chiếu kho với nhật ký và cơ sở dữ liệu; mã
    thoát 1 khi còn vấn đề."""
    from engine.archive.fixity import check_archive

    report = check_archive(workspace(), record_id=record, actor=as_user, repair=repair)
    if as_json:
        echo_json(report.to_json())
    else:
        typer.echo(
            f"Đã kiểm tra {report.records} bản lưu, {report.objects} tệp, "
            f"{report.signatures} tệp PDF có chữ ký."
        )
        for fixed in report.repaired:
            typer.echo(f"ĐÃ SỬA (gỡ dấu xóa): {fixed.key} — bản lưu {fixed.record_id}")
        for problem in report.problems:
            typer.echo(f"LỖI: {problem.message}")
        if report.ok:
            typer.echo("Kho lưu trữ toàn vẹn: không tệp nào thiếu, bị che hoặc bị thay đổi.")
    if not report.ok:
        raise typer.Exit(1)


# --- Transfer -----------------------------------------------------------------------------------


@archive_app.command("export")
def archive_export(
    file_code: Annotated[str, typer.Argument(help="Mã hồ sơ đã đóng, ví dụ 2026.VP.01.")],
    out: Annotated[Path, typer.Option(help="Tệp gói .zip (hoặc thư mục) ghi ra.")],
    as_user: AsUser,
) -> None:
    """Xuất hồ sơ đã đóng thành gói chuyển giao E-ARK CSIP (Thông tư 05/2025/TT-BNV)."""
    from engine.archive import transfer

    exported = transfer.export_file(workspace(), file_code, out, as_user)
    typer.echo(
        f"Đã xuất hồ sơ {exported.file_code} ({len(exported.records)} bản lưu) vào "
        f"{exported.path}; SHA-256 {exported.sha256}"
    )


@archive_app.command("verify-package")
def archive_verify_package(path: Path) -> None:
    """Kiểm tra gói chuyển giao: cấu trúc, METS và mã băm từng tệp; mã thoát 1 khi có lỗi."""
    from engine.archive import transfer

    problems = transfer.verify(path)
    for problem in problems:
        typer.echo(f"LỖI: {problem}")
    if problems:
        raise typer.Exit(1)
    typer.echo(f"Gói {path.name} hợp lệ: mọi tệp khớp mã băm trong METS.")


@archive_app.command("import")
def archive_import(path: Path, as_user: AsUser) -> None:
    """Nhập gói chuyển giao (kiểm tra trước, gói bị sửa thì từ chối kèm lý do)."""
    from engine.archive import transfer

    imported = transfer.import_file(workspace(), path, as_user)
    already = len(imported.records) - len(imported.new_records)
    note = f"; {already} bản lưu đã có từ trước" if already else ""
    typer.echo(
        f"Đã nhập hồ sơ {imported.file_code}: {len(imported.new_records)} bản lưu mới{note}."
    )


# --- Schedules ----------------------------------------------------------------------------------


@schedules_app.command("list")
def schedules_list(as_json: AsJson = False) -> None:
    """Việc nào chạy lúc nào (giờ Việt Nam)."""
    from engine.automation import schedules

    rows = schedules.upcoming()
    if as_json:
        echo_json(
            [
                {
                    "name": s.name,
                    "flow": s.flow_name,
                    "cron": s.cron,
                    "timezone": schedules.TIMEZONE,
                    "next_run": when.isoformat(),
                    "description": s.description,
                }
                for s, when in rows
            ]
        )
        return
    for s, when in rows:
        typer.echo(
            f"{s.name} ({s.flow_name}): {s.when} — cron '{s.cron}' {schedules.TIMEZONE}; "
            f"lần tới {when:%d/%m/%Y %H:%M}\n  {s.description}"
        )


@schedules_app.command("serve")
def schedules_serve() -> None:
    """Chạy các việc theo lịch cho đến khi dừng (Ctrl+C); cần máy chủ Prefect."""
    from engine.automation import schedules

    typer.echo("Đang chạy các việc theo lịch (Ctrl+C để dừng):")
    schedules_list(as_json=False)
    schedules.serve(settings())


# --- Bulk ingest --------------------------------------------------------------------------------


@archive_app.command("ingest")
def archive_ingest(
    folder: Annotated[Path, typer.Argument(help="Thư mục chứa các tệp PDF và tệp CSV/JSON.")],
    as_user: AsUser,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Nhập tiếp sau lần bị ngắt: bỏ qua bản lưu đã có."),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Số tiến trình đọc chữ trong PDF (mặc định: số lõi CPU)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Nhập hàng loạt tài liệu lưu trữ có sẵn (PDF kèm danh mục CSV hoặc JSON bên cạnh mỗi tệp);
    dòng hỏng được báo kèm tệp và số dòng, các dòng khác vẫn nhập; mã thoát 1 khi có dòng bị từ
    chối."""
    import sys

    from engine.archive.ingest import ingest_folder

    report = ingest_folder(
        workspace(),
        folder,
        actor=as_user,
        resume=resume,
        workers=workers,
        progress=_ProgressLine(sys.stderr.isatty()),
    )
    if as_json:
        echo_json(report.to_json())
    else:
        for refused in report.refused:
            typer.echo(f"TỪ CHỐI: {refused}")
        typer.echo(
            f"Đã nhập {report.ingested} bản lưu, bỏ qua {report.skipped} bản đã có, từ chối "
            f"{len(report.refused)} dòng ({report.seconds:.1f} giây, "
            f"{report.rate:.0f} bản lưu/giây)."
        )
    if report.refused:
        raise typer.Exit(1)


class _ProgressLine:
    """The ingest's progress on stderr: a bar redrawn in place on a terminal, else a line every
    few seconds (logs, CI)."""

    EVERY = 5.0

    def __init__(self, tty: bool) -> None:
        import time

        self.tty = tty
        self.last = time.monotonic()

    def __call__(self, state: object) -> None:
        import sys
        import time

        from engine.archive.ingest import Progress

        assert isinstance(state, Progress)
        now = time.monotonic()
        final = state.done >= state.total
        if not self.tty and not final and now - self.last < self.EVERY:
            return
        self.last = now
        eta = state.eta
        left = "—" if eta is None else f"{int(eta) // 60}:{int(eta) % 60:02d}"
        share = state.done / state.total if state.total else 1.0
        text = (
            f"{state.done}/{state.total} ({share:.0%}), {state.rate:.0f} bản lưu/giây, còn {left}"
        )
        if self.tty:
            bar = "█" * int(share * 30) + "░" * (30 - int(share * 30))
            sys.stderr.write(f"\r{bar} {text}" + ("\n" if final else ""))
        else:
            sys.stderr.write(f"nhập kho: {text}\n")
        sys.stderr.flush()
