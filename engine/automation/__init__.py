"""The automated steps assembled and run: the registry of steps and special actions, the
workspace opened with them, Prefect workers and schedules (Prefect is imported only to run),
and backups (``make_backup``, ``restore_backup``: loaded on first use, they need pyHanko)."""

from typing import Any

from engine.automation.registry import PLUGINS, check_definitions, open_workspace
from engine.automation.worker import run_worker

__all__ = [
    "PLUGINS",
    "check_definitions",
    "make_backup",
    "open_workspace",
    "restore_backup",
    "run_worker",
]
_BACKUP = frozenset({"make_backup", "restore_backup"})


def __getattr__(name: str) -> Any:
    if name in _BACKUP:
        # lazy: backups sign and verify with pyHanko (~0.4 s to import), which opening a
        # workspace does not need
        from engine.automation import backup

        return getattr(backup, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
