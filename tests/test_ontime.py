"""On-time statistics: a hand-made set of incoming documents (ahead, on time, late, open in
time, overdue, one extended) counted per unit and person, in JSON, xlsx, PDF and on the web."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from fixtures_web import WebOffice, login, screenshot
from openpyxl import load_workbook
from playwright.sync_api import Page
from test_deadlines import receive

from engine.core.calendar import VIETNAM_TIME
from engine.core.errors import NotAllowed
from engine.core.workspace import Workspace
from engine.workflow import act
from engine.workflow.deadlines import assign_with_due, extend
from engine.workflow.ontime import (
    Tracked,
    classify,
    monthly_rates,
    on_time_report,
    report_pdf,
    report_xlsx,
    tally,
)
from engine.workflow.reminders import send_reminders
from tests_support import refused
from vanthu.clock import ManualClock

TCBC, PC = "Phòng Tổ chức, biên chế", "Phòng Pháp chế"
CUC, BINH, HUY = "Lê Thị Cúc", "Trần Thị Bình", "Võ Quốc Huy"


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=VIETNAM_TIME)


def test_classify_by_the_due_day_and_time() -> None:
    due = at(11, 6, 17)

    def item(done: datetime | None) -> Tracked:
        return Tracked("incoming", TCBC, CUC, at(11, 2), due, done)

    assert classify(item(at(11, 5, 23)), at(12, 1)) == "ahead"
    assert classify(item(at(11, 6, 8)), at(12, 1)) == "on_time"
    assert classify(item(at(11, 6, 17)), at(12, 1)) == "on_time"
    assert classify(item(at(11, 6, 18)), at(12, 1)) == "late"
    assert classify(item(None), at(11, 6, 16)) == "open_in_time"
    assert classify(item(None), at(11, 6, 18)) == "overdue"
    rows = tally([item(at(11, 5)), item(at(11, 9)), item(None)], at(12, 1))
    assert [(r.person, r.received, r.ahead, r.late, r.overdue, r.rate) for r in rows] == [
        (None, 3, 1, 1, 1, 0.5),
        (CUC, 3, 1, 1, 1, 0.5),
    ]
    months = monthly_rates([item(at(9, 30)), item(at(11, 9))], at(12, 1))
    assert months == [("2026-09", 1.0), ("2026-10", None), ("2026-11", 0.0)]


def _build(ws: Workspace, clock: ManualClock) -> None:
    """Nine incoming documents; eight received in November, seven of them assigned."""
    clock.set(at(10, 29))
    outside = receive(ws, "Nhận trong tháng 10")
    assign_with_due(ws, outside, "giamdoc", "assign", due=date(2026, 11, 3), choose="phapche")
    clock.set(at(11, 2))
    docs = {name: receive(ws, f"Văn bản {name}") for name in "ABCDEFGH"}

    def assign(name: str, due: date, head: str) -> None:
        assign_with_due(ws, docs[name], "giamdoc", "assign", due=due, choose=head)

    for name in "ABC":
        assign(name, date(2026, 11, 6), "truongphong")
    assign("D", date(2026, 12, 31), "truongphong")
    assign("E", date(2026, 11, 10), "phapche")
    assign("F", date(2026, 11, 6), "phapche")
    assign("H", date(2026, 12, 4), "phapche")  # G is never assigned: not counted
    clock.set(at(11, 4, 10))
    act(ws, docs["A"], "truongphong", "complete", comment="Đã xử lý")  # ahead
    act(ws, docs["B"], "truongphong", "forward", choose="chuyenvien")
    clock.set(at(11, 5))
    extend(ws, docs["F"], "giamdoc", date(2026, 11, 13), "Chờ ý kiến Sở Tư pháp")
    clock.set(at(11, 6, 15))
    act(ws, docs["B"], "chuyenvien", "complete", comment="Đã báo cáo")  # on time
    clock.set(at(11, 9, 10))
    act(ws, docs["C"], "truongphong", "complete", comment="Đã xử lý")  # late
    clock.set(at(11, 10, 10))
    act(ws, docs["F"], "phapche", "complete", comment="Xong")  # ahead of the extended deadline
    clock.set(at(12, 2))
    act(ws, docs["H"], "phapche", "complete", comment="Xong")  # ahead, in December
    clock.set(at(12, 5))  # D open in time, E overdue


EXPECTED = [  # unit/person, received, ahead, on time, late, open in time, overdue, rate
    (PC, None, 3, 2, 0, 0, 0, 1, 1.0),
    (PC, HUY, 3, 2, 0, 0, 0, 1, 1.0),
    (TCBC, None, 4, 1, 1, 1, 1, 0, 2 / 3),
    (TCBC, CUC, 3, 1, 0, 1, 1, 0, 0.5),
    (TCBC, BINH, 1, 0, 1, 0, 0, 0, 1.0),
]


def _rows(found: list[dict[str, object]]) -> list[tuple[object, ...]]:
    keys = ("unit", "person", "received", "ahead", "on_time", "late", "open_in_time", "overdue")
    return [(*(r[k] for k in keys), pytest.approx(r["rate"])) for r in found]


@pytest.fixture
def office(fresh_web_office: WebOffice, clock: ManualClock) -> WebOffice:
    _build(fresh_web_office.ws, clock)
    return fresh_web_office


def test_the_report_counts_json_xlsx_pdf_and_the_web_page(
    office: WebOffice, tmp_path: Path, browser_page: object
) -> None:
    ws = office.ws
    report = on_time_report(ws, "giamdoc", date(2026, 11, 1), date(2026, 11, 30))
    found = report.to_json()
    assert _rows(found["rows"]) == EXPECTED  # type: ignore[arg-type]
    total = found["total"]
    assert isinstance(total, dict)
    assert (total["received"], total["ahead"], total["late"], total["rate"]) == (7, 3, 1, 0.8)
    assert found["months"] == [
        {"month": "2026-11", "rate": 0.75},
        {"month": "2026-12", "rate": 1.0},
    ]
    # a head sees their own unit; a specialist nothing
    own = on_time_report(ws, "phapche", date(2026, 11, 1), date(2026, 11, 30))
    assert {r.unit for r in own.rows} == {PC}
    with refused("report.unit_not_allowed", NotAllowed):
        on_time_report(ws, "phapche", date(2026, 11, 1), date(2026, 11, 30), "TCBC")
    with refused("report.not_allowed", NotAllowed, role="specialist"):
        on_time_report(ws, "chuyenvien", date(2026, 11, 1), date(2026, 11, 30))

    # xlsx, read back
    book = load_workbook(io.BytesIO(report_xlsx(report)))
    sheet = book.active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows(min_row=6)]
    assert cells[2][1:9] == [TCBC, None, 4, 1, 1, 1, 1, 0]
    assert cells[2][9] == pytest.approx(2 / 3)
    assert cells[-1][1] == "Tổng cộng" and cells[-1][3:10] == [7, 3, 1, 1, 1, 1, 0.8]

    # pdf, as text
    pdf = tmp_path / "dung-han.pdf"
    pdf.write_bytes(report_pdf(ws, report))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "THỐNG KÊ TÌNH HÌNH GIẢI QUYẾT ĐÚNG HẠN" in text
    assert "từ ngày 01/11/2026 đến ngày 30/11/2026" in text
    assert "Phòng Tổ chức," in text and "biên chế" in text  # the name wraps in its cell
    line = next(li for li in text.splitlines() if "66,7%" in li)
    assert line.split()[-7:] == ["4", "1", "1", "1", "1", "0", "66,7%"]
    assert "80,0%" in text and "75,0%" in text

    # the web page: the table and the chart
    send_reminders(ws, at(12, 5))  # E is overdue at its head: the leaders hear of it
    page: Page = browser_page(office)  # type: ignore[operator]
    login(page, "giamdoc")
    banner = page.locator(".reminders")
    assert banner.inner_text().startswith("Quá hạn: Công văn #")  # the inbox shows reminders
    screenshot(page, "hop-viec-nhac-viec")
    page.goto("/reports/on-time?from=2026-11-01&to=2026-11-30")
    table = page.locator("table.ontime")
    assert table.locator("tbody tr").count() == 5
    row = table.locator("tr", has_text=BINH)
    assert row.locator("td").all_inner_texts()[3:] == ["1", "0", "1", "0", "0", "0", "100,0%"]
    assert table.locator("tfoot").inner_text().split()[-1] == "80,0%"
    chart = page.locator("svg.ontime-chart")
    assert chart.locator("rect.bar").count() == 2
    assert chart.locator("text.value").all_text_contents() == ["75,0%", "100,0%"]
    assert page.get_by_role("link", name="Thống kê đúng hạn").count() == 1
    screenshot(page, "bao-cao-dung-han")
    xlsx = page.request.get(f"{office.url}/reports/on-time.xlsx?from=2026-11-01&to=2026-11-30")
    assert xlsx.ok and xlsx.body()[:2] == b"PK"


def test_the_command_line_writes_json_xlsx_and_pdf(office: WebOffice, tmp_path: Path) -> None:
    ws = office.ws
    xlsx, pdf = tmp_path / "bc.xlsx", tmp_path / "bc.pdf"
    done = subprocess.run(
        [
            sys.executable, "-m", "engine", "--home", str(ws.settings.home),
            "report", "on-time", "--from", "2026-11-01", "--to", "2026-11-30",
            "--json", "--xlsx", str(xlsx), "--pdf", str(pdf), "--as", "vanthu",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "VANTHU_PKI_DIR": str(ws.settings.effective_pki_dir)},
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    # the command reads the real clock: what is done does not depend on it
    done_counts = [
        (r["unit"], r["person"], r["ahead"], r["on_time"], r["late"]) for r in found["rows"]
    ]
    assert done_counts == [row[:2] + row[3:6] for row in EXPECTED]
    assert sum(r["open_in_time"] + r["overdue"] for r in found["rows"] if r["person"] is None) == 2
    assert load_workbook(xlsx).active is not None and pdf.read_bytes()[:5] == b"%PDF-"
    bad = subprocess.run(
        [sys.executable, "-m", "engine", "--home", str(ws.settings.home), "report", "on-time",
         "--from", "2026-11-30", "--to", "2026-11-01", "--as", "vanthu"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "VANTHU_PKI_DIR": str(ws.settings.effective_pki_dir)},
    )  # fmt: skip
    assert bad.returncode != 0 and "khoảng thời gian sai" in bad.stderr
    assert "Traceback" not in bad.stderr
