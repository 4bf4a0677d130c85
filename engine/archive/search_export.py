"""Search results as a file to keep or pass on (Decree 30 Appendix VI, 9: "export results"):
an Excel workbook or a CSV in UTF-8 with a byte order mark (so Excel reads Vietnamese right).

The export runs the search as the person asking, so it holds exactly what they may see, up to
``search.MAX_WINDOW`` records (a search is for finding; the file says when there were more).
Every export is audited with its question and how many records left.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from engine.archive import retention
from engine.archive.saved_searches import describe, query_to_json
from engine.archive.search import MAX_LIMIT, MAX_WINDOW, SearchHit, SearchQuery, search
from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import InvalidInput
from engine.core.sheets import printable_xlsx
from engine.core.text import vietnam_time
from engine.core.workspace import Workspace
from vanthu import clock

EXPORTED = "search_exported"
FORMS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
COLUMNS = (
    ("STT", 6),
    ("Mã bản lưu", 22),
    ("Loại văn bản", 14),
    ("Số, ký hiệu", 16),
    ("Ngày ban hành", 13),
    ("Trích yếu", 60),
    ("Cơ quan ban hành", 28),
    ("Người ký", 22),
    ("Văn bản đi/đến", 10),
    ("Hồ sơ", 16),
    ("Thời hạn bảo quản", 12),
    ("Truy cập", 14),
)
ACCESS = {"public": "Công khai", "restricted": "Hạn chế sử dụng"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""A cell starting so is a formula to Excel: a subject typed by another agency must stay text."""
_FONT = "Times New Roman"
_THIN = Side(style="thin", color="000000")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


@dataclass(frozen=True)
class Export:
    """The file and what went into it."""

    content: bytes
    filename: str
    content_type: str
    rows: int
    total: int
    """Matches the search counted (more than this when ``total_exact`` is false)."""
    total_exact: bool
    truncated: bool
    """More matched than the file holds (``MAX_WINDOW``)."""


def export_results(
    ws: Workspace, query: SearchQuery, username: str, form: str, *, name: str | None = None
) -> Export:
    """Every result of ``query`` that ``username`` may see (up to MAX_WINDOW), as ``form``
    (xlsx or csv); ``name``: the saved search's, for the title. Audited."""
    if form not in FORMS:
        raise InvalidInput(
            f"định dạng xuất '{form}' không có: chọn xlsx hoặc csv",
            f"there is no export format '{form}': choose xlsx or csv",
            code="search.export_form",
            form=form,
        )
    hits: list[SearchHit] = []
    total, exact = 0, True
    while len(hits) < MAX_WINDOW:
        page = dataclasses.replace(query, limit=MAX_LIMIT, offset=len(hits))
        found = search(ws, page, username=username)
        hits.extend(found.hits)
        total, exact = found.total, found.total_exact
        if len(found.hits) < MAX_LIMIT:
            break
    truncated = not exact or total > len(hits)
    now = clock.now()
    rows = [_row(n, hit) for n, hit in enumerate(hits, start=1)]
    title = _title(query, name, now, len(rows), truncated)
    content = _workbook(title, rows) if form == "xlsx" else _csv(rows)
    with transaction(ws.db) as session:
        audit.append(
            session,
            actor=username,
            event=EXPORTED,
            detail={
                "form": form,
                "query": query_to_json(query),
                "saved": name,
                "rows": len(rows),
                "truncated": truncated,
            },
        )
    return Export(
        content=content,
        filename=f"tra-cuu-luu-tru-{vietnam_time(now):%Y%m%d-%H%M}.{form}",
        content_type=FORMS[form],
        rows=len(rows),
        total=total,
        total_exact=exact,
        truncated=truncated,
    )


def _row(n: int, hit: SearchHit) -> list[str | int]:
    issued = f"{vietnam_time(hit.issued_at):%d/%m/%Y}" if hit.issued_at else ""
    number = hit.symbol or (str(hit.number) if hit.number is not None else "")
    return [
        n,
        hit.record_id,
        hit.doc_type,
        number,
        issued,
        hit.subject,
        hit.agency_name or hit.agency_code,
        hit.signer or "",
        "Đi" if hit.direction == "outgoing" else "Đến",
        hit.file_code or "",
        retention.label(hit.retention_years),
        ACCESS.get(hit.access, hit.access),
    ]


def _title(
    query: SearchQuery, name: str | None, now: datetime, rows: int, truncated: bool
) -> list[str]:
    lines = ["KẾT QUẢ TRA CỨU TÀI LIỆU LƯU TRỮ"]
    if name:
        lines.append(f"Tìm kiếm đã lưu: {name}")
    lines.append(f"Điều kiện tìm: {describe(query)}")
    lines.append(f"Xuất lúc {vietnam_time(now):%H:%M ngày %d/%m/%Y}; {rows} bản lưu")
    if truncated:
        lines.append(f"Chỉ xuất {MAX_WINDOW} kết quả đầu: thu hẹp điều kiện tìm để có đủ.")
    return lines


def _csv(rows: list[list[str | int]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for header, _ in COLUMNS])
    writer.writerows([[_inert(v) for v in row] for row in rows])
    return out.getvalue().encode("utf-8-sig")


def _inert(value: str | int) -> str | int:
    """A CSV cell Excel will not run as a formula (OWASP's quote prefix)."""
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def _workbook(title: list[str], rows: list[list[str | int]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Kết quả tra cứu"
    last = get_column_letter(len(COLUMNS))
    for row, line in enumerate(title, start=1):
        cell = sheet.cell(row=row, column=1, value=line)
        cell.font = Font(name=_FONT, size=14 if row == 1 else 12, bold=row == 1)
        sheet.merge_cells(f"A{row}:{last}{row}")
    header = len(title) + 2
    for index, (text, width) in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=header, column=index, value=text)
        cell.font = Font(name=_FONT, size=12, bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = _BOX
        sheet.column_dimensions[get_column_letter(index)].width = width
    body = Font(name=_FONT, size=12)
    top = Alignment(vertical="top", wrap_text=True)
    for offset, values in enumerate(rows, start=header + 1):
        for index, value in enumerate(values, start=1):
            cell = sheet.cell(row=offset, column=index, value=value)
            cell.data_type = "n" if isinstance(value, int) else "s"  # "=…" stays text
            cell.font, cell.alignment, cell.border = body, top, _BOX
    return printable_xlsx(book, sheet, first_row=header + 1, title_rows=f"{header}:{header}")
