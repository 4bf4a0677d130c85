"""The Prefect flows of the deadline reminders (engine.workflow.reminders), run on the schedules
of engine.automation.schedules. Import only after ``configure_prefect`` (as flows.py)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from engine.automation.registry import open_workspace
from engine.core import audit
from engine.core.config import load_settings
from engine.workflow.reminders import send_reminders
from vanthu import clock


@flow(name="vanthu-morning-digest", log_prints=False)
def morning_digest_flow(home: str) -> int:
    """Each person's tasks due today and overdue; returns how many reminders went out."""
    with audit.channel("worker"):
        ws = open_workspace(load_settings(Path(home)))
        return len(send_reminders(ws, clock.now(), ("digest",)))


@flow(name="vanthu-deadline-watch", log_prints=False)
def deadline_watch_flow(home: str) -> int:
    """Warnings before due times and escalations of overdue tasks."""
    with audit.channel("worker"):
        ws = open_workspace(load_settings(Path(home)))
        return len(send_reminders(ws, clock.now(), ("warning", "escalation")))
