"""`vanthu verify`: the signatures of any PDF, as text, JSON, or a report in HTML or PDF."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from engine.cli import app, echo_json, settings, workspace
from engine.config import CONFIG_FILE
from engine.errors import EngineError, InvalidInput
from signing import DocumentReport, SigningError, verify_document

VERDICT_EXIT = {"valid": 0, "invalid": 1, "indeterminate": 2, "unsigned": 4}
UNREADABLE_EXIT = 3


@app.command("verify")
def verify(
    file: Path,
    trust: Annotated[
        list[Path] | None,
        typer.Option(
            help="Thêm chứng thư gốc tin cậy (PEM/DER) cho lần kiểm tra này; lặp lại được."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Chỉ in báo cáo JSON.")] = False,
    report_path: Annotated[
        Path | None,
        typer.Option("--report", help="Ghi báo cáo tiếng Việt ra tệp .html hoặc .pdf."),
    ] = None,
    offline: Annotated[
        bool, typer.Option(help="Không hỏi dịch vụ OCSP/CRL; chỉ dùng thông tin trong tệp.")
    ] = False,
) -> None:
    """Kiểm tra chữ ký số của một tệp PDF bất kỳ (của cơ quan mình hay cơ quan khác)."""
    if report_path is not None and report_path.suffix.lower() not in (".html", ".htm", ".pdf"):
        raise InvalidInput(f"--report {report_path}: chỉ ghi được tệp .html hoặc .pdf")
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    try:
        data = file.read_bytes()
    except OSError as exc:
        _unreadable(file, f"không đọc được: {exc.strerror}", as_json)
    roots = _roots(trust or [])
    try:
        report = verify_document(data, roots, fetch=not offline)
    except SigningError as exc:
        _unreadable(file, str(exc), as_json)
    if report_path is not None:
        _write_report(report_path, report, file, data)
    if as_json:
        echo_json(report.to_json())
    else:
        _print_report(file, report)
        if report_path is not None:
            typer.echo(f"Đã ghi báo cáo {report_path}")
    raise typer.Exit(VERDICT_EXIT.get(report.verdict, 1))


def _roots(extra: list[Path]) -> list[bytes]:
    roots = []
    for path in extra:
        try:
            roots.append(path.read_bytes())
        except OSError as exc:
            raise InvalidInput(f"--trust {path}: không đọc được ({exc.strerror})") from exc
    if not (settings().home / CONFIG_FILE).exists():  # not in an agency folder: --trust only
        if not roots:
            raise InvalidInput(
                "không ở trong thư mục cơ quan nào (không có vanthu.toml): cho biết chứng thư "
                "gốc tin cậy bằng --trust ROOT.pem"
            )
        return roots
    try:
        from engine.keys import trust_roots

        roots += trust_roots(workspace())
    except EngineError:
        if not roots:
            raise
    return roots


def _write_report(path: Path, report: DocumentReport, file: Path, data: bytes) -> None:
    from engine.verify_report import html_to_pdf, render_html

    html = render_html(report, file.name, data)
    if path.suffix.lower() == ".pdf":
        path.write_bytes(html_to_pdf(html, soffice=_soffice()))
    else:
        path.write_text(html, encoding="utf-8")


def _soffice() -> str:
    try:
        return settings().soffice
    except EngineError:  # outside an agency folder: the LibreOffice on PATH
        return "soffice"


def _unreadable(file: Path, problem: str, as_json: bool) -> NoReturn:
    if as_json:
        echo_json({"file": str(file), "verdict": None, "error": problem})
    else:
        typer.secho(f"Lỗi: {file}: {problem}", err=True, fg=typer.colors.RED)
    raise typer.Exit(UNREADABLE_EXIT)


def _print_report(file: Path, report: DocumentReport) -> None:
    from engine.verify_report import CHANGES, COVERS, KINDS, REVOCATIONS, VERDICTS

    typer.echo(f"{file}: {VERDICTS.get(report.verdict, report.verdict)}")
    for sig in report.signatures:
        when = sig.signing_time.strftime("%d/%m/%Y %H:%M:%S %z") if sig.signing_time else "?"
        stamp = " (có dấu thời gian)" if sig.timestamp_time else ""
        typer.echo(
            f"  - {sig.field}: {sig.signer} ({sig.organisation or ''}), "
            f"{KINDS.get(sig.kind, sig.kind)}, số sê-ri {sig.serial:x}, cấp bởi {sig.issuer}"
        )
        typer.echo(
            f"      ký lúc {when}{stamp}; nguyên vẹn: {'có' if sig.intact else 'KHÔNG'}; tin cậy: "
            f"{'có' if sig.trusted else 'KHÔNG'}; thu hồi: "
            f"{REVOCATIONS.get(sig.revocation, sig.revocation)}; phạm vi: "
            f"{COVERS.get(sig.covers, sig.covers)}; thay đổi sau khi ký: "
            f"{CHANGES.get(sig.modification, sig.modification)}; mức: {sig.level or '-'}; "
            f"kết luận: {VERDICTS.get(sig.verdict, sig.verdict)}"
        )
        for problem in sig.problems:
            typer.echo(f"      ! {problem}")
    for reason in report.reasons_en:
        typer.echo(f"  [en] {reason}")
