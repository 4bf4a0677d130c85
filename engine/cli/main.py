"""`vanthu`: the command's entry point. Every error becomes one line and an exit code here
(:mod:`engine.cli.errors`); tracebacks only with ``--verbose``.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

import os
import pwd
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.exceptions import Abort

from engine.cli import (
    admin,
    archive,
    archive_ops,
    backup,
    documents,
    exchange,
    exchange_ops,
    identity,
    incoming,
    onestop,
    pki,
    reports,
    search,
    signing,
    users,
    verify,
)
from engine.cli.app import app, configure, echo_error, settings_if_loaded, verbose
from engine.cli.errors import UNEXPECTED, USAGE, exit_code, usage_line
from vanthu.channel import channel
from vanthu.errors import VanthuError

PRIVATE_UMASK = 0o077
"""As engine.core.config's (not imported here: `vanthu --help` loads no engine module)."""
COMMAND_MODULES = (
    admin,
    archive,
    archive_ops,
    backup,
    documents,
    exchange,
    exchange_ops,
    identity,
    incoming,
    onestop,
    pki,
    reports,
    search,
    signing,
    users,
    verify,
)
"""Each registers its commands on the groups of :mod:`engine.cli.app` when imported."""


@app.callback()
def _root(
    home: Annotated[
        Path | None,
        typer.Option(
            envvar="VANTHU_HOME", help="Thư mục của cơ quan (mặc định: thư mục hiện tại)."
        ),
    ] = None,
    verbose_output: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="In chi tiết: nhật ký thư viện và vết lỗi."),
    ] = False,
) -> None:
    configure(home, verbose_output)


def os_user() -> str:
    """Who runs the command on this machine, from the process's real user id (not from the
    environment, which anyone sets): the audit log records it beside the ``--as`` user."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a user id without a name (a container): the number says who
        return f"uid:{uid}"


def run(args: list[str]) -> int:
    """Run the command line ``args``; returns the exit code. Every audit event it appends
    records the channel ``cli`` and the OS user; every file it writes is its owner's only
    (umask 077: the agency's database, store, keys and log)."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        with channel("cli", os_user=os_user()):
            return _run(args)
    finally:
        os.umask(previous)


def _run(args: list[str]) -> int:
    try:
        result = app(args=args, prog_name="vanthu", standalone_mode=False)
    except NoArgsIsHelpError as shown:
        typer.echo(shown.format_message())
        return 0
    except UsageError as error:
        if error.ctx is not None and error.format_message() == "Missing command.":
            typer.echo(error.ctx.get_help())  # `vanthu --home X` alone: what can I do here?
            return 0
        echo_error(usage_line(error))
        return USAGE
    except (Abort, KeyboardInterrupt):
        typer.echo("Đã hủy.", err=True)
        return 130
    except ClickException as error:
        echo_error(error.format_message())
        return USAGE
    except VanthuError as error:
        if verbose():
            traceback.print_exc()
        echo_error(str(error))
        return exit_code(error)
    except Exception as error:  # a defect: the traceback to the log, one line to the person
        return _unexpected(error)
    return result if isinstance(result, int) else 0


def _unexpected(error: Exception) -> int:
    from engine.core.logs import log_unexpected

    if verbose():
        traceback.print_exc()
    loaded = settings_if_loaded()
    if loaded is None:
        echo_error(f"lỗi không lường trước ({type(error).__name__}): {error}")
    else:
        entry = log_unexpected(loaded.home, error)
        echo_error(f"lỗi không lường trước ({type(error).__name__}), xem nhật ký {entry}")
    return UNEXPECTED


def main() -> None:
    """Console entry point."""
    sys.exit(run(sys.argv[1:]))
