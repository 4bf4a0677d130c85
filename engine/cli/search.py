"""`vanthu archive search`: finding archived records, ranked, with highlighted matches; saving
the search (`--save`), running a saved one (`--saved`), the results to Excel or CSV (`--xlsx`,
`--csv`); `vanthu archive searches`: the saved searches (list, rename, share, delete).

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.cli.app import (
    AsJson,
    AsUser,
    BadValue,
    VanthuGroup,
    archive_app,
    echo_json,
    workspace,
)

if TYPE_CHECKING:
    from engine.archive.search import SearchHit, SearchQuery, SearchResults
    from engine.core.workspace import Workspace

searches_app = typer.Typer(
    help="Các tìm kiếm đã lưu: xem (mặc định), đổi tên, chia sẻ với đơn vị, xóa.",
    cls=VanthuGroup,
    invoke_without_command=True,
    add_completion=False,
)
archive_app.add_typer(searches_app, name="searches")


def parse_day(value: str, option: str) -> date:
    """A day typed as 31/12/2026, 31-12-2026 or 2026-12-31."""
    text = value.strip()
    for pattern in ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    from engine.core.errors import InvalidInput

    raise InvalidInput(
        f"{option}: ngày '{value}' không hợp lệ (viết dd/mm/yyyy, vd. 31/12/2026)",
        f"{option}: '{value}' is not a date (write dd/mm/yyyy, e.g. 31/12/2026)",
        code="input.date_invalid",
    )


def hit_json(hit: SearchHit) -> dict[str, Any]:
    from engine.archive import retention

    data = hit.to_json()
    data["retention"] = retention.label(hit.retention_years)
    return data


def results_json(results: SearchResults) -> dict[str, Any]:
    return {
        "query": results.query.text,
        "total": results.total,
        "total_exact": results.total_exact,
        "offset": results.query.offset,
        "limit": results.query.limit,
        "results": [hit_json(h) for h in results.hits],
    }


@archive_app.command("search")
def archive_search(
    as_user: AsUser,
    text: Annotated[
        str, typer.Argument(help="Từ cần tìm; không dấu cũng được: 'quyet dinh bo nhiem'.")
    ] = "",
    doc_type: Annotated[
        str | None, typer.Option("--type", help="Loại văn bản: 'Quyết định' hoặc 'QĐ'.")
    ] = None,
    number: Annotated[
        int | None, typer.Option("--number", min=1, max=10**9, help="Số văn bản.")
    ] = None,
    symbol: Annotated[
        str | None, typer.Option("--symbol", help="Ký hiệu hoặc một phần, vd. 'QĐ-SNV'.")
    ] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="Ban hành từ ngày (dd/mm/yyyy).")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Ban hành đến ngày (dd/mm/yyyy).")
    ] = None,
    agency: Annotated[str | None, typer.Option("--agency", help="Mã cơ quan ban hành.")] = None,
    signer: Annotated[str | None, typer.Option("--signer", help="Người ký (một phần tên).")] = None,
    file_code: Annotated[str | None, typer.Option("--file", help="Mã hồ sơ.")] = None,
    retention_class: Annotated[
        str | None,
        typer.Option("--retention", help="Thời hạn bảo quản: Vĩnh viễn, 70, 50, 30, 20, 10, 5."),
    ] = None,
    direction: Annotated[
        str | None, typer.Option("--direction", help="outgoing (đi) hoặc incoming (đến).")
    ] = None,
    as_json: AsJson = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="Số kết quả tối đa.")] = 20,
    offset: Annotated[
        int, typer.Option("--offset", min=0, max=10**6, help="Bỏ qua bấy nhiêu kết quả đầu.")
    ] = 0,
    save: Annotated[
        str | None, typer.Option("--save", help="Lưu câu tìm và bộ lọc này với tên đã cho.")
    ] = None,
    share: Annotated[
        bool, typer.Option("--share", help="Cùng --save: chia sẻ với đơn vị của mình.")
    ] = False,
    saved: Annotated[
        str | None, typer.Option("--saved", help="Chạy lại tìm kiếm đã lưu (tên hoặc #số).")
    ] = None,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Xuất mọi kết quả ra tệp Excel.")
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Xuất mọi kết quả ra tệp CSV (UTF-8).")
    ] = None,
) -> None:
    """Tìm bản lưu theo nội dung và bộ lọc, xếp theo mức khớp, tô đậm chỗ khớp; lưu câu tìm,
    chạy lại câu đã lưu, xuất kết quả ra Excel/CSV."""
    from engine.archive import retention
    from engine.archive.saved_searches import run_saved, save_search
    from engine.archive.search import SearchQuery, search

    typed = any(
        v not in (None, "")
        for v in (text, doc_type, number, symbol, date_from, date_to, agency, signer, file_code)
    ) or any(v is not None for v in (retention_class, direction))
    if saved is not None and (typed or save is not None):
        raise BadValue("--saved chạy câu tìm đã lưu: không kèm từ khóa, bộ lọc hay --save")
    if share and save is None:
        raise BadValue("--share chỉ dùng cùng --save")
    ws = workspace()
    if saved is not None:
        view, results = run_saved(ws, as_user, saved, limit=limit, offset=offset)
        _export(ws, view.query, as_user, xlsx, csv_file, name=view.name)
        if not as_json:
            typer.echo(f"Tìm kiếm đã lưu «{view.name}»: {view.describe()}")
        _show(results, as_json=as_json)
        return
    years = retention.parse_class(retention_class, "--retention") if retention_class else None
    permanent = retention_class is not None and years is None
    query = SearchQuery(
        text=text,
        doc_type=doc_type,
        number=number,
        symbol=symbol,
        date_from=parse_day(date_from, "--from") if date_from else None,
        date_to=parse_day(date_to, "--to") if date_to else None,
        agency_code=agency,
        signer=signer,
        file_code=file_code,
        retention_years=years,
        permanent=permanent or None,
        direction=direction,
        limit=limit,
        offset=offset,
    )
    results = search(ws, query, username=as_user)
    if save is not None:
        kept = save_search(ws, as_user, save, query, shared=share)
        if not as_json:
            where = "chia sẻ với đơn vị" if kept.shared else "chỉ mình bạn xem"
            typer.echo(f"Đã lưu tìm kiếm #{kept.id} «{kept.name}» ({where}).")
    _export(ws, query, as_user, xlsx, csv_file)
    _show(results, as_json=as_json)


def _export(
    ws: Workspace,
    query: SearchQuery,
    username: str,
    xlsx: Path | None,
    csv_file: Path | None,
    *,
    name: str | None = None,
) -> None:
    """Write the results to the files asked for; a line on standard error for each."""
    from engine.archive.search_export import export_results

    for form, path in (("xlsx", xlsx), ("csv", csv_file)):
        if path is None:
            continue
        done = export_results(ws, query, username, form, name=name)
        path.write_bytes(done.content)
        more = "; còn nữa, thu hẹp điều kiện để xuất đủ" if done.truncated else ""
        typer.echo(f"Đã xuất {done.rows} bản lưu ra {path}{more}", err=True)


def _show(results: SearchResults, *, as_json: bool) -> None:
    from engine.archive import retention

    offset = results.query.offset
    if as_json:
        echo_json(results_json(results))
        return
    if not results.hits:
        typer.echo("Không tìm thấy bản lưu nào.")
        return
    shown = f"{offset + 1}–{offset + len(results.hits)}"
    more = "" if results.total_exact else "hơn "
    typer.echo(f"Tìm thấy {more}{results.total} bản lưu (hiện {shown}):")
    for n, hit in enumerate(results.hits, start=offset + 1):
        typer.echo("")
        typer.echo(_heading(n, hit))
        typer.echo(f"    {hit.subject_text()}")
        details = [hit.agency_name or hit.agency_code]
        if hit.signer:
            details.append(f"Người ký: {hit.signer}")
        if hit.file_code:
            details.append(f"Hồ sơ: {hit.file_code}")
        details.append(f"Bảo quản: {retention.label(hit.retention_years)}")
        if hit.access == "restricted":
            details.append("Hạn chế sử dụng")
        typer.echo("    " + " · ".join(d for d in details if d))
        excerpt = hit.snippet_text()
        if excerpt:
            typer.echo(f"    {excerpt}")


def _heading(n: int, hit: SearchHit) -> str:
    from engine.core.text import vietnam_time

    parts = [f"{n}. {hit.record_id}", hit.doc_type]
    if hit.symbol:
        parts.append(f"số {hit.symbol}")
    if hit.issued_at is not None:
        parts.append(f"ngày {vietnam_time(hit.issued_at):%d/%m/%Y}")
    return "  ".join(parts)


# --- saved searches ---------------------------------------------------------------------------


@searches_app.callback()
def searches_list(
    ctx: typer.Context,
    as_user: Annotated[
        str | None, typer.Option("--as", help="Tên đăng nhập của người thực hiện.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Các tìm kiếm đã lưu của mình và của đơn vị chia sẻ."""
    if ctx.invoked_subcommand is not None:
        return
    if as_user is None:
        raise BadValue("cần --as: tên đăng nhập của người xem danh sách")
    from engine.archive.saved_searches import list_searches

    found = list_searches(workspace(), as_user)
    if as_json:
        echo_json([v.to_json() for v in found])
        return
    if not found:
        typer.echo("Chưa có tìm kiếm nào được lưu.")
        return
    for view in found:
        whose = "của bạn" if view.mine else f"của {view.owner_name}"
        shared = ", chia sẻ với đơn vị" if view.shared else ""
        typer.echo(f"#{view.id}  {view.name} ({whose}{shared}): {view.describe()}")


@searches_app.command("rename")
def searches_rename(
    name: Annotated[str, typer.Argument(help="Tên (hoặc #số) tìm kiếm đã lưu.")],
    new_name: Annotated[str, typer.Argument(help="Tên mới.")],
    as_user: AsUser,
) -> None:
    """Đổi tên một tìm kiếm đã lưu của mình."""
    from engine.archive.saved_searches import rename_search

    view = rename_search(workspace(), as_user, name, new_name)
    typer.echo(f"Đã đổi tên tìm kiếm #{view.id} thành «{view.name}».")


@searches_app.command("share")
def searches_share(
    name: Annotated[str, typer.Argument(help="Tên (hoặc #số) tìm kiếm đã lưu.")],
    as_user: AsUser,
    off: Annotated[bool, typer.Option("--off", help="Thôi chia sẻ: chỉ mình xem.")] = False,
) -> None:
    """Chia sẻ tìm kiếm đã lưu với đơn vị của mình (hoặc thôi chia sẻ)."""
    from engine.archive.saved_searches import share_search

    view = share_search(workspace(), as_user, name, not off)
    state = "chia sẻ với đơn vị" if view.shared else "chỉ mình bạn xem"
    typer.echo(f"Tìm kiếm #{view.id} «{view.name}»: {state}.")


@searches_app.command("delete")
def searches_delete(
    name: Annotated[str, typer.Argument(help="Tên (hoặc #số) tìm kiếm đã lưu.")],
    as_user: AsUser,
) -> None:
    """Xóa một tìm kiếm đã lưu của mình."""
    from engine.archive.saved_searches import delete_search

    deleted = delete_search(workspace(), as_user, name)
    typer.echo(f"Đã xóa tìm kiếm «{deleted}».")
