"""The Prefect flows: the outbox drained by workers, and the archive's scheduled upkeep.

The outbox in Vanthu's database stays the source of truth (leases, attempts, backoff), so a
Prefect crash or restart never runs a step twice or loses one; each step is reported to Prefect
as a task run. Every audit event a flow appends records the channel ``worker`` (set in each flow
and task, which Prefect may run in threads of its own). Prefect reads PREFECT_HOME when imported:
import this module only after :func:`engine.automation.prefect_setup.configure_prefect`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from prefect import flow, task
from sqlmodel import Session

from engine.archive.fixity import FixityFailed, Problem, check_archive
from engine.archive.ltv import DEFAULT_WITHIN_DAYS, LtvRefreshFailed, refresh
from engine.automation.registry import open_workspace
from engine.automation.worker import STOPPING
from engine.core import audit
from engine.core.config import load_settings
from engine.core.models import OutboxItem
from engine.core.workspace import Workspace
from engine.signatures.anchors import AuditChainBroken, verify_audit
from engine.workflow import outbox

_WORKSPACES: dict[str, Workspace] = {}


def _workspace(home: str) -> Workspace:
    """One open workspace per agency per worker process."""
    if home not in _WORKSPACES:
        _WORKSPACES[home] = open_workspace(load_settings(Path(home)))
    return _WORKSPACES[home]


@task(name="vanthu-step", task_run_name="{run}#{item_id}")
def run_step(home: str, item_id: int, run: str) -> dict[str, Any]:
    """One claimed outbox item, run once."""
    with audit.channel("worker"):
        ws = _workspace(home)
        with Session(ws.db) as session:
            item = session.get(OutboxItem, item_id)
        assert item is not None
        return asdict(outbox.execute(ws, item))


@flow(name="vanthu-outbox", log_prints=False)
def drain_outbox(home: str, max_items: int = 100) -> list[dict[str, Any]]:
    """Claim and run what is due, one item after another, until the queue is empty."""
    with audit.channel("worker"):
        ws = _workspace(home)
        results: list[dict[str, Any]] = []
        while len(results) < max_items and not STOPPING.is_set():
            item = outbox.claim(ws)
            if item is None:
                break
            assert item.id is not None
            results.append(run_step(home, item.id, item.run))
        return results


@flow(name="vanthu-archive-check", log_prints=False)
def archive_check_flow(home: str) -> dict[str, Any]:
    """The scheduled check of the agency in ``home``; the run fails when anything is wrong."""
    with audit.channel("worker"):
        report = check_archive(_workspace(home), actor="schedule")
    if not report.ok:
        raise FixityFailed(
            f"kiểm tra lưu trữ phát hiện {len(report.problems)} vấn đề: "
            + "; ".join(p.message for p in report.problems[:10]),
            f"the archive check found {len(report.problems)} problems: "
            + "; ".join(_problem_en(p) for p in report.problems[:10]),
            problems=len(report.problems),
        )
    return report.to_json()


def _problem_en(problem: Problem) -> str:
    """One problem for the English message: the record, what is wrong, the object."""
    found = f"record {problem.record_id}: {problem.kind.value.replace('_', ' ')}"
    return f"{found} ({problem.object})" if problem.object else found


@flow(name="vanthu-ltv-refresh", log_prints=False)
def ltv_refresh_flow(home: str, within_days: int = DEFAULT_WITHIN_DAYS) -> dict[str, Any]:
    """The scheduled refresh of the agency in ``home``; the run fails when a record could not be
    refreshed (the others are refreshed all the same)."""
    with audit.channel("worker"):
        report = refresh(_workspace(home), within_days=within_days, actor="schedule")
    if report.failures:
        raise LtvRefreshFailed(
            f"gia hạn dấu thời gian lưu trữ không thành công cho {len(report.failures)} bản lưu: "
            + "; ".join(report.failures[:10]),
            f"the archival timestamps of {len(report.failures)} records could not be renewed: "
            + "; ".join(report.failures[:10]),
            failures=len(report.failures),
        )
    return report.to_json()


@flow(name="vanthu-audit-anchor", log_prints=False)
def audit_anchor_flow(home: str) -> dict[str, Any]:
    """The scheduled anchoring of the agency in ``home``: the chain checked, held against its
    anchors, and its head signed and timestamped into the store. The run fails when the chain is
    broken or rewritten, or when the head could not be anchored."""
    report = verify_audit(_workspace(home))
    if not report.intact:
        problems = report.problems
        raise AuditChainBroken(
            f"nhật ký kiểm tra có {len(problems)} vấn đề: " + "; ".join(problems[:10]),
            f"the audit log has {len(problems)} problems: "
            + "; ".join(
                [*report.chain.problems, *(p.message_en for p in report.anchors.problems)][:10]
            ),
            problems=len(problems),
            untrusted_from=report.anchors.untrusted_from,
        )
    if report.anchor_error is not None:
        raise report.anchor_error
    anchored = report.anchored
    return {
        "events": report.chain.events,
        "anchors": report.anchors.anchors,
        "matched": report.anchors.matched,
        "anchored_seq": anchored.seq if anchored else None,
        "anchor_key": anchored.key if anchored else None,
    }
