"""``/reports/on-time``: the on-time statistics (thống kê đúng hạn) for a period, per unit and
person, with the monthly rate drawn as server-rendered SVG, and the ``.xlsx`` / ``.pdf``
exports. Who may see it (leaders and clerks every unit, a unit's head their own) and the
audit are the engine's (:mod:`engine.workflow.ontime`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from engine.core.errors import InvalidInput
from engine.core.text import VIETNAM
from engine.http.web.pages import render
from engine.http.web.session import CurrentUser, workspace
from engine.workflow.ontime import (
    COLUMNS,
    KIND_LABELS,
    OnTimeReport,
    chart_svg,
    on_time_report,
    percent,
    report_pdf,
    report_xlsx,
)
from vanthu import clock

router = APIRouter()

MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _day(value: str, label: str, default: date) -> date:
    value = value.strip()
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{label}: '{value}' không phải ngày (YYYY-MM-DD)",
            f"{label}: '{value}' is not a date (YYYY-MM-DD)",
            code="report.date_invalid",
            value=value,
        ) from None


def _read(request: Request, user: CurrentUser, start: str, end: str, unit: str) -> OnTimeReport:
    today = clock.now().astimezone(VIETNAM).date()
    first = _day(start, "Từ ngày", (today.replace(day=1) - timedelta(days=150)).replace(day=1))
    last = _day(end, "Đến ngày", today)
    return on_time_report(workspace(request), user.username, first, last, unit.strip() or None)


@router.get("/reports/on-time")
def on_time(
    request: Request,
    user: CurrentUser,
    start: Annotated[str, Query(alias="from")] = "",
    end: Annotated[str, Query(alias="to")] = "",
    unit: str = "",
) -> HTMLResponse:
    report = _read(request, user, start, end, unit)
    query = urlencode(
        {"from": report.start.isoformat(), "to": report.end.isoformat(), "unit": unit.strip()}
    )
    return render(
        request,
        "reports/on_time.html",
        title="Thống kê giải quyết đúng hạn",
        report=report,
        columns=COLUMNS,
        kinds=KIND_LABELS,
        percent=percent,
        chart=Markup(chart_svg(report.months)),  # built from numbers and fixed text only
        unit=unit,
        query=query,
    )


async def _export(
    request: Request, user: CurrentUser, start: str, end: str, unit: str, form: str
) -> Response:
    report = await run_in_threadpool(_read, request, user, start, end, unit)
    if form == "xlsx":
        data = report_xlsx(report)
    else:
        data = await run_in_threadpool(report_pdf, workspace(request), report)
    name = f"thong-ke-dung-han-{report.start:%Y%m%d}-{report.end:%Y%m%d}.{form}"
    return Response(
        data,
        media_type=MEDIA[form],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/reports/on-time.{form}")
async def on_time_export(
    request: Request,
    user: CurrentUser,
    form: Literal["xlsx", "pdf"],
    start: Annotated[str, Query(alias="from")] = "",
    end: Annotated[str, Query(alias="to")] = "",
    unit: str = "",
) -> Response:
    """The report as a workbook or a PDF, for the same period and unit as the page."""
    return await _export(request, user, start, end, unit, form)
