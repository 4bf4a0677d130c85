"""Reading edXML envelopes and status messages: ``vanthu exchange inspect``.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from engine.cli.app import AsJson, echo_json, exchange_app

if TYPE_CHECKING:
    from engine.exchange import Organ, Parsed

UNREADABLE_EXIT = 3
"""As ``vanthu verify``: the file could not be read at all (not the usual ``invalid`` 2)."""
VERDICTS = {"valid": "hợp lệ", "invalid": "KHÔNG hợp lệ", "absent": "không có chữ ký"}
BUSINESS_LABELS = {"new": "văn bản mới", "recall": "thu hồi", "update": "cập nhật",
                   "replacement": "thay thế"}  # fmt: skip


@exchange_app.command("inspect")
def inspect(
    file: Annotated[Path, typer.Argument(help="Tệp edXML (.edxml, .xml).")],
    as_json: AsJson = False,
) -> None:
    """Xem một văn bản hoặc thông điệp trạng thái edXML nói gì (không cần thư mục cơ quan)."""
    from engine.exchange import EdxmlUnreadable, parse

    try:
        data = file.read_bytes()
    except OSError as exc:
        _unreadable(
            file, f"không đọc được tệp: {exc.strerror}", "exchange.edxml.file_unreadable", as_json
        )
    try:
        parsed = parse(data)
    except EdxmlUnreadable as exc:
        _unreadable(file, exc.message, exc.code, as_json)
    summary = describe(parsed)
    if as_json:
        echo_json(summary)
    else:
        _print(file, summary)


def describe(parsed: Parsed) -> dict[str, Any]:
    """What ``inspect --json`` prints: one object, the same keys for both kinds."""
    from engine.exchange import TYPE_CODES, DocumentEnvelope

    message = parsed.message
    check = parsed.signature
    certificate = check.certificate
    out: dict[str, Any] = {"kind": parsed.kind, "from": _organ(message.sender)}
    if isinstance(message, DocumentEnvelope):
        out |= {
            "to": [_organ(r) for r in message.recipients],
            "document_id": message.document_id,
            "code": {"number": message.code_number, "notation": message.code_notation},
            "subject": message.subject,
            "promulgation_date": message.promulgation_date.isoformat(),
            "document_type": message.type_name,
            "document_type_code": message.type_code,
            "document_type_abbreviation": TYPE_CODES.get(message.type_code, ""),
            "business": message.business,
            "business_document_id": message.business_document_id,
            "business_reason": message.business_reason,
            "priority": message.priority,
            "attachments": [
                {"name": a.name, "content_type": a.content_type, "size": len(a.data)}
                for a in message.attachments
            ],
        }
    else:
        out |= {
            "to": [_organ(message.recipient)],
            "document_id": message.document_id,
            "status_code": message.status_code,
            "description": message.description,
            "reason": message.reason,
            "attachments": [],
        }
    out |= {
        "staff": message.staff,
        "timestamp": message.timestamp.isoformat(),
        "message_id": message.message_id,
        "signature": {
            "present": check.present,
            "verdict": check.verdict,
            "problem": check.problem,
            "algorithm": check.algorithm,
            "signer": certificate.subject.rfc4514_string() if certificate else None,
            "serial": f"{certificate.serial_number:x}" if certificate else None,
        },
        "warnings": list(parsed.warnings),
        "unknown_elements": list(parsed.unknown_elements),
    }
    return out


def _organ(organ: Organ) -> dict[str, str]:
    return {"organ_id": organ.organ_id, "name": organ.name}


def _print(file: Path, s: dict[str, Any]) -> None:
    def organ(o: dict[str, str]) -> str:
        return f"{o['name']} ({o['organ_id']})" if o["name"] else o["organ_id"]

    kind = "văn bản" if s["kind"] == "document" else "thông điệp trạng thái"
    lines = [f"{file}: {kind}", f"  Nơi gửi: {organ(s['from'])}"]
    lines += [f"  Nơi nhận: {organ(o)}" for o in s["to"]]
    lines.append(f"  Mã định danh văn bản: {s['document_id']}")
    if s["kind"] == "document":
        code = "/".join(p for p in (s["code"]["number"], s["code"]["notation"]) if p)
        lines += [
            f"  Số, ký hiệu: {code}",
            f"  Loại văn bản: {s['document_type']} (mã {s['document_type_code']})",
            f"  Ngày ban hành: {_day(s['promulgation_date'])}",
            f"  Trích yếu: {s['subject']}",
            f"  Nghiệp vụ: {BUSINESS_LABELS.get(s['business'], s['business'])}"
            + (f" — {s['business_document_id']}" if s["business_document_id"] else "")
            + (f" (lý do: {s['business_reason']})" if s["business_reason"] else ""),
        ]
        lines.append(f"  Tệp đính kèm: {len(s['attachments'])}")
        lines += [
            f"    - {a['name']} ({a['content_type']}, {a['size']} byte)" for a in s["attachments"]
        ]
    else:
        reason = f" — lý do: {s['reason']}" if s["reason"] else ""
        lines.append(f"  Trạng thái: {s['status_code']} {s['description']}{reason}")
    signature = s["signature"]
    verdict = VERDICTS[signature["verdict"]]
    lines.append(
        f"  Chữ ký số: {verdict}" + (f" ({signature['signer']})" if signature["signer"] else "")
    )
    if signature["problem"]:
        lines.append(f"    ! {signature['problem']}")
    lines += [f"  Cảnh báo: {w}" for w in s["warnings"]]
    if s["unknown_elements"]:
        lines.append(f"  Phần tử không biết (bỏ qua): {', '.join(s['unknown_elements'])}")
    typer.echo("\n".join(lines))


def _day(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"


def _unreadable(file: Path, problem: str, code: str, as_json: bool = False) -> NoReturn:
    if as_json:
        echo_json({"file": str(file), "error": problem, "code": code})
    typer.secho(f"Lỗi: {file}: {problem}", err=True, fg=typer.colors.RED)
    raise typer.Exit(UNREADABLE_EXIT)
