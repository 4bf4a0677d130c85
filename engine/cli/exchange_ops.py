"""The exchange between agencies: peers, delivery status, recall and replacement.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from engine.cli.app import (
    AsJson,
    AsUser,
    BadValue,
    DocumentId,
    echo_json,
    exchange_app,
    peer_app,
    workspace,
)
from engine.cli.files import read_upload

MAX_PEM_BYTES = 256 * 1024
"""A certificate with its chain in PEM is a few kilobytes."""


def _time(moment: datetime | None) -> str:
    from engine.core.text import vietnam_time

    return vietnam_time(moment).strftime("%d/%m/%Y %H:%M") if moment else ""


@exchange_app.command("setup")
def exchange_setup(
    as_user: AsUser,
    organ_id: Annotated[str, typer.Option("--organ-id", help="Mã định danh, ví dụ 000.00.00.H41.")],
) -> None:
    """Đặt mã định danh của cơ quan (quản trị viên)."""
    from engine.exchange import set_organ_id

    done = set_organ_id(workspace(), as_user, organ_id)
    typer.echo(f"Mã định danh của cơ quan: {done}")
    typer.echo(
        "  Tiếp theo: vanthu exchange identity --out co-quan.pem (gửi cho cơ quan liên thông)"
    )


@exchange_app.command("identity")
def exchange_identity(
    out: Annotated[
        Path | None, typer.Option("--out", help="Ghi chứng thư số và chuỗi chứng thư (PEM).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """In mã định danh của cơ quan; ghi chứng thư số của cơ quan để cơ quan liên thông thêm."""
    from engine.exchange import identity

    found = identity(workspace())
    if out is not None:
        out.write_text(found.certificate_pem, encoding="ascii")
    if as_json:
        echo_json({"organ_id": found.organ_id, "name": found.name, "certificate": str(out or "")})
        return
    typer.echo(f"{found.organ_id}  {found.name}")
    if out is not None:
        typer.echo(f"  Chứng thư số (kèm chuỗi chứng thư): {out}")
        typer.echo(
            f"  Cơ quan nhận chạy: vanthu exchange peer add {found.organ_id} "
            f'--name "{found.name}" --url URL --certificate {out.name} --as quantri'
        )


@peer_app.command("add")
def peer_add(
    organ_id: Annotated[str, typer.Argument(help="Mã định danh của cơ quan liên thông.")],
    as_user: AsUser,
    name: Annotated[str, typer.Option("--name", help="Tên cơ quan.")],
    url: Annotated[str, typer.Option("--url", help="Địa chỉ Vanthu của cơ quan, http(s)://…")],
    certificate: Annotated[
        Path, typer.Option("--certificate", help="Chứng thư số của cơ quan (PEM, kèm chuỗi).")
    ],
) -> None:
    """Thêm cơ quan liên thông (quản trị viên): chỉ nhận gói tin do chứng thư số này ký."""
    from engine.exchange import add_peer

    pem = read_upload(certificate, "--certificate", MAX_PEM_BYTES)
    peer = add_peer(workspace(), as_user, organ_id, name, url, pem.data, str(certificate))
    typer.echo(f"Đã thêm cơ quan liên thông {peer.organ_id}: {peer.name} ({peer.url})")
    typer.echo(f"  Chứng thư số: {peer.subject}")
    typer.echo(f"  SHA-256: {peer.fingerprint}")


@peer_app.command("list")
def peer_list(as_json: AsJson = False) -> None:
    """Các cơ quan liên thông."""
    from engine.exchange import list_peers

    peers = list_peers(workspace())
    if as_json:
        echo_json(
            [
                {
                    "organ_id": p.organ_id,
                    "name": p.name,
                    "url": p.url,
                    "subject": p.subject,
                    "fingerprint": p.fingerprint,
                    "not_after": p.not_after.isoformat(),
                    "added_at": p.added_at.isoformat(),
                    "active": p.active,
                }
                for p in peers
            ]
        )
        return
    if not peers:
        typer.echo("Chưa có cơ quan liên thông (vanthu exchange peer add …).")
    for p in peers:
        typer.echo(f"{p.organ_id}  {p.name}  {p.url}  (chứng thư đến {_time(p.not_after)})")


@peer_app.command("remove")
def peer_remove(
    organ_id: Annotated[str, typer.Argument(help="Mã định danh của cơ quan liên thông.")],
    as_user: AsUser,
) -> None:
    """Xóa cơ quan liên thông (quản trị viên); các gói tin đã trao đổi vẫn được giữ."""
    from engine.exchange import remove_peer

    remove_peer(workspace(), as_user, organ_id)
    typer.echo(f"Đã xóa cơ quan liên thông {organ_id}")


STATES = {
    "pending": "đang chờ gửi",
    "sent": "đã gửi",
    "failed": "gửi không được",
    "refused": "bị từ chối",
}


@exchange_app.command("status")
def exchange_status_command(document: DocumentId, as_json: AsJson = False) -> None:
    """Tình hình văn bản gửi liên thông, theo từng cơ quan nhận."""
    from engine.exchange import exchange_status
    from engine.workflow.recall import LABEL, recall_of

    ws = workspace()
    found = exchange_status(ws, document)
    if as_json:
        echo_json([_status_json(r) for r in found])
        return
    recalled = recall_of(ws, document)
    if recalled is not None:
        typer.echo(f"{LABEL} lúc {_time(recalled.at)} — lý do: {recalled.reason}")
    if not found:
        typer.echo(f"Văn bản #{document} không gửi liên thông cho cơ quan nào.")
    for r in found:
        line = f"{r.organ_id}  {r.name}: {STATES.get(r.state, r.state)}"
        if r.sent_at:
            line += f" lúc {_time(r.sent_at)}"
        if r.state != "sent" and r.error:
            line += f" ({r.error})"
        typer.echo(line)
        for event in r.statuses:
            reason = f": {event.reason}" if event.reason else ""
            typer.echo(f"  {event.code} {event.description}{reason} — {_time(event.at)}")


def _status_json(r: Any) -> dict[str, Any]:
    return {
        "organ_id": r.organ_id,
        "name": r.name,
        "business": r.business,
        "state": r.state,
        "sent_at": r.sent_at.isoformat() if r.sent_at else None,
        "attempts": r.attempts,
        "error": r.error,
        "statuses": [
            {
                "code": e.code,
                "description": e.description,
                "at": e.at.isoformat(),
                "reason": e.reason or None,
            }
            for e in r.statuses
        ],
    }


@exchange_app.command("recall")
def exchange_recall(
    document: DocumentId,
    as_user: AsUser,
    reason: Annotated[str, typer.Option("--reason", help="Lý do đề nghị lấy lại.")],
) -> None:
    """Thu hồi văn bản đã gửi: đóng băng bản của mình, đề nghị các cơ quan nhận trả lại (13)."""
    from engine.exchange import recall

    peers = recall(workspace(), document, as_user, reason)
    typer.echo(f"Đã thu hồi văn bản #{document}: từ nay không xử lý, sửa hay gửi thêm được.")
    typer.echo(f"Đã gửi đề nghị lấy lại văn bản #{document} tới: {', '.join(peers)}")
    typer.echo(f"  Theo dõi trả lời: vanthu exchange status {document}")


@exchange_app.command("replace")
def exchange_replace(
    document: DocumentId,
    as_user: AsUser,
    new: Annotated[int, typer.Option("--with", help="Văn bản thay thế (đã phát hành).")],
    reason: Annotated[str, typer.Option("--reason", help="Lý do thay thế.")] = "",
) -> None:
    """Gửi văn bản thay thế cho các cơ quan đã nhận văn bản cũ."""
    from engine.exchange import replace

    peers = replace(workspace(), document, new, as_user, reason)
    typer.echo(f"Đã gửi văn bản #{new} thay thế văn bản #{document} tới: {', '.join(peers)}")
    typer.echo(f"  Theo dõi trả lời: vanthu exchange status {document}")


@exchange_app.command("update")
def exchange_update(
    document: DocumentId,
    as_user: AsUser,
    reason: Annotated[str, typer.Option("--reason", help="Lý do cập nhật.")] = "",
) -> None:
    """Gửi lại tệp và thông tin hiện tại của văn bản (cập nhật) cho các cơ quan đã nhận."""
    from engine.exchange import update

    peers = update(workspace(), document, as_user, reason)
    typer.echo(f"Đã gửi bản cập nhật văn bản #{document} tới: {', '.join(peers)}")
    typer.echo(f"  Theo dõi trả lời: vanthu exchange status {document}")


KINDS = {
    "recall": "đề nghị lấy lại",
    "update": "bản cập nhật",
    "replacement": "văn bản thay thế",
}


@exchange_app.command("requests")
def exchange_requests(as_json: AsJson = False) -> None:
    """Các đề nghị lấy lại, cập nhật, thay thế văn bản đang chờ văn thư trả lời."""
    from engine.exchange import pending_requests

    found = pending_requests(workspace())
    if as_json:
        echo_json(
            [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "document_id": r.document_id,
                    "sender": r.sender,
                    "edxml_document_id": r.edxml_document_id,
                    "reason": r.reason or None,
                }
                for r in found
            ]
        )
        return
    if not found:
        typer.echo("Không có đề nghị nào đang chờ.")
    for r in found:
        reason = f": {r.reason}" if r.reason else ""
        typer.echo(
            f"#{r.id}  {KINDS.get(r.kind, r.kind)} văn bản #{r.document_id} từ {r.sender}{reason}"
        )
        typer.echo(f"  Trả lời: vanthu exchange answer {r.id} agree|refuse --as vanthu")


@exchange_app.command("answer")
def exchange_answer(
    request: Annotated[int, typer.Argument(help="Số của đề nghị (vanthu exchange requests).")],
    decision: Annotated[str, typer.Argument(help="agree (đồng ý) hoặc refuse (từ chối).")],
    as_user: AsUser,
    reason: Annotated[str, typer.Option("--reason", help="Lý do.")] = "",
) -> None:
    """Văn thư trả lời đề nghị lấy lại, cập nhật hoặc thay thế (15 đồng ý, 16 từ chối)."""
    from engine.exchange import answer

    if decision not in ("agree", "refuse"):
        raise BadValue("trả lời là agree (đồng ý) hoặc refuse (từ chối)")
    new_id = answer(workspace(), request, as_user, decision == "agree", reason)
    typer.echo(f"Đã trả lời đề nghị #{request}: {'đồng ý' if decision == 'agree' else 'từ chối'}")
    if new_id is not None:
        typer.echo(f"  Văn bản thay thế đã vào văn bản đến #{new_id}")
