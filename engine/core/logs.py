"""The agency's log file, ``<home>/logs/vanthu.log``: what libraries report, and the traceback
of every unexpected exception, so a person's terminal shows one line and the log shows why.

Each unexpected exception is logged under an entry id; the error the person sees names the file
and the id, so an administrator finds the traceback.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from engine.core.config import CONFIG_FILE

LOG_DIR = "logs"
LOG_FILE = "vanthu.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_logger = logging.getLogger("vanthu")
_MARK = "vanthu_log"
"""Set on the handlers Vanthu adds, to the file (or stream) they write to."""


def log_path(home: Path) -> Path:
    return home / LOG_DIR / LOG_FILE


def log_to_file(home: Path | None, *, verbose: bool = False) -> None:
    """Send all logging (Vanthu's and the libraries') to the agency's log file; with ``verbose``
    to the terminal as well. Outside an agency folder (no vanthu.toml) only ``verbose`` shows
    anything: no log file is left in a folder that is not an agency's."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if hasattr(handler, _MARK):
            root.removeHandler(handler)
            handler.close()
    if home is not None and (home / CONFIG_FILE).is_file():
        _add(_file_handler(home))
    if verbose:
        _add(logging.StreamHandler(sys.stderr))
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.captureWarnings(True)


def _file_handler(home: Path) -> logging.Handler:
    """The log file, created private (folder 0700, file 0600): tracebacks name documents,
    people and paths."""
    path = log_path(home)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    return logging.FileHandler(path, encoding="utf-8")


def _add(handler: logging.Handler) -> None:
    handler.setFormatter(logging.Formatter(_FORMAT))
    setattr(handler, _MARK, getattr(handler, "baseFilename", "stderr"))
    logging.getLogger().addHandler(handler)


def log_unexpected(home: Path, exc: BaseException, **context: Any) -> str:
    """Log ``exc`` with its traceback; returns where to find it: ``<log file>#<entry id>``."""
    entry = secrets.token_hex(4)
    path = log_path(home)
    if not any(getattr(h, _MARK, None) == str(path) for h in logging.getLogger().handlers):
        _add(_file_handler(home))  # the agency's folder, even one configured by environment
    where = ", ".join(f"{key}={value}" for key, value in context.items())
    _logger.error("[%s] unexpected %s (%s)", entry, type(exc).__name__, where, exc_info=exc)
    return f"{path}#{entry}"
