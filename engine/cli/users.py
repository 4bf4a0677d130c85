"""Accounts for the web office: `vanthu user add | set-password | disable | totp`.

An administrator (role admin) adds people, disables them and enrols anyone's second factor; a
person sets their own password (or an administrator does). `set-password` asks the new
password twice (hidden) on a terminal and reads one line of standard input otherwise (scripts).

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from engine.cli.app import AsUser, BadValue, VanthuTyper, app, stdin_is_terminal, workspace

user_app = VanthuTyper(help="Tài khoản đăng nhập văn phòng điện tử (web).")
app.add_typer(user_app, name="user")

Username = Annotated[str, typer.Argument(help="Tên đăng nhập.")]
PASSWORD_INPUT_MAX = 4096


def password_lines(passwords: dict[str, str]) -> list[str]:
    """DEMO passwords as the command line prints them, once."""
    width = max((len(name) for name in passwords), default=0)
    return [
        "Mật khẩu đăng nhập (DEMO, chỉ hiện một lần; đổi bằng "
        "`vanthu user set-password TÊN --as TÊN`):",
        *(f"  {name:<{width}}  {password}" for name, password in passwords.items()),
    ]


def _new_password(username: str) -> str:
    """Asked twice, hidden, on a terminal; else the first line of standard input."""
    if stdin_is_terminal():
        password: str = typer.prompt(
            f"Mật khẩu mới của {username}",
            hide_input=True,
            confirmation_prompt="Nhập lại mật khẩu mới",
        )
        return password
    line = sys.stdin.readline(PASSWORD_INPUT_MAX)
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise BadValue("cần mật khẩu mới trên dòng đầu của đầu vào chuẩn")
    return password


@user_app.command("add")
def user_add(
    username: Username,
    as_user: AsUser,
    full_name: Annotated[str, typer.Option(help="Họ và tên.")],
    role: Annotated[
        str,
        typer.Option(help="Vai trò: specialist, head, leader, clerk, archivist, admin."),
    ],
    unit: Annotated[str, typer.Option(help="Mã đơn vị (VP, PC, …).")],
    title: Annotated[str, typer.Option(help="Chức danh (Chuyên viên, Phó Giám đốc, …).")],
) -> None:
    """Thêm người dùng (quản trị viên). Người đó đăng nhập được sau khi có mật khẩu."""
    from engine.core.accounts import add_user

    added = add_user(
        workspace(), as_user, username, full_name=full_name, role=role, unit=unit, title=title
    )
    typer.echo(f"Đã thêm {added.username} — {added.full_name}, {added.title}, {added.unit_name}.")
    typer.echo(f"Đặt mật khẩu: vanthu user set-password {added.username} --as {as_user}")


@user_app.command("set-password")
def user_set_password(username: Username, as_user: AsUser) -> None:
    """Đặt mật khẩu đăng nhập (của mình, hoặc quản trị viên đặt cho người khác).

    Trên terminal: hỏi hai lần, không hiện; trong script: đọc một dòng từ đầu vào chuẩn.
    Các phiên đăng nhập web đang mở của người đó kết thúc.
    """
    from engine.core.accounts import set_password

    password = _new_password(username)
    ended = set_password(workspace(), as_user, username, password)
    note = f"; {ended} phiên đăng nhập đang mở đã kết thúc" if ended else ""
    typer.echo(f"Đã đặt mật khẩu mới cho {username}{note}.")


@user_app.command("disable")
def user_disable(username: Username, as_user: AsUser) -> None:
    """Khóa tài khoản (quản trị viên): không đăng nhập, không thao tác được nữa; văn bản và
    lịch sử của người đó vẫn giữ nguyên."""
    from engine.core.accounts import disable_user

    ended = disable_user(workspace(), as_user, username)
    note = f"; {ended} phiên đăng nhập đang mở đã kết thúc" if ended else ""
    typer.echo(f"Đã khóa tài khoản {username}{note}.")


@user_app.command("totp")
def user_totp(username: Username, as_user: AsUser) -> None:
    """Bật xác thực hai bước (TOTP) cho mình, hoặc cho người khác (quản trị viên).

    Khóa bí mật chỉ hiện một lần: nhập vào ứng dụng xác thực (Google Authenticator, FreeOTP,
    …) bằng địa chỉ otpauth:// hoặc gõ khóa. Từ lần đăng nhập sau, trang web hỏi mã 6 chữ số.
    """
    from engine.core.accounts import enrol_totp

    enrolled = enrol_totp(workspace(), as_user, username)
    typer.echo(f"Đã bật xác thực hai bước cho {username}. Chỉ hiện một lần:")
    typer.echo(f"  Địa chỉ (mã QR): {enrolled.uri}")
    typer.echo(f"  Khóa bí mật:     {enrolled.secret}")
    typer.echo("Từ lần đăng nhập sau, trang web hỏi mã 6 chữ số trong ứng dụng xác thực.")


@user_app.command("set-email")
def user_set_email(
    username: Username,
    email: Annotated[str, typer.Argument(help="Địa chỉ thư điện tử; để trống ('') để xóa.")],
    as_user: AsUser,
) -> None:
    """Đặt địa chỉ thư điện tử nhận nhắc việc, báo quá hạn (của mình, hoặc quản trị viên đặt)."""
    from engine.workflow.reminders import set_email

    address = set_email(workspace(), as_user, username, email)
    shown = address or "(không có)"
    typer.echo(f"Địa chỉ thư nhận nhắc việc của {username}: {shown}.")
