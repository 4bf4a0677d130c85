"""The `vanthu` command. Errors become one Vietnamese line here; tracebacks only with --verbose."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from engine.config import Settings, load_settings
from engine.errors import EngineError
from engine.workspace import Workspace, open_workspace
from signing import SigningError
from storage import StorageError

app = typer.Typer(
    help="Vanthu — văn phòng điện tử theo Nghị định 30/2020/NĐ-CP.", no_args_is_help=True
)
draft_app = typer.Typer(help="Dự thảo văn bản đi.", no_args_is_help=True)
doc_app = typer.Typer(help="Xem văn bản.", no_args_is_help=True)
steps_app = typer.Typer(help="Các bước tự động (hàng đợi).", no_args_is_help=True)
audit_app = typer.Typer(help="Nhật ký kiểm tra (chuỗi băm).", no_args_is_help=True)
archive_app = typer.Typer(help="Lưu trữ: tìm và lấy bản lưu.", no_args_is_help=True)
incoming_app = typer.Typer(help="Văn bản đến.", no_args_is_help=True)
app.add_typer(draft_app, name="draft")
app.add_typer(doc_app, name="doc")
app.add_typer(steps_app, name="steps")
app.add_typer(audit_app, name="audit")
app.add_typer(archive_app, name="archive")
app.add_typer(incoming_app, name="incoming")

_state: dict[str, Any] = {"home": None, "verbose": False}

AsUser = Annotated[str, typer.Option("--as", help="Tên đăng nhập của người thực hiện.")]


@app.callback()
def _root(
    home: Annotated[
        Path | None,
        typer.Option(
            envvar="VANTHU_HOME", help="Thư mục của cơ quan (mặc định: thư mục hiện tại)."
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="In chi tiết lỗi.")] = False,
) -> None:
    _state["home"], _state["verbose"] = home, verbose


def settings() -> Settings:
    return load_settings(_state["home"])


def workspace() -> Workspace:
    return open_workspace(settings())


def echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def main() -> None:
    """Console entry point."""
    from engine import (  # noqa: F401  (they register on `app`)
        commands,
        commands_admin,
        commands_archive,
        commands_archive_ops,
        commands_copies,
        commands_pki,
        commands_search,
        commands_sign,
        commands_verify,
    )

    try:
        code = app(standalone_mode=False)
    except click.exceptions.Abort:
        typer.echo("Đã hủy.", err=True)
        code = 130
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except (EngineError, SigningError, StorageError) as exc:
        if _state["verbose"]:
            raise
        typer.secho(f"Lỗi: {exc}", err=True, fg=typer.colors.RED)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
