"""`vanthu pki …` (the DEMO PKI: certificates, revocation, its HTTP services) and
`vanthu ltv refresh` (renewing archived records' document timestamps)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from cryptography import x509

from engine import archive, audit, keys
from engine.cli import AsUser, app, echo_json, settings, workspace
from engine.db import transaction
from engine.errors import InvalidInput, NotAllowed, NotFound
from engine.flows import configure_prefect
from engine.runtime import user_named
from engine.text import vietnam_time
from signing import (
    REVOCATION_REASONS,
    DemoPKI,
    IssuedCertificate,
    issued_certificates,
    revocations,
    revoke,
    serve_pki,
)

pki_app = typer.Typer(help="Bộ khóa DEMO: chứng thư số, thu hồi, dịch vụ OCSP/CRL/TSA.")
ltv_app = typer.Typer(help="Kiểm tra dài hạn (LTV) các bản lưu trữ.", no_args_is_help=True)
pki_app.info.no_args_is_help = True
app.add_typer(pki_app, name="pki")
app.add_typer(ltv_app, name="ltv")

REVOKERS = frozenset({"admin", "clerk"})
"""Who may revoke any certificate: the administrator, and the clerk who keeps the agency's seal
and key devices (Decree 30, Art. 33). A person may always revoke their own certificate."""
_KINDS = {
    "ca": "CA",
    "ocsp": "máy chủ OCSP",
    "tsa": "dịch vụ dấu thời gian",
    "person": "cá nhân",
    "organisation": "cơ quan",
}


@pki_app.command("list")
def pki_list(
    as_json: Annotated[bool, typer.Option("--json", help="In JSON.")] = False,
) -> None:
    """Các chứng thư số bộ khóa DEMO đã cấp: loại, sê-ri, hiệu lực, tình trạng thu hồi."""
    pki = keys.pki(workspace())
    revoked = revocations(pki)
    rows = []
    for issued in issued_certificates(pki):
        cert = issued.load()
        revocation = revoked.get(issued.serial)
        rows.append(
            {
                "serial": f"{issued.serial:x}",
                "kind": issued.kind,
                "name": issued.name,
                "subject": cert.subject.rfc4514_string(),
                "not_before": cert.not_valid_before_utc.isoformat(),
                "not_after": cert.not_valid_after_utc.isoformat(),
                "revoked": revocation is not None,
                "revoked_at": revocation.revoked_at.isoformat() if revocation else None,
                "reason": revocation.reason if revocation else None,
            }
        )
    if as_json:
        echo_json(rows)
        return
    for row, issued in zip(rows, issued_certificates(pki), strict=True):
        cert = issued.load()
        state = "còn hiệu lực"
        revocation = revoked.get(issued.serial)
        if revocation is not None:
            when = vietnam_time(revocation.revoked_at)
            state = f"ĐÃ THU HỒI lúc {when:%H:%M %d/%m/%Y} ({revocation.reason_vi})"
        elif cert.not_valid_after_utc < datetime.now(UTC):
            state = "hết hạn"
        typer.echo(
            f"{row['serial']}  {_KINDS.get(issued.kind, issued.kind)} {issued.name}: "
            f"{_cn(cert)} — {cert.not_valid_before_utc:%d/%m/%Y}–"
            f"{cert.not_valid_after_utc:%d/%m/%Y}, {state}"
        )


@pki_app.command("revoke")
def pki_revoke(
    as_user: AsUser,
    user: Annotated[
        str | None, typer.Option("--user", help="Thu hồi chứng thư cá nhân của người dùng này.")
    ] = None,
    serial: Annotated[str | None, typer.Option("--serial", help="Sê-ri (hex).")] = None,
    reason: Annotated[
        str, typer.Option("--reason", help=f"Lý do: {', '.join(REVOCATION_REASONS)}.")
    ] = "unspecified",
) -> None:
    """Thu hồi một chứng thư số: chữ ký tiếp theo bằng nó bị từ chối, OCSP/CRL báo đã thu hồi."""
    ws = workspace()
    pki = keys.pki(ws)
    target = _target(pki, user, serial)
    with transaction(ws.db) as session:
        actor = user_named(session, as_user)
        own = target.kind == "person" and target.name == as_user
        if actor.role not in REVOKERS and not own:
            raise NotAllowed(f"{as_user} ({actor.role}) không được thu hồi chứng thư số")
        revocation = revoke(pki, target.serial, reason)
        audit.append(
            session,
            actor=as_user,
            event="certificate_revoked",
            detail={
                "serial": f"{target.serial:x}",
                "kind": target.kind,
                "name": target.name,
                "reason": revocation.reason,
                "revoked_at": revocation.revoked_at.isoformat(),
            },
        )
    typer.echo(
        f"Đã thu hồi chứng thư {target.serial:x} ({target.name}) — lý do: {revocation.reason_vi}"
    )


@pki_app.command("serve")
def pki_serve(
    port: Annotated[
        int | None, typer.Option(help="Cổng (mặc định: cổng ghi trong pki.json).")
    ] = None,
) -> None:
    """Chạy dịch vụ OCSP, CRL, TSA của bộ khóa DEMO (đến khi bấm Ctrl+C)."""
    from signing import load_demo_pki

    pki = load_demo_pki(settings().effective_pki_dir)
    typer.echo(f"Dịch vụ bộ khóa DEMO tại http://127.0.0.1:{port or pki.port} (Ctrl+C để dừng)")
    serve_pki(pki, port)


@ltv_app.command("refresh")
def ltv_refresh(
    as_user: AsUser,
    within_days: Annotated[
        int, typer.Option("--within-days", help="Gia hạn khi dấu thời gian hết hạn trong N ngày.")
    ] = 90,
    as_json: Annotated[bool, typer.Option("--json", help="In JSON.")] = False,
) -> None:
    """Thêm dấu thời gian tài liệu mới cho các bản lưu có dấu thời gian sắp hết hạn."""
    configure_prefect(settings())
    from engine import ltv

    ws = workspace()
    archive.require_keeper(ws, as_user, "gia hạn dấu thời gian bản lưu")
    report = ltv.refresh(ws, within_days=within_days, actor=as_user)
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


def _target(pki: DemoPKI, user: str | None, serial: str | None) -> IssuedCertificate:
    if (user is None) == (serial is None):
        raise InvalidInput("cần đúng một trong hai: --user TÊN hoặc --serial SÊ-RI")
    issued = issued_certificates(pki)
    if user is not None:
        found = [c for c in issued if c.kind == "person" and c.name == user]
        if not found:
            raise NotFound(f"người dùng '{user}' không có chứng thư số cá nhân trong bộ khóa")
        return found[-1]
    try:
        number = int(str(serial).lower().removeprefix("0x").replace(":", ""), 16)
    except ValueError as exc:
        raise InvalidInput(f"sê-ri '{serial}' không phải số hex") from exc
    for cert in issued:
        if cert.serial == number:
            return cert
    raise NotFound(f"bộ khóa không có chứng thư sê-ri {number:x}")


def _cn(cert: x509.Certificate) -> str:
    values = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(values[0].value) if values else cert.subject.rfc4514_string()
