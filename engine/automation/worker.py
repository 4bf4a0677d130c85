"""`vanthu worker`: the outbox's automated steps run through Prefect.

The queue is looked at before Prefect starts (its start-up costs seconds): a worker with
nothing to do returns at once, or waits without Prefect until there is work. On SQLite the flow
runs its steps one after another (concurrent task runs contend on Prefect's own SQLite); on
PostgreSQL any number of workers, on any number of machines, claim items in parallel with SKIP
LOCKED.

Two modes. Embedded (the default): Prefect's ephemeral mode, its state inside the agency folder.
Production: a Prefect server (`vanthu prefect-server`, its own database on PostgreSQL) named by
``prefect_api_url`` (or ``--prefect-api``, or PREFECT_API_URL), to which every worker reports its
flow and task runs; Prefect's UI shows them. A worker whose server does not answer keeps working
without reporting and says so (once, and again when the server is back): the outbox in the
agency's database is the source of truth and every step is in the audit log all the same, so a
dashboard that is down must not stop documents from being numbered and issued.

SIGTERM (systemd stopping the service, a deployment) stops a worker: nothing more is claimed,
and the step it is running is handed back to the queue at once (Prefect interrupts a flow run on
SIGTERM; the step's transaction either committed or rolled back), for another worker to take
without waiting for its lease. SIGKILL or a lost machine leave the step to its lease
(engine.workflow.outbox).
"""

from __future__ import annotations

import os
import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from engine.core.config import Settings
from engine.core.errors import ConfigError
from engine.core.workspace import Workspace
from engine.workflow import outbox

Notice = Callable[[str], None]
"""Where a worker says what a person running it must know (the CLI: standard error)."""

BATCH = 100
"""Items one flow run takes at most before the worker looks at the server again."""
STOPPING = threading.Event()
"""Set by SIGTERM: finish the step at hand, claim nothing more."""


def _stop_on_sigterm() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: STOPPING.set())


def prefect_api_url(settings: Settings, given: str | None = None) -> str | None:
    """The Prefect server to report to: ``given`` (``--prefect-api``), else the setting
    ``prefect_api_url``, else PREFECT_API_URL; None for the ephemeral mode. Refuses a URL that is
    not http(s)://HOST..., naming where it came from."""
    for origin, value in (
        ("--prefect-api", given),
        ("prefect_api_url", settings.prefect_api_url),
        ("PREFECT_API_URL", os.environ.get("PREFECT_API_URL")),
    ):
        if not value:
            continue
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"{origin} '{value}' không phải địa chỉ máy chủ Prefect: dùng http://MÁY:4200/api",
                f"{origin} '{value}' is not a Prefect server address: use http://HOST:4200/api",
                code="config.prefect_api_url_invalid",
                setting=origin,
            )
        return value.rstrip("/")
    return None


def configure_prefect(settings: Settings, api_url: str | None = None) -> None:
    """Keep Prefect's own state inside the agency folder and point it at the agency's server
    (``api_url`` or ``prefect_api_url``), if any; must run before prefect is imported."""
    os.environ.setdefault("PREFECT_HOME", str(settings.home / "prefect"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # Prefect gives its ephemeral server 20 s to start (migrations on SQLite, uvicorn): a busy
    # two-core machine has been seen to need more, and a worker that gives up does no work.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    url = api_url or settings.prefect_api_url
    if url:
        os.environ["PREFECT_API_URL"] = url.rstrip("/")


def server_problem(api_url: str, timeout: float = 3.0) -> str | None:
    """None when the Prefect server at ``api_url`` answers its health check, else why not."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as answer:
            if answer.status == 200:
                return None
            return f"HTTP {answer.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return str(reason) or type(exc).__name__


class _Reporting:
    """Whether runs are reported to the server now; says so when that changes."""

    def __init__(self, api_url: str | None, notice: Notice) -> None:
        self.api_url, self._notice, self._down = api_url, notice, False

    def up(self) -> bool:
        if self.api_url is None:  # ephemeral: Prefect's own server, started in-process
            return True
        problem = server_problem(self.api_url)
        if problem is not None and not self._down:
            self._notice(
                f"Máy chủ Prefect {self.api_url} không trả lời ({problem}): các bước tự động "
                "vẫn chạy nhưng không hiện trên giao diện Prefect cho tới khi máy chủ trả lời "
                f"lại. / The Prefect server {self.api_url} does not answer ({problem}): "
                "automated steps still run, unreported, until it answers again."
            )
        elif problem is None and self._down:
            self._notice(
                f"Máy chủ Prefect {self.api_url} đã trả lời lại: các bước lại được báo lên. / "
                "The Prefect server answers again: runs are reported again."
            )
        self._down = problem is not None
        return not self._down


def run_worker(
    ws: Workspace,
    *,
    once: bool,
    poll_seconds: float,
    prefect_api: str | None = None,
    notice: Notice | None = None,
    on_runs: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Drain the outbox through Prefect; with ``once`` stop when it is empty and return what
    ran. ``on_runs`` hears each batch as it finishes (a worker without ``once`` runs until
    SIGTERM and keeps nothing)."""
    from engine.exchange import deliver_pending  # lazy: `vanthu inbox` must not load pyHanko

    api_url = prefect_api_url(ws.settings, prefect_api)
    done: list[dict[str, Any]] = []
    STOPPING.clear()
    _stop_on_sigterm()
    while not outbox.has_due(ws):
        deliver_pending(ws)  # envelopes and statuses for other agencies, retried when due
        if once or STOPPING.wait(poll_seconds):
            return done
    configure_prefect(ws.settings, api_url)
    # lazy: Prefect costs seconds to import and start; only a worker with work pays for it
    from prefect.exceptions import TerminationSignal
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from engine.automation.flows import drain_outbox

    home = str(ws.settings.home)
    reporting = _Reporting(api_url, notice or (lambda message: None))
    with temporary_settings(restore_defaults={PREFECT_FLOWS_HEARTBEAT_FREQUENCY}):
        while not STOPPING.is_set():
            if reporting.up():
                try:
                    runs = drain_outbox(home, BATCH)
                except TerminationSignal:  # SIGTERM inside the flow run: stop now
                    outbox.release_own(ws)
                    return done
                except Exception:
                    if reporting.up():  # not the server going away: a defect, shown as such
                        raise
                    outbox.release_own(ws)  # the item claimed when the server went: run next
                    continue
            else:
                runs = [asdict(run) for run in _run_unreported(ws)]
            deliver_pending(ws)
            if once:
                done.extend(runs)
            if on_runs is not None and runs:
                on_runs(runs)
            if once and len(runs) < BATCH:  # the queue was found empty
                return done
            if not runs:
                STOPPING.wait(poll_seconds)
    return done


def _run_unreported(ws: Workspace) -> list[outbox.StepRun]:
    """What the flow does, without Prefect: claim and run until empty, a batch at most."""
    runs: list[outbox.StepRun] = []
    while len(runs) < BATCH and not STOPPING.is_set():
        item = outbox.claim(ws)
        if item is None:
            break
        runs.append(outbox.execute(ws, item))
    return runs
