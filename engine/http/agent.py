"""The signing agent: runs beside the leader's token, signs what waits for them on the server.

It registers the token's certificate (with a signature proving it holds the key), fetches the
requests waiting for its user, checks each digest against the signed attributes it covers,
signs the digest on the token and posts the value back. The private key never leaves the token;
only digests and signature values cross the network.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization

from engine.core.errors import (
    ConfigError,
    Conflict,
    EngineError,
    InvalidInput,
    NotAllowed,
    NotFound,
)
from engine.outgoing.agents import registration_digest
from signing import SigningError, SigningKey, open_pkcs11_key
from vanthu.errors import CODE_PATTERN, Kind

TIMEOUT = 30.0

_BY_KIND: dict[Kind, type[EngineError]] = {
    Kind.INVALID: InvalidInput,
    Kind.NOT_FOUND: NotFound,
    Kind.FORBIDDEN: NotAllowed,
    Kind.CONFLICT: Conflict,
    Kind.CONFIG: ConfigError,
}
"""The class the agent raises for a refusal the server reports, by the kind in its body."""
_SHOWN = frozenset(
    {"code", "kind", "detail", "detail_en", "retryable", "status", "document_id", "step", "file",
     "line"}
)  # fmt: skip
"""Keys of an error body that are not passed on as fields (shown in the detail, or our own)."""


@dataclass(frozen=True)
class AgentSettings:
    """Where the server is, who the agent is, and which token it signs with."""

    server: str
    """Base URL of `vanthu serve`, e.g. https://vanthu.example.gov.vn."""
    token: str
    """The bearer token from `vanthu agent-token create`."""
    module: Path
    """The token vendor's PKCS#11 library."""
    token_label: str
    key_label: str | None
    pin: str


@dataclass(frozen=True)
class Outcome:
    """What happened to one waiting request."""

    document_id: int
    signed: bool
    line: str
    """One Vietnamese line for the person beside the token."""


def read_token(data: bytes, path: Path) -> str:
    """The bearer token kept in ``path`` (the output of `vanthu agent-token create`)."""
    try:
        token = data.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "tệp mã truy cập không đọc được (không phải văn bản UTF-8)",
            "the token file is not UTF-8 text",
            code="agent.token_unreadable",
            file=str(path),
        ) from exc
    if not token:
        raise InvalidInput(
            "tệp mã truy cập trống",
            "the token file is empty",
            code="agent.token_empty",
            file=str(path),
        )
    return token


def run_agent(
    settings: AgentSettings,
    *,
    once: bool,
    interval: float,
    echo: Callable[[str], None],
) -> list[Outcome]:
    """Register, then sign whatever waits: once, or every ``interval`` seconds until stopped."""
    key = open_pkcs11_key(
        settings.module,
        token_label=settings.token_label,
        key_label=settings.key_label,
        pin=settings.pin,
    )
    outcomes: list[Outcome] = []
    try:
        with _client(settings) as client:
            who = _call(client, "GET", "/api/agent/whoami")
            register(client, key, str(who["username"]))
            echo(
                f"Đã đăng ký chứng thư số sê-ri {key.serial:x} của {who['full_name']}; "
                "đang chờ văn bản cần ký."
            )
            while True:
                for outcome in sign_waiting(client, key):
                    echo(outcome.line)
                    outcomes.append(outcome)
                if once:
                    return outcomes
                time.sleep(interval)
    finally:
        key.close()


def register(client: httpx.Client, key: SigningKey, username: str) -> None:
    der = key.certificate.public_bytes(serialization.Encoding.DER)
    proof = key.sign_digest(registration_digest(username, der))
    pem = b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in (key.certificate, *key.chain)
    )
    _call(
        client,
        "POST",
        "/api/agent/certificate",
        json={"certificate_pem": pem.decode("ascii"), "proof": _b64(proof)},
    )


def sign_waiting(client: httpx.Client, key: SigningKey) -> list[Outcome]:
    """Sign each waiting request on the token; a refusal of one does not stop the others."""
    outcomes = []
    for item in _call(client, "GET", "/api/agent/requests"):
        outcomes.append(_sign_one(client, key, item))
    return outcomes


def _sign_one(client: httpx.Client, key: SigningKey, item: dict[str, Any]) -> Outcome:
    doc = int(item["document_id"])
    title = f"văn bản #{doc} ({item['doc_type']}: {item['subject']})"
    if item["certificate_serial"] != f"{key.serial:x}":
        return Outcome(
            doc,
            False,
            f"Bỏ qua {title}: được chuẩn bị cho chứng thư số sê-ri {item['certificate_serial']}, "
            f"thiết bị đang cắm có sê-ri {key.serial:x}",
        )
    digest = bytes.fromhex(item["digest"])
    attributes = base64.b64decode(item["signed_attributes"])
    if hashlib.sha256(attributes).digest() != digest:
        return Outcome(doc, False, f"Không ký {title}: giá trị băm không khớp dữ liệu cần ký")
    try:
        signature = key.sign_digest(digest)
        moved = _call(
            client,
            "POST",
            f"/api/agent/requests/{int(item['request_id'])}/signature",
            json={"signature": _b64(signature)},
        )
    except (EngineError, SigningError) as exc:
        return Outcome(doc, False, f"Không ký được {title}: {exc}")
    waiting = ", ".join(moved.get("now_at") or []) or "kết thúc"
    return Outcome(doc, True, f"Đã ký {title} → đang ở: {waiting}")


def _client(settings: AgentSettings) -> httpx.Client:
    return httpx.Client(
        base_url=settings.server.rstrip("/"),
        headers={"Authorization": f"Bearer {settings.token}"},
        timeout=TIMEOUT,
    )


def _call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise EngineError(
            f"không kết nối được máy chủ {client.base_url}: {exc}",
            f"cannot reach the server {client.base_url}: {exc}",
            code="agent.server_unreachable",
            retryable=True,
            server=str(client.base_url),
        ) from exc
    if response.is_success:
        return response.json()
    raise _refusal(response)


def _refusal(response: httpx.Response) -> EngineError:
    """The server's error as the engine's: its code, kind and both messages, from the JSON body
    of :mod:`engine.http.errors`; a body that is not one (a proxy's page) by its status."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        detail = body["detail"]
        detail_en = str(body.get("detail_en") or detail)
        code = str(body.get("code") or "")
        try:
            kind = Kind(str(body.get("kind")))
        except ValueError:
            kind = Kind.FAILED
        # the detail already names the document, step and file: the rest are kept as they came
        fields = {k: v for k, v in body.items() if k not in _SHOWN and isinstance(k, str)}
        return _BY_KIND.get(kind, EngineError)(
            f"máy chủ từ chối: {detail}",
            f"the server refused: {detail_en}",
            code=code if CODE_PATTERN.fullmatch(code) else "agent.server_refused",
            kind=kind,
            retryable=body.get("retryable") is True,
            **fields,
            status=status,
        )
    text = response.text[:200] or response.reason_phrase
    if status in (401, 403):
        return NotAllowed(
            f"máy chủ từ chối: {text}",
            f"the server refused: {text}",
            code="agent.server_refused",
            status=status,
        )
    return EngineError(
        f"máy chủ trả lời {status}: {text}",
        f"the server answered {status}: {text}",
        code="agent.server_error",
        retryable=status in (502, 503, 504),
        status=status,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
