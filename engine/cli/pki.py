"""`vanthu pki …` (the DEMO PKI: certificates, revocation, its HTTP services) and
`vanthu ltv refresh` (renewing archived records' document timestamps).

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.app import AsJson, AsUser, echo_json, ltv_app, pki_app, settings, workspace

REASONS_HELP = (
    "unspecified, key-compromise, ca-compromise, affiliation-changed, superseded, "
    "cessation-of-operation, certificate-hold, privilege-withdrawn"
)


@pki_app.command("list")
def pki_list(as_json: AsJson = False) -> None:
    """Các chứng thư số bộ khóa DEMO đã cấp: loại, sê-ri, hiệu lực, tình trạng thu hồi."""
    from engine.core.text import vietnam_time
    from engine.signatures.certificates import KINDS, certificates

    states = certificates(workspace(migrate=False))
    if as_json:
        echo_json([s.to_json() for s in states])
        return
    for s in states:
        cert, revocation = s.certificate, s.revocation
        state = "còn hiệu lực"
        if revocation is not None:
            when = vietnam_time(revocation.revoked_at)
            state = f"ĐÃ THU HỒI lúc {when:%H:%M %d/%m/%Y} ({revocation.reason_vi})"
        elif s.expired:
            state = "hết hạn"
        typer.echo(
            f"{s.issued.serial:x}  {KINDS.get(s.issued.kind, s.issued.kind)} {s.issued.name}: "
            f"{s.common_name} — {cert.not_valid_before_utc:%d/%m/%Y}–"
            f"{cert.not_valid_after_utc:%d/%m/%Y}, {state}"
        )


@pki_app.command("revoke")
def pki_revoke(
    as_user: AsUser,
    user: Annotated[
        str | None, typer.Option("--user", help="Thu hồi chứng thư cá nhân của người dùng này.")
    ] = None,
    serial: Annotated[str | None, typer.Option("--serial", help="Sê-ri (hex).")] = None,
    reason: Annotated[str, typer.Option("--reason", help=f"Lý do: {REASONS_HELP}.")] = (
        "unspecified"
    ),
) -> None:
    """Thu hồi một chứng thư số: chữ ký tiếp theo bằng nó bị từ chối, OCSP/CRL báo đã thu hồi."""
    from engine.signatures.certificates import revoke_certificate

    done = revoke_certificate(workspace(), as_user, user=user, serial=serial, reason=reason)
    typer.echo(
        f"Đã thu hồi chứng thư {done.serial:x} ({done.name}) — lý do: {done.revocation.reason_vi}"
    )


@pki_app.command("serve")
def pki_serve(
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Cổng (mặc định: cổng ghi trong pki.json)."),
    ] = None,
) -> None:
    """Chạy dịch vụ OCSP, CRL, TSA của bộ khóa DEMO (đến khi bấm Ctrl+C)."""
    from signing.demo import load_demo_pki, serve_pki

    pki = load_demo_pki(settings().effective_pki_dir)
    typer.echo(f"Dịch vụ bộ khóa DEMO tại http://127.0.0.1:{port or pki.port} (Ctrl+C để dừng)")
    serve_pki(pki, port)


@ltv_app.command("refresh")
def ltv_refresh(
    as_user: AsUser,
    within_days: Annotated[
        int,
        typer.Option(
            "--within-days",
            min=0,
            max=36500,
            help="Gia hạn khi dấu thời gian hết hạn trong N ngày.",
        ),
    ] = 90,
    as_json: AsJson = False,
) -> None:
    """Thêm dấu thời gian tài liệu mới cho các bản lưu có dấu thời gian sắp hết hạn."""
    from engine.archive.ltv import refresh
    from engine.core.text import vietnam_time

    report = refresh(workspace(), within_days=within_days, actor=as_user)
    if as_json:
        echo_json(report.to_json())
    else:
        for item in report.refreshed:
            until = f"{vietnam_time(item.new_expiry):%d/%m/%Y}" if item.new_expiry else "?"
            typer.echo(
                f"{item.record_id}: đã gia hạn (phiên bản {item.revision}, dấu thời gian mới "
                f"có giá trị đến {until})"
            )
        for failure in report.failures:
            typer.echo(f"Lỗi: {failure}", err=True)
        typer.echo(
            f"Đã xem {report.checked} bản lưu: gia hạn {len(report.refreshed)}, "
            f"chưa đến hạn {report.not_due}, không có dấu thời gian tài liệu "
            f"{len(report.without_timestamp)}, lỗi {len(report.failures)}"
        )
    if report.failures:
        raise typer.Exit(1)
