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

from engine.core.errors import ConfigError, EngineError, InvalidInput, NotAllowed
from engine.outgoing.agents import registration_digest
from signing import SigningError, SigningKey, open_pkcs11_key

TIMEOUT = 30.0


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
            f"tệp mã truy cập {path} không đọc được (không phải văn bản UTF-8)",
            f"the token file {path} is not UTF-8 text",
            code="agent.token_unreadable",
            file=str(path),
        ) from exc
    if not token:
        raise InvalidInput(
            f"tệp mã truy cập {path} trống",
            f"the token file {path} is empty",
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
        raise ConfigError(f"không kết nối được máy chủ {client.base_url}: {exc}") from exc
    if response.is_success:
        return response.json()
    try:
        detail = str(response.json().get("detail"))
    except ValueError:
        detail = response.text[:200] or response.reason_phrase
    if response.status_code in (401, 403):
        raise NotAllowed(f"máy chủ từ chối: {detail}")
    raise EngineError(f"máy chủ trả lời {response.status_code}: {detail}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
