"""Who acted is proven: a leader's PIN, asked here and handed to the engine, never kept.

`vanthu act N sign` asks the signer's PIN (hidden) when standard input is a terminal, and reads
``VANTHU_PIN`` otherwise (scripts); `vanthu pin set` lets a leader choose their own PIN;
`vanthu pin unlock` lets an administrator give a locked key its tries back.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from engine.cli.app import AsUser, BadValue, VanthuTyper, app, stdin_is_terminal, workspace

PIN_ENV = "VANTHU_PIN"
"""Where a script hands the signer's PIN to `vanthu act … sign` (no terminal to ask on)."""

pin_app = VanthuTyper(help="Mã PIN của khóa ký số cá nhân (lãnh đạo).")
app.add_typer(pin_app, name="pin")


def signer_pin(username: str) -> str | None:
    """The PIN of ``username``: asked (hidden) on a terminal, else ``VANTHU_PIN``; None when
    neither gives one (the engine then says a PIN is needed)."""
    if stdin_is_terminal():
        pin: str = typer.prompt(f"Mã PIN khóa ký số của {username}", hide_input=True)
        return pin
    return os.environ.get(PIN_ENV) or None


def _two_pins() -> tuple[str, str]:
    """The current and the new PIN: asked (hidden, the new one twice) on a terminal, else the
    first two lines of standard input."""
    if stdin_is_terminal():
        current: str = typer.prompt("Mã PIN hiện tại", hide_input=True)
        new: str = typer.prompt(
            "Mã PIN mới", hide_input=True, confirmation_prompt="Nhập lại mã PIN mới"
        )
        return current, new
    lines = sys.stdin.read(4096).splitlines()
    if len(lines) < 2:
        raise BadValue("cần hai dòng trên đầu vào chuẩn: mã PIN hiện tại, rồi mã PIN mới")
    return lines[0], lines[1]


@pin_app.command("set")
def pin_set(as_user: AsUser) -> None:
    """Đặt mã PIN mới cho khóa ký số của mình (cần mã PIN hiện tại; mã PIN DEMO lúc đầu).

    Chỉ khóa của người đó được mã hóa lại; không ai khác, kể cả quản trị viên, đặt được mã PIN
    cho người khác.
    """
    from engine.signatures.keys import set_pin

    current, new = _two_pins()
    set_pin(workspace(), as_user, current, new)
    typer.echo(f"Đã đặt mã PIN mới cho khóa ký số của {as_user}.")


@pin_app.command("unlock")
def pin_unlock(
    as_user: AsUser,
    user: Annotated[str, typer.Option("--user", help="Lãnh đạo có khóa bị khóa.")],
) -> None:
    """Mở khóa mã PIN sau nhiều lần nhập sai (quản trị viên): người đó được thử lại; lệnh này
    không ký và không đổi mã PIN."""
    from engine.signatures.keys import unlock_pin

    tries = unlock_pin(workspace(), as_user, user)
    typer.echo(f"Đã mở khóa mã PIN của {user} (trước đó nhập sai {tries} lần liên tiếp).")
