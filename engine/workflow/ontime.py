"""On-time statistics (thống kê đúng hạn): things with a deadline, each classified ahead, on
time, late, open in time or overdue, tallied per unit and per person, with the rate per month.

Sources give :class:`Tracked` items: :func:`incoming_tracked` the incoming documents (handling
deadline, which an extension moves: counted against the extended one, as agencies do); the
one-stop shop gives its dossiers (counted against the ORIGINAL appointment, even after an
apology letter). :func:`on_time_report` reads them for a period, for the people allowed.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

import jinja2
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import InvalidInput, NotAllowed, NotFound
from engine.core.models import Agency, Document, Task, Unit, User, WorkflowInstance
from engine.core.programs import html_to_pdf
from engine.core.text import VIETNAM
from engine.core.users import user_named
from engine.core.workspace import Workspace
from vanthu import clock

Outcome = Literal["ahead", "on_time", "late", "open_in_time", "overdue"]

OUTCOME_LABELS: dict[str, str] = {
    "ahead": "Trước hạn",
    "on_time": "Đúng hạn",
    "late": "Quá hạn (đã xong)",
    "open_in_time": "Đang xử lý, còn hạn",
    "overdue": "Đang xử lý, quá hạn",
}

KIND_LABELS = {"incoming": "Văn bản đến", "dossier": "Hồ sơ một cửa"}

HANDLING_STEPS = ("handle", "handle_specialist")
"""The incoming workflow's handling steps: the lead unit's head, then a specialist."""

DONE_ACTION = "complete"

READERS = ("leader", "clerk", "head")
"""Leaders and clerks see every unit; a unit's head sees their own unit only."""


@dataclass(frozen=True)
class Tracked:
    """One thing with a deadline."""

    kind: Literal["incoming", "dossier"]
    unit: str
    """The handling unit's name."""
    person: str | None
    """The person handling it (full name), None when unassigned."""
    received_at: datetime
    due_at: datetime
    """Aware."""
    done_at: datetime | None
    """None: still open."""


def classify(item: Tracked, now: datetime) -> Outcome:
    """Done before the due date's (Vietnam) day: ahead; on that day by the due time: on time;
    after it: late. Open: in time until the due time, overdue after."""
    if item.done_at is not None:
        if item.done_at > item.due_at:
            return "late"
        if item.done_at.astimezone(VIETNAM).date() < item.due_at.astimezone(VIETNAM).date():
            return "ahead"
        return "on_time"
    return "open_in_time" if now <= item.due_at else "overdue"


@dataclass(frozen=True)
class OnTimeRow:
    kind: str
    unit: str
    person: str | None
    """None: the unit's row."""
    received: int
    ahead: int
    on_time: int
    late: int
    open_in_time: int
    overdue: int
    rate: float | None
    """(ahead + on_time) / (ahead + on_time + late); None when none is done."""


def _rate(counts: dict[str, int]) -> float | None:
    done = counts["ahead"] + counts["on_time"] + counts["late"]
    return (counts["ahead"] + counts["on_time"]) / done if done else None


def _row(kind: str, unit: str, person: str | None, outcomes: list[Outcome]) -> OnTimeRow:
    counts = {o: 0 for o in OUTCOME_LABELS}
    for outcome in outcomes:
        counts[outcome] += 1
    return OnTimeRow(kind, unit, person, len(outcomes), rate=_rate(counts), **counts)


def tally(items: Iterable[Tracked], now: datetime) -> list[OnTimeRow]:
    """One row per kind and unit, followed by one per person of that unit (unassigned last)."""
    units: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
    people: dict[tuple[str, str, str | None], list[Outcome]] = defaultdict(list)
    for item in items:
        outcome = classify(item, now)
        units[(item.kind, item.unit)].append(outcome)
        people[(item.kind, item.unit, item.person)].append(outcome)
    rows: list[OnTimeRow] = []
    for kind, unit in sorted(units):
        rows.append(_row(kind, unit, None, units[(kind, unit)]))
        persons = [p for k, u, p in people if (k, u) == (kind, unit)]
        for person in sorted(persons, key=lambda p: (p is None, p or "")):
            outcomes = people[(kind, unit, person)]
            rows.append(_row(kind, unit, person or "(chưa giao)", outcomes))
    return rows


def total(items: Iterable[Tracked], now: datetime) -> OnTimeRow:
    """Everything together: the report's last line."""
    return _row("", "Tổng cộng", None, [classify(i, now) for i in items])


def monthly_rates(items: Iterable[Tracked], now: datetime) -> list[tuple[str, float | None]]:
    """The on-time rate of what was done each month ("2026-11"), from the first month anything
    was received or done to the last; None for a month where nothing was done."""
    done: dict[str, list[Outcome]] = defaultdict(list)
    months: set[str] = set()
    for item in items:
        months.add(_month(item.received_at))
        if item.done_at is not None:
            done[_month(item.done_at)].append(classify(item, now))
            months.add(_month(item.done_at))
    if not months:
        return []
    result: list[tuple[str, float | None]] = []
    year, month = map(int, min(months).split("-"))
    last = max(months)
    while (key := f"{year:04d}-{month:02d}") <= last:
        outcomes = done.get(key, [])
        counts = {o: outcomes.count(o) for o in OUTCOME_LABELS}  # type: ignore[arg-type]
        result.append((key, _rate(counts)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def _month(moment: datetime) -> str:
    return f"{moment.astimezone(VIETNAM):%Y-%m}"


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VIETNAM)


def incoming_tracked(ws: Workspace, start: date, end: date, unit: str | None) -> list[Tracked]:
    """The incoming documents received from ``start`` to ``end`` (Vietnam days, inclusive) and
    assigned for handling, in ``unit`` (its name) or all. Due: the handling deadline (as
    extended), else the handling task's; done: when the handling was completed."""
    with Session(ws.db) as session:
        rows = session.exec(
            select(Document, WorkflowInstance)
            .join(WorkflowInstance, col(WorkflowInstance.document_id) == Document.id)
            .where(
                Document.direction == "incoming",
                col(Document.created_at) >= _start_of(start),
                col(Document.created_at) < _start_of(end + timedelta(days=1)),
            )
            .order_by(col(Document.id))
        ).all()
        by_instance = {instance.id: document for document, instance in rows}
        tasks: dict[int, list[Task]] = defaultdict(list)
        if by_instance:
            for task in session.exec(
                select(Task)
                .where(
                    col(Task.instance_id).in_(list(by_instance)),
                    col(Task.step_id).in_(HANDLING_STEPS),
                )
                .order_by(col(Task.id))
            ).all():
                tasks[task.instance_id].append(task)
        users = {u.id: u for u in session.exec(select(User)).all()}
        unit_names = {u.id: u.name for u in session.exec(select(Unit)).all()}
    found: list[Tracked] = []
    for instance_id, document in by_instance.items():
        handling = [t for t in tasks.get(instance_id or 0, []) if t.state != "cancelled"]
        if not handling:
            continue  # not assigned yet: no handling deadline
        first = handling[0]
        due = document.handling_due_at or first.due_at
        if due is None:
            continue
        done = next((t for t in handling if t.action == DONE_ACTION), None)
        latest = handling[-1]
        who = users.get(done.completed_by if done else latest.user_id)
        lead = users.get(first.user_id)
        unit_name = unit_names.get(lead.unit_id if lead else first.unit_id, "(chưa rõ đơn vị)")
        if unit is not None and unit_name != unit:
            continue
        found.append(
            Tracked(
                kind="incoming",
                unit=unit_name,
                person=who.full_name if who else None,
                received_at=document.created_at,
                due_at=due,
                done_at=done.completed_at if done else None,
            )
        )
    return found


Source = Callable[[Workspace, date, date, str | None], list[Tracked]]

SOURCES: tuple[Source, ...] = (incoming_tracked,)
"""What this layer counts itself; the plug-in hook ``tracked`` adds the rest (the one-stop
dossiers, a layer above: engine.automation.registry plugs them in)."""


def _sources(ws: Workspace) -> tuple[Source, ...]:
    more = ws.plugins.hook("tracked")
    return SOURCES if more is None else (*SOURCES, more)


@dataclass(frozen=True)
class OnTimeReport:
    start: date
    end: date
    unit: str | None
    now: datetime
    agency: str
    rows: list[OnTimeRow]
    total: OnTimeRow
    months: list[tuple[str, float | None]]
    items: list[Tracked] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        def row(r: OnTimeRow) -> dict[str, object]:
            return {
                "kind": r.kind,
                "unit": r.unit,
                "person": r.person,
                "received": r.received,
                "ahead": r.ahead,
                "on_time": r.on_time,
                "late": r.late,
                "open_in_time": r.open_in_time,
                "overdue": r.overdue,
                "rate": r.rate,
            }

        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "unit": self.unit,
            "at": self.now.isoformat(),
            "rows": [row(r) for r in self.rows],
            "total": row(self.total),
            "months": [{"month": m, "rate": r} for m, r in self.months],
        }


def on_time_report(
    ws: Workspace,
    username: str,
    start: date,
    end: date,
    unit: str | None = None,
    sources: Sequence[Source] | None = None,
) -> OnTimeReport:
    """The statistics for ``start``..``end`` (received in that period), for a reader: leaders
    and clerks any unit (``unit`` a code or a name), a unit's head their own. Audited."""
    if end < start:
        raise InvalidInput(
            f"khoảng thời gian sai: từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}",
            f"wrong period: from {start:%Y-%m-%d} to {end:%Y-%m-%d}",
            code="report.period_invalid",
        )
    with Session(ws.db) as session:
        user = user_named(session, username)
        if user.role not in READERS:
            raise NotAllowed(
                f"{username} ({user.role}) không được xem thống kê đúng hạn: việc của lãnh đạo, "
                "trưởng đơn vị và văn thư",
                f"{username} ({user.role}) may not see the on-time statistics: they are for "
                "leaders, unit heads and clerks",
                code="report.not_allowed",
                username=username,
                role=user.role,
            )
        own = session.get(Unit, user.unit_id)
        assert own is not None
        agency = own.agency_id
        unit_name = _unit_name(session, agency, unit) if unit else None
        if user.role == "head":
            if unit_name not in (None, own.name):
                raise NotAllowed(
                    f"{username} chỉ xem được thống kê của đơn vị mình ({own.name})",
                    f"{username} may only see their own unit's statistics ({own.name})",
                    code="report.unit_not_allowed",
                    username=username,
                )
            unit_name = own.name
        agency_row = session.get(Agency, agency)
        agency_name = agency_row.name if agency_row else ""
    now = clock.now()
    counted = sources or _sources(ws)
    items = [item for source in counted for item in source(ws, start, end, unit_name)]
    with transaction(ws.db) as session:
        audit.append(
            session,
            actor=username,
            event="report_on_time",
            detail={"from": start.isoformat(), "to": end.isoformat(), "unit": unit_name},
        )
    return OnTimeReport(
        start=start,
        end=end,
        unit=unit_name,
        now=now,
        agency=agency_name,
        rows=tally(items, now),
        total=total(items, now),
        months=monthly_rates(items, now),
        items=items,
    )


def _unit_name(session: Session, agency_id: int, unit: str) -> str:
    for found in session.exec(select(Unit).where(Unit.agency_id == agency_id)).all():
        if unit in (found.code, found.name):
            return found.name
    raise NotFound(
        f"không có đơn vị '{unit}'",
        f"no unit '{unit}'",
        code="report.unit_unknown",
        unit=unit,
    )


# --- exports -----------------------------------------------------------------------------------

COLUMNS = (
    ("received", "Tổng số"),
    ("ahead", "Trước hạn"),
    ("on_time", "Đúng hạn"),
    ("late", "Quá hạn (đã xong)"),
    ("open_in_time", "Đang xử lý, còn hạn"),
    ("overdue", "Đang xử lý, quá hạn"),
)


def percent(rate: float | None) -> str:
    """ "87,5%" (Vietnamese decimal comma); "—" when nothing is done."""
    return "—" if rate is None else f"{rate * 100:.1f}".replace(".", ",") + "%"


def report_xlsx(report: OnTimeReport) -> bytes:
    """The table as an Excel workbook (Times New Roman), the rate as a number formatted %."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Đúng hạn"
    bold = Font(name="Times New Roman", size=12, bold=True)
    plain = Font(name="Times New Roman", size=12)
    sheet.cell(row=1, column=1, value=report.agency.upper()).font = bold
    sheet.cell(row=2, column=1, value="THỐNG KÊ TÌNH HÌNH GIẢI QUYẾT ĐÚNG HẠN").font = Font(
        name="Times New Roman", size=14, bold=True
    )
    sheet.cell(row=3, column=1, value=_period(report)).font = plain
    headers = ["Loại", "Đơn vị", "Người xử lý", *(label for _, label in COLUMNS), "Tỷ lệ đúng hạn"]
    for index, header in enumerate(headers, start=1):
        cell = sheet.cell(row=5, column=index, value=header)
        cell.font = bold
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = 28 if index <= 3 else 14
    for offset, row in enumerate([*report.rows, report.total], start=6):
        values: list[object] = [
            KIND_LABELS.get(row.kind, row.kind),
            row.unit,
            row.person or "",
            *(getattr(row, key) for key, _ in COLUMNS),
            row.rate,
        ]
        for index, value in enumerate(values, start=1):
            cell = sheet.cell(row=offset, column=index, value=value)
            cell.font = bold if row.person is None else plain
        sheet.cell(row=offset, column=len(values)).number_format = "0.0%"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _period(report: OnTimeReport) -> str:
    text = (
        f"Văn bản, hồ sơ tiếp nhận từ ngày {report.start:%d/%m/%Y} đến ngày {report.end:%d/%m/%Y}"
    )
    if report.unit:
        text += f" — đơn vị: {report.unit}"
    return text + f" (số liệu lúc {report.now.astimezone(VIETNAM):%H:%M %d/%m/%Y})"


def report_html(report: OnTimeReport) -> str:
    """The report as one HTML page for LibreOffice: the table and the monthly chart (SVG)."""
    return _templates.get_template("ontime.html").render(
        report=report,
        columns=COLUMNS,
        kinds=KIND_LABELS,
        percent=percent,
        period=_period(report),
        chart=chart_svg(report.months),
    )


def report_pdf(ws: Workspace, report: OnTimeReport) -> bytes:
    return html_to_pdf(report_html(report), soffice=ws.settings.soffice)


def chart_svg(months: Sequence[tuple[str, float | None]], width: int = 640) -> str:
    """A bar per month, its height the on-time rate; server-rendered SVG, no script, no style
    attribute (the page's CSS colours it through classes)."""
    height, left, bottom, top = 240, 44, 36, 16
    inner_w, inner_h = width - left - 12, height - top - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ontime-chart" viewBox="0 0 {width} '
        f'{height}" width="{width}" height="{height}" role="img" '
        'aria-label="Tỷ lệ giải quyết đúng hạn theo tháng">',
        "<title>Tỷ lệ giải quyết đúng hạn theo tháng</title>",
    ]
    for tick in (0, 25, 50, 75, 100):
        y = top + inner_h * (1 - tick / 100)
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - 12}" y2="{y:.1f}" '
            'stroke="#ccc" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="11">{tick}%</text>'
        )
    slot = inner_w / max(len(months), 1)
    bar = min(slot * 0.6, 48)
    for index, (month, rate) in enumerate(months):
        x = left + slot * index + (slot - bar) / 2
        label = f"{month[5:]}/{month[:4]}"
        parts.append(
            f'<text class="axis" x="{x + bar / 2:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle" font-size="11">{label}</text>'
        )
        if rate is None:
            parts.append(
                f'<text class="none" x="{x + bar / 2:.1f}" y="{top + inner_h - 4}" '
                'text-anchor="middle" font-size="11">—</text>'
            )
            continue
        h = inner_h * rate
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{top + inner_h - h:.1f}" width="{bar:.1f}" '
            f'height="{h:.1f}" fill="#1f5fa8"><title>{label}: {percent(rate)}</title></rect>'
        )
        parts.append(
            f'<text class="value" x="{x + bar / 2:.1f}" y="{top + inner_h - h - 4:.1f}" '
            f'text-anchor="middle" font-size="11">{percent(rate)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("engine.workflow", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
