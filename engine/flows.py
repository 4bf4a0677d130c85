"""Automated steps through Prefect: a flow drains the outbox, each step runs as a Prefect task.

The outbox in Vanthu's database stays the source of truth (leases, attempts, backoff), so a
Prefect crash or restart never runs a step twice or loses one. On SQLite the flow runs its tasks
one after another (see NOTES: concurrent task runs contend on Prefect's own SQLite); on
PostgreSQL several workers claim items in parallel with SKIP LOCKED.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from typing import Any

from engine.config import Settings

_WORKSPACES: dict[str, Any] = {}


def configure_prefect(settings: Settings) -> None:
    """Keep Prefect's own state inside the agency folder; must run before prefect is imported."""
    os.environ.setdefault("PREFECT_HOME", str(settings.home / "prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _workspace(settings: Settings) -> Any:
    from engine.workspace import open_workspace

    key = str(settings.home)
    if key not in _WORKSPACES:
        _WORKSPACES[key] = open_workspace(settings)
    return _WORKSPACES[key]


def _build(settings: Settings) -> Any:
    from prefect import flow, task
    from sqlmodel import Session

    from engine import outbox
    from engine.models import OutboxItem

    @task(name="vanthu-step", task_run_name="{run}#{item_id}")
    def run_step(item_id: int, run: str) -> dict[str, Any]:
        ws = _workspace(settings)
        with Session(ws.db) as session:
            item = session.get(OutboxItem, item_id)
        assert item is not None
        return asdict(outbox.execute(ws, item))

    @flow(name="vanthu-outbox", log_prints=False)
    def drain_outbox(max_items: int = 100) -> list[dict[str, Any]]:
        ws = _workspace(settings)
        results: list[dict[str, Any]] = []
        while len(results) < max_items:
            item = outbox.claim(ws)
            if item is None:
                break
            assert item.id is not None
            results.append(run_step(item.id, item.run))
        return results

    return drain_outbox


def run_worker(settings: Settings, *, once: bool, poll_seconds: float) -> list[dict[str, Any]]:
    """Drain the outbox through Prefect; with ``once`` stop when it is empty."""
    configure_prefect(settings)
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    drain = _build(settings)
    done: list[dict[str, Any]] = []
    with temporary_settings(restore_defaults={PREFECT_FLOWS_HEARTBEAT_FREQUENCY}):
        while True:
            runs = drain()
            done.extend(runs)
            if once:
                return done
            if not runs:
                time.sleep(poll_seconds)
