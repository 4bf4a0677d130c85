"""Errors as the command line shows them, here and nowhere else: one Vietnamese line on
standard error and an exit code a script can test. Tracebacks only with ``--verbose``.

| exit | when |
|---|---|
| 0 | done |
| 1 | refused or failed (a revoked certificate, a PDF that cannot be signed) |
| 2 | the command was asked wrongly: an unknown option, a missing ``--as``, a bad value |
| 3 | what was named does not exist |
| 4 | the person acting may not do this |
| 5 | the state does not allow it now (already issued, file closed) |
| 6 | the installation is incomplete or wrong (configuration, keys, database) |
| 7 | a service did not answer in time: try again |

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    MissingParameter,
    NoSuchOption,
    UsageError,
)

from engine.cli.app import BadValue
from vanthu.errors import Kind, VanthuError

USAGE = 2
UNEXPECTED = 1
EXIT_CODES: dict[Kind, int] = {
    Kind.FAILED: 1,
    Kind.INVALID: USAGE,
    Kind.NOT_FOUND: 3,
    Kind.FORBIDDEN: 4,
    Kind.CONFLICT: 5,
    Kind.CONFIG: 6,
    Kind.UNAVAILABLE: 7,
}
_TYPES = {int: "một số nguyên", float: "một số", Path: "một đường dẫn", bool: "có hoặc không"}


def exit_code(error: VanthuError) -> int:
    return EXIT_CODES[error.kind]


def usage_line(error: UsageError) -> str:
    """The usage error in one Vietnamese sentence (typer's own messages are English)."""
    if isinstance(error, NoSuchOption):
        line = f"không có tùy chọn {error.option_name}"
        if error.possibilities:
            line += f" (có phải: {', '.join(sorted(error.possibilities))}?)"
        return line
    if isinstance(error, MissingParameter):
        return f"thiếu {_what(error)}"
    if isinstance(error, BadParameter):
        reason = error.message if isinstance(error, BadValue) else _expected(error)
        return f"{_what(error)} không hợp lệ: {reason}"
    if isinstance(error, BadOptionUsage):
        return f"tùy chọn {error.option_name} cần một giá trị"
    return _translated(error.format_message())


def _what(error: BadParameter) -> str:
    param = error.param
    if param is None:
        return "tham số"
    hint = param.get_error_hint().strip("'")
    kind = "tùy chọn" if hint.startswith("-") else "tham số"
    return f"{kind} {hint}"


def _expected(error: BadParameter) -> str:
    annotation: Any = getattr(getattr(error.param, "type_descriptor", None), "annotation", None)
    message = error.message
    bounds = re.search(r"less than or equal to (\S+)|greater than or equal to (\S+)", message)
    if bounds and bounds.group(1):
        return f"lớn nhất là {bounds.group(1)}"
    if bounds and bounds.group(2):
        return f"nhỏ nhất là {bounds.group(2)}"
    if annotation in _TYPES:
        return f"cần {_TYPES[annotation]}"
    choices = re.findall(r"'([^']+)'", message)
    return f"chọn một trong: {', '.join(choices)}" if choices else "giá trị không dùng được"


_MESSAGES = (
    (re.compile(r"No such command '(.+)'\."), "không có lệnh '{0}'"),
    (re.compile(r"Missing command\."), "thiếu lệnh (xem --help)"),
    (re.compile(r"Got unexpected extra arguments? \((.+)\)"), "thừa tham số: {0}"),
    (re.compile(r"Option '(.+)' does not take a value\."), "tùy chọn {0} không nhận giá trị"),
    (re.compile(r"Option '(.+)' requires an argument\."), "tùy chọn {0} cần một giá trị"),
)


def _translated(message: str) -> str:
    for pattern, vietnamese in _MESSAGES:
        found = pattern.search(message)
        if found:
            return vietnamese.format(*found.groups())
    return f"lệnh dùng chưa đúng ({message})"
