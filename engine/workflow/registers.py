"""The registers of outgoing and incoming documents (sổ đăng ký văn bản đi, đến), with the
columns of Decree 30/2020/NĐ-CP Appendix IV, read with filters and exported to XLSX and PDF.

The outgoing register (sổ đăng ký văn bản đi), its columns in the decree's words:

1. Số, ký hiệu văn bản: filled (``05/QĐ-SNV``).
2. Ngày tháng văn bản: filled, the issue date (dd/mm/yyyy).
3. Tên loại và trích yếu nội dung văn bản: filled (``Quyết định về việc …``).
4. Người ký: filled, the signer's full name.
5. Nơi nhận văn bản: filled, the recipients as drafted (nơi nhận), one per line.
6. Đơn vị, người nhận bản lưu: filled, the drafting unit and the person who drafted it (the
   archive keeps the original itself).
7. Số lượng bản, 8. Ngày chuyển, 9. Ký nhận: left empty, for paper: copies printed, the day they
   were handed over and the receiver's signature are written by hand on a printed register;
   an electronic document has no printed copies and is sent at once.
10. Ghi chú: filled with the secrecy (độ mật) and the urgency (độ khẩn), if any.

The incoming register (sổ đăng ký văn bản đến):

1. Ngày đến: filled, the day it was received (dd/mm).
2. Số đến: filled, the incoming number.
3. Tác giả: filled, the agency that issued it, as the clerk entered it.
4. Số, ký hiệu: filled, its number and symbol as the clerk entered them.
5. Ngày tháng: filled from the issuing agency's own digital signature (its time is the issue
   time of an electronic document, Decree 30 Art. 8); empty for a document without one (a scan
   of paper), to be written by hand.
6. Tên loại và trích yếu nội dung: filled.
7. Đơn vị hoặc người nhận: filled once a leader has assigned it: the lead unit and its head.
8. Ngày chuyển: filled once assigned: the day it was handed to them (dd/mm).
9. Ký nhận: left empty, for the receiver's signature on paper.
10. Ghi chú: filled with the secrecy, the urgency and, when the signatures are not valid, the
    verdict.

A classified document (Mật, Tối mật, Tuyệt mật) is numbered in the agency's secret register of
its direction and listed there only: the ordinary registers leave it out, the secret ones are
read by choosing one (``register_code``) or all of them (``secret``).

Only clerks, leaders, archivists and administrators read the registers, and every read is
audited. A document the reader may not read (restricted, :func:`engine.workflow.documents.
may_read`) keeps its line, so the numbering shows no gap, with its subject, recipients and
receivers hidden; a text filter never matches what is hidden.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import jinja2
from markupsafe import Markup, escape
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, Side
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.doctypes import type_abbreviation
from engine.core.errors import InvalidInput, NotAllowed
from engine.core.fields import checked_line
from engine.core.models import (
    Agency,
    ArchiveFile,
    ArchiveRecord,
    Document,
    Register,
    Task,
    Unit,
    User,
    WorkflowInstance,
)
from engine.core.programs import html_to_pdf
from engine.core.registers import format_number
from engine.core.sheets import printable_xlsx
from engine.core.text import VIETNAM, fold, vietnam_time
from engine.core.users import user_named
from engine.core.workspace import Workspace
from engine.workflow.documents import may_read

READERS = frozenset({"clerk", "leader", "archivist", "admin"})
"""Roles that read the registers."""
TITLES = {"outgoing": "SỔ ĐĂNG KÝ VĂN BẢN ĐI", "incoming": "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN"}
PAGE_MAX = 500
"""The most lines one page of the register holds."""
EXPORT_MAX = 20_000
"""The most lines one export holds; a longer one asks for a narrower filter."""
TEXT_MAX = 200
HIDDEN = "(tài liệu hạn chế sử dụng)"
"""Shown instead of the subject of a document the reader may not read."""
READ, EXPORTED, REFUSED = "register_read", "register_exported", "register_read_refused"
"""Audit events: a page of a register read, a register exported, a read refused."""
VERDICTS = {
    "invalid": "chữ ký số không hợp lệ",
    "indeterminate": "chưa xác định được chữ ký số",
    "unsigned": "không có chữ ký số",
}


@dataclass(frozen=True)
class Column:
    """A column of a register, as Decree 30 Appendix IV names it."""

    key: str
    header: str
    width: float
    """In the XLSX, characters; the PDF shares the page in proportion."""
    filled: bool = True
    """False: left empty for the paper register (copies, handing over, signatures)."""


OUTGOING_COLUMNS = (
    Column("number_symbol", "Số, ký hiệu văn bản", 15),
    Column("date", "Ngày tháng văn bản", 13),
    Column("type_and_subject", "Tên loại và trích yếu nội dung văn bản", 38),
    Column("signer", "Người ký", 16),
    Column("recipients", "Nơi nhận văn bản", 20),
    Column("file_copy", "Đơn vị, người nhận bản lưu", 18),
    Column("copies", "Số lượng bản", 7, filled=False),
    Column("sent_on", "Ngày chuyển", 10, filled=False),
    Column("receipt", "Ký nhận", 10, filled=False),
    Column("note", "Ghi chú", 10),
)
INCOMING_COLUMNS = (
    Column("received_on", "Ngày đến", 8),
    Column("number", "Số đến", 7),
    Column("author", "Tác giả", 22),
    Column("number_symbol", "Số, ký hiệu", 15),
    Column("date", "Ngày tháng", 13),
    Column("type_and_subject", "Tên loại và trích yếu nội dung", 38),
    Column("recipient", "Đơn vị hoặc người nhận", 22),
    Column("sent_on", "Ngày chuyển", 9),
    Column("receipt", "Ký nhận", 10, filled=False),
    Column("note", "Ghi chú", 14),
)
COLUMNS = {"outgoing": OUTGOING_COLUMNS, "incoming": INCOMING_COLUMNS}


@dataclass(frozen=True)
class RegisterFilters:
    """What the register is narrowed to; None: no narrowing."""

    year: int | None = None
    date_from: date | None = None
    """The issue date (outgoing) or the day received (incoming), from this day on."""
    date_to: date | None = None
    """… up to and including this day."""
    doc_type: str | None = None
    """A Decree 30 type name, e.g. 'Quyết định'."""
    text: str | None = None
    """Words found in the symbol, subject, signer or sender, diacritics folded."""
    register_code: str | None = None
    """One register ('QD', 'VBDI'); None: every register of the direction of the kind
    :attr:`secret` chooses."""
    secret: bool = False
    """True: the secret registers (sổ văn bản mật) only; False: the ordinary ones only. A
    classified document is listed in its own register only (Decree 30 Art. 15.2)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "doc_type": self.doc_type,
            "text": self.text,
            "register_code": self.register_code,
            "secret": self.secret,
        }


NO_FILTERS = RegisterFilters()
"""The whole register of a direction."""


@dataclass(frozen=True)
class RegisterRow:
    """One line of a register."""

    document_id: int
    register_code: str
    year: int
    number: int
    day: date | None
    """The issue date (outgoing) or the day received (incoming)."""
    cells: Mapping[str, str]
    """The text of each column, by :attr:`Column.key` ('' for an empty one)."""
    dates: Mapping[str, date] = field(default_factory=dict)
    """The date of each column that holds one (for a spreadsheet's date cells)."""
    restricted: bool = False
    """Its subject, recipients and receivers are hidden from this reader."""

    def values(self, columns: Sequence[Column]) -> list[str]:
        return [self.cells.get(c.key, "") for c in columns]


@dataclass(frozen=True)
class RegisterPage:
    """A page of a register, with what its title block says (Decree 30 Appendix IV)."""

    direction: str
    title: str
    """'SỔ ĐĂNG KÝ VĂN BẢN ĐI' or 'SỔ ĐĂNG KÝ VĂN BẢN ĐẾN'."""
    parent_name: str | None
    """The agency above (cơ quan chủ quản), if any."""
    agency_name: str
    register_name: str | None
    """The register filtered to, or None for every register of the direction."""
    registers: tuple[tuple[str, str], ...]
    """(code, name) of every register of the direction, for a filter."""
    columns: tuple[Column, ...]
    rows: tuple[RegisterRow, ...]
    total: int
    """Lines matching the filters, all pages."""
    offset: int
    limit: int
    filters: RegisterFilters
    years: tuple[int, ...]
    """The years of the lines matching."""
    first_day: date | None
    last_day: date | None
    first_number: int | None
    last_number: int | None

    def title_block(self) -> list[str]:
        """The lines under the title: 'Năm: 2026', 'Từ ngày … đến ngày …', 'Từ số … đến số …'."""
        lines = []
        if self.register_name:
            lines.append(self.register_name)
        if self.years:
            lines.append(f"Năm: {', '.join(str(y) for y in self.years)}")
        if self.first_day and self.last_day:
            lines.append(f"Từ ngày {self.first_day:%d/%m/%Y} đến ngày {self.last_day:%d/%m/%Y}")
        if self.first_number is not None and self.last_number is not None:
            lines.append(
                f"Từ số {format_number(self.first_number)} đến số {format_number(self.last_number)}"
            )
        return lines


@dataclass
class _Line:
    """A matching document, read once for every page and export."""

    document_id: int
    instance_id: int | None
    register_code: str
    year: int
    number: int
    moment: datetime | None
    values: dict[str, str] = field(default_factory=dict)
    dates: dict[str, date] = field(default_factory=dict)
    restricted: bool = False
    searchable: str = ""


def register_rows(
    ws: Workspace,
    username: str,
    direction: str,
    filters: RegisterFilters = NO_FILTERS,
    *,
    limit: int = 50,
    offset: int = 0,
) -> RegisterPage:
    """A page of the register of ``direction`` ('outgoing' or 'incoming') as ``username``
    reads it (clerks, leaders, archivists, administrators); the read is audited."""
    _check_page(limit, offset)
    page = _read(ws, username, direction, filters, limit=limit, offset=offset)
    _audit(ws, username, READ, direction, filters, shown=len(page.rows), total=page.total)
    return page


def register_xlsx(
    ws: Workspace,
    username: str,
    direction: str,
    filters: RegisterFilters = NO_FILTERS,
) -> bytes:
    """The whole register (as filtered) as an Excel workbook: the decree's title block, the
    column headers and their numbers, one line per document; Times New Roman. Audited."""
    page = _export(ws, username, direction, filters)
    data = _workbook(page)
    _audit(ws, username, EXPORTED, direction, filters, shown=page.total, form="xlsx")
    return data


def register_pdf(
    ws: Workspace,
    username: str,
    direction: str,
    filters: RegisterFilters = NO_FILTERS,
) -> bytes:
    """The whole register (as filtered) as a PDF on landscape A4 in Times New Roman, made from
    HTML by LibreOffice (before the audit's transaction: outside work first). Audited."""
    page = _export(ws, username, direction, filters)
    data = html_to_pdf(register_html(page), soffice=ws.settings.soffice)
    _audit(ws, username, EXPORTED, direction, filters, shown=page.total, form="pdf")
    return data


def register_html(page: RegisterPage) -> str:
    """The register as one HTML page for LibreOffice (also readable in a browser)."""
    total_width = sum(c.width for c in page.columns)
    return _templates.get_template("register.html").render(
        page=page,
        widths=[round(100 * c.width / total_width, 1) for c in page.columns],
    )


def _lines_filter(value: str) -> Markup:
    """A cell's lines, escaped, one per line."""
    return Markup("<br>").join(escape(line) for line in value.split("\n"))


_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("engine.workflow", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters["lines"] = _lines_filter


# --- reading -----------------------------------------------------------------------------------


def _export(ws: Workspace, username: str, direction: str, filters: RegisterFilters) -> RegisterPage:
    page = _read(ws, username, direction, filters, limit=EXPORT_MAX + 1, offset=0)
    if page.total > EXPORT_MAX:
        raise InvalidInput(
            f"sổ có {page.total} dòng, mỗi lần chỉ xuất được {EXPORT_MAX}: chọn năm, khoảng ngày"
            " hoặc một sổ",
            f"the register has {page.total} lines and at most {EXPORT_MAX} are exported at"
            " once: choose a year, a date range or one register",
            code="register.export_too_large",
            total=page.total,
            max_lines=EXPORT_MAX,
        )
    return page


def _read(
    ws: Workspace,
    username: str,
    direction: str,
    filters: RegisterFilters,
    *,
    limit: int,
    offset: int,
) -> RegisterPage:
    if direction not in TITLES:
        raise InvalidInput(
            f"loại sổ '{direction}' phải là outgoing (văn bản đi) hoặc incoming (văn bản đến)",
            f"the register's direction '{direction}' must be outgoing or incoming",
            code="register.direction_invalid",
            direction=direction,
        )
    filters = _checked(filters)
    _check_reader(ws, username, direction)
    with Session(ws.db) as session:
        user = user_named(session, username)
        unit = session.get(Unit, user.unit_id)
        agency = session.get(Agency, unit.agency_id) if unit else None
        assert agency is not None and agency.id is not None
        registers = session.exec(
            select(Register)
            .where(Register.agency_id == agency.id, Register.direction == direction)
            .order_by(col(Register.code))
        ).all()
        chosen = None
        if filters.register_code is not None:
            chosen = next((r for r in registers if r.code == filters.register_code), None)
            if chosen is None:
                known = ", ".join(r.code for r in registers)
                raise InvalidInput(
                    f"không có sổ '{filters.register_code}' cho văn bản"
                    f" {'đi' if direction == 'outgoing' else 'đến'} (có: {known})",
                    f"there is no {direction} register '{filters.register_code}'"
                    f" (there are: {known})",
                    code="register.code_unknown",
                    register_code=filters.register_code,
                    known=[r.code for r in registers],
                )
        if filters.text:  # words are matched diacritics folded: by Python, over every line
            wanted = fold(filters.text).split()
            lines = [
                ln
                for ln in _lines(session, user, agency.id, direction, filters)
                if all(w in ln.searchable for w in wanted)
            ]
            shown = lines[offset : offset + limit]
            numbers = [ln.number for ln in lines]
            moments = [ln.moment for ln in lines if ln.moment]
            summary = _Summary(
                len(lines),
                tuple(sorted({ln.year for ln in lines})),
                min(moments) if moments else None,
                max(moments) if moments else None,
                min(numbers) if numbers else None,
                max(numbers) if numbers else None,
            )
        else:  # a page at a time, counted by the database
            summary = _summary(session, agency.id, direction, filters)
            shown = _lines(session, user, agency.id, direction, filters, (limit, offset))
        if direction == "incoming":
            _add_receivers(session, shown)
        rows = tuple(
            RegisterRow(
                document_id=ln.document_id,
                register_code=ln.register_code,
                year=ln.year,
                number=ln.number,
                day=vietnam_time(ln.moment).date() if ln.moment else None,
                cells=dict(ln.values),
                dates=dict(ln.dates),
                restricted=ln.restricted,
            )
            for ln in shown
        )
    secret = chosen.secret if chosen is not None else filters.secret
    single = chosen is not None or sum(r.secret == secret for r in registers) == 1
    return RegisterPage(
        direction=direction,
        title=f"{TITLES[direction]} MẬT" if secret else TITLES[direction],
        parent_name=agency.parent_name,
        agency_name=agency.name,
        register_name=chosen.name if chosen else None,
        registers=tuple((r.code, r.name) for r in registers),
        columns=COLUMNS[direction],
        rows=rows,
        total=summary.total,
        offset=offset,
        limit=limit,
        filters=filters,
        years=summary.years,
        first_day=vietnam_time(summary.first).date() if summary.first else None,
        last_day=vietnam_time(summary.last).date() if summary.last else None,
        first_number=summary.first_number if single else None,
        last_number=summary.last_number if single else None,
    )


ISSUED_BY = {"outgoing": ("outgoing", "dossier"), "incoming": ("incoming",)}
"""The documents each register lists: the outgoing one every document the agency issued with a
number, the one-stop results that are decisions too (Decree 30: numbered in the register of
decisions, so listed with the outgoing documents)."""


def _conditions(agency_id: int, direction: str, filters: RegisterFilters) -> list[Any]:
    """The WHERE clauses of the register's lines (Document joined to Register)."""
    moment = Document.issued_at if direction == "outgoing" else Document.created_at
    found: list[Any] = [
        Document.agency_id == agency_id,
        col(Document.direction).in_(ISSUED_BY[direction]),
        col(Document.number).is_not(None),
    ]
    if filters.year is not None:
        found.append(Document.year == filters.year)
    if filters.register_code is not None:
        found.append(Register.code == filters.register_code)
    else:
        found.append(col(Register.secret).is_(filters.secret))
    if filters.doc_type is not None:
        found.append(Document.doc_type == filters.doc_type)
    if filters.date_from is not None:
        found.append(col(moment) >= _start_of(filters.date_from))
    if filters.date_to is not None:
        found.append(col(moment) < _start_of(filters.date_to + timedelta(days=1)))
    return found


@dataclass(frozen=True)
class _Summary:
    total: int
    years: tuple[int, ...]
    first: datetime | None
    last: datetime | None
    first_number: int | None
    last_number: int | None


def _summary(
    session: Session, agency_id: int, direction: str, filters: RegisterFilters
) -> _Summary:
    """Counted by the database: how many lines, their years, days and numbers."""
    moment = Document.issued_at if direction == "outgoing" else Document.created_at
    where = _conditions(agency_id, direction, filters)
    base = select(  # type: ignore[call-overload]
        func.count(col(Document.id)),
        func.min(col(moment)),
        func.max(col(moment)),
        func.min(col(Document.number)),
        func.max(col(Document.number)),
    ).join(Register, col(Register.id) == Document.register_id)
    total, first, last, low, high = session.exec(base.where(*where)).one()
    years = session.exec(
        select(Document.year)
        .join(Register, col(Register.id) == Document.register_id)
        .where(*where)
        .distinct()
    ).all()
    return _Summary(total, tuple(sorted(y for y in years if y is not None)), first, last, low, high)


def _lines(
    session: Session,
    user: User,
    agency_id: int,
    direction: str,
    filters: RegisterFilters,
    window: tuple[int, int] | None = None,
) -> list[_Line]:
    """The register's lines, in order; ``window`` (limit, offset): only those."""
    outgoing = direction == "outgoing"
    moment = Document.issued_at if outgoing else Document.created_at
    author, signer = aliased(User), aliased(User)
    query = (
        select(  # type: ignore[call-overload]
            Document,
            Register.code,
            WorkflowInstance.id,
            Unit.name,
            author.full_name,
            signer.full_name,
            ArchiveRecord.access,
            ArchiveFile.access,
        )
        .join(Register, col(Register.id) == Document.register_id)
        .join(Unit, col(Unit.id) == Document.unit_id)
        .join(author, col(author.id) == Document.author_id)
        .outerjoin(signer, col(signer.id) == Document.signer_id)
        .outerjoin(WorkflowInstance, col(WorkflowInstance.document_id) == Document.id)
        .outerjoin(ArchiveRecord, col(ArchiveRecord.document_id) == Document.id)
        .outerjoin(ArchiveFile, col(ArchiveFile.id) == ArchiveRecord.file_id)
        .where(*_conditions(agency_id, direction, filters))
    )
    if outgoing:
        query = query.order_by(col(Document.year), col(moment), col(Document.id))
    else:
        query = query.order_by(col(Document.year), col(Document.number), col(Document.id))
    if window is not None:
        query = query.limit(window[0]).offset(window[1])
    lines = []
    for (
        document,
        code,
        instance_id,
        unit,
        author_name,
        signer_name,
        access,
        file_access,
    ) in session.exec(query).all():
        restricted = "restricted" in (access, file_access)
        hidden = restricted and not may_read(session, user, document).allowed
        line = _Line(
            document_id=document.id,
            instance_id=instance_id,
            register_code=code,
            year=document.year,
            number=document.number,
            moment=document.issued_at if outgoing else document.created_at,
            restricted=hidden,
        )
        if outgoing:
            line.values = _outgoing_cells(document, unit, author_name, signer_name, hidden)
            if document.issued_at is not None:
                line.dates["date"] = vietnam_time(document.issued_at).date()
        else:
            line.values = _incoming_cells(document, hidden)
            line.dates["received_on"] = vietnam_time(document.created_at).date()
            issued = _issued_moment(_report(document.verification))
            if issued is not None:
                line.dates["date"] = vietnam_time(issued).date()
        line.searchable = fold(
            " ".join(
                v
                for k, v in line.values.items()
                if k in ("number_symbol", "type_and_subject", "signer", "author")
            )
        )
        lines.append(line)
    return lines


def _outgoing_cells(
    document: Document, unit: str, author: str, signer: str | None, hidden: bool
) -> dict[str, str]:
    return {
        "number_symbol": document.symbol or format_number(document.number or 0),
        "date": _day(document.issued_at, "%d/%m/%Y"),
        "type_and_subject": _type_and_subject(document, hidden),
        "signer": signer or "",
        "recipients": "" if hidden else "\n".join(_recipients(document.recipients)),
        "file_copy": unit if hidden else f"{unit} ({author})",
        "copies": "",
        "sent_on": "",
        "receipt": "",
        "note": "; ".join(
            n for n in (document.secrecy, document.urgency, _recalled(document)) if n
        ),
    }


def _recalled(document: Document) -> str | None:
    """'Thu hồi dd/mm/yyyy' for a document its sender recalled (engine.workflow.recall)."""
    if document.recalled_at is None:
        return None
    return f"Thu hồi {_day(document.recalled_at, '%d/%m/%Y')}"


def _incoming_cells(document: Document, hidden: bool) -> dict[str, str]:
    report = _report(document.verification)
    verdict = str(report.get("verdict", "")) if report else ""
    notes = [document.secrecy or "", document.urgency or "", VERDICTS.get(verdict, "")]
    return {
        "received_on": _day(document.created_at, "%d/%m"),
        "number": format_number(document.number or 0),
        "author": document.sender or "",
        "number_symbol": document.sender_symbol or "",
        "date": _issued_on(report),
        "type_and_subject": _type_and_subject(document, hidden),
        "recipient": "",
        "sent_on": "",
        "receipt": "",
        "note": "; ".join(n for n in notes if n),
    }


def _add_receivers(session: Session, lines: Sequence[_Line]) -> None:
    """'Đơn vị hoặc người nhận': the unit and head a leader assigned it to (the newest
    assignment), for the lines shown."""
    instances = {ln.instance_id: ln for ln in lines if ln.instance_id is not None}
    if not instances:
        return
    rows = session.exec(
        select(Task.instance_id, Task.completed_at, User.full_name, Unit.name)
        .join(User, col(User.id) == Task.chosen_user_id)
        .join(Unit, col(Unit.id) == User.unit_id)
        .where(col(Task.instance_id).in_(list(instances)), Task.action == "assign")
        .order_by(col(Task.completed_at), col(Task.id))
    ).all()
    for instance_id, completed_at, person, unit in rows:  # the newest assignment comes last
        line = instances[instance_id]
        if completed_at is not None:
            line.values["sent_on"] = _day(completed_at, "%d/%m")
            line.dates["sent_on"] = vietnam_time(completed_at).date()
        if not line.restricted:
            line.values["recipient"] = f"{unit} ({person})"


def _type_and_subject(document: Document, hidden: bool) -> str:
    if hidden:
        return f"{document.doc_type} {HIDDEN}"
    subject = document.subject.strip()
    if subject[:2].lower() in ("về", "v/"):  # "Về việc …", "V/v …" read on after the type
        return f"{document.doc_type} {subject[0].lower()}{subject[1:]}"
    return f"{document.doc_type}: {subject}"


def _recipients(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _report(verification: str | None) -> dict[str, Any] | None:
    if not verification:
        return None
    try:
        found = json.loads(verification)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _issued_on(report: Mapping[str, Any] | None) -> str:
    """The day the issuing agency signed it (its organisation certificate), if it did."""
    return _day(_issued_moment(report), "%d/%m/%Y")


def _issued_moment(report: Mapping[str, Any] | None) -> datetime | None:
    for signature in (report or {}).get("signatures") or []:
        if signature.get("kind") == "organisation" and signature.get("signing_time"):
            try:
                return datetime.fromisoformat(str(signature["signing_time"]))
            except ValueError:
                continue
    return None


def _day(moment: datetime | None, form: str) -> str:
    return vietnam_time(moment).strftime(form) if moment else ""


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), VIETNAM).astimezone(UTC)


def _checked(filters: RegisterFilters) -> RegisterFilters:
    if filters.year is not None and not 1900 <= filters.year <= 9999:
        raise InvalidInput(
            f"năm {filters.year} không hợp lệ",
            f"the year {filters.year} is not valid",
            code="register.year_invalid",
            year=filters.year,
        )
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise InvalidInput(
            f"ngày bắt đầu {filters.date_from:%d/%m/%Y} sau ngày kết thúc"
            f" {filters.date_to:%d/%m/%Y}",
            f"the start date {filters.date_from:%d/%m/%Y} is after the end date"
            f" {filters.date_to:%d/%m/%Y}",
            code="register.dates_reversed",
            date_from=filters.date_from.isoformat(),
            date_to=filters.date_to.isoformat(),
        )
    doc_type = filters.doc_type.strip() if filters.doc_type else None
    if doc_type:
        type_abbreviation(doc_type)  # a Decree 30 type, or one clear error naming the types
    text = checked_line(filters.text, "text", max_length=TEXT_MAX) if filters.text else None
    code = filters.register_code.strip() if filters.register_code else None
    return RegisterFilters(
        filters.year,
        filters.date_from,
        filters.date_to,
        doc_type or None,
        text or None,
        code,
        filters.secret,
    )


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidInput(
            f"số dòng mỗi trang phải từ 1 đến {PAGE_MAX}, nhận {limit}",
            f"the number of lines per page must be from 1 to {PAGE_MAX}, got {limit}",
            code="register.limit_invalid",
            limit=limit,
        )
    if offset < 0:
        raise InvalidInput(
            f"vị trí bắt đầu không được âm, nhận {offset}",
            f"the starting position may not be negative, got {offset}",
            code="register.offset_invalid",
            offset=offset,
        )


def _check_reader(ws: Workspace, username: str, direction: str) -> None:
    """Refuse (and audit the refusal) anyone but the registers' readers."""
    with Session(ws.db) as session:
        role = user_named(session, username).role
    if role in READERS:
        return
    _audit(ws, username, REFUSED, direction, None, role=role)
    raise NotAllowed(
        f"{username} ({role}) không được xem sổ đăng ký văn bản: việc của văn thư, lãnh đạo,"
        " lưu trữ và quản trị",
        f"{username} ({role}) may not read the registers: they are for clerks, leaders,"
        " archivists and administrators",
        code="register.read_not_allowed",
        username=username,
        role=role,
    )


def _audit(
    ws: Workspace,
    username: str,
    event: str,
    direction: str,
    filters: RegisterFilters | None,
    **detail: Any,
) -> None:
    with transaction(ws.db) as session:
        audit.append(
            session,
            actor=username,
            event=event,
            detail={
                "direction": direction,
                **({"filters": filters.to_json()} if filters else {}),
                **detail,
            },
        )


# --- the workbook ------------------------------------------------------------------------------

_FONT = "Times New Roman"
_THIN = Side(style="thin", color="000000")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _workbook(page: RegisterPage) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sổ đăng ký đi" if page.direction == "outgoing" else "Sổ đăng ký đến"
    width = len(page.columns)
    last = get_column_letter(width)
    row = 1
    for text, bold in ((page.parent_name, False), (page.agency_name, True)):
        if text:
            sheet.cell(row=row, column=1, value=text.upper()).font = Font(
                name=_FONT, size=12, bold=bold
            )
            sheet.merge_cells(f"A{row}:{get_column_letter(min(width, 4))}{row}")
            row += 1
    row += 1
    sheet.cell(row=row, column=1, value=page.title).font = Font(name=_FONT, size=16, bold=True)
    sheet.merge_cells(f"A{row}:{last}{row}")
    sheet.cell(row=row, column=1).alignment = Alignment(horizontal="center")
    row += 1
    for line in page.title_block():
        sheet.cell(row=row, column=1, value=line).font = Font(name=_FONT, size=13)
        sheet.merge_cells(f"A{row}:{last}{row}")
        sheet.cell(row=row, column=1).alignment = Alignment(horizontal="center")
        row += 1
    row += 1
    header = row
    for index, column in enumerate(page.columns, start=1):
        cell = sheet.cell(row=header, column=index, value=column.header)
        cell.font = Font(name=_FONT, size=12, bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = _BOX
        numbered = sheet.cell(row=header + 1, column=index, value=f"({index})")
        numbered.font = Font(name=_FONT, size=11, italic=True)
        numbered.alignment = Alignment(horizontal="center")
        numbered.border = _BOX
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.row_dimensions[header].height = 48
    for name, form in (("register_line", "General"), ("register_day", "DD/MM/YYYY")):
        book.add_named_style(  # named once: styling cell by cell is slow on long registers
            NamedStyle(
                name=name,
                font=Font(name=_FONT, size=12),
                alignment=Alignment(vertical="top", wrap_text=True),
                border=_BOX,
                number_format=form,
            )
        )
    for offset, register_row in enumerate(page.rows, start=header + 2):
        for index, column in enumerate(page.columns, start=1):
            day = register_row.dates.get(column.key)
            value = day if day is not None else register_row.cells.get(column.key, "")
            cell = sheet.cell(row=offset, column=index, value=value)
            cell.style = "register_line" if day is None else "register_day"
    return printable_xlsx(book, sheet, first_row=header + 2, title_rows=f"{header}:{header + 1}")
