"""`vanthu verify`: the signatures of any PDF, as text, JSON, or a report in HTML or PDF.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from engine.cli.app import app, echo_json, settings, workspace

if TYPE_CHECKING:
    from engine.core.workspace import Workspace
    from signing import DocumentReport

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
    from engine.signatures.verification import check_report_path, report_file, verify_file
    from signing import SigningError

    if report_path is not None:
        check_report_path(report_path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        _unreadable(file, f"không đọc được: {exc.strerror}", as_json)
    try:
        report = verify_file(_agency(), data, trust or [], fetch=not offline)
    except SigningError as exc:
        if not exc.code.startswith("signing.pdf."):
            raise  # the trust lists, not the file: the error's own kind and exit code
        _unreadable(file, str(exc), as_json)
    if report_path is not None:
        as_pdf = report_path.suffix.lower() == ".pdf"
        soffice = settings().soffice if _agency_folder() else "soffice"
        made = report_file(report, file.name, data, as_pdf=as_pdf, soffice=soffice)
        report_path.write_bytes(made)
    if as_json:
        echo_json(report.to_json())
    else:
        _print_report(file, report)
        if report_path is not None:
            typer.echo(f"Đã ghi báo cáo {report_path}")
    raise typer.Exit(VERDICT_EXIT.get(report.verdict, 1))


def _agency_folder() -> bool:
    from engine.core.config import CONFIG_FILE

    return (settings().home / CONFIG_FILE).exists()


def _agency() -> Workspace | None:
    """The agency whose trust roots also judge, when the command runs in one."""
    return workspace(migrate=False) if _agency_folder() else None


def _unreadable(file: Path, problem: str, as_json: bool) -> NoReturn:
    if as_json:
        echo_json({"file": str(file), "verdict": None, "error": problem})
    else:
        typer.secho(f"Lỗi: {file}: {problem}", err=True, fg=typer.colors.RED)
    raise typer.Exit(UNREADABLE_EXIT)


def _print_report(file: Path, report: DocumentReport) -> None:
    from engine.signatures.labels import (
        CHANGES,
        COVERS,
        KINDS,
        REVOCATIONS,
        TRUST_LISTS,
        VERDICTS,
    )

    typer.echo(f"{file}: {VERDICTS.get(report.verdict, report.verdict)}")
    judged = ", ".join(TRUST_LISTS.get(name, name) for name in report.trust_lists)
    typer.echo(f"  Danh sách tin cậy dùng để kiểm tra: {judged or 'không có'}")
    for sig in report.signatures:
        when = sig.signing_time.strftime("%d/%m/%Y %H:%M:%S %z") if sig.signing_time else "?"
        stamp = " (có dấu thời gian)" if sig.timestamp_time else ""
        typer.echo(
            f"  - {sig.field}: {sig.signer} ({sig.organisation or ''}), "
            f"{KINDS.get(sig.kind, sig.kind)}, số sê-ri {sig.serial:x}, cấp bởi {sig.issuer}"
        )
        trusted = f"có ({TRUST_LISTS.get(sig.trust_list or '', '?')})" if sig.trusted else "KHÔNG"
        typer.echo(
            f"      định dạng {sig.format}; ký lúc {when}{stamp}; nguyên vẹn: "
            f"{'có' if sig.intact else 'KHÔNG'}; tin cậy: {trusted}; thu hồi: "
            f"{REVOCATIONS.get(sig.revocation, sig.revocation)}; phạm vi: "
            f"{COVERS.get(sig.covers, sig.covers)}; thay đổi sau khi ký: "
            f"{CHANGES.get(sig.modification, sig.modification)}; mức: {sig.level or '-'}; "
            f"kết luận: {VERDICTS.get(sig.verdict, sig.verdict)}"
        )
        for problem in sig.problems:
            typer.echo(f"      ! {problem}")
    for reason in report.reasons:
        typer.echo(f"  • {reason}")
