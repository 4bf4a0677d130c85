"""``/registers/outgoing`` and ``/registers/incoming``: the registers of Decree 30 Appendix IV
a page at a time, with filters (register, year, dates, type, words), and their exports
``.xlsx`` / ``.pdf`` with the same filters. Who may read them, and the audit, are the
engine's (:mod:`engine.workflow.registers`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from engine.core.doctypes import document_types
from engine.core.errors import InvalidInput
from engine.http.web.pages import render
from engine.http.web.session import CurrentUser, workspace
from engine.workflow.registers import (
    RegisterFilters,
    register_pdf,
    register_rows,
    register_xlsx,
)

router = APIRouter()

PAGE_SIZE = 50
Direction = Literal["outgoing", "incoming"]
NAMES = {"outgoing": "Sổ đăng ký văn bản đi", "incoming": "Sổ đăng ký văn bản đến"}
FILES = {"outgoing": "so-dang-ky-van-ban-di", "incoming": "so-dang-ky-van-ban-den"}
MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class Filters:
    """The filter form's values as typed (strings: an empty field is no filter)."""

    register: str = ""
    year: str = ""
    date_from: str = ""
    date_to: str = ""
    doc_type: str = ""
    q: str = ""

    def query(self, **more: object) -> str:
        """The query string of these filters (and ``more``), empty fields left out."""
        values = {
            "register": self.register,
            "year": self.year,
            "from": self.date_from,
            "to": self.date_to,
            "type": self.doc_type,
            "q": self.q,
            **{k: str(v) for k, v in more.items()},
        }
        return urlencode({k: v for k, v in values.items() if v})

    def engine(self) -> RegisterFilters:
        """The engine's filters (a year or a date that is not one: register.*_invalid)."""
        return RegisterFilters(
            register_code=self.register.strip() or None,
            year=_year(self.year),
            date_from=_date(self.date_from, "Từ ngày"),
            date_to=_date(self.date_to, "Đến ngày"),
            doc_type=self.doc_type.strip() or None,
            text=self.q.strip() or None,
        )


def _year(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 4:
        raise InvalidInput(
            f"năm '{value}' không hợp lệ",
            f"the year '{value}' is not valid",
            code="register.year_invalid",
            year=value,
        )
    return int(value)


def _date(value: str, label: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{label} '{value}' không phải một ngày (năm-tháng-ngày)",
            f"'{value}' is not a date (year-month-day)",
            code="register.date_invalid",
            value=value,
        ) from None


def _page(
    request: Request, user: CurrentUser, direction: Direction, filters: Filters, page: int
) -> HTMLResponse:
    found = register_rows(
        workspace(request),
        user.username,
        direction,
        filters.engine(),
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "registers/register.html",
        title=NAMES[direction],
        direction=direction,
        register=found,
        shown_columns=[c for c in found.columns if c.filled],
        filters=filters,
        doc_types=list(document_types()),
        page=page,
        pages=max(1, -(-found.total // PAGE_SIZE)),
    )


async def _export(
    request: Request, user: CurrentUser, direction: Direction, filters: Filters, form: str
) -> Response:
    make = register_xlsx if form == "xlsx" else register_pdf
    data = await run_in_threadpool(
        make, workspace(request), user.username, direction, filters.engine()
    )
    ascii_name = f"{FILES[direction]}.{form}"
    full_name = f"{NAMES[direction]}.{form}"
    return Response(
        data,
        media_type=MEDIA[form],
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(full_name)}"
            )
        },
    )


PageNumber = Annotated[int, Query(ge=1, le=100_000)]


@router.get("/registers/outgoing")
def outgoing(request: Request, user: CurrentUser, page: PageNumber = 1) -> HTMLResponse:
    return _page(request, user, "outgoing", _filters(request), page)


@router.get("/registers/incoming")
def incoming(request: Request, user: CurrentUser, page: PageNumber = 1) -> HTMLResponse:
    return _page(request, user, "incoming", _filters(request), page)


@router.get("/registers/outgoing.xlsx")
async def outgoing_xlsx(request: Request, user: CurrentUser) -> Response:
    return await _export(request, user, "outgoing", _filters(request), "xlsx")


@router.get("/registers/incoming.xlsx")
async def incoming_xlsx(request: Request, user: CurrentUser) -> Response:
    return await _export(request, user, "incoming", _filters(request), "xlsx")


@router.get("/registers/outgoing.pdf")
async def outgoing_pdf(request: Request, user: CurrentUser) -> Response:
    return await _export(request, user, "outgoing", _filters(request), "pdf")


@router.get("/registers/incoming.pdf")
async def incoming_pdf(request: Request, user: CurrentUser) -> Response:
    return await _export(request, user, "incoming", _filters(request), "pdf")


QUERY_NAMES = {
    "register": "register",
    "year": "year",
    "from": "date_from",
    "to": "date_to",
    "type": "doc_type",
    "q": "q",
}


def _filters(request: Request) -> Filters:
    """The filter fields of the query string (each at most 300 characters)."""
    found = {}
    for name, field in QUERY_NAMES.items():
        value = request.query_params.get(name, "")
        if len(value) > 300:
            raise InvalidInput(
                "giá trị lọc quá dài",
                "a filter value is too long",
                code="register.filter_too_long",
                field=name,
            )
        found[field] = value
    return Filters(**found)
