"""The `vanthu` command's shared pieces: the root app, the options every command takes, and the
agency a command works on.

Commands live in the modules beside this one. Each imports the engine inside its own body
(lazy, for start-up: `vanthu --help` loads no engine module, a read-only command only what it
reads); those imports are the only function-level imports of the CLI.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click import Context, HelpFormatter
from typer._click.exceptions import BadParameter
from typer.core import TyperCommand, TyperGroup, TyperOption

if TYPE_CHECKING:  # types only: the engine loads when a command runs
    from engine.core.config import Settings
    from engine.core.workspace import Workspace


class BadValue(BadParameter):
    """A value the command refuses, with the reason already in Vietnamese."""


HELP_OPTION_TEXT = "Hiện hướng dẫn này rồi thoát."
OPTIONS_METAVAR = "[TÙY CHỌN]"


def _vietnamese_help_labels() -> None:
    """Typer's help panels in Vietnamese (its labels are module constants)."""
    # lazy: typer's rich help costs ~0.1 s to import, needed only when help is shown
    from typer import rich_utils

    rich_utils.ARGUMENTS_PANEL_TITLE = "Tham số"
    rich_utils.OPTIONS_PANEL_TITLE = "Tùy chọn"
    rich_utils.COMMANDS_PANEL_TITLE = "Lệnh"
    rich_utils.ERRORS_PANEL_TITLE = "Lỗi"
    rich_utils.ABORTED_TEXT = "Đã hủy."
    rich_utils.REQUIRED_LONG_STRING = "[bắt buộc]"
    rich_utils.DEFAULT_STRING = "[mặc định: {}]"
    rich_utils.ENVVAR_STRING = "[biến môi trường: {}]"
    rich_utils.DEPRECATED_STRING = "(không dùng nữa) "
    rich_utils.RICH_HELP = "Xem [blue]'{command_path} {help_option}'[/]."


class _InVietnamese:
    """The usage line and the --help option of a command, in Vietnamese."""

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option: TyperOption | None = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_TEXT
            option.display_type_rich = lambda ctx: ""  # type: ignore[method-assign]
        return option

    def get_usage(self, ctx: Context) -> str:
        usage: str = super().get_usage(ctx)  # type: ignore[misc]
        return usage.replace("Usage:", "Cách dùng:", 1)

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        _vietnamese_help_labels()
        for param in self.params:  # type: ignore[attr-defined]
            label = _type_label(param)
            if label is not None:  # shadows the method on this one parameter, for this help
                param.display_type_rich = lambda ctx, label=label: label
        super().format_help(ctx, formatter)  # type: ignore[misc]


_METAVARS = {str: "<chữ>", int: "<số>", float: "<số>", Path: "<đường dẫn>", bool: ""}


def _type_label(param: Any) -> str | None:
    """The kind of value an option takes, in Vietnamese (typer shows Python's type names)."""
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    for kind in (annotation, *getattr(annotation, "__args__", ())):
        if kind in _METAVARS:
            many = "…" if getattr(annotation, "__origin__", None) is list else ""
            return _METAVARS[kind] + many if _METAVARS[kind] else ""
    return None


class VanthuCommand(_InVietnamese, TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["options_metavar"] = OPTIONS_METAVAR
        super().__init__(*args, **kwargs)


class VanthuGroup(_InVietnamese, TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["options_metavar"] = OPTIONS_METAVAR
        kwargs["subcommand_metavar"] = "LỆNH [THAM SỐ]..."
        super().__init__(*args, **kwargs)


class VanthuTyper(typer.Typer):
    """A command group whose help speaks Vietnamese."""

    def __init__(self, *, help: str, **kwargs: Any) -> None:
        super().__init__(
            help=help, cls=VanthuGroup, no_args_is_help=True, add_completion=False, **kwargs
        )

    def command(self, name: str | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", VanthuCommand)
        return super().command(name, **kwargs)


AsUser = Annotated[str, typer.Option("--as", help="Tên đăng nhập của người thực hiện.")]
AsJson = Annotated[bool, typer.Option("--json", help="In JSON cho chương trình khác đọc.")]

_state: dict[str, Any] = {"home": None, "verbose": False, "settings": None}


def configure(home: Path | None, verbose: bool) -> None:
    """The root options, kept for the commands that run after them."""
    _state.update(home=home, verbose=verbose, settings=None)


def verbose() -> bool:
    return bool(_state["verbose"])


def settings() -> Settings:
    """The agency's settings; from here on library logging goes to the agency's log file."""
    if _state["settings"] is None:
        from engine.core.config import load_settings
        from engine.core.logs import log_to_file

        loaded = load_settings(_state["home"])
        log_to_file(loaded.home, verbose=verbose())
        _state["settings"] = loaded
    found: Settings = _state["settings"]
    return found


def settings_if_loaded() -> Settings | None:
    """The settings, if a command has read them (they name the agency's log file)."""
    loaded: Settings | None = _state["settings"]
    return loaded


def workspace(*, migrate: bool = True) -> Workspace:
    """The agency the command works on, with every journey plugged in."""
    from engine.automation.registry import open_workspace

    return open_workspace(settings(), migrate=migrate)


def echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def echo_error(message: str) -> None:
    typer.secho(f"Lỗi: {message}", err=True, fg=typer.colors.RED)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


app = VanthuTyper(help="Vanthu — văn phòng điện tử theo Nghị định 30/2020/NĐ-CP.")
draft_app = VanthuTyper(help="Dự thảo văn bản đi.")
doc_app = VanthuTyper(help="Xem, xuất, sao văn bản.")
incoming_app = VanthuTyper(help="Văn bản đến.")
steps_app = VanthuTyper(help="Các bước tự động (hàng đợi).")
audit_app = VanthuTyper(help="Nhật ký kiểm tra (chuỗi băm).")
archive_app = VanthuTyper(help="Lưu trữ: tìm, lấy bản lưu, hồ sơ, kiểm tra, chuyển giao, hủy.")
file_app = VanthuTyper(help="Hồ sơ lưu trữ: lập, thêm văn bản, đóng, xem mục lục.")
dispose_app = VanthuTyper(help="Hủy tài liệu hết giá trị (theo quy trình).")
schedules_app = VanthuTyper(help="Việc chạy theo lịch (Prefect).")
pki_app = VanthuTyper(help="Bộ khóa DEMO: chứng thư số, thu hồi, dịch vụ OCSP/CRL/TSA.")
ltv_app = VanthuTyper(help="Kiểm tra dài hạn (LTV) các bản lưu trữ.")
agent_token_app = VanthuTyper(help="Mã truy cập của chương trình ký số (vanthu sign-agent).")
exchange_app = VanthuTyper(help="Liên thông văn bản giữa các cơ quan (edXML).")
peer_app = VanthuTyper(help="Các cơ quan liên thông: mã định danh, địa chỉ, chứng thư số.")
onestop_app = VanthuTyper(help="Hồ sơ thủ tục hành chính tại Bộ phận một cửa.")
report_app = VanthuTyper(help="Báo cáo, thống kê: giải quyết đúng hạn.")

app.add_typer(draft_app, name="draft")
app.add_typer(doc_app, name="doc")
app.add_typer(incoming_app, name="incoming")
app.add_typer(steps_app, name="steps")
app.add_typer(audit_app, name="audit")
app.add_typer(archive_app, name="archive")
archive_app.add_typer(file_app, name="file")
archive_app.add_typer(dispose_app, name="dispose")
app.add_typer(schedules_app, name="schedules")
app.add_typer(pki_app, name="pki")
app.add_typer(ltv_app, name="ltv")
app.add_typer(agent_token_app, name="agent-token")
app.add_typer(exchange_app, name="exchange")
exchange_app.add_typer(peer_app, name="peer")
app.add_typer(onestop_app, name="onestop")
app.add_typer(report_app, name="report")


def _document_id(value: int) -> int:
    if not 0 < value < 2**63:
        raise BadValue("số hiệu văn bản là số nguyên dương (tối đa 19 chữ số)")
    return value


DocumentId = Annotated[
    int, typer.Argument(callback=_document_id, help="Số hiệu văn bản trong Vanthu (#).")
]
