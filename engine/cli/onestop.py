"""`vanthu onestop`: the one-stop desk (Bộ phận một cửa) and the handling unit's dossier moves.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.cli.app import AsJson, AsUser, echo_json, onestop_app, workspace
from engine.cli.files import read_upload, write_output
from engine.cli.search import parse_day

if TYPE_CHECKING:
    from engine.core.workspace import Workspace
    from engine.onestop import DossierView
    from engine.workflow import Move

Code = Annotated[str, typer.Argument(help="Mã hồ sơ (in trên giấy tiếp nhận).")]


def _when(value: datetime | None) -> str:
    from engine.core.calendar import VIETNAM_TIME

    return "—" if value is None else f"{value.astimezone(VIETNAM_TIME):%H:%M %d/%m/%Y}"


def _where(ws: Workspace, code: str, move: Move | None = None) -> None:
    from engine.onestop import dossier_view

    view = dossier_view(ws, code)
    typer.echo(f"  Trạng thái: {view.state} — {view.state_name}")
    if view.due_at is not None:
        typer.echo(f"  Hẹn trả kết quả: {_when(view.due_at)}")
    if move is not None and move.waiting:
        typer.echo(f"  Đang ở: {', '.join(move.waiting)}")


@onestop_app.command("procedures")
def procedures_list(as_json: AsJson = False) -> None:
    """Danh mục thủ tục hành chính: mã, tên, thời hạn, thành phần hồ sơ."""
    from engine.onestop import procedures

    found = procedures(workspace())
    if as_json:
        echo_json([asdict(p) for p in found.values()])
        return
    for proc in found.values():
        typer.echo(f"{proc.code}  {proc.name} — {proc.days} ngày làm việc, đơn vị {proc.unit}")
        for number, component in enumerate(proc.components, 1):
            typer.echo(
                f"    {number}. {component.name} ({component.originals} bản chính, "
                f"{component.copies} bản sao)"
            )


@onestop_app.command("receive")
def receive(
    as_user: AsUser,
    procedure: Annotated[str, typer.Option(help="Mã thủ tục (vanthu onestop procedures).")],
    applicant: Annotated[str, typer.Option(help="Người (tổ chức) nộp hồ sơ.")],
    component: Annotated[
        list[str] | None,
        typer.Option(help="Giấy tờ đã nộp: tên hoặc số thứ tự trong danh mục (nhắc lại)."),
    ] = None,
    address: Annotated[str, typer.Option(help="Địa chỉ người nộp.")] = "",
    phone: Annotated[str, typer.Option(help="Số điện thoại người nộp.")] = "",
    channel: Annotated[int, typer.Option(help="1 trực tiếp, 2 trực tuyến, 3 bưu chính.")] = 1,
    refuse: Annotated[
        str | None, typer.Option(help="Từ chối tiếp nhận, với lý do này (Mẫu 03).")
    ] = None,
) -> None:
    """Tiếp nhận hồ sơ: đủ thành phần thì nhận và hẹn ngày trả; thiếu thì yêu cầu bổ sung."""
    from engine.onestop import DossierRequest
    from engine.onestop import receive as receive_dossier

    ws = workspace()
    request = DossierRequest(procedure, applicant, tuple(component or ()), address, phone, channel)
    code, move = receive_dossier(ws, as_user, request, refuse=refuse)
    typer.echo(f"Hồ sơ {code}")
    _where(ws, code, move)
    form = {"register": "01", "return": "02", "reject": "03"}.get(move.action, "06")
    typer.echo(f"  In phiếu: vanthu onestop slip {code} --form {form} --out {code}.pdf")


@onestop_app.command("complete")
def complete(
    code: Code,
    as_user: AsUser,
    component: Annotated[
        list[str] | None, typer.Option(help="Mọi giấy tờ đã có sau khi bổ sung (nhắc lại).")
    ] = None,
    refuse: Annotated[str | None, typer.Option(help="Từ chối, với lý do này.")] = None,
) -> None:
    """Kiểm tra lại hồ sơ công dân đã bổ sung."""
    from engine.onestop import check_at_desk

    ws = workspace()
    move = check_at_desk(ws, code, as_user, components=tuple(component or ()), refuse=refuse)
    typer.echo(f"Hồ sơ {code}")
    _where(ws, code, move)


@onestop_app.command("act")
def act(
    code: Code,
    action: Annotated[str, typer.Argument(help="forward, consult, comment, submit, approve…")],
    as_user: AsUser,
    to: Annotated[str | None, typer.Option("--to", help="Người được giao (chuyên viên).")] = None,
    comment: Annotated[str | None, typer.Option(help="Ý kiến.")] = None,
) -> None:
    """Thao tác của đơn vị giải quyết trên hồ sơ; mỗi lần chuyển được ghi vào phiếu kiểm soát.

    Lãnh đạo ký kết quả bằng 'sign' (hoặc 'approve'): lệnh hỏi mã PIN khóa ký số (ẩn); chạy
    trong tập lệnh thì đọc biến môi trường VANTHU_PIN.
    """
    from engine.onestop import act_on

    ws = workspace()
    move = act_on(
        ws, code, as_user, action, comment=comment, choose=to, pin=_pin(ws, action, as_user)
    )
    typer.echo(f"Hồ sơ {code}: đã '{action}'")
    for title, error in move.failed:
        typer.echo(f"  Bước '{title}' chưa xong: {error}")
    _where(ws, code, move)
    if move.queued:
        typer.echo(f"  Chờ hệ thống: {', '.join(move.queued)} (vanthu worker)")
    symbol = next((r["symbol"] for r in move.results.values() if "symbol" in r), None)
    if symbol:
        typer.echo(f"  Số quyết định: {symbol}")
    if any("sha256" in r for r in move.results.values()):
        typer.echo(f"  Lấy kết quả: vanthu onestop result-pdf {code} --out ket-qua-{code}.pdf")


def _pin(ws: Workspace, action: str, username: str) -> str | None:
    """The signer's PIN when the action signs with a key held on the server."""
    if action not in ("sign", "approve") or ws.settings.leader_signing != "server":
        return None
    from engine.cli.identity import signer_pin

    return signer_pin(username)


@onestop_app.command("result")
def result(
    code: Code,
    as_user: AsUser,
    file: Annotated[Path, typer.Option("--file", help="Dự thảo kết quả: DOCX hoặc PDF.")],
) -> None:
    """Chuyên viên đính kèm dự thảo kết quả giải quyết (theo thể thức Nghị định 30)."""
    from engine.onestop import attach_result

    ws = workspace()
    upload = read_upload(file, "--file", ws.settings.max_upload_bytes)
    version = attach_result(ws, code, as_user, upload)
    typer.echo(f"Hồ sơ {code}: đã đính kèm kết quả (bản {version}) từ {file.name}")
    typer.echo(f"  Trình lãnh đạo: vanthu onestop act {code} submit --as {as_user}")


@onestop_app.command("result-pdf")
def result_pdf(
    code: Code, out: Annotated[Path, typer.Option("--out", help="Tệp PDF ghi ra.")]
) -> None:
    """Lấy kết quả đã ký (quyết định: đã cấp số, đóng dấu) để in hoặc gửi công dân."""
    from engine.onestop import issued_result

    name, data = issued_result(workspace(), code)
    write_output(out, data, "--out")
    typer.echo(f"Đã ghi {out} ({name}, {len(data):,} byte)".replace(",", "."))


@onestop_app.command("apology-pdf")
def apology_pdf(
    code: Code, out: Annotated[Path, typer.Option("--out", help="Tệp PDF ghi ra.")]
) -> None:
    """Lấy phiếu xin lỗi và hẹn lại ngày trả kết quả đã ký (Mẫu 05)."""
    from engine.onestop import apology_letter

    name, data = apology_letter(workspace(), code)
    write_output(out, data, "--out")
    typer.echo(f"Đã ghi {out} ({name}, {len(data):,} byte)".replace(",", "."))


@onestop_app.command("fees")
def fees(
    code: Code,
    as_user: AsUser,
    amount: Annotated[
        int | None, typer.Option(help="Số tiền phải nộp (đồng); mặc định theo thủ tục.")
    ] = None,
    note: Annotated[str, typer.Option(help="Ghi chú: khoản phí, lệ phí, nơi nộp…")] = "",
) -> None:
    """Yêu cầu công dân nộp phí, lệ phí (trạng thái 6): đơn vị giải quyết."""
    from engine.onestop import ask_fees, money

    ws = workspace()
    due = ask_fees(ws, code, as_user, amount=amount, note=note)
    typer.echo(f"Hồ sơ {code}: chờ công dân nộp {money(due)}")
    _where(ws, code)


@onestop_app.command("paid")
def paid(
    code: Code,
    as_user: AsUser,
    amount: Annotated[int, typer.Option(help="Số tiền đã nộp (đồng).")],
    receipt: Annotated[str, typer.Option(help="Số biên lai thu phí, lệ phí.")],
) -> None:
    """Bộ phận một cửa ghi nhận công dân đã nộp phí, lệ phí: hồ sơ trở lại đang xử lý."""
    from engine.onestop import money, record_payment

    ws = workspace()
    record_payment(ws, code, as_user, amount=amount, receipt=receipt)
    typer.echo(f"Hồ sơ {code}: đã nộp {money(amount)}, biên lai số {receipt}")
    _where(ws, code)


@onestop_app.command("return")
def return_result(
    code: Code,
    as_user: AsUser,
    received_by: Annotated[str, typer.Option(help="Người nhận kết quả (ký nhận).")],
) -> None:
    """Trả kết quả cho công dân tại Bộ phận một cửa."""
    from engine.onestop import return_result as give_back

    ws = workspace()
    give_back(ws, code, as_user, received_by)
    typer.echo(f"Hồ sơ {code}: đã trả kết quả cho {received_by}")
    _where(ws, code)


@onestop_app.command("apologise")
def apologise(
    code: Code,
    as_user: AsUser,
    new_date: Annotated[str, typer.Option(help="Ngày hẹn trả mới (dd/mm/yyyy).")],
    reason: Annotated[str, typer.Option(help="Lý do chậm.")],
    out: Annotated[Path | None, typer.Option("--out", help="Ghi phiếu đã ký ra tệp PDF.")] = None,
) -> None:
    """Phiếu xin lỗi và hẹn lại ngày trả kết quả (Mẫu 05): lãnh đạo đơn vị giải quyết ký số
    (lệnh hỏi mã PIN; trong tập lệnh đọc VANTHU_PIN), phát hành cho công dân."""
    from engine.cli.identity import signer_pin
    from engine.onestop import apologise as make_apology
    from engine.onestop import apology_letter

    ws = workspace()
    day = parse_day(new_date, "--new-date")
    if out is not None:  # checked before the head signs: nothing signed is then lost
        write_output(out, b"", "--out", check_only=True)
    due = make_apology(ws, code, as_user, day, reason, pin=signer_pin(as_user))
    typer.echo(f"Hồ sơ {code}: hẹn lại ngày trả {_when(due)} (vẫn tính là trễ hạn)")
    if out is not None:
        name, data = apology_letter(ws, code)
        write_output(out, data, "--out")
        typer.echo(f"  Đã ghi phiếu đã ký {out} ({name})")
    else:
        typer.echo(f"  Lấy phiếu đã ký: vanthu onestop apology-pdf {code} --out xin-loi-{code}.pdf")


@onestop_app.command("show")
def show(code: Code, as_json: AsJson = False) -> None:
    """Hồ sơ: trạng thái (mã Cổng dịch vụ công), ngày hẹn, phiếu kiểm soát."""
    from engine.onestop import dossier_view

    view = dossier_view(workspace(), code)
    if as_json:
        data: dict[str, Any] = asdict(view)
        data["portal_code"] = view.state
        echo_json(data)
        return
    typer.echo(f"Hồ sơ {view.code} — {view.procedure_name} ({view.procedure_code})")
    typer.echo(f"  Người nộp: {view.applicant}; kênh: {view.channel_name}")
    typer.echo(f"  Trạng thái: {view.state} — {view.state_name}")
    typer.echo(f"  Đơn vị giải quyết: {view.unit}")
    typer.echo(f"  Nhận: {_when(view.received_at)}; hẹn trả: {_when(view.due_at)}")
    if view.original_due_at != view.due_at:
        typer.echo(f"  Hẹn ban đầu: {_when(view.original_due_at)} (hồ sơ tính là trễ hạn)")
    if view.reason:
        typer.echo(f"  Lý do: {view.reason}")
    _show_result_and_fees(view)
    typer.echo("  Phiếu kiểm soát quá trình giải quyết:")
    for line in view.handovers:
        result = f" — {line.outcome}" if line.outcome else ""
        typer.echo(
            f"    {_when(line.handed_at)}  {line.from_name} → {line.to_name or '—'}"
            f" (hạn {_when(line.due_at)}, xong {_when(line.done_at)}){result}"
        )


def _show_result_and_fees(view: DossierView) -> None:
    from engine.onestop import money

    found = view.result
    if found is not None:
        typer.echo(f"  Kết quả: {found.kind_name}, bản {found.version} ({found.draft})")
        if found.signer:
            typer.echo(f"    Người ký: {found.signer}")
        if found.symbol:
            typer.echo(f"    Số: {found.symbol}")
        if found.issued:
            typer.echo(f"    Tệp đã ban hành: {found.issued}")
    if view.fee_amount is not None:
        note = f" ({view.fee_note})" if view.fee_note else ""
        typer.echo(f"  Phí, lệ phí: {money(view.fee_amount)}{note}")
        if view.fee_paid is not None:
            typer.echo(
                f"    Đã nộp {money(view.fee_paid)}, biên lai số {view.fee_receipt}, "
                f"{_when(view.fee_paid_at)}"
            )
    for name in view.apologies:
        typer.echo(f"  Phiếu xin lỗi đã ký: {name}")


@onestop_app.command("list")
def list_command(
    as_user: AsUser,
    state: Annotated[str, typer.Option(help="Chỉ hồ sơ ở trạng thái này (1 đến 10).")] = "",
    overdue: Annotated[bool, typer.Option("--overdue", help="Chỉ hồ sơ quá hạn.")] = False,
    procedure: Annotated[str, typer.Option(help="Chỉ hồ sơ của thủ tục này (mã).")] = "",
    as_json: AsJson = False,
) -> None:
    """Danh sách hồ sơ người dùng được xem, mới nhất trước: mã, thủ tục, trạng thái, hẹn trả."""
    from engine.onestop import dossier_filters, list_dossiers

    filters = dossier_filters(state, "overdue" if overdue else "", procedure)
    listing = list_dossiers(workspace(), as_user, filters, page_size=None)
    if as_json:
        echo_json([asdict(row) for row in listing.rows])
        return
    for row in listing.rows:
        flag = " — QUÁ HẠN" if row.overdue else (" — trễ hạn" if row.late else "")
        typer.echo(
            f"{row.code}  {row.procedure_code}  {row.applicant}  [{row.state} {row.state_name}]"
            f"  hẹn trả {_when(row.due_at)}{flag}"
        )
    typer.echo(f"{len(listing.rows)} hồ sơ")


@onestop_app.command("slip")
def slip(
    code: Code,
    out: Annotated[Path, typer.Option("--out", help="Tệp PDF ghi ra.")],
    form: Annotated[
        str, typer.Option(help="Mẫu số: 01 giấy tiếp nhận, 02, 03, 05, 06 phiếu kiểm soát.")
    ] = "01",
    as_docx: Annotated[bool, typer.Option("--docx", help="Ghi DOCX thay vì PDF.")] = False,
) -> None:
    """In phiếu của hồ sơ theo mẫu Thông tư 01/2018/TT-VPCP (mặc định giấy tiếp nhận, Mẫu 01)."""
    from engine.onestop import FORMS, form_docx, form_pdf

    ws = workspace()
    number = form.zfill(2)
    data = form_docx(ws, code, number) if as_docx else form_pdf(ws, code, number)
    write_output(out, data, "--out")
    title = FORMS[number].title.capitalize()
    typer.echo(f"Đã ghi {out} ({title}, {len(data):,} byte)".replace(",", "."))


@onestop_app.command("forms")
def forms(out: Annotated[Path, typer.Option("--out", help="Thư mục ghi các mẫu DOCX.")]) -> None:
    """Ghi các mẫu phiếu có sẵn để cơ quan sửa (đặt onestop_forms_dir trỏ tới thư mục này)."""
    from engine.onestop import write_templates

    for path in write_templates(out):
        typer.echo(f"Đã ghi {path}")


@onestop_app.command("withdraw")
def withdraw(
    code: Code,
    as_user: AsUser,
    reason: Annotated[str, typer.Option(help="Công dân đề nghị rút hồ sơ vì…")],
) -> None:
    """Công dân rút hồ sơ (trạng thái 7): Bộ phận một cửa ghi nhận."""
    from engine.onestop import DossierState, close_dossier

    ws = workspace()
    close_dossier(ws, code, as_user, DossierState.WITHDRAWN, reason)
    typer.echo(f"Hồ sơ {code}: công dân đã rút hồ sơ")
    _where(ws, code)


@onestop_app.command("stop")
def stop(
    code: Code,
    as_user: AsUser,
    reason: Annotated[str, typer.Option(help="Lý do dừng xử lý.")],
) -> None:
    """Dừng xử lý hồ sơ (trạng thái 8): lãnh đạo đơn vị giải quyết."""
    from engine.onestop import DossierState, close_dossier

    ws = workspace()
    close_dossier(ws, code, as_user, DossierState.STOPPED, reason)
    typer.echo(f"Hồ sơ {code}: đã dừng xử lý")
    _where(ws, code)
