"""`vanthu worker`: the outbox's automated steps run through Prefect.

The queue is looked at before Prefect starts (its start-up costs seconds): a worker with
nothing to do returns at once, or waits without Prefect until there is work. On SQLite the flow
runs its steps one after another (concurrent task runs contend on Prefect's own SQLite); on
PostgreSQL several workers claim items in parallel with SKIP LOCKED.
"""

from __future__ import annotations

import os
import time
from typing import Any

from engine.core.config import Settings
from engine.core.workspace import Workspace
from engine.workflow import outbox


def configure_prefect(settings: Settings) -> None:
    """Keep Prefect's own state inside the agency folder; must run before prefect is imported."""
    os.environ.setdefault("PREFECT_HOME", str(settings.home / "prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def run_worker(ws: Workspace, *, once: bool, poll_seconds: float) -> list[dict[str, Any]]:
    """Drain the outbox through Prefect; with ``once`` stop when it is empty."""
    from engine.exchange import deliver_pending  # lazy: `vanthu inbox` must not load pyHanko

    done: list[dict[str, Any]] = []
    while not outbox.has_due(ws):
        deliver_pending(ws)  # envelopes and statuses for other agencies, retried when due
        if once:
            return done
        time.sleep(poll_seconds)
    configure_prefect(ws.settings)
    # lazy: Prefect costs seconds to import and start; only a worker with work pays for it
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from engine.automation.flows import drain_outbox

    home = str(ws.settings.home)
    with temporary_settings(restore_defaults={PREFECT_FLOWS_HEARTBEAT_FREQUENCY}):
        while True:
            runs = drain_outbox(home)
            deliver_pending(ws)
            done.extend(runs)
            if once:
                return done
            if not runs:
                time.sleep(poll_seconds)
