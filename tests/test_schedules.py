"""What runs on its own: the nightly fixity check and the weekly LTV refresh, in Vietnam time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_cli import _new_agency, vanthu

from engine.automation import schedules
from engine.automation.worker import configure_prefect
from engine.core.text import VIETNAM


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _new_agency(tmp_path_factory.mktemp("scheduled-agency"))


@pytest.fixture(scope="module")
def prefect_ready(home: Path) -> Iterator[None]:
    """Prefect's state in the agency folder; the flow-run heartbeat off (it costs a second)."""
    from engine.core.config import load_settings

    configure_prefect(load_settings(home))
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    # The ephemeral server may start slowly on a busy two-core machine (default wait 20 s).
    with temporary_settings(
        updates={"server.ephemeral.startup_timeout_seconds": 120},
        restore_defaults={PREFECT_FLOWS_HEARTBEAT_FREQUENCY},
    ):
        yield


def test_the_schedules_run_at_night_vietnam_time() -> None:
    by_flow = {s.flow_name: s for s in schedules.SCHEDULES}
    assert set(by_flow) == {
        "vanthu-archive-check",
        "vanthu-ltv-refresh",
        "vanthu-audit-anchor",
        "vanthu-morning-digest",
        "vanthu-deadline-watch",
    }
    check, ltv = by_flow["vanthu-archive-check"], by_flow["vanthu-ltv-refresh"]
    assert schedules.TIMEZONE == "Asia/Ho_Chi_Minh"
    # Friday 27 November 2026, 10:00 in Hà Nội (03:00 UTC).
    friday = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert schedules.next_run(check, friday) == datetime(2026, 11, 28, 1, 30, tzinfo=VIETNAM)
    assert schedules.next_run(ltv, friday) == datetime(2026, 11, 29, 2, 0, tzinfo=VIETNAM)
    # Daily: the run after 01:30 is the next night's; weekly: seven days later.
    after_check = schedules.next_run(check, datetime(2026, 11, 28, 1, 30, tzinfo=VIETNAM))
    assert after_check == datetime(2026, 11, 29, 1, 30, tzinfo=VIETNAM)
    after_ltv = schedules.next_run(ltv, datetime(2026, 11, 29, 2, 0, tzinfo=VIETNAM))
    assert after_ltv == datetime(2026, 12, 6, 2, 0, tzinfo=VIETNAM)
    assert dict(ltv.parameters) == {"within_days": 90}
    # Hourly, five past: the audit chain's head anchored outside the database.
    anchor = by_flow["vanthu-audit-anchor"]
    assert schedules.next_run(anchor, friday) == datetime(2026, 11, 27, 10, 5, tzinfo=VIETNAM)


def test_deployments_carry_cron_timezone_flow_and_agency(home: Path, prefect_ready: None) -> None:
    from engine.core.config import load_settings

    deployments = schedules.deployments(load_settings(home))
    assert [d.name for d in deployments] == [s.name for s in schedules.SCHEDULES]
    for deployment, schedule in zip(deployments, schedules.SCHEDULES, strict=True):
        assert deployment.flow_name == schedule.flow_name
        [created] = deployment.schedules or []
        assert created.schedule.cron == schedule.cron  # type: ignore[union-attr]
        assert created.schedule.timezone == "Asia/Ho_Chi_Minh"  # type: ignore[union-attr]
        assert deployment.parameters == {"home": str(home), **schedule.parameters}
        assert deployment.entrypoint == schedule.flow.replace(":", ".")


def test_each_flow_runs_once(home: Path, prefect_ready: None) -> None:
    from engine.automation.flows import archive_check_flow, ltv_refresh_flow

    checked = archive_check_flow(str(home))
    assert checked["ok"] is True and checked["records"] == 0
    refreshed = ltv_refresh_flow(str(home), within_days=90)
    assert isinstance(refreshed, dict)


def test_schedules_list_command(home: Path) -> None:
    listed = vanthu(home, "schedules", "list")
    assert listed.returncode == 0, listed.stderr
    assert "hằng ngày lúc 01:30" in listed.stdout and "Asia/Ho_Chi_Minh" in listed.stdout
    rows = json.loads(vanthu(home, "schedules", "list", "--json").stdout)
    assert [r["flow"] for r in rows] == [
        "vanthu-archive-check",
        "vanthu-ltv-refresh",
        "vanthu-audit-anchor",
        "vanthu-morning-digest",
        "vanthu-deadline-watch",
    ]
    assert all(datetime.fromisoformat(r["next_run"]).utcoffset() is not None for r in rows)
