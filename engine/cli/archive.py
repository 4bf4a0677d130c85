"""The archivist's commands: retrieving records, the retrieval log, case files, reindexing.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from engine.cli.app import AsJson, AsUser, archive_app, echo_json, file_app, workspace


def _shown(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    from engine.core.text import vietnam_time

    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{vietnam_time(aware):%d/%m/%Y %H:%M}"


@archive_app.command("get")
def archive_get(
    record_id: str,
    as_user: AsUser,
    out: Annotated[Path, typer.Option(help="Thư mục ghi ra.")] = Path("."),
) -> None:
    """Lấy bản lưu ra thư mục (kiểm tra SHA-256 từng tệp); mỗi lần lấy được ghi nhật ký."""
    from engine.archive import records as archive

    retrieved = archive.retrieve(workspace(), record_id, as_user, out)
    for path in retrieved.files:
        typer.echo(str(path))


@archive_app.command("log")
def archive_log(
    as_user: AsUser,
    record_id: Annotated[str | None, typer.Argument()] = None,
    json: AsJson = False,
) -> None:
    """Nhật ký khai thác: ai lấy bản lưu nào, khi nào (cả những lần bị từ chối)."""
    from engine.archive import records as archive

    entries = archive.retrieval_log(workspace(migrate=False), record_id, actor=as_user)
    if json:
        echo_json([{**asdict(e), "at": e.at.isoformat()} for e in entries])
        return
    if not entries:
        typer.echo("Chưa có lần khai thác nào.")
        return
    for e in entries:
        outcome = "đã lấy" if e.allowed else "bị từ chối"
        typer.echo(f"{_shown(e.at)}  {e.actor} ({e.role})  {outcome}  {e.record_id}")


@archive_app.command("reindex")
def archive_reindex(as_user: AsUser, json: AsJson = False) -> None:
    """Dựng lại chỉ mục (bản lưu, hồ sơ, tìm kiếm toàn văn) chỉ từ kho lưu trữ."""
    from engine.archive.reindex import reindex

    report = reindex(workspace(), actor=as_user)
    if json:
        echo_json(asdict(report))
        return
    typer.echo(
        f"Đã dựng lại chỉ mục từ kho: {report.records} bản lưu ({report.created} mới,"
        f" {report.updated} cập nhật), {report.files} hồ sơ."
    )
    if report.skipped:
        typer.echo(f"Bỏ qua {len(report.skipped)} bản lưu không phải văn bản: ", nl=False)
        typer.echo(", ".join(report.skipped))
    if report.missing:
        typer.echo(f"Có trong cơ sở dữ liệu nhưng không có trong kho: {', '.join(report.missing)}")


@file_app.command("open")
def file_open(
    code: str,
    as_user: AsUser,
    title: Annotated[str, typer.Option(help="Tiêu đề hồ sơ.")],
    keep: Annotated[
        str,
        typer.Option("--retention", help="Thời hạn bảo quản: Vĩnh viễn, 70, 50, 30, 20, 10, 5."),
    ],
    unit: Annotated[str | None, typer.Option(help="Mã đơn vị lập hồ sơ.")] = None,
    access: Annotated[str, typer.Option(help="public hoặc restricted (hạn chế).")] = "public",
    keywords: Annotated[str, typer.Option(help="Từ khóa, cách nhau bằng dấu phẩy.")] = "",
) -> None:
    """Mở hồ sơ cho một việc."""
    from engine.archive import case_files as files

    opened = files.open_file(
        workspace(),
        as_user,
        code=code,
        title=title,
        retention_class=keep,
        unit=unit,
        access=access,
        keywords=keywords,
    )
    typer.echo(f"Đã mở hồ sơ {opened.code}: {opened.title}")


@file_app.command("add")
def file_add(code: str, record_id: str, as_user: AsUser) -> None:
    """Đưa một bản lưu vào hồ sơ đang mở."""
    from engine.archive import case_files as files

    record = files.add_record(workspace(), as_user, code, record_id)
    typer.echo(f"Đã đưa {record.record_id} vào hồ sơ {code}.")


@file_app.command("remove")
def file_remove(code: str, record_id: str, as_user: AsUser) -> None:
    """Rút một bản lưu khỏi hồ sơ đang mở."""
    from engine.archive import case_files as files

    files.remove_record(workspace(), as_user, code, record_id)
    typer.echo(f"Đã rút {record_id} khỏi hồ sơ {code}.")


@file_app.command("close")
def file_close(code: str, as_user: AsUser) -> None:
    """Đóng hồ sơ: từ đó không thêm, bớt được nữa."""
    from engine.archive import case_files as files

    closed = files.close_file(workspace(), as_user, code)
    typer.echo(f"Đã đóng hồ sơ {closed.code}.")


@file_app.command("list")
def file_list(json: AsJson = False) -> None:
    """Danh sách hồ sơ."""
    from engine.archive import case_files as files

    summaries = files.list_files(workspace())
    if json:
        echo_json([asdict(s) for s in summaries])
        return
    if not summaries:
        typer.echo("Chưa có hồ sơ nào.")
    for s in summaries:
        state = "đang mở" if s.state == "open" else "đã đóng"
        restricted = ", hạn chế" if s.access == "restricted" else ""
        typer.echo(
            f"{s.code}  {s.title}  ({state}, {s.retention}{restricted}, {s.documents} văn bản)"
        )


def _entry(position: int, record: Any) -> dict[str, Any]:
    from engine.archive import retention

    return {
        "position": position,
        "record_id": record.record_id,
        "symbol": record.symbol,
        "issued_at": record.issued_at.isoformat() if record.issued_at else None,
        "doc_type": record.doc_type,
        "subject": record.subject,
        "signer": record.signer,
        "pages": record.pages,
        "retention": retention.label(record.retention_years),
        "access": record.access,
    }


@file_app.command("show")
def file_show(code: str, as_user: AsUser, json: AsJson = False) -> None:
    """Mục lục hồ sơ: các văn bản theo thứ tự, số lượng, số trang, thời gian (người xem được
    ghi nhật ký; hồ sơ hạn chế chỉ dành cho lưu trữ viên và lãnh đạo)."""
    from engine.archive import case_files as files

    catalogue = files.catalogue(workspace(), code, as_user)
    entries = [_entry(n, r) for n, r in enumerate(catalogue.records, start=1)]
    snap = catalogue.snapshot
    if json:
        echo_json({**snap, "entries": entries})
        return
    state = "đang mở" if snap["state"] == "open" else "đã đóng"
    typer.echo(f"HỒ SƠ {snap['code']}: {snap['title']}")
    typer.echo(
        f"Đơn vị: {snap['unit_name'] or '—'}  ·  Thời hạn bảo quản: {snap['retention']}"
        f"  ·  Tiếp cận: {'hạn chế' if snap['access'] == 'restricted' else 'công khai'}"
        f"  ·  {state}"
    )
    start, end = snap["start_date"], snap["end_date"]
    span = f"{_day(start)} – {_day(end)}" if start else "—"
    typer.echo(
        f"Thời gian: {span}  ·  Số văn bản: {snap['documents']}  ·  Số trang: {snap['pages']}"
    )
    for e in entries:
        day = _shown(catalogue.records[e["position"] - 1].issued_at)[:10]
        typer.echo(
            f"{e['position']:>3}. {e['symbol'] or '—'}  {day}  {e['doc_type']}: {e['subject']}"
            f"  ({e['pages'] or '?'} tr.)  [{e['record_id']}]"
        )


def _day(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"
