"""What runs on its own, and when: the archive's fixity check, the LTV refresh and the hourly
anchoring of the audit chain (its head signed, timestamped and kept in the store).

`vanthu schedules serve` registers one Prefect deployment per schedule and runs them in this
process (`prefect.serve`) at the times below, Vietnam time; `vanthu schedules list` shows them.
Prefect is imported only to serve, after ``configure_prefect`` has put its state in the agency
folder (its import costs about a second and fixes PREFECT_HOME).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from cronsim import CronSim, CronSimError

from engine.automation.worker import configure_prefect
from engine.core.config import Settings
from engine.core.errors import ConfigError
from engine.core.text import VIETNAM
from vanthu import clock

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

TIMEZONE = "Asia/Ho_Chi_Minh"
"""Every schedule is written in Vietnam time (UTC+7, no daylight saving)."""


@dataclass(frozen=True)
class Schedule:
    """One flow run on a cron schedule."""

    name: str
    """The deployment's name, as Prefect shows it."""
    flow: str
    """Where the flow is: 'module:attribute'."""
    flow_name: str
    """The flow's own name (its @flow name), checked when serving."""
    cron: str
    """Minute, hour, day of month, month, day of week; in TIMEZONE."""
    when: str
    """The same in words, for `vanthu schedules list`."""
    description: str
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Given to the flow besides ``home``."""


SCHEDULES: tuple[Schedule, ...] = (
    Schedule(
        name="kiem-tra-luu-tru-hang-ngay",
        flow="engine.automation.flows:archive_check_flow",
        flow_name="vanthu-archive-check",
        cron="30 1 * * *",
        when="hằng ngày lúc 01:30",
        description="Kiểm tra toàn vẹn kho lưu trữ: băm lại mọi tệp, kiểm tra lại chữ ký số.",
    ),
    Schedule(
        name="gia-han-ltv-hang-tuan",
        flow="engine.automation.flows:ltv_refresh_flow",
        flow_name="vanthu-ltv-refresh",
        cron="0 2 * * 0",
        when="Chủ nhật hằng tuần lúc 02:00",
        description="Gia hạn dấu thời gian lưu trữ (LTV) cho bản lưu sắp hết hạn (90 ngày).",
        parameters=MappingProxyType({"within_days": 90}),
    ),
    Schedule(
        name="neo-nhat-ky-hang-gio",
        flow="engine.automation.flows:audit_anchor_flow",
        flow_name="vanthu-audit-anchor",
        cron="5 * * * *",
        when="hằng giờ, phút thứ 05",
        description="Kiểm tra chuỗi nhật ký, đối chiếu các mốc neo; ký số và đóng dấu thời gian "
        "đầu chuỗi, lưu mốc neo vào kho.",
    ),
    Schedule(
        name="nhac-viec-buoi-sang",
        flow="engine.automation.reminder_flows:morning_digest_flow",
        flow_name="vanthu-morning-digest",
        cron="30 7 * * 1-6",
        when="7:30 sáng thứ Hai đến thứ Bảy (chỉ ngày làm việc, kể cả thứ Bảy làm bù)",
        description="Gửi mỗi người danh sách việc đến hạn hôm nay và việc quá hạn.",
    ),
    Schedule(
        name="nhac-han-va-bao-qua-han",
        flow="engine.automation.reminder_flows:deadline_watch_flow",
        flow_name="vanthu-deadline-watch",
        cron="*/15 * * * *",
        when="15 phút một lần",
        description="Nhắc người xử lý trước khi việc hết hạn; báo trưởng đơn vị khi việc quá "
        "hạn (mỗi việc một lần một ngày).",
    ),
)


def next_run(schedule: Schedule, after: datetime) -> datetime:
    """The first time after ``after`` the schedule fires, in Vietnam time."""
    try:
        return next(CronSim(schedule.cron, after.astimezone(VIETNAM)))
    except CronSimError as exc:
        raise ConfigError(
            f"lịch '{schedule.name}': biểu thức cron sai '{schedule.cron}'",
            f"schedule '{schedule.name}': wrong cron expression '{schedule.cron}'",
            code="schedule.cron_invalid",
            schedule=schedule.name,
        ) from exc


def load_flow(schedule: Schedule) -> Flow[..., Any]:
    module_name, attribute = schedule.flow.split(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"lịch '{schedule.name}': không nạp được {schedule.flow}: {exc}",
            f"schedule '{schedule.name}': cannot load {schedule.flow}: {exc}",
            code="schedule.flow_unloadable",
            schedule=schedule.name,
        ) from exc
    if getattr(found, "name", None) != schedule.flow_name:
        raise ConfigError(
            f"lịch '{schedule.name}': {schedule.flow} không phải flow '{schedule.flow_name}'",
            f"schedule '{schedule.name}': {schedule.flow} is not the flow '{schedule.flow_name}'",
            code="schedule.flow_mismatch",
            schedule=schedule.name,
        )
    return found


def deployments(settings: Settings) -> list[RunnerDeployment]:
    """One deployment per schedule, for the agency in ``settings.home``."""
    configure_prefect(settings)
    # lazy: Prefect reads PREFECT_HOME when imported, so only after configure_prefect
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    built = []
    for schedule in SCHEDULES:
        deployment = load_flow(schedule).to_deployment(
            name=schedule.name,
            schedules=[Cron(schedule.cron, timezone=TIMEZONE)],
            parameters={"home": str(settings.home), **schedule.parameters},
            description=schedule.description,
            tags=["vanthu"],
            # By module, not by file: the serving process imports the installed package.
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        # to_deployment returns a coroutine only when called inside an event loop; never here.
        built.append(cast("RunnerDeployment", deployment))
    return built


def serve(settings: Settings) -> None:
    """Run the schedules until interrupted (Ctrl+C)."""
    built = deployments(settings)
    from prefect import serve as prefect_serve  # lazy: after configure_prefect, as above

    prefect_serve(*built, print_starting_message=False)


def upcoming(now: datetime | None = None) -> list[tuple[Schedule, datetime]]:
    """Each schedule with its next run, for `vanthu schedules list`."""
    moment = now or clock.now()
    return [(schedule, next_run(schedule, moment)) for schedule in SCHEDULES]
