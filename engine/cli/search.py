"""`vanthu archive search`: finding archived records, ranked, with highlighted matches.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from engine.cli.app import AsJson, AsUser, archive_app, echo_json, workspace

if TYPE_CHECKING:
    from engine.archive.search import SearchHit, SearchResults


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
) -> None:
    """Tìm bản lưu theo nội dung và bộ lọc, xếp theo mức khớp, tô đậm chỗ khớp."""
    from engine.archive import retention
    from engine.archive.search import SearchQuery, search

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
    results = search(workspace(), query, username=as_user)
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
