"""The HTTP API the signing agent talks to (``vanthu serve``).

Every route needs a bearer agent token and acts for that token's user only; every call leaves
an audit event, recorded with the channel ``api``. Bodies are small JSON (a certificate, a
signature): anything larger than :data:`MAX_BODY_BYTES` is refused before it is read in full.
Errors become JSON in one place, :mod:`engine.http.errors`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from engine.core import audit
from engine.core.errors import NotAllowed
from engine.core.workspace import Workspace
from engine.http import errors
from engine.outgoing import agents, remote_signing
from engine.outgoing.agents import AgentUser

MAX_BODY_BYTES = 64 * 1024
"""A certificate chain in PEM is a few kilobytes, a signature a few hundred bytes."""
MAX_SIGNATURE_BYTES = 1024
MAX_PEM_BYTES = 48 * 1024


class CertificateIn(BaseModel):
    """The token's certificate (then its CA chain), PEM, and the proof of holding the key."""

    certificate_pem: str = Field(max_length=MAX_PEM_BYTES)
    proof: str = Field(max_length=2 * MAX_SIGNATURE_BYTES, description="base64 signature")


class CertificateOut(BaseModel):
    serial: str
    subject: str
    fingerprint: str


class PendingOut(BaseModel):
    request_id: int
    document_id: int
    doc_type: str
    subject: str
    unit: str
    digest: str = Field(description="hex SHA-256 the token signs (PKCS#1 v1.5, prehashed)")
    signed_attributes: str = Field(description="base64 DER of the CMS signed attributes")
    certificate_serial: str
    created_at: datetime


class SignatureIn(BaseModel):
    signature: str = Field(max_length=2 * MAX_SIGNATURE_BYTES, description="base64")


class MoveOut(BaseModel):
    document_id: int
    step: str
    action: str
    now_at: list[str]


_bearer = HTTPBearer(auto_error=False)


def _agent(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AgentUser:
    """The user the bearer token acts for; refused without a live token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAllowed(
            "cần mã truy cập của chương trình ký (Authorization: Bearer …)",
            "a signing agent's token is required (Authorization: Bearer …)",
            code="agent.token_missing",
        )
    return agents.authenticate(request.app.state.workspace, credentials.credentials)


Agent = Annotated[AgentUser, Depends(_agent)]
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="a row number (1 … 2^63 − 1)")]
"""A number in the path: out of the database's range is 422, not a 500 from the driver."""


def create_app(ws: Workspace) -> FastAPI:
    """The agent API over one open workspace."""
    app = FastAPI(title="Vanthu — chương trình ký số", docs_url=None, redoc_url=None)
    app.state.workspace = ws

    @app.middleware("http")
    async def _limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            return errors.reply(
                413,
                "input.too_large",
                f"dữ liệu gửi lên lớn hơn {MAX_BODY_BYTES // 1024} KB",
                f"the request body is larger than {MAX_BODY_BYTES // 1024} KB",
            )
        if declared is None and request.method in ("POST", "PUT", "PATCH"):
            return errors.reply(
                411,
                "input.length_required",
                "cần khai báo độ dài dữ liệu gửi lên (Content-Length)",
                "the request must declare its length (Content-Length)",
            )
        return await call_next(request)

    @app.middleware("http")
    async def _api_channel(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        with audit.channel("api"):  # every event of the request says it came through the API
            return await call_next(request)

    errors.install(app, ws.settings.home)

    @app.get("/api/agent/whoami")
    def whoami(who: Agent) -> dict[str, str]:
        agents.record_call(ws, who, "whoami", {})
        return {"username": who.username, "full_name": who.full_name}

    @app.post("/api/agent/certificate", status_code=201)
    def register(body: CertificateIn, who: Agent) -> CertificateOut:
        proof = remote_signing.decode_base64(
            body.proof, ("chữ ký chứng minh", "the proof signature"), MAX_SIGNATURE_BYTES
        )
        found = agents.register_certificate(ws, who, body.certificate_pem.encode("utf-8"), proof)
        return CertificateOut(
            serial=found.serial, subject=found.subject, fingerprint=found.fingerprint
        )

    @app.get("/api/agent/requests")
    def pending(who: Agent) -> list[PendingOut]:
        return [
            PendingOut(
                request_id=p.request_id,
                document_id=p.document_id,
                doc_type=p.doc_type,
                subject=p.subject,
                unit=p.unit,
                digest=p.digest,
                signed_attributes=p.signed_attributes,
                certificate_serial=p.certificate_serial,
                created_at=p.created_at,
            )
            for p in remote_signing.pending_for(ws, who)
        ]

    @app.post("/api/agent/requests/{request_id}/signature")
    def post_signature(request_id: RowId, body: SignatureIn, who: Agent) -> MoveOut:
        value = remote_signing.decode_base64(
            body.signature, ("chữ ký số", "the signature"), MAX_SIGNATURE_BYTES
        )
        move = remote_signing.complete_signature(ws, who, request_id, value)
        return MoveOut(
            document_id=move.document_id,
            step=move.step,
            action=move.action,
            now_at=list(move.now_at),
        )

    return app
