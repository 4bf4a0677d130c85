"""The automated steps assembled and run: the registry of steps and special actions, the
workspace opened with them, Prefect workers and schedules (Prefect is imported only to run)."""

from engine.automation.registry import PLUGINS, check_definitions, open_workspace
from engine.automation.worker import run_worker

__all__ = ["PLUGINS", "check_definitions", "open_workspace", "run_worker"]
