"""The archivist's pages: ``/archive/search`` (full text with filters and highlighted snippets,
saved searches, the results as ``.xlsx`` / ``.csv``),
``/archive/records/{id}`` (metadata, fixity, signature, files, history) and its downloads,
``/archive/files`` (case files: open, add a record, close, export an E-ARK package) and
``/archive/disposal`` (records past their retention, disposal proposals).

Who may see and do what is decided by engine.archive; these routes parse, call and render.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, quote_plus

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from engine.archive import case_files, disposal, retention, viewing
from engine.archive import transfer as transfers
from engine.archive.fixity import check_archive
from engine.archive.saved_searches import (
    delete_search,
    list_searches,
    run_saved,
    save_search,
    saved_search,
)
from engine.archive.search import MAX_WINDOW, SearchQuery, SearchResults, resolve_doc_type, search
from engine.archive.search_export import export_results
from engine.core.doctypes import document_types
from engine.core.errors import InvalidInput
from engine.http.web.pages import flash, redirect, render
from engine.http.web.session import CurrentUser, workspace
from vanthu.errors import Kind, VanthuError

router = APIRouter()

PAGE_SIZE = 20
RETENTION_CLASSES = ("Vĩnh viễn", "70", "50", "30", "20", "10", "5")
VERDICTS = {
    "valid": "Hợp lệ",
    "invalid": "Không hợp lệ",
    "indeterminate": "Chưa xác định được",
    "unsigned": "Không có chữ ký số",
}
ROLES = {"pdf": "Bản chính (PDF)", "source": "Bản thảo (DOCX)", "ocr": "Bản nhận dạng chữ (OCR)"}
EVENTS = {
    "archive_retrieved": "Tải / lấy bản lưu",
    "archive_refused": "Bị từ chối xem",
    "archive_record_viewed": "Xem trang bản lưu",
    "archive_checked": "Kiểm tra toàn vẹn",
    "archive_file_record_added": "Đưa vào hồ sơ",
    "archive_file_record_removed": "Rút khỏi hồ sơ",
    "archive_file_exported": "Xuất gói chuyển giao",
    "record_written": "Ghi vào kho lưu trữ",
    "ltv_refreshed": "Gia hạn dấu thời gian",
    "disposal_proposed": "Đề nghị hủy",
    "archive_revision_written": "Ghi bản lưu vào kho",
    "draft_uploaded": "Tải lên dự thảo",
    "instance_started": "Bắt đầu quy trình",
    "signed": "Ký số",
    "issued": "Phát hành",
    "document_viewed": "Xem văn bản",
    "document_file_read": "Xem / tải tệp của văn bản",
    "commented": "Cho ý kiến",
    "received": "Tiếp nhận văn bản đến",
}
ACTIONS = {
    "submit": "Trình",
    "approve": "Duyệt",
    "return": "Trả lại",
    "forward": "Chuyển",
    "consult": "Xin ý kiến",
    "sign": "Ký",
    "issue": "Phát hành",
    "register": "Vào sổ",
    "assign": "Giao xử lý",
    "comment": "Cho ý kiến",
    "complete": "Hoàn thành",
    "reject": "Từ chối tiếp nhận",
}
QUIET = frozenset({"step_entered", "step_done"})
"""Workflow bookkeeping left out of a record's history (the actions say what happened)."""
ACCESS = {"public": "Công khai", "restricted": "Hạn chế sử dụng"}


def _text(value: str | None) -> str | None:
    """A form field: None when blank."""
    value = (value or "").strip()
    return value or None


def _filters_of(
    q: str,
    doc_type: str | None,
    year: str | None,
    unit: str | None,
    signer: str | None,
    case_file: str | None,
) -> tuple[dict[str, str], list[str]]:
    """The filters as typed (for the form) and the problems with them (shown on the page)."""
    typed = {
        "q": q.strip(),
        "type": _text(doc_type) or "",
        "year": _text(year) or "",
        "unit": _text(unit) or "",
        "signer": _text(signer) or "",
        "case_file": _text(case_file) or "",
    }
    problems = []
    if typed["year"] and not (typed["year"].isdigit() and 1900 <= int(typed["year"]) <= 2200):
        problems.append(f"Năm '{typed['year']}' không hợp lệ: nhập bốn chữ số, ví dụ 2026.")
    return typed, problems


@router.get("/archive")
def archive_home(_user: CurrentUser) -> RedirectResponse:
    return RedirectResponse("/archive/search", status_code=303)


def _query_of(typed: dict[str, str], page: int = 1) -> SearchQuery:
    """The search the form asks for (the type resolved: a wrong one is an error to show)."""
    years = int(typed["year"]) if typed["year"] else None
    return SearchQuery(
        text=typed["q"],
        doc_type=resolve_doc_type(typed["type"]) if typed["type"] else None,
        date_from=date(years, 1, 1) if years else None,
        date_to=date(years, 12, 31) if years else None,
        unit_code=typed["unit"] or None,
        signer=typed["signer"] or None,
        file_code=typed["case_file"] or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )


def _typed_of(query: SearchQuery) -> dict[str, str]:
    """A saved search's filters as the form shows them (those the form has)."""
    year = query.date_from.year if query.date_from else None
    return {
        "q": query.text,
        "type": query.doc_type or "",
        "year": str(year) if year and query.date_to == date(year, 12, 31) else "",
        "unit": query.unit_code or "",
        "signer": query.signer or "",
        "case_file": query.file_code or "",
    }


def _link(path: str, params: dict[str, str]) -> str:
    return path + "?" + "&".join(f"{k}={quote_plus(v)}" for k, v in params.items() if v)


@router.get("/archive/search")
def archive_search(
    request: Request,
    user: CurrentUser,
    q: str = "",
    type: str | None = None,
    year: str | None = None,
    unit: str | None = None,
    signer: str | None = None,
    case_file: str | None = None,
    saved: Annotated[int | None, Query(ge=1)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_WINDOW // PAGE_SIZE)] = 1,
) -> HTMLResponse:
    ws = workspace(request)
    typed, problems = _filters_of(q, type, year, unit, signer, case_file)
    results: SearchResults | None = None
    current = None
    asked = any(typed.values()) or saved is not None
    try:
        if saved is not None:
            current, results = run_saved(
                ws, user.username, f"#{saved}", limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )
            typed = _typed_of(current.query)
        elif asked and not problems:
            results = search(ws, _query_of(typed, page), username=user.username)
    except VanthuError as exc:
        if exc.kind is not Kind.INVALID:
            raise
        problems.append(str(exc))
    total = results.total if results else 0
    pages = max(1, min(-(-total // PAGE_SIZE), MAX_WINDOW // PAGE_SIZE))
    asking = {"saved": str(saved)} if saved is not None else typed
    links = {
        n: _link("/archive/search", {**asking, "page": str(n)})
        for n in {page - 1, page + 1}
        if 1 <= n <= pages
    }
    return render(
        request,
        "archive/search.html",
        title="Tra cứu lưu trữ",
        typed=typed,
        problems=problems,
        results=results,
        asked=asked,
        page=page,
        pages=pages,
        links=links,
        exports={form: _link(f"/archive/search.{form}", asking) for form in ("xlsx", "csv")},
        current=current,
        saved_searches=list_searches(ws, user.username),
        doc_types=list(document_types()),
        files=case_files.list_files(ws),
        retention_label=retention.label,
        access_names=ACCESS,
    )


@router.get("/archive/search.{form}")
def archive_search_export(
    request: Request,
    user: CurrentUser,
    form: str,
    q: str = "",
    type: str | None = None,
    year: str | None = None,
    unit: str | None = None,
    signer: str | None = None,
    case_file: str | None = None,
    saved: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Every result the page would show, as a workbook or a CSV (audited by the engine)."""
    ws = workspace(request)
    name = None
    if saved is not None:
        found = saved_search(ws, user.username, f"#{saved}")
        query, name = found.query, found.name
    else:
        typed, problems = _filters_of(q, type, year, unit, signer, case_file)
        if problems:
            raise _invalid(problems[0])
        query = _query_of(typed)
    done = export_results(ws, query, user.username, form, name=name)
    return Response(
        done.content,
        media_type=done.content_type,
        headers={"Content-Disposition": _attachment(done.filename)},
    )


def _invalid(message: str) -> VanthuError:
    return InvalidInput(message, message, code="search.filter_invalid")


@router.post("/archive/searches")
def archive_search_save(
    request: Request,
    user: CurrentUser,
    name: Annotated[str, Form(max_length=200)],
    q: Annotated[str, Form(max_length=1000)] = "",
    type: Annotated[str, Form(max_length=100)] = "",
    year: Annotated[str, Form(max_length=10)] = "",
    unit: Annotated[str, Form(max_length=20)] = "",
    signer: Annotated[str, Form(max_length=200)] = "",
    case_file: Annotated[str, Form(max_length=60)] = "",
    share: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    typed, problems = _filters_of(q, type, year, unit, signer, case_file)
    back = _link("/archive/search", typed)
    try:
        if problems:
            raise _invalid(problems[0])
        kept = save_search(
            workspace(request), user.username, name, _query_of(typed), shared=bool(share)
        )
    except VanthuError as exc:
        if exc.kind not in (Kind.INVALID, Kind.CONFLICT):
            raise
        flash(request, f"Chưa lưu được: {exc}", "error")
        return redirect(back)
    flash(request, f"Đã lưu tìm kiếm «{kept.name}».", "success")
    return redirect(f"/archive/search?saved={kept.id}")


@router.post("/archive/searches/{search_id}/delete")
def archive_search_delete(request: Request, search_id: int, user: CurrentUser) -> Response:
    deleted = delete_search(workspace(request), user.username, f"#{search_id}")
    flash(request, f"Đã xóa tìm kiếm «{deleted}».", "success")
    return redirect("/archive/search")


@router.get("/archive/records/{record_id}")
def record_page(request: Request, record_id: str, user: CurrentUser) -> HTMLResponse:
    view = viewing.record_view(workspace(request), record_id, user.username)
    report = view.metadata.get("signature_report") or {}
    return render(
        request,
        "archive/record.html",
        title=f"Bản lưu {view.record.record_id}",
        view=view,
        record=view.record,
        report=report,
        verdicts=VERDICTS,
        roles=ROLES,
        events=EVENTS,
        actions=ACTIONS,
        history=[e for e in view.history if e.event not in QUIET],
        people=viewing.people(workspace(request)),
        access_names=ACCESS,
        retention_label=retention.label,
        keeper=user.role in viewing.KEEPERS,
        iso_day=_iso_day,
    )


def _iso_day(value: str) -> str:
    """An ISO 8601 date or time from a stored report as a day: 05/12/2026."""
    try:
        return f"{datetime.fromisoformat(value):%d/%m/%Y}"
    except ValueError:
        return value


@router.get("/archive/records/{record_id}/files/{role}")
def record_file(request: Request, record_id: str, role: str, user: CurrentUser) -> Response:
    found = viewing.download(workspace(request), record_id, role, user.username)
    return Response(
        found.content,
        media_type=found.content_type,
        headers={"Content-Disposition": _attachment(found.name)},
    )


def _attachment(name: str) -> str:
    """A Content-Disposition for a download named ``name`` (any script, RFC 6266)."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"


@router.post("/archive/records/{record_id}/check")
def record_check(request: Request, record_id: str, user: CurrentUser) -> Response:
    report = check_archive(workspace(request), record_id=record_id, actor=user.username)
    if report.ok:
        flash(request, "Đã kiểm tra: các tệp và chữ ký của bản lưu còn nguyên vẹn.", "success")
    else:
        flash(request, f"Kiểm tra thấy {len(report.problems)} vấn đề với bản lưu.", "error")
    return redirect(f"/archive/records/{record_id}")


# --- case files ------------------------------------------------------------------------------


@router.get("/archive/files")
def files_page(request: Request, user: CurrentUser) -> HTMLResponse:
    return render(
        request,
        "archive/files.html",
        title="Hồ sơ lưu trữ",
        files=case_files.list_files(workspace(request)),
        classes=RETENTION_CLASSES,
        access_names=ACCESS,
        year=date.today().year,
        archivist=user.role == "archivist",
    )


@router.post("/archive/files")
def file_open(
    request: Request,
    user: CurrentUser,
    code: Annotated[str, Form(max_length=60)],
    title: Annotated[str, Form(max_length=1000)],
    retention_class: Annotated[str, Form(max_length=20)],
    unit: Annotated[str, Form(max_length=20)] = "",
    access: Annotated[str, Form(max_length=20)] = "public",
    keywords: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    opened = case_files.open_file(
        workspace(request),
        user.username,
        code=code,
        title=title,
        retention_class=retention_class,
        unit=_text(unit),
        access=access,
        keywords=keywords,
    )
    flash(request, f"Đã mở hồ sơ {opened.code}: {opened.title}.", "success")
    return redirect(f"/archive/files/{opened.code}")


@router.get("/archive/files/{code}")
def file_page(request: Request, code: str, user: CurrentUser) -> HTMLResponse:
    found = case_files.catalogue(workspace(request), code, user.username)
    return render(
        request,
        "archive/file.html",
        title=f"Hồ sơ {code}",
        snap=found.snapshot,
        records=found.records,
        access_names=ACCESS,
        retention_label=retention.label,
        archivist=user.role == "archivist",
    )


@router.post("/archive/files/{code}/records")
def file_add(
    request: Request,
    code: str,
    user: CurrentUser,
    record_id: Annotated[str, Form(max_length=100)],
) -> Response:
    added = case_files.add_record(workspace(request), user.username, code, record_id.strip())
    flash(request, f"Đã đưa bản lưu {added.record_id} vào hồ sơ {code}.", "success")
    return redirect(f"/archive/files/{code}")


@router.post("/archive/files/{code}/close")
def file_close(request: Request, code: str, user: CurrentUser) -> Response:
    closed = case_files.close_file(workspace(request), user.username, code)
    flash(request, f"Đã đóng hồ sơ {closed.code}: từ nay không thêm, bớt văn bản.", "success")
    return redirect(f"/archive/files/{code}")


@router.post("/archive/files/{code}/export")
def file_export(request: Request, code: str, user: CurrentUser) -> Response:
    """The case file as an E-ARK transfer package (zip), built by the engine (audited)."""
    with tempfile.TemporaryDirectory(prefix="vanthu-export-") as folder:
        exported = transfers.export_file(
            workspace(request), code, Path(folder) / f"{code}.zip", user.username
        )
        content = exported.path.read_bytes()
    return Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": _attachment(exported.path.name)},
    )


# --- disposal --------------------------------------------------------------------------------


@router.get("/archive/disposal")
def disposal_page(request: Request, user: CurrentUser) -> HTMLResponse:
    ws = workspace(request)
    return render(
        request,
        "archive/disposal.html",
        title="Hủy tài liệu hết thời hạn bảo quản",
        expired=viewing.expired_records(ws, user.username),
        proposals=disposal.list_disposals(ws),
        steps={k: step.title for k, step in ws.definition(disposal.DEFINITION).steps.items()},
        retention_label=retention.label,
    )


@router.post("/archive/disposal")
def disposal_propose(
    request: Request,
    user: CurrentUser,
    reason: Annotated[str, Form(max_length=2000)] = "",
    record: Annotated[list[str] | None, Form(max_length=100)] = None,
) -> Response:
    chosen = record or []
    number = disposal.propose(workspace(request), user.username, chosen, reason)
    flash(
        request,
        f"Đã lập tờ trình hủy #{number} ({len(chosen)} bản lưu); tờ trình chờ duyệt.",
        "success",
    )
    return redirect("/archive/disposal")
